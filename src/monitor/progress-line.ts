import type { ProgressCounts } from './progress-counts.js';
import type { RateEstimate } from './moving-rate.js';
import type { ResourceSample } from './resource-thresholds.js';

/** Everything one progress line shows. */
export interface ProgressSnapshot {
  counts: ProgressCounts;
  rate: RateEstimate;
  /** Completion tokens per second over the same window; null where the backend counts none. */
  tokensPerSecond?: number | null;
  /** The resource monitor's latest sample, when one runs. */
  resources?: ResourceSample;
  /** Inference sessions in rotation, of the pool's. */
  sessions?: SessionsUp;
}

export interface SessionsUp {
  up: number;
  total: number;
}

const GIB = 1024 ** 3;

/**
 * One line, the same on the spinner and in plain output, e.g.
 * `412/974 42.3% | passed 301 wrong 98 failed 13 | retries 21 | 2.41 rec/s 412 tok/s ETA 3m53s | 3/4 sessions up | RSS 1.2 GiB | GPU0 21.8/80.0 GiB`.
 * The sessions are shown when there are several, or when one is down.
 */
export function formatProgressLine({ counts, rate, tokensPerSecond, resources, sessions }: ProgressSnapshot): string {
  const tokens = tokensPerSecond === undefined || tokensPerSecond === null ? '' : ` ${formatCount(tokensPerSecond)} tok/s`;
  const parts = [
    `${counts.done}/${counts.total} ${formatPercent(counts.done, counts.total)}`,
    `passed ${counts.passed} wrong ${counts.wrong} failed ${counts.failed}`,
    `retries ${counts.retries}`,
    `${rate.recordsPerSecond.toFixed(2)} rec/s${tokens} ETA ${rate.etaSeconds === null ? '--' : formatDuration(rate.etaSeconds)}`,
  ];
  if (sessions && (sessions.total > 1 || sessions.up < sessions.total)) parts.push(`${sessions.up}/${sessions.total} sessions up`);
  if (resources) {
    parts.push(`RSS ${(resources.memory.rssBytes / GIB).toFixed(1)} GiB`);
    const gpus = resources.gpu.gpus.map(
      (gpu) =>
        `GPU${gpu.index} ${(gpu.memoryUsedBytes / GIB).toFixed(1)}/${(gpu.memoryTotalBytes / GIB).toFixed(1)} GiB`,
    );
    if (gpus.length > 0) parts.push(gpus.join(' '));
  }
  return parts.join(' | ');
}

/** A rate as a whole number with thousands separators: 8812.4 -> "8,812". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** "42.3%"; "0.0%" for an empty run. */
export function formatPercent(part: number, whole: number): string {
  return `${whole > 0 ? ((100 * part) / whole).toFixed(1) : '0.0'}%`;
}

/** 45 -> "45s", 233 -> "3m53s", 7530 -> "2h05m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
