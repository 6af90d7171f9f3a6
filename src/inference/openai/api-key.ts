import { InputError } from '../../errors.js';

/** The variable read when `--api-key-env` is not given, as the OpenAI clients do. */
export const DEFAULT_API_KEY_ENV = 'OPENAI_API_KEY';

/**
 * Reads the API key from the environment. A variable named by `--api-key-env` must be set (a typo would
 * otherwise send unauthenticated requests and fail every record with 401); the default one is optional,
 * since local vLLM/TGI/llama.cpp servers usually take no key.
 */
export function resolveApiKey(apiKeyEnv: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (apiKeyEnv === undefined) return env[DEFAULT_API_KEY_ENV] || undefined;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv)) {
    throw new InputError(`--api-key-env must be an environment variable name, got ${JSON.stringify(apiKeyEnv)}`);
  }
  const key = env[apiKeyEnv];
  if (!key) throw new InputError(`--api-key-env ${apiKeyEnv}: the environment variable is not set or empty`);
  return key;
}
