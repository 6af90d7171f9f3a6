import type { MonoTypeOperatorFunction } from 'rxjs';
import { collectGarbage } from './garbage-collection.js';
import type { OperatorLogger } from './operator-logger.js';
import { tapEvery } from './tap-every.js';

/** The pipeline's default (`gc_collect_frequency`). */
export const DEFAULT_GC_EVERY = 50;

export interface GcEveryConfig {
  /** Receives heap used before and after each collection, at debug level. */
  logger?: OperatorLogger;
}

/**
 * Runs a full garbage collection every n items (no `--expose-gc` flag needed) so that a long run's heap is
 * trimmed at predictable points rather than in the middle of a generation; the n-th item is emitted after it.
 *
 * @example
 * results$.pipe(gcEvery(50, { logger }))
 */
export function gcEvery<T>(n: number = DEFAULT_GC_EVERY, { logger }: GcEveryConfig = {}): MonoTypeOperatorFunction<T> {
  return tapEvery<T>(n, (count) => {
    const heapUsedBefore = process.memoryUsage().heapUsed;
    collectGarbage();
    const heapUsedAfter = process.memoryUsage().heapUsed;
    logger?.debug({ count, heapUsedBefore, heapUsedAfter, freed: heapUsedBefore - heapUsedAfter }, 'full garbage collection');
  });
}
