import { RecordError, TransientError } from '../backend.js';
import { parseRetryAfter } from './retry-after.js';
import type { HttpReply } from './http-exchange.js';

/** Statuses that refuse one request (bad request, too large, unprocessable), not the endpoint as a whole. */
const REQUEST_REFUSED: ReadonlySet<number> = new Set([400, 413, 422]);

/** How much of a server's error text goes into an error message. */
const MAX_MESSAGE_CHARS = 500;

/**
 * The error for a non-2xx reply. 408, 429 and 5xx are the server being busy, restarting or overloaded:
 * `TransientError`, with the server's `Retry-After` as the suggested wait. 400, 413 and 422 are the server
 * refusing this request (a prompt over the context length): a `RecordError`, failing that record only. Any other
 * status (a wrong model name, a bad key) is the endpoint being unusable: a plain Error, so the record fails at
 * once and the failure counts against the session. Each carries the server's own message.
 */
export function errorForReply(endpoint: string, reply: HttpReply): Error {
  const message = `${endpoint}: HTTP ${reply.status}: ${serverMessage(reply.body)}`;
  if (reply.status === 408 || reply.status === 429 || reply.status >= 500) {
    return new TransientError(message, parseRetryAfter(reply.headers['retry-after']));
  }
  if (REQUEST_REFUSED.has(reply.status)) return new RecordError(message);
  return new Error(message);
}

/**
 * The human message inside an error body. Servers disagree on the shape: vLLM writes
 * `{"object":"error","message":…}` (newer versions `{"error":{"message":…}}` as OpenAI does), TGI
 * `{"error":"…","error_type":…}`, llama.cpp `{"error":{"code":…,"message":…}}`; proxies send plain text.
 */
export function serverMessage(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return clip(body.trim() || '(empty body)');
  }
  const found = messageIn(parsed);
  return clip(found ?? body.trim());
}

function messageIn(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.message === 'string') return record.message;
  if ('error' in record) return messageIn(record.error);
  if (typeof record.detail === 'string') return record.detail;
  return undefined;
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > MAX_MESSAGE_CHARS ? `${oneLine.slice(0, MAX_MESSAGE_CHARS)}…` : oneLine;
}
