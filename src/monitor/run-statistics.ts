import type { IsolationLevel } from '../sandbox/executor.js';
import { verdictOf, type RecordOutcome } from './progress-counts.js';
import type { ResourcePeaks } from './resource-monitor.js';
import type { RunVersions } from './run-versions.js';
import type { Throughput } from './throughput-meter.js';

/** avg/min/max/median/p95 of a set of durations, in seconds. */
export interface DurationSummary {
  count: number;
  avg: number;
  min: number;
  max: number;
  median: number;
  p95: number;
}

/** Per-record latency: how long each record took, not how many records a second the run made (see throughput). */
export interface RecordLatency {
  generation: DurationSummary | null;
  execution: DurationSummary | null;
  /** generation + execution. */
  total: DurationSummary | null;
}

/** The run statistics of the extended metadata (snake_case, like the dataset's columns). */
export interface RunStatistics {
  records: number;
  passed: number;
  wrong: number;
  failed: number;
  /** passed / records: a record that failed after retries counts as not passed. */
  pass_rate: number;
  /** Records and tokens per second of wall time, overall and per session, and session utilization (this attempt). */
  throughput: Throughput | null;
  /** Per record, over every record of the dataset (resumed ones included); null when no record finished. */
  latency: RecordLatency;
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
}

export interface RunContext {
  peaks?: ResourcePeaks;
  sandboxLevel?: IsolationLevel;
  versions?: RunVersions;
  resumes?: number;
  /** The attempt's throughput, from its `ThroughputMeter`. */
  throughput?: Throughput;
}

/** Summarises durations; null for none. Median and p95 interpolate linearly between ranks (as numpy does). */
export function summarizeDurations(values: ArrayLike<number>): DurationSummary | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
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
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** Numbers a growable array keeps, at 8 bytes each (a plain array would box them). */
class Float64List {
  private values = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  toArray(): Float64Array {
    return this.values.subarray(0, this.length);
  }
}

/**
 * Sums up the dataset's records one at a time, keeping numbers only (three durations a record for the latency
 * quantiles), so the statistics of a 200,000-record run never need its rows at once. Give it every record of the
 * dataset, resumed ones included.
 */
export class RunStatisticsTally {
  private readonly counts = { passed: 0, wrong: 0, failed: 0 };
  private readonly generation = new Float64List();
  private readonly execution = new Float64List();
  private readonly total = new Float64List();
  private retries = 0;
  private mostRetries = 0;
  private recordsRetried = 0;

  add(outcome: RecordOutcome): void {
    this.counts[verdictOf(outcome)]++;
    const retries = Math.max(0, outcome.attempts - 1);
    this.retries += retries;
    this.mostRetries = Math.max(this.mostRetries, retries);
    if (retries > 0) this.recordsRetried += 1;
    this.generation.push(outcome.generation_time);
    this.execution.push(outcome.execution_time);
    this.total.push(outcome.generation_time + outcome.execution_time);
  }

  statistics(context: RunContext = {}): RunStatistics {
    const records = this.generation.length;
    return {
      records,
      ...this.counts,
      pass_rate: records > 0 ? this.counts.passed / records : 0,
      throughput: context.throughput ?? null,
      latency: {
        generation: summarizeDurations(this.generation.toArray()),
        execution: summarizeDurations(this.execution.toArray()),
        total: summarizeDurations(this.total.toArray()),
      },
      retries: {
        total: this.retries,
        per_record: records > 0 ? this.retries / records : 0,
        max: this.mostRetries,
        records_retried: this.recordsRetried,
      },
      resources: context.peaks ? peaksForMetadata(context.peaks) : null,
      sandbox_level: context.sandboxLevel ?? null,
      versions: context.versions ?? null,
      resumes: context.resumes ?? 0,
    };
  }
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
