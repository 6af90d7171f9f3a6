import { InputError } from '../../errors.js';

/** The variable read when `--api-key-env` is not given, as the OpenAI clients do. */
export const DEFAULT_API_KEY_ENV = 'OPENAI_API_KEY';

/**
 * Reads the API key from the environment. A variable named by `--api-key-env` must be set (a typo would
 * otherwise send unauthenticated requests and fail every record with 401); the default one is optional,
 * since local vLLM/TGI/llama.cpp servers usually take no key. A key with spaces or control characters cannot
 * go into a header and would fail every request, so it is refused here; the message never shows the key.
 */
export function resolveApiKey(apiKeyEnv: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (apiKeyEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv)) {
    throw new InputError(`--api-key-env must be an environment variable name, got ${JSON.stringify(apiKeyEnv)}`);
  }
  const name = apiKeyEnv ?? DEFAULT_API_KEY_ENV;
  const key = env[name];
  if (!key) {
    if (apiKeyEnv === undefined) return undefined;
    throw new InputError(`--api-key-env ${apiKeyEnv}: the environment variable is not set or empty`);
  }
  if (!/^[\x21-\x7E]+$/.test(key)) {
    throw new InputError(`${apiKeyEnv === undefined ? name : `--api-key-env ${name}`}: the key contains spaces or control characters`);
  }
  return key;
}
