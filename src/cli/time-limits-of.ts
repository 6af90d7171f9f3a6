import type { HardeningConfig } from '../config.js';
import { defaultCacheDir } from '../io/dataset-location.js';
import type { RunLogger } from '../monitor/run-logger.js';
import { loadPlusGroundTruth } from '../sandbox/plus-ground-truth.js';
import { PlusJudging } from '../sandbox/plus-judging.js';
import { loadReferenceTimings } from '../sandbox/reference-timings.js';
import type { SandboxExecutor } from '../sandbox/sandbox-executor.js';
import { TaskTimeLimits, type TimeLimitPolicy } from '../sandbox/time-limits.js';
import type { RunInputs } from './run-inputs.js';

/** `cpu_limit_floor` and `cpu_limit_factor`; a test the reference solution did not finish gets the sandbox default. */
export function timeLimitPolicyOf(hardening: HardeningConfig, fallbackSeconds: number): TimeLimitPolicy {
  return { floorSeconds: hardening.cpu_limit_floor, factor: hardening.cpu_limit_factor, fallbackSeconds };
}

/** The run's per-test CPU limits, from the reference solutions' CPU times (timed once per dataset and interpreter). */
export async function timeLimitsOf(inputs: RunInputs, executor: SandboxExecutor, logger: RunLogger): Promise<TaskTimeLimits> {
  // Joined to MBPP+, the asserts and reference solutions are the original file's: its timings (a plain MBPP run's too).
  const loaded = await loadReferenceTimings({
    cacheDir: defaultCacheDir(),
    datasetSha256: inputs.dataset.original?.sha256 ?? inputs.location.sha256,
    python: executor.python,
    records: inputs.work.records,
    executor,
    onMeasure: (tasks) =>
      logger.logger.info({ event: 'reference-timings', tasks }, `timing ${tasks} reference solutions for per-task CPU limits (once per dataset and interpreter)`),
  });
  if (loaded.cacheError) logger.logger.warn({ event: 'reference-timings' }, `reference timings not cached: ${loaded.cacheError}`);
  return new TaskTimeLimits(timeLimitPolicyOf(inputs.hardening, executor.limits.cpuSeconds), loaded.timings, loaded.file);
}

/**
 * How the run judges its MBPP+ records (undefined when it has none): the canonical solutions' outputs and CPU times,
 * recorded once per dataset and interpreter, set the expected values and per-input limits.
 */
export async function plusJudgingOf(inputs: RunInputs, executor: SandboxExecutor, logger: RunLogger): Promise<PlusJudging | undefined> {
  if (!inputs.work.records.some((record) => record.plus)) return undefined;
  const loaded = await loadPlusGroundTruth({
    cacheDir: defaultCacheDir(),
    datasetPath: inputs.location.path,
    datasetSha256: inputs.location.sha256,
    python: executor.python,
    records: inputs.work.records,
    executor,
    onRecord: (tasks) =>
      logger.logger.info(
        { event: 'mbppplus-ground-truth', tasks },
        `running ${tasks} MBPP+ canonical solutions on their inputs for the expected outputs (once per dataset and interpreter)`,
      ),
  });
  if (loaded.cacheError) logger.logger.warn({ event: 'mbppplus-ground-truth' }, `MBPP+ ground truth not cached: ${loaded.cacheError}`);
  const policy = timeLimitPolicyOf(inputs.hardening, executor.limits.cpuSeconds);
  return new PlusJudging(loaded.truth, policy, !inputs.args.testDetails, loaded.file);
}
