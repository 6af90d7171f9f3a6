import { asyncScheduler, defer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import type { AutosaveSink } from './stores.js';
import type { ObservableMethods } from './observable-methods.js';
import { tapEvery } from './tap-every.js';

/** The pipeline's default (`autosave_frequency`). */
export const DEFAULT_AUTOSAVE_EVERY = 100;

export interface AutosaveEveryOptions {
  /**
   * Milliseconds that must have passed since the last autosave (or, for the first, since subscription) for an n-th
   * item to bring one; an n-th item that comes sooner passes without one. Default 0: every n-th item autosaves.
   */
  minIntervalMs?: number;
  /** The clock `minIntervalMs` is measured on. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Writes a partial dataset through `sink.autosave(count)` every n items, but at most once per `minIntervalMs`;
 * the n-th item is emitted once that write has finished, and a failing write errors the stream. There is no
 * autosave on completion: the final dataset written after the run supersedes it. The floor is there because a run
 * whose records come fast (a reference build: ~300 a second) would otherwise pay an autosave every third of a
 * second for a partial dataset that is superseded a few seconds later.
 *
 * @example
 * results$.pipe(autosaveEvery(100, parquetAutosaver, { minIntervalMs: 30_000 }))
 */
export function autosaveEvery<T>(
  n: number,
  sink: ObservableMethods<AutosaveSink>,
  options: AutosaveEveryOptions = {},
): MonoTypeOperatorFunction<T> {
  const { minIntervalMs = 0, scheduler = asyncScheduler } = options;
  return (source) =>
    defer(() => {
      let last = scheduler.now();
      return source.pipe(
        tapEvery<T>(n, (count) => {
          const now = scheduler.now();
          if (now - last < minIntervalMs) return;
          last = now;
          return sink.autosave(count);
        }),
      );
    });
}
