import { defer, finalize, from, Observable, Subscription, type ObservableInput, type OperatorFunction } from 'rxjs';
import { RecordError, SessionUnavailableError } from '../inference/backend.js';
import { CircuitBreaker, resolveCooldownPolicy, type CooldownPolicy, type FailureVerdict, type TryTicket } from './circuit-breaker.js';
import type { OperatorLogger } from './operator-logger.js';
import { assertPositiveCount } from './positive-count.js';
import { resolveRetryPolicy, retryDelay, type RetryPolicy } from './retry-policy.js';

/** What `loadBalance` needs of a session; `InferenceSession` fits, and so does any other pool member. */
export interface BalancedSession {
  readonly id: string;
  /** Items this session runs at once. */
  readonly concurrency: number;
}

/**
 * A change in the health of the pool, on the scheduler's clock (`at`, ms). `up` and `total` count sessions in
 * rotation and in the pool, after the change.
 */
export type PoolHealthEvent<S extends BalancedSession> =
  /** `failures` strikes in a row took the session out of rotation; it is probed after `probeInMs`. */
  | { kind: 'session-down'; session: S; failures: number; error: unknown; probeInMs: number; up: number; total: number; at: number }
  /** A probe failed; the next one is in `probeInMs`. */
  | { kind: 'probe-failed'; session: S; error: unknown; probes: number; probeInMs: number; at: number }
  /** A try succeeded on a session out of rotation (its probe, as a rule): it is back. */
  | { kind: 'session-up'; session: S; downMs: number; probes: number; up: number; total: number; at: number }
  /** No session is in rotation: nothing starts but probes, for up to `maxOutageMs`. */
  | { kind: 'pool-down'; maxOutageMs: number; at: number }
  /** A session is back after `downMs` with none. */
  | { kind: 'pool-up'; downMs: number; at: number };

/** A session out of rotation when the pool gave up. */
export interface DownSession {
  id: string;
  /** Strikes in a row that took it out. */
  failures: number;
  /** Probes since, all failed. */
  probes: number;
  /** How long it has been out, in ms. */
  downMs: number;
  /** Its last failure. */
  error: unknown;
}

/**
 * No session of the pool is in rotation and none will be: either none came back within `maxOutage`
 * (`waitedMs`), or every one is out for an error no retry can fix (`waitedMs` null: a wrong model name, a bad key).
 */
export class NoHealthySessionError extends Error {
  override readonly name = 'NoHealthySessionError';
  constructor(
    readonly sessions: readonly DownSession[],
    /** How long the pool waited for a session to come back; null when it did not wait. */
    readonly waitedMs: number | null,
  ) {
    const detail = sessions
      .map((s) => `${s.id} (down ${seconds(s.downMs)} after ${s.failures} failures, ${s.probes} probes; last: ${describeError(s.error)})`)
      .join('; ');
    super(
      waitedMs === null
        ? `no inference session can serve: all ${sessions.length} are out of rotation for errors no retry can fix: ${detail}`
        : `no inference session came back within ${seconds(waitedMs)} of the last one going down: ${detail}`,
    );
  }
}

/** Default `maxOutage`: long enough for an inference server to restart (an OOM, a redeploy, a node reboot). */
export const DEFAULT_MAX_OUTAGE_MS = 15 * 60_000;

