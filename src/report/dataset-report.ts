import type { GenerationResult, Split } from '../records.js';

/** The columns a report reads: any dataset row (or journal record) has them. */
export type ReportRow = Pick<
  GenerationResult,
  | 'task_id'
  | 'sample_index'
  | 'split'
  | 'model'
  | 'status'
  | 'is_correct'
  | 'passed_tests'
  | 'total_tests'
  | 'test_results'
  | 'generation_time'
  | 'execution_time'
  | 'attempts'
  | 'error'
>;

export interface SplitSummary {
  split: Split;
  records: number;
  passed: number;
  passRate: number;
}

export interface ErrorTypeCount {
  /** The first failing test's error type, or `not judged` for a record that failed after retries. */
  errorType: string;
  records: number;
}

export interface SlowRecord {
  task_id: number;
  sample_index: number;
  split: Split;
  seconds: number;
  generation_time: number;
  execution_time: number;
}

export interface FailedRecord {
  task_id: number;
  sample_index: number;
  split: Split;
  attempts: number;
  error: string;
}

/** What a researcher reads first about a dataset. Rates are 0..1; seconds are generation + execution. */
export interface DatasetReport {
  source: string;
  models: string[];
  records: number;
  passed: number;
  wrong: number;
  failed: number;
  passRate: number;
  bySplit: SplitSummary[];
  errorTypes: ErrorTypeCount[];
  slowest: SlowRecord[];
  failedRecords: FailedRecord[];
  /** Seconds per record, in row order: the histogram's data. */
  recordSeconds: number[];
}

/** Label for records that could not be generated or judged. */
export const NOT_JUDGED = 'not judged';

const SPLIT_ORDER: readonly Split[] = ['prompt', 'test', 'validation', 'train'];

/** Builds the report of a dataset's rows; `slowestCount` limits the slowest-records list. */
export function buildDatasetReport(rows: readonly ReportRow[], source: string, slowestCount = 10): DatasetReport {
  const passed = rows.filter((row) => row.status === 'ok' && row.is_correct).length;
  const failedRows = rows.filter((row) => row.status === 'failed');
  const seconds = (row: ReportRow) => row.generation_time + row.execution_time;
  return {
    source,
    models: [...new Set(rows.map((row) => row.model))].sort(),
    records: rows.length,
    passed,
    wrong: rows.length - passed - failedRows.length,
    failed: failedRows.length,
    passRate: rate(passed, rows.length),
    bySplit: SPLIT_ORDER.flatMap((split) => {
      const inSplit = rows.filter((row) => row.split === split);
      if (inSplit.length === 0) return [];
      const splitPassed = inSplit.filter((row) => row.status === 'ok' && row.is_correct).length;
      return [{ split, records: inSplit.length, passed: splitPassed, passRate: rate(splitPassed, inSplit.length) }];
    }),
    errorTypes: countErrorTypes(rows),
    slowest: [...rows]
      .sort((a, b) => seconds(b) - seconds(a))
      .slice(0, slowestCount)
      .map((row) => ({
        task_id: row.task_id,
        sample_index: row.sample_index,
        split: row.split,
        seconds: seconds(row),
        generation_time: row.generation_time,
        execution_time: row.execution_time,
      })),
    failedRecords: failedRows.map((row) => ({
      task_id: row.task_id,
      sample_index: row.sample_index,
      split: row.split,
      attempts: row.attempts,
      error: row.error ?? 'unknown error',
    })),
    recordSeconds: rows.map(seconds),
  };
}

/** Why each record that did not pass did not: its first failing test's error type, most frequent first. */
function countErrorTypes(rows: readonly ReportRow[]): ErrorTypeCount[] {
  const counts = new Map<string, number>();
  for (const row of rows) {
    if (row.status === 'ok' && row.is_correct) continue;
    const errorType =
      row.status === 'failed'
        ? NOT_JUDGED
        : (row.test_results.find((result) => !result.passed)?.error_type ?? 'no tests passed');
    counts.set(errorType, (counts.get(errorType) ?? 0) + 1);
  }
  return [...counts]
    .map(([errorType, records]) => ({ errorType, records }))
    .sort((a, b) => b.records - a.records || a.errorType.localeCompare(b.errorType));
}

function rate(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}
