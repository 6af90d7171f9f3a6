/**
 * Records/s and ETA from a moving window of recent progress samples. A run's first minutes (model load,
 * cold caches) are much slower than its steady state; a whole-run average would keep the ETA pessimistic
 * for hours, so only the last `windowMs` count.
 */

/** How many records were done at a moment (ms on any monotonic clock), and optionally how many tokens they took. */
export interface ProgressSample {
  atMs: number;
  done: number;
  tokens?: number;
}

export interface RateEstimate {
  /** Records per second over the window; 0 until two samples span some time. */
  recordsPerSecond: number;
  /** Seconds until `total` at that rate; null while the rate is unknown. 0 when finished. */
  etaSeconds: number | null;
}

/**
 * Adds a sample and drops those older than the window, keeping the newest sample at or before the window's
 * start so the window stays fully spanned. A sample closer than `minSpacingMs` to the one before the newest
 * replaces the newest, so a fast run (hundreds of records/s) keeps a small window. Returns a new array.
 */
export function pushSample(
  samples: readonly ProgressSample[],
  sample: ProgressSample,
  windowMs: number,
  minSpacingMs = 250,
): ProgressSample[] {
  const beforeNewest = samples[samples.length - 2];
  const crowded = beforeNewest !== undefined && sample.atMs - beforeNewest.atMs < minSpacingMs;
  const all = [...(crowded ? samples.slice(0, -1) : samples), sample];
  const windowStart = sample.atMs - windowMs;
  let firstKept = 0;
  while (firstKept + 1 < all.length && all[firstKept + 1]!.atMs <= windowStart) firstKept++;
  return all.slice(firstKept);
}

/** Rate between the oldest and the newest sample, and the ETA to `total` at that rate. */
export function estimateRate(samples: readonly ProgressSample[], total: number): RateEstimate {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (last && last.done >= total) return { recordsPerSecond: rateBetween(first, last), etaSeconds: 0 };
  const recordsPerSecond = rateBetween(first, last);
  if (!last || recordsPerSecond <= 0) return { recordsPerSecond, etaSeconds: null };
  return { recordsPerSecond, etaSeconds: (total - last.done) / recordsPerSecond };
}

function rateBetween(first: ProgressSample | undefined, last: ProgressSample | undefined): number {
  if (!first || !last) return 0;
  const seconds = (last.atMs - first.atMs) / 1000;
  return seconds > 0 ? (last.done - first.done) / seconds : 0;
}

/** Completion tokens per second over the window; null unless both ends of it counted tokens. */
export function tokenRate(samples: readonly ProgressSample[]): number | null {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first?.tokens === undefined || last?.tokens === undefined) return null;
  const seconds = (last.atMs - first.atMs) / 1000;
  return seconds > 0 ? (last.tokens - first.tokens) / seconds : 0;
}
