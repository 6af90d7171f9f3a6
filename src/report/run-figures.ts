/**
 * The run's throughput, which the rows cannot tell (they hold per-record times, and records overlap): read from the
 * extended metadata written beside the dataset (`<stem>_extended_metadata.json`), the figures the run's progress
 * line and end-of-run summary showed. Absent for a dataset without that file (the original pipeline's, a copy).
 */
import { readFile } from 'node:fs/promises';
import type { DurationSummary, RecordLatency } from '../monitor/run-statistics.js';
import type { Throughput } from '../monitor/throughput-meter.js';

export interface RunFigures {
  /** The metadata file they come from. */
  source: string;
  throughput: Throughput;
}

/** The throughput recorded beside `datasetFile`; null where there is no metadata, or it predates throughput. */
export async function readRunFigures(datasetFile: string): Promise<RunFigures | null> {
  const stem = datasetFile.replace(/\.(parquet|json)$/, '');
  if (stem === datasetFile) return null;
  const source = `${stem}_extended_metadata.json`;
  let metadata: { statistics?: { throughput?: unknown } } | null;
  try {
    metadata = JSON.parse(await readFile(source, 'utf8')) as typeof metadata;
  } catch {
    return null;
  }
  const throughput = metadata?.statistics?.throughput as Partial<Throughput> | null | undefined;
  if (!throughput || typeof throughput.records_per_second !== 'number' || !Array.isArray(throughput.sessions)) return null;
  return { source, throughput: throughput as Throughput };
}

/** A table as both renderings take it. */
export interface FiguresTable {
  header: string[];
  rows: string[][];
}

const perSecond = (value: number | null) => (value === null ? '-' : value.toFixed(2));

/** The attempt's throughput, and one row per session that made records. */
export function throughputTables(throughput: Throughput): { run: FiguresTable; sessions: FiguresTable } {
  return {
    run: {
      header: ['records', 'wall seconds', 'records/s', 'tokens/s'],
      rows: [[String(throughput.records), throughput.wall_seconds.toFixed(1), perSecond(throughput.records_per_second), perSecond(throughput.tokens_per_second)]],
    },
    sessions: {
      header: ['session', 'records', 'records/s', 'tokens/s', 'busy'],
      rows: throughput.sessions
        .filter((session) => session.records > 0)
        .map((session) => [
          session.id,
          String(session.records),
          perSecond(session.records_per_second),
          perSecond(session.tokens_per_second),
          `${Math.round(100 * session.utilization)}%`,
        ]),
    },
  };
}

/** Median, p95 and max seconds per record, by stage. */
export function latencyTable(latency: RecordLatency): FiguresTable {
  const stages: Array<[string, DurationSummary | null]> = [
    ['generation', latency.generation],
    ['execution', latency.execution],
    ['total', latency.total],
  ];
  return {
    header: ['stage', 'median', 'p95', 'max'],
    rows: stages.flatMap(([stage, summary]) => (summary === null ? [] : [[stage, summary.median.toFixed(3), summary.p95.toFixed(3), summary.max.toFixed(3)]])),
  };
}
