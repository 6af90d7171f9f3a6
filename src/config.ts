/**
 * HardeningConfig: the knobs that keep a long run alive (checkpoints, autosaves, retries, timeouts, memory),
 * with the original pipeline's names and defaults. Loaded from and saved to JSON with those snake_case keys
 * (`--config FILE`); command-line flags override the file. Anything wrong in it is an `InputError` that names
 * the file (or the flag source) and the key.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { InputError } from './errors.js';

export interface HardeningConfig {
  /** Records between checkpoint snapshots. */
  checkpoint_frequency: number;
  /** Records between partial-dataset autosaves. */
  autosave_frequency: number;
  /**
   * Seconds at least between two autosaves (the first counted from the run's start): a run whose records come
   * faster than `autosave_frequency` in that time autosaves less often. 0: every `autosave_frequency` records.
   */
  autosave_min_seconds: number;
  /** Retries after a record's first try. */
  max_retries: number;
  /** Seconds before the first retry; each further retry waits twice as long. */
  retry_backoff: number;
  /** Records between inference memory cleanups (idle sessions released or trimmed). */
  memory_cleanup_frequency: number;
  /** Records between full garbage collections. */
  gc_collect_frequency: number;
  /** Records between progress reports. */
  progress_log_frequency: number;
  /** Process memory (GiB) above which the run warns and cleans up. */
  max_memory_usage_gb: number;
  /** GPU memory (GiB) above which the run warns and cleans up. */
  max_gpu_memory_usage_gb: number;
  /** Seconds one record's work may take before it is cancelled and retried. */
  timeout_per_record: number;
  /**
   * Seconds the run waits, probing, while no inference session is up (a server restarting) before it stops the
   * way Ctrl+C does, to be resumed; 0 stops at once.
   */
  max_outage: number;
  /** Autosave files kept; older ones are deleted. */
  autosave_keep_last: number;
  /** A record that fails after its retries is written as a failed record and the run goes on; false stops the run. */
  continue_on_error: boolean;
  /** Whole CPU seconds no test of a judged program gets less of. */
  cpu_limit_floor: number;
  /** A test's CPU limit is this times the reference solution's CPU time on it, when that is above the floor. */
  cpu_limit_factor: number;
}

export const DEFAULT_HARDENING_CONFIG: Readonly<HardeningConfig> = Object.freeze({
  checkpoint_frequency: 50,
  autosave_frequency: 100,
  autosave_min_seconds: 30,
  max_retries: 3,
  retry_backoff: 1.0,
  memory_cleanup_frequency: 100,
  gc_collect_frequency: 50,
  progress_log_frequency: 10,
  max_memory_usage_gb: 100,
  max_gpu_memory_usage_gb: 30,
  timeout_per_record: 300,
  max_outage: 900,
  autosave_keep_last: 3,
  continue_on_error: true,
  cpu_limit_floor: 1,
  cpu_limit_factor: 4,
});

/** What a key's value must be, as a check and as the words of the error when it is not. */
interface ValueRule {
  accepts(value: unknown): boolean;
  expected: string;
}

const positiveInteger: ValueRule = {
  accepts: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1,
  expected: 'a positive integer',
};
const nonNegativeInteger: ValueRule = {
  accepts: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  expected: 'an integer >= 0',
};
const positiveNumber: ValueRule = {
  accepts: (v) => typeof v === 'number' && Number.isFinite(v) && v > 0,
  expected: 'a positive number',
};
const nonNegativeNumber: ValueRule = {
  accepts: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  expected: 'a number >= 0',
};
const boolean: ValueRule = { accepts: (v) => typeof v === 'boolean', expected: 'true or false' };

const RULES: Readonly<Record<keyof HardeningConfig, ValueRule>> = {
  checkpoint_frequency: positiveInteger,
  autosave_frequency: positiveInteger,
  autosave_min_seconds: nonNegativeNumber,
  max_retries: nonNegativeInteger,
  retry_backoff: nonNegativeNumber,
  memory_cleanup_frequency: positiveInteger,
  gc_collect_frequency: positiveInteger,
  progress_log_frequency: positiveInteger,
  max_memory_usage_gb: positiveNumber,
  max_gpu_memory_usage_gb: positiveNumber,
  timeout_per_record: positiveNumber,
  max_outage: nonNegativeNumber,
  autosave_keep_last: positiveInteger,
  continue_on_error: boolean,
  cpu_limit_floor: positiveInteger,
  cpu_limit_factor: { accepts: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 1, expected: 'a number >= 1' },
};

const KEYS = Object.keys(RULES) as Array<keyof HardeningConfig>;

function isKey(key: string): key is keyof HardeningConfig {
  return Object.hasOwn(RULES, key);
}

/**
 * Checks a partial config (a parsed file, or flags collected by the CLI) key by key. `origin` names where it
 * came from (`hardening.json`, `command line`) and starts every error message.
 */
export function validateHardeningConfig(value: unknown, origin: string): Partial<HardeningConfig> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${origin}: a hardening config must be a JSON object of settings`);
  }
  const valid: Partial<HardeningConfig> = {};
  for (const [key, field] of Object.entries(value)) {
    if (!isKey(key)) {
      throw new InputError(`${origin}: unknown key "${key}" (known keys: ${KEYS.join(', ')})`);
    }
    if (field === undefined) continue;
    const rule = RULES[key];
    if (!rule.accepts(field)) {
      throw new InputError(`${origin}: "${key}" must be ${rule.expected}, got ${JSON.stringify(field)}`);
    }
    Object.assign(valid, { [key]: field });
  }
  return valid;
}

/**
 * Lays validated overrides over a base config; later layers win, so pass the file's settings before the
 * command line's. Keys left undefined in an override keep the base's value.
 */
export function mergeHardeningConfig(
  base: Readonly<HardeningConfig>,
  ...overrides: ReadonlyArray<{ origin: string; values: Readonly<Partial<HardeningConfig>> }>
): HardeningConfig {
  const merged: HardeningConfig = { ...base };
  for (const { origin, values } of overrides) Object.assign(merged, validateHardeningConfig(values, origin));
  return merged;
}

/** Reads a JSON config file; keys it leaves out take their defaults. */
export async function loadHardeningConfig(file: string): Promise<HardeningConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new InputError(`${file}: cannot read the hardening config (${code})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return { ...DEFAULT_HARDENING_CONFIG, ...validateHardeningConfig(parsed, file) };
}

/** Writes every key, in the documented order, atomically (temp file, then rename). */
export async function saveHardeningConfig(file: string, config: Readonly<HardeningConfig>): Promise<void> {
  const complete = { ...DEFAULT_HARDENING_CONFIG, ...validateHardeningConfig(config, file) };
  const ordered = Object.fromEntries(KEYS.map((key) => [key, complete[key]]));
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(ordered, null, 2)}\n`, 'utf8');
  await rename(temporary, file);
}
