import type { HardeningConfig } from '../config.js';
import { defaultCacheDir } from '../io/dataset-location.js';
import type { RunLogger } from '../monitor/run-logger.js';
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
  const loaded = await loadReferenceTimings({
    cacheDir: defaultCacheDir(),
    datasetSha256: inputs.location.sha256,
    python: executor.python,
    records: inputs.work.records,
    executor,
    onMeasure: (tasks) =>
      logger.logger.info({ event: 'reference-timings', tasks }, `timing ${tasks} reference solutions for per-task CPU limits (once per dataset and interpreter)`),
  });
  if (loaded.cacheError) logger.logger.warn({ event: 'reference-timings' }, `reference timings not cached: ${loaded.cacheError}`);
  return new TaskTimeLimits(timeLimitPolicyOf(inputs.hardening, executor.limits.cpuSeconds), loaded.timings, loaded.file);
}
