import type { Prompted } from '../../records.js';
import type { ApiKind } from './completion-reply.js';

/** The generation settings every request carries; they define the output, so `describe()` reports them. */
export interface SamplingSettings {
  maxTokens: number;
  /** 0 is greedy. */
  temperature: number;
  topP: number;
  /** Sent only when set: vLLM, TGI and llama.cpp accept `top_k`, hosted OpenAI rejects unknown fields. */
  topK?: number;
  /** Base seed; sample i of a problem is drawn with seed + i, so samples differ yet each is reproducible. */
  seed?: number;
  /** Omitted from the request when empty. */
  stop: readonly string[];
}

/**
 * The JSON body for one prompt. Completions send the prompt as is; chat sends it as one user message and
 * the server applies the model's chat template.
 */
export function buildRequestBody(api: ApiKind, model: string, sampling: SamplingSettings, item: Prompted): Record<string, unknown> {
  return {
    model,
    ...(api === 'chat' ? { messages: [{ role: 'user', content: item.prompt }] } : { prompt: item.prompt }),
    max_tokens: sampling.maxTokens,
    temperature: sampling.temperature,
    top_p: sampling.topP,
    n: 1,
    ...(sampling.topK === undefined ? {} : { top_k: sampling.topK }),
    ...(sampling.seed === undefined ? {} : { seed: sampling.seed + item.sampleIndex }),
    ...(sampling.stop.length === 0 ? {} : { stop: [...sampling.stop] }),
  };
}
