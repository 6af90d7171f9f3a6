import { concat, concatMap, defer, from, ignoreElements, of, type MonoTypeOperatorFunction, type ObservableInput } from 'rxjs';
import { assertPositiveCount } from './positive-count.js';

/**
 * Runs `action` on every n-th item (count n, 2n, …) and emits that item only once the action has finished, so
 * whatever the action makes durable is in place before the stream moves on; other items pass straight through,
 * in order. An action that errors errors the stream. The count is per subscription. The building block of
 * `autosaveEvery`, `gcEvery` and `memoryCleanupEvery`.
 *
 * @example
 * results$.pipe(tapEvery(100, (count) => sink.autosave(count)))
 */
export function tapEvery<T>(
  n: number,
  action: (count: number, item: T) => ObservableInput<unknown> | void,
): MonoTypeOperatorFunction<T> {
  assertPositiveCount('tapEvery', 'n', n);
  return (source) =>
    defer(() => {
      let count = 0;
      return source.pipe(
        concatMap((item) => {
          count += 1;
          if (count % n !== 0) return of(item);
          const work = action(count, item);
          return work === undefined ? of(item) : concat(from(work).pipe(ignoreElements()), of(item));
        }),
      );
    });
}
