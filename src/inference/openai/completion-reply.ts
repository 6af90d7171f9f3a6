import type { Completion } from '../../records.js';
import { TransientError } from '../backend.js';

/** Which API a reply came from: `/v1/completions` or `/v1/chat/completions`. */
export type ApiKind = 'completions' | 'chat';

/** The route of each API under the `/v1` base. */
export const API_ROUTES: Readonly<Record<ApiKind, string>> = { completions: 'completions', chat: 'chat/completions' };

/** What a 2xx reply contributes to a `Completion`. */
export type ReplyCompletion = Pick<Completion, 'text' | 'finishReason' | 'promptTokens' | 'completionTokens'>;

/**
 * Parses a 2xx reply of either API (vLLM's documented shapes, which TGI and llama.cpp follow); requests ask
 * for one choice, so the first is the answer. A body that is not JSON at all is taken as a garbled transfer
 * (a proxy cutting a reply, a server falling over mid-write) and is `TransientError`. A well-formed JSON body
 * of the wrong shape means the endpoint does not speak this protocol (or not this API): a retry cannot fix
 * it, so it is a plain Error.
 */
export function parseReply(endpoint: string, api: ApiKind, body: string): ReplyCompletion {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new TransientError(`${endpoint}: reply is not valid JSON (${body.length} bytes)`, undefined, { cause: error });
  }
  const wrongShape = (what: string): Error => new Error(`${endpoint}: reply to /v1/${API_ROUTES[api]} ${what}`);
  if (typeof parsed !== 'object' || parsed === null) throw wrongShape('is not a JSON object');
  const reply = parsed as { choices?: unknown; usage?: unknown };
  const choice: unknown = Array.isArray(reply.choices) ? reply.choices[0] : undefined;
  if (typeof choice !== 'object' || choice === null) throw wrongShape('has no choices');
  const { text, message, finish_reason } = choice as { text?: unknown; message?: unknown; finish_reason?: unknown };
  const usage = (typeof reply.usage === 'object' && reply.usage !== null ? reply.usage : {}) as Record<string, unknown>;
  return {
    text: api === 'chat' ? chatText(message, wrongShape) : completionText(text, wrongShape),
    ...(typeof finish_reason === 'string' ? { finishReason: finish_reason } : {}),
    ...tokenCount('promptTokens', usage.prompt_tokens),
    ...tokenCount('completionTokens', usage.completion_tokens),
  };
}

function completionText(text: unknown, wrongShape: (what: string) => Error): string {
  if (typeof text !== 'string') throw wrongShape('has no text in its first choice');
  return text;
}

function chatText(message: unknown, wrongShape: (what: string) => Error): string {
  if (typeof message !== 'object' || message === null) throw wrongShape('has no message in its first choice');
  const { content } = message as { content?: unknown };
  // Content is null when the model produced only tool calls or a refusal: no code, a wrong answer, not an error.
  if (content === null) return '';
  if (typeof content !== 'string') throw wrongShape('has no text content in its first message');
  return content;
}

function tokenCount(key: 'promptTokens' | 'completionTokens', value: unknown): Partial<ReplyCompletion> {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? { [key]: value } : {};
}
