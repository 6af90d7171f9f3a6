import type { ProgressCounts, RecordOutcome } from './progress-counts.js';

/**
 * The `--json` event stream: one object per line on stdout, for other tools. Every event has `event` and an
 * ISO `time`; counts use the same names everywhere.
 */
export type ProgressEvent =
  | ({ event: 'start'; time: string; total: number } & Record<string, unknown>)
  | ({ event: 'record'; time: string } & RecordOutcome)
  | ({ event: 'progress'; time: string } & ProgressCounts & ProgressRateFields)
  | { event: 'checkpoint'; time: string; count: number }
  | { event: 'warning'; time: string; message: string }
  | ({ event: 'summary'; time: string } & ProgressCounts & SummaryFields);

export interface ProgressRateFields {
  records_per_second: number;
  /** Completion tokens per second over the same window; null where the backend counts none. */
  tokens_per_second: number | null;
  eta_seconds: number | null;
  /** Inference sessions in rotation, of the pool's. */
  sessions_up?: number;
  sessions_total?: number;
  rss_bytes?: number;
  gpus?: { index: number; memory_used_bytes: number; memory_total_bytes: number; utilization_percent: number | null }[];
}

export interface SummaryFields {
  elapsed_seconds: number;
  output?: string;
  statistics?: unknown;
}

/** One JSON line (with its newline). */
export function formatEvent(event: ProgressEvent): string {
  return `${JSON.stringify(event)}\n`;
}
