import { catchError, defer, identity, of, retry, throwError, timer, type OperatorFunction } from 'rxjs';
import { resolveRetryPolicy, retryDelay, type RetryPolicy } from './retry-policy.js';

export interface RetryWithBackoffConfig<F> extends RetryPolicy {
  /**
   * Turns the error that ended the record (non-retryable, or retryable after the last try) into a value — a
   * *failed record* — so the outer stream goes on (`continue_on_error`). `attempts` is how many tries ran.
   * Without it, that error propagates and ends the stream.
   */
  fallback?: (error: unknown, attempts: number) => F;
}

/**
 * Retries one record's work on retryable errors, waiting `backoff`, `backoff*factor`, … between tries (1 s, 2 s,
 * 4 s by default). Apply it to the inner, per-record Observable — each retry resubscribes it, so build the work
 * with `defer`/`abortable` to start it afresh. To tag a success with its number of tries, count subscriptions:
 *
 * @example
 * let tries = 0;
 * defer(() => abortable(signal => session.generate({ item, signal }))).pipe(
 *   tap({ subscribe: () => tries++ }),
 *   timeoutPerRecord(300_000),
 *   map(completion => ({ status: 'ok', completion, attempts: tries })),
 *   retryWithBackoff({ fallback: (error, attempts) => ({ status: 'failed', error, attempts }) }),
 * )
 */
export function retryWithBackoff<T, F = never>(config: RetryWithBackoffConfig<F> = {}): OperatorFunction<T, T | F> {
  const policy = resolveRetryPolicy('retryWithBackoff', config);
  const { fallback } = config;
  return (source) =>
    defer(() => {
      let attempts = 0;
      const retried = defer(() => {
        attempts += 1;
        return source;
      }).pipe(
        retry({
          count: policy.maxRetries,
          delay: (error: unknown, retryNumber: number) => {
            if (!policy.retryable(error)) return throwError(() => error);
            const delayMs = retryDelay(policy, error, retryNumber);
            policy.onRetry?.({ error, attempt: retryNumber, delayMs });
            return timer(delayMs, policy.scheduler);
          },
        }),
      );
      return retried.pipe(
        fallback === undefined
          ? (identity as OperatorFunction<T, T | F>)
          : catchError((error: unknown) => of(fallback(error, attempts))),
      );
    });
}
