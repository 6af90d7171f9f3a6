import { InputError } from '../../errors.js';

/** The user-facing generation settings (CLI flags in brackets). */
export interface GenerationOptions {
  /** [--max-new-tokens] default 200, as the original. */
  maxNewTokens: number;
  /** [--temperature] 0 = greedy, the original's setting and the default. */
  temperature: number;
  /** [--top-p] 1 = off. */
  topP: number;
  /** [--top-k] 0 = off. */
  topK: number;
  /** [--seed] with sampling, the same seed gives the same completions. */
  seed: number;
  /** [--stop] generation ends before the first of these. */
  stopSequences: string[];
}

export const DEFAULT_GENERATION: GenerationOptions = {
  maxNewTokens: 200,
  temperature: 0,
  topP: 1,
  topK: 0,
  seed: 0,
  stopSequences: [],
};

/** Fills defaults and checks ranges; a bad value is an InputError naming its flag. */
export function resolveGenerationOptions(given: Partial<GenerationOptions> = {}): GenerationOptions {
  const options = { ...DEFAULT_GENERATION, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  const check = (ok: boolean, flag: string, value: unknown, rule: string): void => {
    if (!ok) throw new InputError(`${flag} must be ${rule}, got ${JSON.stringify(value)}`);
  };
  check(Number.isInteger(options.maxNewTokens) && options.maxNewTokens >= 1, '--max-new-tokens', options.maxNewTokens, 'a positive integer');
  check(Number.isFinite(options.temperature) && options.temperature >= 0, '--temperature', options.temperature, 'a number >= 0');
  check(Number.isFinite(options.topP) && options.topP > 0 && options.topP <= 1, '--top-p', options.topP, 'in (0, 1]');
  check(Number.isInteger(options.topK) && options.topK >= 0, '--top-k', options.topK, 'an integer >= 0');
  check(Number.isInteger(options.seed), '--seed', options.seed, 'an integer');
  check(options.stopSequences.every((s) => typeof s === 'string' && s.length > 0), '--stop', options.stopSequences, 'non-empty strings');
  return options;
}

/**
 * The seed of one record's sample: the run seed mixed with task id and sample index, so each sample draws its
 * own stream and gets the same completion whichever session or batch it lands in.
 */
export function recordSeed(seed: number, taskId: number, sampleIndex: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ taskId ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ sampleIndex ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}
