import { InputError } from '../../errors.js';
import type { InferenceBackend } from '../backend.js';
import { resolveApiKey } from './api-key.js';
import { normaliseEndpoint } from './endpoint-url.js';
import type { SamplingSettings } from './request-body.js';
import { OpenAISession } from './session.js';

export interface OpenAIBackendOptions extends SamplingSettings {
  /** `--endpoint` values as given; each becomes one session. */
  endpoints: readonly string[];
  /** The served model name (`--model`), sent in every request and written to the dataset. */
  model: string;
  /** `--api-key-env`: the variable holding the key; without it OPENAI_API_KEY is used when set. */
  apiKeyEnv?: string;
  /** `--chat`: use /v1/chat/completions, with the chat template applied by the server. */
  chat?: boolean;
  /** `--concurrency`: in-flight requests per endpoint. */
  concurrency: number;
  /** Where the key is read from; process.env unless a test gives its own. */
  env?: NodeJS.ProcessEnv;
}

/**
 * A backend over OpenAI-compatible servers (vLLM, TGI, llama.cpp, hosted APIs): one session per endpoint.
 * Bad endpoints, a missing model name or an unset key variable are InputErrors, thrown before any request.
 */
export function createOpenAIBackend(options: OpenAIBackendOptions): InferenceBackend {
  if (options.endpoints.length === 0) throw new InputError('--endpoint is required with --backend openai');
  if (!options.model.trim()) throw new InputError('--model must name the served model with --backend openai');
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new InputError(`--concurrency must be an integer >= 1, got ${options.concurrency}`);
  }
  const bases = options.endpoints.map(normaliseEndpoint);
  const seen = new Set<string>();
  for (const base of bases) {
    if (seen.has(base.href)) throw new InputError(`--endpoint ${base.href} is given twice; raise --concurrency instead`);
    seen.add(base.href);
  }
  const apiKey = resolveApiKey(options.apiKeyEnv, options.env);
  const api = options.chat ? 'chat' : 'completions';
  const sampling: SamplingSettings = {
    maxTokens: options.maxTokens,
    temperature: options.temperature,
    topP: options.topP,
    topK: options.topK,
    seed: options.seed,
    stop: [...options.stop],
  };
  const sessions = bases.map(
    (base) => new OpenAISession({ base, api, model: options.model, sampling, concurrency: options.concurrency, apiKey }),
  );
  return {
    name: 'openai',
    model: options.model,
    sessions,
    describe: () => ({
      backend: 'openai',
      model: options.model,
      api,
      endpoints: bases.map((base) => base.href),
      maxTokens: sampling.maxTokens,
      temperature: sampling.temperature,
      topP: sampling.topP,
      topK: sampling.topK ?? null,
      seed: sampling.seed ?? null,
      stop: sampling.stop,
    }),
    close: async () => {
      for (const session of sessions) session.close();
    },
  };
}
