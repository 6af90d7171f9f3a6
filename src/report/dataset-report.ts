import { summarizeDurations, type RecordLatency } from '../monitor/run-statistics.js';
import type { Split } from '../records.js';
import { labelRates, type LabelRates } from './label-rates.js';
import type { OptionalColumn, ReportDataset, ReportRow } from './report-rows.js';
import type { RunFigures } from './run-figures.js';
import { flakyTasks, summariseSamples, taskTallies, type FlakyTask, type SampleSummary } from './task-samples.js';

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
  split: Split | null;
  seconds: number;
  generation_time: number;
  execution_time: number;
}

export interface FailedRecord {
  task_id: number;
  sample_index: number;
  split: Split | null;
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
  /** The headline, MBPP+ base and plus labels side by side; null for a dataset without MBPP+ labels. */
  labels: LabelRates | null;
  /** What this dataset's columns do not let the report show, one line each (the original pipeline's lack several). */
  limitations: string[];
  /** null where the dataset has no splits. */
  bySplit: SplitSummary[] | null;
  /** null where the dataset has no per-test verdicts. */
  errorTypes: ErrorTypeCount[] | null;
  /** null where every task has one sample. */
  samples: SampleSummary | null;
  /** null where no flaky check ran. */
  flakyTasks: FlakyTask[] | null;
  slowest: SlowRecord[];
  failedRecords: FailedRecord[];
  /** Seconds per record, in row order: the histogram's data. */
  recordSeconds: number[];
  /** Per-record latency, the same summaries as the metadata's `statistics.latency`. */
  latency: RecordLatency;
  /** Records and tokens per second of wall time, and each session's share and utilization; null without metadata. */
  run: RunFigures | null;
}

/** What the report cannot show without each optional column. */
const LIMITATIONS: Record<OptionalColumn, string> = {
  sample_index: 'no sample_index: each row is taken as sample 0 of its task',
  split: 'no split: pass rate by split not shown',
  model: 'no model: the model is not named',
  status: 'no status: records that failed after retries cannot be told from wrong ones',
  test_results: 'no test_results (per-test verdicts): why records did not pass is not shown',
  execution_time: 'no execution_time: times are generation time only',
};

/** Label for records that could not be generated or judged. */
export const NOT_JUDGED = 'not judged';

const SPLIT_ORDER: readonly Split[] = ['prompt', 'test', 'validation', 'train'];

/** One line per absent column: what the report cannot show without it. */
export function limitationsOf(absent: readonly OptionalColumn[]): string[] {
  return absent.map((column) => LIMITATIONS[column]);
}

/** The models that produced the rows, sorted; none where the dataset does not name them. */
export function modelsOf(rows: readonly ReportRow[]): string[] {
  return [...new Set(rows.flatMap((row) => (row.model === null ? [] : [row.model])))].sort();
}

/** Builds the report of a dataset; `slowestCount` limits the slowest-records list. */
export function buildDatasetReport(dataset: ReportDataset, slowestCount = 10): DatasetReport {
  const { rows, source } = dataset;
  const passed = rows.filter((row) => row.status === 'ok' && row.is_correct).length;
  const failedRows = rows.filter((row) => row.status === 'failed');
  const seconds = (row: ReportRow) => row.generation_time + row.execution_time;
  return {
    source,
    models: modelsOf(rows),
    records: rows.length,
    passed,
    wrong: rows.length - passed - failedRows.length,
    failed: failedRows.length,
    passRate: rate(passed, rows.length),
    labels: labelRates(rows),
    limitations: limitationsOf(dataset.absent),
    bySplit: dataset.absent.includes('split') ? null : SPLIT_ORDER.flatMap((split) => {
      const inSplit = rows.filter((row) => row.split === split);
      if (inSplit.length === 0) return [];
      const splitPassed = inSplit.filter((row) => row.status === 'ok' && row.is_correct).length;
      return [{ split, records: inSplit.length, passed: splitPassed, passRate: rate(splitPassed, inSplit.length) }];
    }),
    errorTypes: dataset.absent.includes('test_results') ? null : countErrorTypes(rows),
    samples: summariseSamples(taskTallies(rows)),
    flakyTasks: flakyTasks(rows),
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
    latency: {
      generation: summarizeDurations(rows.map((row) => row.generation_time)),
      execution: summarizeDurations(rows.map((row) => row.execution_time)),
      total: summarizeDurations(rows.map(seconds)),
    },
    run: dataset.run ?? null,
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
        : (row.test_results?.find((result) => !result.passed)?.error_type ?? 'no tests passed');
    counts.set(errorType, (counts.get(errorType) ?? 0) + 1);
  }
  return [...counts]
    .map(([errorType, records]) => ({ errorType, records }))
    .sort((a, b) => b.records - a.records || a.errorType.localeCompare(b.errorType));
}

function rate(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}
