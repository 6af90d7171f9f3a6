import type { MbppRecord } from '../records.js';
import type { PlusSuites } from './executor.js';
import { callSuite, type PlusGroundTruth } from './plus-ground-truth.js';
import { cpuLimitsFor, type TimeLimitPolicy } from './time-limits.js';

/** EvalPlus caps a task's whole run at 60 s (EVALPLUS_TIMEOUT_PER_TASK); here in CPU seconds, per suite. */
export const SUITE_CPU_SECONDS = 60;

/**
 * How a run judges MBPP+ records: against the canonical solutions' recorded outputs, each input with a CPU limit of
 * `max(floor, ⌈factor × the canonical call's CPU time⌉)` (EvalPlus: `max(1, 4 × its wall time)`), and by default
 * EvalPlus's fast_check (the first failing input ends a suite; `--test-details` judges every input).
 */
export class PlusJudging {
  constructor(
    private readonly truth: PlusGroundTruth,
    readonly policy: TimeLimitPolicy,
    readonly stopAtFirstFailure: boolean,
    /** The ground-truth cache file. */
    readonly truthFile: string,
  ) {}

  /** The record's suites to judge; undefined for a record without MBPP+ inputs. */
  suitesFor(record: MbppRecord): PlusSuites | undefined {
    const truth = record.plus && this.truth.get(record.task_id);
    if (!record.plus || !truth) return undefined;
    const rest = { stopAtFirstFailure: this.stopAtFirstFailure, totalCpuSeconds: SUITE_CPU_SECONDS };
    return {
      base: { calls: callSuite(record.plus, record.task_id, 'base', { ...rest, expected: truth.base.outputs }), cpuLimits: cpuLimitsFor(truth.base.cpu, this.policy) },
      plus: { calls: callSuite(record.plus, record.task_id, 'plus', { ...rest, expected: truth.plus.outputs }), cpuLimits: cpuLimitsFor(truth.plus.cpu, this.policy) },
    };
  }

  /** For the run metadata. */
  describe() {
    return {
      ground_truth: this.truthFile,
      fast_check: this.stopAtFirstFailure,
      floor_seconds: this.policy.floorSeconds,
      factor: this.policy.factor,
      suite_cpu_seconds: SUITE_CPU_SECONDS,
    };
  }
}
