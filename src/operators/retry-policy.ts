import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { TransientError } from '../inference/backend.js';
import { RecordTimeoutError } from './timeout-per-record.js';

/** One retry about to happen, for logs and counters. */
export interface RetryNotice {
  /** The error that ended the try. */
  error: unknown;
  /** The number of the try that just failed (1 for the first). */
  attempt: number;
  /** How long the next try waits, in ms. */
  delayMs: number;
}

/**
 * How a record's work is retried; shared by `retryWithBackoff` and `loadBalance`. The defaults are the
 * original's: 3 retries after 1 s, 2 s and 4 s.
 */
export interface RetryPolicy {
  /** Tries after the first; 0 disables retrying. Default 3. */
  maxRetries?: number;
  /** Wait before the first retry, in ms. Default 1000. */
  backoff?: number;
  /** Each further retry waits this many times longer. Default 2. */
  factor?: number;
  /** Spread each wait by up to ± this fraction (0..1) so that many records do not retry in lockstep. Default 0. */
  jitter?: number;
  /** The randomness behind `jitter`, in [0, 1); tests pin it. Default `Math.random`. */
  random?: () => number;
  /** Whether a try that failed with this error may pass on another. Default: `isRetryable`. */
  retryable?: (error: unknown) => boolean;
  /** Called before each wait. */
  onRetry?: (notice: RetryNotice) => void;
  /** Where the waits run; virtual time in marble tests. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** A `RetryPolicy` with its defaults filled in and its numbers checked. */
export type ResolvedRetryPolicy = Required<Omit<RetryPolicy, 'onRetry'>> & Pick<RetryPolicy, 'onRetry'>;

/**
 * Errors a retry may fix: a `TransientError` (inference, network, I/O) or a `RecordTimeoutError`. Anything
 * else — a bug, a bad prompt, a refused request — fails the record at once. A wrong answer is not an error.
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof TransientError || error instanceof RecordTimeoutError;
}

/** Fills in defaults; a nonsensical number is a programming error (`RangeError`) at the call site. */
export function resolveRetryPolicy(operator: string, policy: RetryPolicy = {}): ResolvedRetryPolicy {
  const resolved: ResolvedRetryPolicy = {
    maxRetries: policy.maxRetries ?? 3,
    backoff: policy.backoff ?? 1000,
    factor: policy.factor ?? 2,
    jitter: policy.jitter ?? 0,
    random: policy.random ?? Math.random,
    retryable: policy.retryable ?? isRetryable,
    onRetry: policy.onRetry,
    scheduler: policy.scheduler ?? asyncScheduler,
  };
  const problems: string[] = [];
  if (!Number.isSafeInteger(resolved.maxRetries) || resolved.maxRetries < 0) problems.push('maxRetries must be an integer >= 0');
  if (!(resolved.backoff >= 0) || !Number.isFinite(resolved.backoff)) problems.push('backoff must be a finite number of ms >= 0');
  if (!(resolved.factor >= 1) || !Number.isFinite(resolved.factor)) problems.push('factor must be a finite number >= 1');
  if (!(resolved.jitter >= 0 && resolved.jitter <= 1)) problems.push('jitter must be within 0..1');
  if (problems.length > 0) throw new RangeError(`${operator}: ${problems.join('; ')}`);
  return resolved;
}

/**
 * The wait before retry number `retry` (1-based): `backoff * factor^(retry-1)`, spread by `jitter`, and never
 * shorter than a server's `TransientError.retryAfterMs`.
 */
export function retryDelay(policy: ResolvedRetryPolicy, error: unknown, retry: number): number {
  const base = policy.backoff * policy.factor ** (retry - 1);
  const spread = base * policy.jitter * (2 * policy.random() - 1);
  const delay = Math.max(0, Math.round(base + spread));
  const retryAfter = error instanceof TransientError ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(delay, retryAfter);
}
