import { Observable } from 'rxjs';

/**
 * Wraps promise-returning work that accepts an `AbortSignal` as a cold Observable whose unsubscription aborts
 * that signal. This is what makes a timeout or a Ctrl+C real: `timeoutPerRecord` unsubscribes, the signal fires,
 * and the backend stops generating or the executor kills its process — instead of the work running on unseen.
 *
 * Each subscription starts the work anew with a fresh signal (so a retry gets a fresh one). The signal is aborted
 * only if the work has not settled yet; its reason is a `DOMException` named `AbortError`.
 *
 * @example
 * abortable(signal => session.generate({ item, signal })).pipe(timeoutPerRecord(300_000))
 */
export function abortable<T>(work: (signal: AbortSignal) => PromiseLike<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    let settled = false;
    try {
      work(controller.signal).then(
        (value) => {
          settled = true;
          subscriber.next(value);
          subscriber.complete();
        },
        (error: unknown) => {
          settled = true;
          subscriber.error(error);
        },
      );
    } catch (error) {
      settled = true;
      subscriber.error(error);
    }
    return () => {
      if (!settled) controller.abort(new DOMException('The record was cancelled', 'AbortError'));
    };
  });
}
