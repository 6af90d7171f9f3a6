import { asyncScheduler, defer, tap, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import type { OperatorLogger } from './operator-logger.js';
import { assertPositiveCount } from './positive-count.js';

/** The pipeline's default (`progress_log_frequency`). */
export const DEFAULT_PROGRESS_EVERY = 10;

/** How one finished item ended: judged right, judged wrong, or could not be judged. */
export type ItemOutcome = 'passed' | 'wrong' | 'failed';

/** Counters that a resumed run carries over from before. */
export interface ProgressCounts {
  passed: number;
  wrong: number;
  failed: number;
  /** Retries spent (tries beyond the first). */
  retries: number;
}

/** A progress snapshot. */
export interface Progress extends ProgressCounts {
  /** Items finished, including those carried over (`passed + wrong + failed`). */
  done: number;
  total: number;
  remaining: number;
  /** Since subscription, in ms. */
  elapsedMs: number;
  /** Items per second over the moving window; null until time has passed. */
  ratePerSecond: number | null;
  /** `remaining / ratePerSecond`, in ms; null while the rate is unknown. */
  etaMs: number | null;
  /** True for the snapshot sent on completion. */
  final: boolean;
}

export interface ProgressEveryConfig<T> {
  /** Items the whole run must finish, including carried-over ones. */
  total: number;
  /** How an item ended. */
  outcome: (item: T) => ItemOutcome;
  /** Retries an item needed (tries beyond the first). Default: none counted. */
  retries?: (item: T) => number;
  /** Counters carried over from before a resume; they count as done but not towards the rate. */
  initial?: Partial<ProgressCounts>;
  /** Items the rate (and so the ETA) is measured over, so it follows the current speed. Default 100. */
  window?: number;
  /** Receives each snapshot. */
  onProgress?: (progress: Progress) => void;
  /** Receives each snapshot at info level. */
  logger?: OperatorLogger;
  /** The clock; virtual time in marble tests. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Passes items through unchanged and, every n items and once more on completion (marked `final`), reports
 * progress: done, remaining, passed/wrong/failed, retries, rate and ETA. The rate is taken over
 * the last `window` items, so the ETA follows the current speed rather than the run's average.
 *
 * @example
 * results$.pipe(progressEvery(10, { total: 974, outcome: r => r.status === 'failed' ? 'failed' : r.is_correct ? 'passed' : 'wrong', onProgress }))
 */
export function progressEvery<T>(n: number = DEFAULT_PROGRESS_EVERY, config: ProgressEveryConfig<T>): MonoTypeOperatorFunction<T> {
  assertPositiveCount('progressEvery', 'n', n);
  const window = config.window ?? 100;
  assertPositiveCount('progressEvery', 'window', window);
  const scheduler = config.scheduler ?? asyncScheduler;
  return (source) =>
    defer(() => {
      const counts: ProgressCounts = { passed: 0, wrong: 0, failed: 0, retries: 0, ...config.initial };
      const startedAt = scheduler.now();
      const startDone = counts.passed + counts.wrong + counts.failed;
      /** (time, done) samples: the oldest is `window` items back from the newest. */
      const samples: Array<{ at: number; done: number }> = [{ at: startedAt, done: startDone }];
      let seen = 0;

      const report = (final: boolean): void => {
        const now = scheduler.now();
        const done = counts.passed + counts.wrong + counts.failed;
        const oldest = samples[0]!;
        const newest = samples[samples.length - 1]!;
        const span = newest.at - oldest.at;
        const ratePerSecond = span > 0 ? ((newest.done - oldest.done) * 1000) / span : null;
        const remaining = Math.max(0, config.total - done);
        const progress: Progress = {
          ...counts,
          done,
          total: config.total,
          remaining,
          elapsedMs: now - startedAt,
          ratePerSecond,
          etaMs: ratePerSecond === null || ratePerSecond === 0 ? null : (remaining / ratePerSecond) * 1000,
          final,
        };
        config.onProgress?.(progress);
        config.logger?.info({ ...progress }, `progress ${done}/${config.total}`);
      };

      return source.pipe(
        tap({
          next: (item) => {
            seen += 1;
            counts[config.outcome(item)] += 1;
            counts.retries += config.retries?.(item) ?? 0;
            samples.push({ at: scheduler.now(), done: counts.passed + counts.wrong + counts.failed });
            if (samples.length > window + 1) samples.shift();
            if (seen % n === 0) report(false);
          },
          complete: () => report(true),
        }),
      );
    });
}
