import { concat, defer, EMPTY, type MonoTypeOperatorFunction, type ObservableInput } from 'rxjs';
import type { OperatorLogger } from './operator-logger.js';
import { tapEvery } from './tap-every.js';

/** The pipeline's default (`memory_cleanup_frequency`). */
export const DEFAULT_MEMORY_CLEANUP_EVERY = 100;

/** Process memory right after a cleanup, in bytes. */
export interface MemoryReport {
  /** Items seen when the cleanup ran. */
  count: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface MemoryCleanupEveryConfig {
  /** Receives each `MemoryReport`, at debug level. */
  logger?: OperatorLogger;
  /** Receives each `MemoryReport` (e.g. for the resource monitor). */
  onReport?: (report: MemoryReport) => void;
}

/**
 * Every n items, runs `cleanup` — the counterpart of the original's GPU cache clearing: the backend releases
 * and re-creates idle sessions or trims their arenas — then reports process memory. The n-th item is emitted
 * once the cleanup has finished; a failing cleanup errors the stream.
 *
 * @example
 * results$.pipe(memoryCleanupEvery(100, () => backend.releaseIdleSessions(), { logger }))
 */
export function memoryCleanupEvery<T>(
  n: number,
  cleanup: (count: number) => ObservableInput<unknown> | void,
  { logger, onReport }: MemoryCleanupEveryConfig = {},
): MonoTypeOperatorFunction<T> {
  return tapEvery<T>(n, (count) =>
    concat(
      defer(() => cleanup(count) ?? EMPTY),
      defer(() => {
        const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
        const report: MemoryReport = { count, rss, heapUsed, external, arrayBuffers };
        logger?.debug({ ...report }, 'memory after cleanup');
        onReport?.(report);
        return EMPTY;
      }),
    ),
  );
}
