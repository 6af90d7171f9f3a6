import {
  asyncScheduler,
  concat,
  defer,
  EMPTY,
  from,
  ignoreElements,
  Observable,
  Subscription,
  type MonoTypeOperatorFunction,
  type ObservableInput,
  type SchedulerLike,
} from 'rxjs';
import type { CheckpointStore } from './stores.js';
import type { ObservableMethods } from './observable-methods.js';
import { assertPositiveCount } from './positive-count.js';

/** The pipeline's default (`checkpoint_frequency`). */
export const DEFAULT_CHECKPOINT_EVERY = 50;

/**
 * How long, with a store that has `appendAll`, the first item of a batch waits for more. A journal sync costs about
 * half a millisecond of CPU (a fifth of a sandboxed MBPP program), and cheap programs finish a few milliseconds
 * apart: waiting this long makes about four share one, and delays nothing but when a record is reported done.
 */
export const DEFAULT_GATHER_MS = 20;

export interface CheckpointEveryOptions {
  /** How long the first item of a batch waits for others to share its write (`appendAll` only; 0: none). */
  gatherMs?: number;
  /** Times the gathering wait. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Makes every finished item durable before anyone downstream sees it, and snapshots progress every n items.
 *
 * Items are appended in arrival order; on every n-th item `store.checkpoint(count)` follows its append; an item is
 * emitted once its append (and that checkpoint) has finished, in arrival order. When the source completes and items
 * arrived since the last checkpoint, one final `store.checkpoint(count)` runs before completion, so a finished run
 * always ends on a snapshot. A failing store call errors the stream (a record that cannot be made durable must not
 * look done). On a source error or an unsubscribe no final checkpoint is written: the journal already holds every
 * emitted item, and resuming rebuilds from it. Store calls never overlap.
 *
 * Group commit: with a store that has `appendAll`, the items that arrive while a write is in flight, or within
 * `gatherMs` of the first of them, are appended by one `appendAll` call. A batch never goes past the next n-th
 * item, so checkpoints fall where they would one item at a time; it is written at once when it reaches that item
 * or the source completes.
 *
 * @example
 * results$.pipe(checkpointEvery(50, runStore))
 */
export function checkpointEvery<T>(
  n: number,
  store: ObservableMethods<CheckpointStore<T>>,
  options: CheckpointEveryOptions = {},
): MonoTypeOperatorFunction<T> {
  assertPositiveCount('checkpointEvery', 'n', n);
  const { gatherMs = DEFAULT_GATHER_MS, scheduler = asyncScheduler } = options;
  const appendAll = store.appendAll && ((items: readonly T[]) => store.appendAll!(items));
  return (source) =>
    new Observable<T>((subscriber) => {
      const work = new Subscription();
      /** Items handed to the store, and the count of the last checkpoint. */
      let count = 0;
      let checkpointed = 0;
      const waiting: T[] = [];
      let writing = false;
      let gathering: Subscription | null = null;
      let sourceDone = false;

      const run = (call: () => ObservableInput<unknown>, done: () => void): void => {
        work.add(defer(call).pipe(ignoreElements()).subscribe({ error: (error: unknown) => subscriber.error(error), complete: done }));
      };

      const writeBatch = (): void => {
        gathering?.unsubscribe();
        gathering = null;
        // A batch ends at the next checkpoint.
        const batch = waiting.splice(0, appendAll ? n - (count % n) : 1);
        count += batch.length;
        const counted = count;
        writing = true;
        const checkpoint = defer(() => {
          checkpointed = counted;
          return store.checkpoint(counted);
        });
        run(
          () => concat(from(batch.length === 1 ? store.append(batch[0]!) : appendAll!(batch)), counted % n === 0 ? checkpoint : EMPTY),
          () => {
            // Still writing while the batch goes out: an item that comes in meanwhile waits for the next write.
            for (const item of batch) subscriber.next(item);
            writing = false;
            next();
          },
        );
      };

      /** Starts the next write, or the wait for company, or the end: whatever the waiting items call for. */
      const next = (): void => {
        if (writing || subscriber.closed) return;
        if (waiting.length === 0) {
          if (sourceDone) end();
          return;
        }
        const full = (count + waiting.length) % n === 0;
        if (appendAll && gatherMs > 0 && !full && !sourceDone) gathering ??= scheduler.schedule(writeBatch, gatherMs);
        else writeBatch();
      };

      const end = (): void => {
        if (count === checkpointed) {
          subscriber.complete();
          return;
        }
        checkpointed = count;
        run(
          () => store.checkpoint(count),
          () => subscriber.complete(),
        );
      };

      work.add(
        source.subscribe({
          next: (item) => {
            waiting.push(item);
            next();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            sourceDone = true;
            next();
          },
        }),
      );
      return () => {
        gathering?.unsubscribe();
        work.unsubscribe();
      };
    });
}