export interface LoadBalanceConfig<T, R, S extends BalancedSession> {
  /** A session whose tries fail this many times in a row, each for a new cause, is taken out of rotation. Default 3. */
  maxConsecutiveFailures?: number;
  /** How long a session out of rotation waits before it is probed: 1 s, doubling to 10 s, ± 20 % by default. */
  cooldown?: CooldownPolicy;
  /**
   * How long (ms) the pool waits, probing, while no session is in rotation, before it errors with
   * `NoHealthySessionError`. 0 errors at once; `Infinity` waits for ever. Default 15 minutes.
   */
  maxOutage?: number;
  /**
   * How a failed try is retried on another session (the least busy one that has not failed this item, when one
   * is free). Default: 3 retries after 1 s, 2 s, 4 s, of `isRetryable` errors. The cooldowns and the outage
   * clock run on its `scheduler` too.
   */
  retry?: RetryPolicy;
  /**
   * Turns the error that ended an item (non-retryable, or retryable after the last try) into a value — a
   * failed record — so the stream goes on. Without it, that error ends the stream.
   */
  fallback?: (item: T, error: unknown, attempts: number) => R;
  /** Told of every session going out of or back into rotation, and of the whole pool going down and up (also logged). */
  onHealth?: (event: PoolHealthEvent<S>) => void;
  logger?: OperatorLogger;
}

interface SessionState<S> {
  session: S;
  inFlight: number;
  breaker: CircuitBreaker;
  /** The cooldown running while the breaker is open. */
  cooldown: Subscription | undefined;
}

interface PendingItem<T, S> {
  item: T;
  /** Tries started so far. */
  attempts: number;
  /** Tries charged to the item's retry budget: those that failed for a reason not already known to be the session's. */
  charged: number;
  /** Sessions this item failed on; a retry avoids them while another session is free. */
  failedOn: Set<SessionState<S>>;
}

