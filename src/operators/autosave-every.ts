import type { MonoTypeOperatorFunction } from 'rxjs';
import type { AutosaveSink } from './stores.js';
import type { ObservableMethods } from './observable-methods.js';
import { tapEvery } from './tap-every.js';

/** The pipeline's default (`autosave_frequency`). */
export const DEFAULT_AUTOSAVE_EVERY = 100;

/**
 * Writes a partial dataset through `sink.autosave(count)` every n items; the n-th item is emitted once that
 * write has finished, and a failing write errors the stream. There is no autosave on completion: the final
 * dataset written after the run supersedes it.
 *
 * @example
 * results$.pipe(autosaveEvery(100, parquetAutosaver))
 */
export function autosaveEvery<T>(n: number, sink: ObservableMethods<AutosaveSink>): MonoTypeOperatorFunction<T> {
  return tapEvery<T>(n, (count) => sink.autosave(count));
}
