import { InputError } from '../errors.js';
import { checkHashSeed } from '../sandbox/sandbox-executor.js';
import type { BuildArgs } from './build-options.js';

type NumericRule = 'index' | 'count' | 'positive' | 'non-negative' | 'integer';

/** What each numeric flag must be; yargs turns "abc" into NaN, so every one is checked here. */
const NUMERIC_FLAGS: ReadonlyArray<[keyof BuildArgs, string, NumericRule]> = [
  ['start', '--start', 'index'],
  ['end', '--end', 'index'],
  ['checkpoint', '--checkpoint', 'count'],
  ['maxMemory', '--max-memory', 'positive'],
  ['maxGpuMemory', '--max-gpu-memory', 'positive'],
  ['maxRetries', '--max-retries', 'index'],
  ['timeout', '--timeout', 'positive'],
  ['samples', '--samples', 'count'],
  ['temperature', '--temperature', 'non-negative'],
  ['topP', '--top-p', 'positive'],
  ['topK', '--top-k', 'count'],
  ['seed', '--seed', 'integer'],
  ['maxNewTokens', '--max-new-tokens', 'count'],
  ['batchSize', '--batch-size', 'count'],
  ['sessions', '--sessions', 'count'],
  ['concurrency', '--concurrency', 'count'],
  ['workers', '--workers', 'count'],
  ['hashSeed', '--hash-seed', 'index'],
  ['flakyCheck', '--flaky-check', 'count'],
  ['cpuLimitFloor', '--cpu-limit-floor', 'count'],
  ['cpuLimitFactor', '--cpu-limit-factor', 'positive'],
];

/** Throws an InputError naming the first numeric flag whose value is not what it must be; absent flags pass. */
export function checkNumericFlags(args: Partial<BuildArgs>): void {
  for (const [key, flag, rule] of NUMERIC_FLAGS) {
    const value = args[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InputError(`${flag} must be a number, got ${JSON.stringify(value)}`);
    }
    const problem = violation(value, rule);
    if (problem) throw new InputError(`${flag} must be ${problem}, got ${value}`);
  }
  if (args.topP !== undefined && args.topP > 1) throw new InputError(`--top-p must be at most 1, got ${args.topP}`);
  if (args.hashSeed !== undefined) checkHashSeed(args.hashSeed);
  if (args.cpuLimitFactor !== undefined && args.cpuLimitFactor < 1) {
    throw new InputError(`--cpu-limit-factor must be at least 1, got ${args.cpuLimitFactor}`);
  }
}

function violation(value: number, rule: NumericRule): string | undefined {
  switch (rule) {
    case 'index':
      return Number.isInteger(value) && value >= 0 ? undefined : 'an integer >= 0';
    case 'count':
      return Number.isInteger(value) && value >= 1 ? undefined : 'an integer >= 1';
    case 'integer':
      return Number.isInteger(value) ? undefined : 'an integer';
    case 'positive':
      return value > 0 ? undefined : 'greater than 0';
    case 'non-negative':
      return value >= 0 ? undefined : '>= 0';
  }
}
