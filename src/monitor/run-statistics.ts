import type { IsolationLevel } from '../sandbox/executor.js';
import { verdictOf, type RecordOutcome } from './progress-counts.js';
import type { ResourcePeaks } from './resource-monitor.js';
import type { RunVersions } from './run-versions.js';

/** avg/min/max/median/p95 of a set of durations, in seconds. */
export interface DurationSummary {
  count: number;
  avg: number;
  min: number;
  max: number;
  median: number;
  p95: number;
}

/** The run statistics of the extended metadata (snake_case, like the dataset's columns). */
export interface RunStatistics {
  records: number;
  passed: number;
  wrong: number;
  failed: number;
  /** passed / records: a record that failed after retries counts as not passed. */
  pass_rate: number;
  /** Per record; null when no record finished. `total` is generation + execution. */
  timing: { generation: DurationSummary | null; execution: DurationSummary | null; total: DurationSummary | null };
  /** Completion tokens over generation seconds, for records whose backend counted tokens; else null. */
  tokens_per_second: number | null;
  retries: { total: number; per_record: number; max: number; records_retried: number };
  resources: {
    peak_rss_bytes: number;
    min_available_bytes: number | null;
    gpus: { index: number; name: string; peak_memory_used_bytes: number; memory_total_bytes: number; peak_utilization_percent: number | null }[];
  } | null;
  sandbox_level: IsolationLevel | null;
  versions: RunVersions | null;
  /** How many times this run was resumed after a stop or crash. */
  resumes: number;
  /** Wall seconds of this process's part of the run; null when not given. */
  wall_seconds: number | null;
}

export interface RunContext {
  peaks?: ResourcePeaks;
  sandboxLevel?: IsolationLevel;
  versions?: RunVersions;
  resumes?: number;
  wallSeconds?: number;
}

/** Summarises durations; null for none. Median and p95 interpolate linearly between ranks (as numpy does). */
export function summarizeDurations(values: readonly number[]): DurationSummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    avg: sum / sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    median: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
  };
}

/** The q-quantile of ascending `sorted` (non-empty). */
export function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** The statistics of the finished records (resumed ones included: give the whole dataset's rows). */
export function computeRunStatistics(outcomes: readonly RecordOutcome[], context: RunContext = {}): RunStatistics {
  const counts = { passed: 0, wrong: 0, failed: 0 };
  for (const outcome of outcomes) counts[verdictOf(outcome)]++;
  const retries = outcomes.map((outcome) => Math.max(0, outcome.attempts - 1));
  const totalRetries = retries.reduce((sum, value) => sum + value, 0);
  const counted = outcomes.filter((outcome) => outcome.completion_tokens !== null && outcome.generation_time > 0);
  const tokenSeconds = counted.reduce((sum, outcome) => sum + outcome.generation_time, 0);
  const tokens = counted.reduce((sum, outcome) => sum + (outcome.completion_tokens ?? 0), 0);
  return {
    records: outcomes.length,
    ...counts,
    pass_rate: outcomes.length > 0 ? counts.passed / outcomes.length : 0,
    timing: {
      generation: summarizeDurations(outcomes.map((outcome) => outcome.generation_time)),
      execution: summarizeDurations(outcomes.map((outcome) => outcome.execution_time)),
      total: summarizeDurations(outcomes.map((outcome) => outcome.generation_time + outcome.execution_time)),
    },
    tokens_per_second: tokenSeconds > 0 ? tokens / tokenSeconds : null,
    retries: {
      total: totalRetries,
      per_record: outcomes.length > 0 ? totalRetries / outcomes.length : 0,
      max: retries.reduce((most, value) => Math.max(most, value), 0),
      records_retried: retries.filter((value) => value > 0).length,
    },
    resources: context.peaks ? peaksForMetadata(context.peaks) : null,
    sandbox_level: context.sandboxLevel ?? null,
    versions: context.versions ?? null,
    resumes: context.resumes ?? 0,
    wall_seconds: context.wallSeconds ?? null,
  };
}

function peaksForMetadata(peaks: ResourcePeaks): NonNullable<RunStatistics['resources']> {
  return {
    peak_rss_bytes: peaks.peakRssBytes,
    min_available_bytes: peaks.minAvailableBytes,
    gpus: peaks.gpus.map((gpu) => ({
      index: gpu.index,
      name: gpu.name,
      peak_memory_used_bytes: gpu.peakMemoryUsedBytes,
      memory_total_bytes: gpu.memoryTotalBytes,
      peak_utilization_percent: gpu.peakUtilizationPercent,
    })),
  };
}
