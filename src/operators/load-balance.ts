import { defer, finalize, from, Observable, Subscription, type ObservableInput, type OperatorFunction } from 'rxjs';
import { RecordError } from '../inference/backend.js';
import type { OperatorLogger } from './operator-logger.js';
import { assertPositiveCount } from './positive-count.js';
import { resolveRetryPolicy, retryDelay, type RetryPolicy } from './retry-policy.js';

/** What `loadBalance` needs of a session; `InferenceSession` fits, and so does any other pool member. */
export interface BalancedSession {
  readonly id: string;
  /** Items this session runs at once. */
  readonly concurrency: number;
}

/** A session taken out of rotation. */
export interface QuarantineNotice<S extends BalancedSession> {
  session: S;
  /** Consecutive failures that led to it. */
  failures: number;
  /** The last of those failures. */
  error: unknown;
  /** Sessions still in rotation. */
  healthyLeft: number;
}

/** Every session of the pool was taken out of rotation; the run cannot go on. */
export class NoHealthySessionError extends Error {
  override readonly name = 'NoHealthySessionError';
  constructor(
    /** Each session with its count of consecutive failures and the last error. */
    readonly sessions: ReadonlyArray<{ id: string; failures: number; error: unknown }>,
  ) {
    const detail = sessions.map((s) => `${s.id} (${s.failures} failures, last: ${describeError(s.error)})`).join('; ');
    super(`no healthy inference session left: all ${sessions.length} were taken out of rotation: ${detail}`);
  }
}

export interface LoadBalanceConfig<T, R, S extends BalancedSession> {
  /** A session that fails this many tries in a row (K) is taken out of rotation. Default 3. */
  maxConsecutiveFailures?: number;
  /**
   * How a failed try is retried on another session (the least busy one that has not failed this item, when one
   * is free). Default: 3 retries after 1 s, 2 s, 4 s, of `isRetryable` errors.
   */
  retry?: RetryPolicy;
  /**
   * Turns the error that ended an item (non-retryable, or retryable after the last try) into a value — a
   * failed record — so the stream goes on. Without it, that error ends the stream.
   */
  fallback?: (item: T, error: unknown, attempts: number) => R;
  /** Told when a session is taken out of rotation (also logged at warn level). */
  onQuarantine?: (notice: QuarantineNotice<S>) => void;
  logger?: OperatorLogger;
}

interface SessionState<S> {
  session: S;
  inFlight: number;
  consecutiveFailures: number;
  healthy: boolean;
  lastError: unknown;
}

interface PendingItem<T, S> {
  item: T;
  /** Tries started so far. */
  attempts: number;
  /** Sessions this item failed on; a retry avoids them while another session is free. */
  failedOn: Set<SessionState<S>>;
}

/**
 * The `mergeMap` over a pool of sessions. Each item goes to the least-busy healthy session (fewest items in
 * flight relative to its concurrency; ties go to the earlier session); no session runs more than its
 * `concurrency` at once; when all are busy, items wait in arrival order and no work is started for them. A try
 * that fails with a retryable error is retried after a backoff on another session; a session that fails
 * `maxConsecutiveFailures` tries in a row is taken out of rotation (its in-flight items still finish), and the
 * run goes on with the rest — when none is left, the stream errors with `NoHealthySessionError`. A `RecordError`
 * is the item's own problem, not the session's: the item fails at once (no retry) and the session is not blamed.
 *
 * `work` gets the try number (1-based) so results can carry `attempts`. Results are emitted as they finish.
 * Unsubscribing unsubscribes every try in flight (aborting `abortable` work) and every pending retry.
 *
 * @example
 * prompted$.pipe(loadBalance(backend.sessions,
 *   (item, session, attempt) => abortable(signal => session.generate({ item, signal })).pipe(
 *     timeoutPerRecord(300_000), map(completion => ({ item, completion, attempts: attempt }))),
 *   { fallback: (item, error, attempts) => ({ item, error, attempts }) }))
 */
