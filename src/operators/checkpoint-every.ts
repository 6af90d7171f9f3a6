import { concat, concatMap, defer, EMPTY, from, ignoreElements, of, type MonoTypeOperatorFunction, type Observable } from 'rxjs';
import type { CheckpointStore } from './stores.js';
import type { ObservableMethods } from './observable-methods.js';
import { assertPositiveCount } from './positive-count.js';

/** The pipeline's default (`checkpoint_frequency`). */
export const DEFAULT_CHECKPOINT_EVERY = 50;

/**
 * Makes every finished item durable before anyone downstream sees it, and snapshots progress every n items.
 *
 * For each item, in arrival order: `store.append(item)`; then, on every n-th item, `store.checkpoint(count)`;
 * then the item is emitted. When the source completes and items arrived since the last checkpoint, one final
 * `store.checkpoint(count)` runs before completion, so a finished run always ends on a snapshot. A failing store
 * call errors the stream (a record that cannot be made durable must not look done). On a source error or an
 * unsubscribe no final checkpoint is written: the journal already holds every emitted item, and resuming
 * rebuilds from it. Store calls never overlap.
 *
 * @example
 * results$.pipe(checkpointEvery(50, runStore))
 */
export function checkpointEvery<T>(
  n: number,
  store: ObservableMethods<CheckpointStore<T>>,
): MonoTypeOperatorFunction<T> {
  assertPositiveCount('checkpointEvery', 'n', n);
  return (source) =>
    defer(() => {
      let count = 0;
      let checkpointed = 0;
      const checkpoint = (): Observable<never> => {
        checkpointed = count;
        return from(store.checkpoint(count)).pipe(ignoreElements());
      };
      const appended = source.pipe(
        concatMap((item) => {
          count += 1;
          const append = from(store.append(item)).pipe(ignoreElements());
          return count % n === 0 ? concat(append, defer(checkpoint), of(item)) : concat(append, of(item));
        }),
      );
      return concat(appended, defer(() => (count > checkpointed ? checkpoint() : EMPTY)));
    });
}
