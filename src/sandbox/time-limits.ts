import type { MbppRecord } from '../records.js';
import type { ReferenceTimings } from './reference-timings.js';

/**
 * How each test's CPU limit follows from the reference solution's CPU time on it: `max(floor, ⌈factor × t⌉)` whole
 * seconds, as EvalPlus sets per-input limits (it uses wall time, which load would make flip labels; CPU time does
 * not). A test the reference gave no time for (it did not end on its own) gets `fallbackSeconds`.
 */
export interface TimeLimitPolicy {
  /** Whole CPU seconds no test gets less of (`cpu_limit_floor`). */
  floorSeconds: number;
  /** Times the reference solution's CPU time (`cpu_limit_factor`). */
  factor: number;
  /** Where there is no reference time. */
  fallbackSeconds: number;
}

export function cpuLimitsFor(referenceSeconds: readonly (number | null)[], policy: TimeLimitPolicy): number[] {
  return referenceSeconds.map((seconds) =>
    seconds === null
      ? Math.max(policy.floorSeconds, policy.fallbackSeconds)
      : Math.max(policy.floorSeconds, Math.ceil(policy.factor * seconds)),
  );
}

/** Each task's limits, from its reference timings, as the pipeline asks for them and the metadata records them. */
export class TaskTimeLimits {
  constructor(
    readonly policy: TimeLimitPolicy,
    private readonly timings: ReferenceTimings,
    /** The cache file the timings came from. */
    readonly timingsFile: string,
  ) {}

  /** Limits for the record's tests, then (with `challengeTests`) its challenge tests. */
  for(record: MbppRecord, challengeTests: boolean): number[] {
    const count = record.test_list.length + (challengeTests ? record.challenge_test_list.length : 0);
    const measured = this.timings.get(record.task_id);
    return cpuLimitsFor(Array.from({ length: count }, (_, index) => measured?.[index] ?? null), this.policy);
  }

  describe(records: readonly MbppRecord[], challengeTests: boolean) {
    return {
      floor_seconds: this.policy.floorSeconds,
      factor: this.policy.factor,
      reference_timings: this.timingsFile,
      per_task: Object.fromEntries(records.map((record) => [record.task_id, this.for(record, challengeTests)])),
    };
  }
}
