import type { GenerationResult } from '../records.js';

/** The fields of a finished record that progress, events and statistics read. */
export type RecordOutcome = Pick<
  GenerationResult,
  | 'task_id'
  | 'sample_index'
  | 'split'
  | 'status'
  | 'is_correct'
  | 'attempts'
  | 'passed_tests'
  | 'total_tests'
  | 'generation_time'
  | 'execution_time'
  | 'completion_tokens'
  | 'error'
>;

/** Where a run stands. `passed + wrong + failed === done`. */
export interface ProgressCounts {
  total: number;
  done: number;
  /** Judged and correct. */
  passed: number;
  /** Judged and wrong: a label, not an error. */
  wrong: number;
  /** Could not be generated or judged, after all retries. */
  failed: number;
  /** Extra attempts spent so far (attempts beyond the first, summed). */
  retries: number;
}

export function emptyCounts(total: number): ProgressCounts {
  return { total, done: 0, passed: 0, wrong: 0, failed: 0, retries: 0 };
}

/** The counts after one more finished record. */
export function countRecord(counts: ProgressCounts, outcome: RecordOutcome): ProgressCounts {
  const verdict = verdictOf(outcome);
  return {
    ...counts,
    done: counts.done + 1,
    passed: counts.passed + (verdict === 'passed' ? 1 : 0),
    wrong: counts.wrong + (verdict === 'wrong' ? 1 : 0),
    failed: counts.failed + (verdict === 'failed' ? 1 : 0),
    retries: counts.retries + Math.max(0, outcome.attempts - 1),
  };
}

export function verdictOf(outcome: Pick<RecordOutcome, 'status' | 'is_correct'>): 'passed' | 'wrong' | 'failed' {
  if (outcome.status === 'failed') return 'failed';
  return outcome.is_correct ? 'passed' : 'wrong';
}
