import { asyncScheduler, Observable, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';

/** The default limit for one record's work: 300 s, as the original's `timeout_per_record`. */
export const DEFAULT_RECORD_TIMEOUT_MS = 300_000;

/**
 * A record's work ran past its time limit and was cancelled. Retryable: a slow try (a stalled endpoint, a busy
 * device) may pass on the next one, so `retryWithBackoff` and `loadBalance` retry it by default.
 */
export class RecordTimeoutError extends Error {
  override readonly name = 'RecordTimeoutError';
  constructor(
    /** The limit that was exceeded, in ms. */
    readonly timeoutMs: number,
  ) {
    super(`record timed out after ${timeoutMs} ms`);
  }
}

export interface TimeoutPerRecordConfig {
  /** Where the timer runs; virtual time in marble tests. Default: `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Limits the time from subscription to completion of one record's work (not just to its first value). When the
 * limit passes, the work is unsubscribed — with `abortable` work that aborts its signal, so the backend or the
 * sandbox process really stops — and the stream errors with a `RecordTimeoutError`. Completion or an error
 * before then cancels the timer, so no timer outlives the record.
 *
 * @example
 * abortable(signal => executor.execute({ ...request, signal })).pipe(timeoutPerRecord(300_000), retryWithBackoff())
 */
export function timeoutPerRecord<T>(
  ms: number = DEFAULT_RECORD_TIMEOUT_MS,
  { scheduler = asyncScheduler }: TimeoutPerRecordConfig = {},
): MonoTypeOperatorFunction<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new RangeError(`timeoutPerRecord: ms must be a positive finite number, got ${String(ms)}`);
  }
  return (source) =>
    new Observable<T>((subscriber) => {
      const timer = scheduler.schedule(() => subscriber.error(new RecordTimeoutError(ms)), ms);
      const work = source.subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        timer.unsubscribe();
        work.unsubscribe();
      };
    });
}