export function loadBalance<T, R, S extends BalancedSession>(
  sessions: readonly S[],
  work: (item: T, session: S, attempt: number) => ObservableInput<R>,
  config: LoadBalanceConfig<T, R, S> = {},
): OperatorFunction<T, R> {
  if (sessions.length === 0) throw new RangeError('loadBalance: the session pool is empty');
  for (const session of sessions) assertPositiveCount('loadBalance', `concurrency of session ${session.id}`, session.concurrency);
  const maxConsecutiveFailures = config.maxConsecutiveFailures ?? 3;
  assertPositiveCount('loadBalance', 'maxConsecutiveFailures', maxConsecutiveFailures);
  const policy = resolveRetryPolicy('loadBalance', config.retry);
  const { fallback, onQuarantine, logger } = config;

  return (source) =>
    new Observable<R>((subscriber) => {
      const pool: Array<SessionState<S>> = sessions.map((session) => ({
        session,
        inFlight: 0,
        consecutiveFailures: 0,
        healthy: true,
        lastError: undefined,
      }));
      const queue = new PendingQueue<PendingItem<T, S>>();
      /** Items taken from the source and not yet emitted or failed: queued, in flight or waiting to retry. */
      let unsettled = 0;
      let sourceDone = false;
      let dispatching = false;

      const load = (state: SessionState<S>): number => state.inFlight / state.session.concurrency;

      const pick = (pending: PendingItem<T, S>): SessionState<S> | undefined => {
        let best: SessionState<S> | undefined;
        let bestIsFresh = false;
        for (const state of pool) {
          if (!state.healthy || state.inFlight >= state.session.concurrency) continue;
          const fresh = !pending.failedOn.has(state);
          if (best === undefined || (fresh && !bestIsFresh) || (fresh === bestIsFresh && load(state) < load(best))) {
            best = state;
            bestIsFresh = fresh;
          }
        }
        return best;
      };

      const completeIfDone = (): void => {
        if (sourceDone && unsettled === 0) subscriber.complete();
      };

      /** Starts queued items while sessions have room. Re-entrant calls (a try that ends synchronously) return at once: the running loop picks up the freed room. */
      const dispatch = (): void => {
        if (dispatching) return;
        dispatching = true;
        try {
          for (let next = queue.peek(); next !== undefined && !subscriber.closed; next = queue.peek()) {
            const state = pick(next);
            if (state === undefined) break;
            queue.take();
            start(next, state);
          }
        } finally {
          dispatching = false;
        }
        completeIfDone();
      };

      const settle = (): void => {
        unsettled -= 1;
        dispatch();
      };

      const quarantine = (state: SessionState<S>, error: unknown): void => {
        state.healthy = false;
        const healthyLeft = pool.filter((s) => s.healthy).length;
        logger?.warn(
          { session: state.session.id, failures: state.consecutiveFailures, error: describeError(error), healthyLeft },
          `session ${state.session.id} taken out of rotation after ${state.consecutiveFailures} consecutive failures`,
        );
        onQuarantine?.({ session: state.session, failures: state.consecutiveFailures, error, healthyLeft });
      };

      const fail = (pending: PendingItem<T, S>, state: SessionState<S>, error: unknown): void => {
        if (error instanceof RecordError) {
          // The session answered; what it said is that this item cannot be done. That counts as a working session.
          state.consecutiveFailures = 0;
          giveUp(pending, error);
          return;
        }
        state.consecutiveFailures += 1;
        state.lastError = error;
        pending.failedOn.add(state);
        if (state.healthy && state.consecutiveFailures >= maxConsecutiveFailures) quarantine(state, error);
        if (!pool.some((s) => s.healthy)) {
          const detail = pool.map((s) => ({ id: s.session.id, failures: s.consecutiveFailures, error: s.lastError }));
          subscriber.error(new NoHealthySessionError(detail));
          return;
        }
        if (pending.attempts <= policy.maxRetries && policy.retryable(error)) {
          const delayMs = retryDelay(policy, error, pending.attempts);
          policy.onRetry?.({ error, attempt: pending.attempts, delayMs });
          logger?.debug(
            { session: state.session.id, attempt: pending.attempts, delayMs, error: describeError(error) },
            'retrying on another session',
          );
          const wait = new Subscription();
          subscriber.add(wait);
          wait.add(
            policy.scheduler.schedule(() => {
              subscriber.remove(wait);
              queue.pushRetry(pending);
              dispatch();
            }, delayMs),
          );
          dispatch();
          return;
        }
        giveUp(pending, error);
      };

      /** The item is done trying: it becomes a failed record through `fallback`, or ends the stream without one. */
      const giveUp = (pending: PendingItem<T, S>, error: unknown): void => {
        if (fallback === undefined) {
          subscriber.error(error);
          return;
        }
        let failed: R;
        try {
          failed = fallback(pending.item, error, pending.attempts);
        } catch (fallbackError) {
          subscriber.error(fallbackError);
          return;
        }
        subscriber.next(failed);
        settle();
      };

      /** Runs one try. Its outcome is acted on once the try has torn down, so a session's next item never overlaps its last. */
      const start = (pending: PendingItem<T, S>, state: SessionState<S>): void => {
        pending.attempts += 1;
        state.inFlight += 1;
        const attempt = pending.attempts;
        let outcome: { error: unknown } | 'complete' | undefined;
        const trySubscription = new Subscription();
        subscriber.add(trySubscription);
        trySubscription.add(
          defer(() => from(work(pending.item, state.session, attempt)))
            .pipe(
              finalize(() => {
                state.inFlight -= 1;
                subscriber.remove(trySubscription);
                if (outcome === 'complete') {
                  state.consecutiveFailures = 0;
                  settle();
                } else if (outcome !== undefined) {
                  fail(pending, state, outcome.error);
                }
              }),
            )
            .subscribe({
              next: (value) => subscriber.next(value),
              error: (error: unknown) => (outcome = { error }),
              complete: () => (outcome = 'complete'),
            }),
        );
      };

      subscriber.add(
        source.subscribe({
          next: (item) => {
            unsettled += 1;
            queue.push({ item, attempts: 0, failedOn: new Set() });
            dispatch();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            sourceDone = true;
            completeIfDone();
          },
        }),
      );
    });
}

/**
 * Items waiting for a session: retries due first (in the order they became due), then new items in arrival
 * order. New items are read by index rather than `shift()`ed, which is O(n) per call on a long array — a source
 * that pushes 100,000 items at once would make dispatching quadratic.
 */
class PendingQueue<P> {
  private readonly retries: P[] = [];
  private fresh: Array<P | undefined> = [];
  private head = 0;

  push(item: P): void {
    this.fresh.push(item);
  }

  pushRetry(item: P): void {
    this.retries.push(item);
  }

  peek(): P | undefined {
    return this.retries[0] ?? this.fresh[this.head];
  }

  take(): void {
    if (this.retries.length > 0) {
      this.retries.shift();
      return;
    }
    this.fresh[this.head] = undefined;
    this.head += 1;
    if (this.head >= 1024 && this.head * 2 >= this.fresh.length) {
      this.fresh = this.fresh.slice(this.head);
      this.head = 0;
    }
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
