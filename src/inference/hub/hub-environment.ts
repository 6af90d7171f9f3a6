import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';

/**
 * A Hugging Face access token. It only leaves this object as the Authorization header of a request to the Hub
 * endpoint: serialising or printing it (a log line, `JSON.stringify` of settings, an error) shows `[redacted]`.
 */
export class HubToken {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The header value; call it only where the request goes to the endpoint's own origin. */
  bearer(): string {
    return `Bearer ${this.#value}`;
  }

  /** For @huggingface/hub calls, which only talk to the endpoint. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'HubToken([redacted])';
  }
}

/** Where the Hub is and how to use it, read from the environment as `huggingface_hub` reads it. */
export interface HubEnvironment {
  /** `HF_ENDPOINT`, default https://huggingface.co (no trailing slash). */
  endpoint: string;
  /** `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file `huggingface-cli login` writes (`HF_TOKEN_PATH`, `$HF_HOME/token`). */
  token: HubToken | undefined;
  /** `HF_HUB_OFFLINE=1`: use the cache only, never the network. */
  offline: boolean;
  /** `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`. */
  cacheDir: string;
}

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** huggingface_hub's truthy spellings of a boolean variable. */
function truthy(value: string | undefined): boolean {
  return ['1', 'on', 'yes', 'true'].includes((value ?? '').trim().toLowerCase());
}

function hfHome(env: NodeJS.ProcessEnv): string {
  return env['HF_HOME'] || join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'huggingface');
}

function tokenFrom(env: NodeJS.ProcessEnv): HubToken | undefined {
  const fromEnv = (env['HF_TOKEN'] || env['HUGGING_FACE_HUB_TOKEN'] || '').trim();
  if (fromEnv) return new HubToken(fromEnv);
  try {
    const stored = readFileSync(env['HF_TOKEN_PATH'] || join(hfHome(env), 'token'), 'utf8').trim();
    return stored ? new HubToken(stored) : undefined;
  } catch {
    return undefined;
  }
}

export function hubEnvironmentFrom(env: NodeJS.ProcessEnv = process.env): HubEnvironment {
  return {
    endpoint: (env['HF_ENDPOINT'] || DEFAULT_HUB_ENDPOINT).replace(/\/+$/, ''),
    token: tokenFrom(env),
    offline: truthy(env['HF_HUB_OFFLINE']),
    cacheDir: env['HF_HUB_CACHE'] || env['HUGGINGFACE_HUB_CACHE'] || join(hfHome(env), 'hub'),
  };
}