/**
 * The `mergeMap` over a pool of sessions, with a circuit breaker per session. Each item goes to the least-busy
 * session in rotation (fewest items in flight relative to its concurrency; ties go to the earlier session); no
 * session runs more than its `concurrency` at once; when all are busy, items wait in arrival order and no work
 * is started for them.
 *
 * A failed try is retried after a backoff, on another session when one is free. A session whose tries fail
 * `maxConsecutiveFailures` times in a row is taken out of rotation (its in-flight items still finish), and
 * probed after a cooldown (exponential, capped, with jitter): the probe is the next item's try, and one that
 * succeeds puts the session back. Failures are counted once per cause: tries that were already running when a
 * failure was counted (K requests cut by one dead connection) add no strike.
 *
 * An item's retry budget is spent only by failures that are news about a session in rotation: not by those of a
 * session already known to be down, nor by the one that takes it down, nor by a probe, nor by a
 * `SessionUnavailableError` (the request never reached the session). Such an item simply waits for a session.
 * When no session is in rotation the pool pauses, probing, for up to `maxOutage`, then errors with
 * `NoHealthySessionError` — at once when every session is out for an error no retry can fix. A `RecordError`
 * is the item's own problem, not the session's: the item fails at once (no retry) and the session is not blamed.
 *
 * `work` gets the try number (1-based) so results can carry `attempts`. Results are emitted as they finish.
 * Unsubscribing unsubscribes every try in flight (aborting `abortable` work), every pending retry and timer.
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
  const maxOutage = config.maxOutage ?? DEFAULT_MAX_OUTAGE_MS;
  if (!(maxOutage >= 0)) throw new RangeError('loadBalance: maxOutage must be a number of ms >= 0');
  const policy = resolveRetryPolicy('loadBalance', config.retry);
  const cooldownPolicy = resolveCooldownPolicy('loadBalance', config.cooldown);
  const { fallback, onHealth, logger } = config;
  const { scheduler } = policy;

  return (source) =>
    new Observable<R>((subscriber) => {
      const pool: Array<SessionState<S>> = sessions.map((session) => ({
        session,
        inFlight: 0,
        breaker: new CircuitBreaker(maxConsecutiveFailures, cooldownPolicy),
        cooldown: undefined,
      }));
      const queue = new PendingQueue<PendingItem<T, S>>();
      /** Items taken from the source and not yet emitted or failed: queued, in flight or waiting to retry. */
      let unsettled = 0;
      let sourceDone = false;
      let dispatching = false;
      /** When the last session in rotation went out (the scheduler's clock); null while one is in. */
      let poolDownSince: number | null = null;
      let patience: Subscription | undefined;

      const load = (state: SessionState<S>): number => state.inFlight / state.session.concurrency;
      const up = (): number => pool.filter((s) => s.breaker.state === 'closed').length;

      const pick = (pending: PendingItem<T, S>): SessionState<S> | undefined => {
        let best: SessionState<S> | undefined;
        let bestIsFresh = false;
        for (const state of pool) {
          if (!state.breaker.admits || state.inFlight >= state.session.concurrency) continue;
          // A probe goes first: the sooner it answers, the sooner its session is back.
          if (state.breaker.state === 'half-open') return state;
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

      const downSessions = (now: number): DownSession[] =>
        pool.map(({ session, breaker }) => ({
          id: session.id,
          failures: breaker.strikes,
          probes: breaker.probes,
          downMs: now - (breaker.downSince ?? now),
          error: breaker.lastError,
        }));

      /** Runs `action` after `delayMs` unless the stream ends first; unsubscribing the timer cancels it. */
      const after = (delayMs: number, action: () => void): Subscription => {
        const timer = new Subscription();
        subscriber.add(timer);
        timer.add(
          scheduler.schedule(() => {
            subscriber.remove(timer);
            action();
          }, delayMs),
        );
        return timer;
      };

      const cancel = (timer: Subscription | undefined): void => {
        timer?.unsubscribe();
        if (timer) subscriber.remove(timer);
      };

      /** Waits out the breaker's cooldown, then lets the next try through as its probe. */
      const coolDown = (state: SessionState<S>): number => {
        const delayMs = state.breaker.cooldownMs();
        state.cooldown = after(delayMs, () => {
          state.cooldown = undefined;
          state.breaker.halfOpen();
          dispatch();
        });
        return delayMs;
      };

      const tell = (event: PoolHealthEvent<S>): void => {
        const { kind } = event;
        const fields = {
          event: kind,
          ...('session' in event ? { session: event.session.id } : {}),
          ...('error' in event ? { error: describeError(event.error) } : {}),
        };
        const message = describeHealth(event);
        if (kind === 'probe-failed') logger?.debug(fields, message);
        else if (kind === 'session-down' || kind === 'pool-down') logger?.warn(fields, message);
        else logger?.info(fields, message);
        onHealth?.(event);
      };

      const wentDown = (state: SessionState<S>, error: unknown): void => {
        const at = scheduler.now();
        const left = up();
        const failures = state.breaker.strikes;
        tell({ kind: 'session-down', session: state.session, failures, error, probeInMs: coolDown(state), up: left, total: pool.length, at });
        if (left === 0) poolWentDown(at);
      };

      const probeFailed = (state: SessionState<S>, error: unknown): void => {
        const { probes } = state.breaker;
        tell({ kind: 'probe-failed', session: state.session, error, probes, probeInMs: coolDown(state), at: scheduler.now() });
        if (poolDownSince !== null && unusable()) giveUpOnPool(null);
      };

      const cameBack = (state: SessionState<S>, downSince: number, probes: number): void => {
        const at = scheduler.now();
        cancel(state.cooldown);
        state.cooldown = undefined;
        tell({ kind: 'session-up', session: state.session, downMs: at - downSince, probes, up: up(), total: pool.length, at });
        if (poolDownSince !== null) {
          const downMs = at - poolDownSince;
          poolDownSince = null;
          cancel(patience);
          patience = undefined;
          tell({ kind: 'pool-up', downMs, at });
        }
      };

      /** Every session is out because of errors a retry cannot fix: waiting would not bring one back. */
      const unusable = (): boolean => pool.every((s) => s.breaker.state !== 'closed' && !policy.retryable(s.breaker.lastError));

      const poolWentDown = (at: number): void => {
        poolDownSince = at;
        tell({ kind: 'pool-down', maxOutageMs: maxOutage, at });
        if (unusable()) giveUpOnPool(null);
        else if (maxOutage === 0) giveUpOnPool(0);
        else if (Number.isFinite(maxOutage)) patience = after(maxOutage, () => giveUpOnPool(maxOutage));
      };

      const giveUpOnPool = (waitedMs: number | null): void => {
        subscriber.error(new NoHealthySessionError(downSessions(scheduler.now()), waitedMs));
      };

      const succeeded = (state: SessionState<S>): void => {
        const { downSince, probes } = state.breaker;
        if (state.breaker.success() && downSince !== null) cameBack(state, downSince, probes);
      };

      const fail = (pending: PendingItem<T, S>, state: SessionState<S>, ticket: TryTicket, error: unknown): void => {
        if (error instanceof RecordError) {
          // The session answered; what it said is that this item cannot be done. That counts as a working session.
          succeeded(state);
          giveUp(pending, error);
          return;
        }
        const verdict = state.breaker.failure(ticket, error, scheduler.now());
        pending.failedOn.add(state);
        if (verdict === 'opened') wentDown(state, error);
        else if (verdict === 'probe-failed') probeFailed(state, error);
        if (subscriber.closed) return;
        if (!charges(verdict, error)) {
          // The session is to blame, not the item: it waits for a session without spending its retries.
          retryLater(pending, error, state.breaker.state === 'closed' ? retryDelay(policy, error, Math.max(1, pending.charged)) : 0);
          return;
        }
        pending.charged += 1;
        if (pending.charged <= policy.maxRetries && policy.retryable(error)) {
          retryLater(pending, error, retryDelay(policy, error, pending.charged));
          return;
        }
        giveUp(pending, error);
      };

      /** Queues the item again after `delayMs`; a session out of rotation holds it until a session is free. */
      const retryLater = (pending: PendingItem<T, S>, error: unknown, delayMs: number): void => {
        policy.onRetry?.({ error, attempt: pending.attempts, delayMs });
        logger?.debug({ attempt: pending.attempts, delay_ms: delayMs, error: describeError(error) }, 'retrying');
        const requeue = (): void => {
          queue.pushRetry(pending);
          dispatch();
        };
        if (delayMs === 0) requeue();
        else {
          after(delayMs, requeue);
          dispatch();
        }
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
        const ticket = state.breaker.start();
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
                  succeeded(state);
                  settle();
                } else if (outcome !== undefined) {
                  fail(pending, state, ticket, outcome.error);
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
            queue.push({ item, attempts: 0, charged: 0, failedOn: new Set() });
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

/** One line on a health event, for logs and progress displays. */
export function describeHealth(event: PoolHealthEvent<BalancedSession>): string {
  switch (event.kind) {
    case 'session-down':
      return (
        `session ${event.session.id} taken out of rotation after ${event.failures} failures (last: ${describeError(event.error)}); ` +
        `probing it in ${seconds(event.probeInMs)}; ${event.up}/${event.total} sessions up`
      );
    case 'probe-failed':
      return `probe ${event.probes} of session ${event.session.id} failed (${describeError(event.error)}); next in ${seconds(event.probeInMs)}`;
    case 'session-up':
      return `session ${event.session.id} back in rotation after ${seconds(event.downMs)} out; ${event.up}/${event.total} sessions up`;
    case 'pool-down':
      return `no inference session is up: pausing, probing ${Number.isFinite(event.maxOutageMs) ? `for up to ${seconds(event.maxOutageMs)} ` : ''}until one comes back`;
    case 'pool-up':
      return `inference resumes after ${seconds(event.downMs)} with no session up`;
  }
}

/**
 * Whether a failed try spends its item's retry budget: only when it was news about a session still in rotation,
 * and the request reached the session.
 */
function charges(verdict: FailureVerdict, error: unknown): boolean {
  return verdict === 'strike' && !(error instanceof SessionUnavailableError);
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

/** 1500 -> "1.5s", 900000 -> "900s": one unit, so log lines are easy to compare. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}
