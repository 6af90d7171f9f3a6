import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defer, finalize, lastValueFrom, map, of, range, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { RecordError, SessionUnavailableError, TransientError } from '../src/inference/backend.js';
import { abortable } from '../src/operators/abortable.js';
import { loadBalance, NoHealthySessionError, type PoolHealthEvent } from '../src/operators/load-balance.js';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

interface FakeSession {
  id: string;
  concurrency: number;
}

const session = (id: string, concurrency = 1): FakeSession => ({ id, concurrency });
const transient = new TransientError('device busy');

/** A health event as one short line: the frame, the kind, and what changed. */
function healthLine(e: PoolHealthEvent<FakeSession>): string {
  switch (e.kind) {
    case 'session-down':
      return `${e.at} session-down ${e.session.id} ${e.up}/${e.total} up`;
    case 'probe-failed':
      return `${e.at} probe-failed ${e.session.id} probe ${e.probes}, next in ${e.probeInMs}`;
    case 'session-up':
      return `${e.at} session-up ${e.session.id} after ${e.downMs} (${e.probes} probes) ${e.up}/${e.total} up`;
    case 'pool-down':
      return `${e.at} pool-down`;
    case 'pool-up':
      return `${e.at} pool-up after ${e.downMs}`;
  }
}

describe('loadBalance', () => {
  it('sends each item to the least-busy free session, so the fast session takes more under uneven speeds', () => {
    const started: string[] = [];
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      const speed: Record<string, string> = { fast: '--(x|)', slow: '-----(x|)' };
      const balanced = cold('(abcde|)').pipe(
        loadBalance([session('fast'), session('slow')], (item: string, s, attempt) => {
          started.push(`${scheduler.now()} ${item}@${s.id}#${attempt}`);
          return cold(speed[s.id]!).pipe(map(() => `${item}@${s.id}`));
        }),
      );
      expectObservable(balanced).toBe('--a-cbd---(e|)', {
        a: 'a@fast',
        b: 'b@slow',
        c: 'c@fast',
        d: 'd@fast',
        e: 'e@slow',
      });
    });
    // Work starts only when a session has room: no subscription is made for waiting items.
    assert.deepStrictEqual(started, ['0 a@fast#1', '0 b@slow#1', '2 c@fast#1', '4 d@fast#1', '5 e@slow#1']);
  });

  it('fills sessions by load relative to concurrency and never exceeds a session\'s concurrency', () => {
    const started: string[] = [];
    const inFlight = new Map<string, number>();
    let maxSeen = { wide: 0, narrow: 0 } as Record<string, number>;
    const scheduler = marbles();
    scheduler.run(({ cold, expectObservable }) => {
      const balanced = cold('(abcdef|)').pipe(
        loadBalance([session('wide', 2), session('narrow', 1)], (item: string, s) =>
          defer(() => {
            started.push(`${scheduler.now()} ${item}@${s.id}`);
            inFlight.set(s.id, (inFlight.get(s.id) ?? 0) + 1);
            maxSeen = { ...maxSeen, [s.id]: Math.max(maxSeen[s.id]!, inFlight.get(s.id)!) };
            return cold('------(x|)').pipe(
              map(() => item),
              finalize(() => inFlight.set(s.id, inFlight.get(s.id)! - 1)),
            );
          }),
        ),
      );
      expectObservable(balanced).toBe('------(abc)-(def|)');
    });
    assert.deepStrictEqual(started, ['0 a@wide', '0 b@narrow', '0 c@wide', '6 d@wide', '6 e@narrow', '6 f@wide']);
    assert.deepStrictEqual(maxSeen, { wide: 2, narrow: 1 });
  });

  it('retries an item that failed with a retryable error on another session, after the backoff', () => {
    const scheduler = marbles();
    const started: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const balanced = cold('a|').pipe(
        loadBalance(
          [session('broken'), session('good')],
          (item: string, s, attempt) => {
            started.push(`${scheduler.now()} ${s.id}#${attempt}`);
            return s.id === 'broken' ? cold<string>('-#', undefined, transient) : cold('-(x|)').pipe(map(() => `${item}@${s.id}#${attempt}`));
          },
          { retry: { backoff: 10 } },
        ),
      );
      expectObservable(balanced).toBe('12ms (r|)', { r: 'a@good#2' });
    });
    assert.deepStrictEqual(started, ['0 broken#1', '11 good#2']);
  });

  it('turns an item into a failed record after its last retry, and goes on with the next', () => {
    marbles().run(({ cold, expectObservable }) => {
      const balanced = cold('a-b|').pipe(
        loadBalance(
          [session('only')],
          (item: string) => (item === 'a' ? cold<string>('#', undefined, transient) : cold('-(x|)').pipe(map(() => `${item} ok`))),
          {
            maxConsecutiveFailures: 10,
            retry: { maxRetries: 2, backoff: 5, factor: 1 },
            fallback: (item, error, attempts) => `${item} failed after ${attempts}: ${(error as Error).message}`,
          },
        ),
      );
      // b runs 2-3 while a waits; a's tries at 0, 5, 10 all fail at once.
      expectObservable(balanced).toBe('---b 6ms (f|)', { b: 'b ok', f: 'a failed after 3: device busy' });
    });
  });

  it('does not retry a non-retryable error, and without a fallback it ends the stream', () => {
    marbles().run(({ cold, expectObservable }) => {
      const bug = new TypeError('bad prompt');
      const work = (item: string) => (item === 'b' ? cold<string>('-#', undefined, bug) : cold('--(x|)').pipe(map(() => item)));
      const pool = [session('s', 2)];
      expectObservable(cold('(ab|)').pipe(loadBalance(pool, work, { fallback: (item, _e, n) => `${item}:${n}` }))).toBe(
        '-b(a|)',
        { a: 'a', b: 'b:1' },
      );
      expectObservable(cold('(ab|)').pipe(loadBalance(pool, work))).toBe('-#', undefined, bug);
    });
  });

  it('fails an item with a RecordError at once: no retry, no strike against its session, which stays in rotation', () => {
    const notices: string[] = [];
    const started: string[] = [];
    marbles().run(({ cold, expectObservable }) => {
      const refused = new RecordError('prompt over the context');
      const balanced = cold('(abcde|)').pipe(
        loadBalance(
          [session('only')],
          (item: string, s, attempt) => {
            started.push(`${item}#${attempt}`);
            // One session failure first: the record errors after it must not add to it.
            if (item === 'a') return cold<string>('-#', undefined, transient);
            return item === 'e' ? cold('-(x|)').pipe(map(() => 'e ok')) : cold<string>('-#', undefined, refused);
          },
          {
            maxConsecutiveFailures: 2,
            retry: { maxRetries: 0 },
            fallback: (item, error, attempts) => `${item} failed after ${attempts}: ${(error as Error).message}`,
            onHealth: (e) => notices.push(healthLine(e)),
          },
        ),
      );
      expectObservable(balanced).toBe('-abcd(e|)', {
        a: 'a failed after 1: device busy',
        b: 'b failed after 1: prompt over the context',
        c: 'c failed after 1: prompt over the context',
        d: 'd failed after 1: prompt over the context',
        e: 'e ok',
      });
    });
    assert.deepStrictEqual(started, ['a#1', 'b#1', 'c#1', 'd#1', 'e#1']);
    assert.deepStrictEqual(notices, []);
  });

  it('takes a session that fails K times in a row out of rotation, says so, and goes on with the rest', () => {
    const scheduler = marbles();
    const events: string[] = [];
    const started: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const balanced = cold('a-b-c-d-e-f|').pipe(
        loadBalance(
          [session('dead'), session('slow')],
          (item: string, s) => {
            started.push(`${item}@${s.id}`);
            return s.id === 'dead' ? cold<string>('#', undefined, transient) : cold('-(x|)').pipe(map(() => item));
          },
          { maxConsecutiveFailures: 2, retry: { backoff: 0 }, onHealth: (e) => events.push(healthLine(e)) },
        ),
      );
      expectObservable(balanced).toBe('-a-b-c-d-e-(f|)');
    });
    assert.deepStrictEqual(started, ['a@dead', 'a@slow', 'b@dead', 'b@slow', 'c@slow', 'd@slow', 'e@slow', 'f@slow']);
    // The cooldown (1 s ± 20 %) outlasts the stream: no probe.
    assert.deepStrictEqual(events, ['2 session-down dead 1/2 up']);
  });

  it('probes a session out of rotation after a cooldown that doubles, and puts it back when a probe succeeds', () => {
    const scheduler = marbles();
    const events: string[] = [];
    const started: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      // The server is down until frame 35.
      const balanced = cold('(ab|)').pipe(
        loadBalance(
          [session('s')],
          (item: string, s, attempt) => {
            started.push(`${scheduler.now()} ${item}#${attempt}`);
            return scheduler.now() < 35 ? cold<string>('-#', undefined, transient) : cold('-(x|)').pipe(map(() => item));
          },
          {
            maxConsecutiveFailures: 1,
            cooldown: { cooldown: 10, factor: 2, maxCooldown: 100, jitter: 0 },
            // One retry only: the tries while the session is known to be down must not spend it.
            retry: { maxRetries: 1, backoff: 0 },
            fallback: (item) => `${item} failed`,
            onHealth: (e) => events.push(healthLine(e)),
          },
        ),
      );
      // a fails at 1 and takes s down; probes at 11 and 32 fail (cooldowns 10, 20); the probe at 73 (cooldown 40) serves it.
      expectObservable(balanced).toBe('74ms a(b|)');
    });
    assert.deepStrictEqual(started, ['0 a#1', '11 a#2', '32 a#3', '73 a#4', '74 b#1']);
    assert.deepStrictEqual(events, [
      '1 session-down s 0/1 up',
      '1 pool-down',
      '12 probe-failed s probe 1, next in 20',
      '33 probe-failed s probe 2, next in 40',
      '74 session-up s after 73 (3 probes) 1/1 up',
      '74 pool-up after 73',
    ]);
  });

  it('caps the cooldown and spreads it by the jitter', () => {
    const scheduler = marbles();
    const probesAt: number[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const balanced = cold('a').pipe(
        loadBalance(
          [session('s')],
          () => {
            probesAt.push(scheduler.now());
            return cold<string>('#', undefined, transient);
          },
          // random() = 1 would be +50 %; 0.75 is +25 % of each wait.
          { maxConsecutiveFailures: 1, cooldown: { cooldown: 8, factor: 2, maxCooldown: 20, jitter: 0.5, random: () => 0.75 }, maxOutage: 100 },
        ),
      );
      expectObservable(balanced, '^ 90ms !').toBe('');
    });
    // Waits of 8, 16, 20, 20 … ms, each +25 %: 10, 20, 25, 25.
    assert.deepStrictEqual(probesAt, [0, 10, 30, 55, 80]);
  });

  it('returns a session to rotation once it is back, and it serves again beside the other', () => {
    const scheduler = marbles();
    const events: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      // flaky is down until frame 20.
      const balanced = cold('a---b---c---d---e---f---g---h|').pipe(
        loadBalance(
          [session('flaky'), session('steady')],
          (item: string, s) =>
            s.id === 'flaky' && scheduler.now() < 20
              ? cold<string>('-#', undefined, transient)
              : cold('--(x|)').pipe(map(() => `${item}@${s.id}`)),
          {
            maxConsecutiveFailures: 1,
            cooldown: { cooldown: 10, factor: 1, jitter: 0 },
            retry: { maxRetries: 0 },
            onHealth: (e) => events.push(healthLine(e)),
          },
        ),
      );
      // a fails on flaky and goes to steady; d is flaky's first probe (at 12, fails); g its second (at 24, serves it); h
      // goes to flaky again as to any session in rotation. No record fails though no retry is allowed.
      expectObservable(balanced).toBe('---a--b---c----d--e---f---g---(h|)', {
        a: 'a@steady',
        b: 'b@steady',
        c: 'c@steady',
        d: 'd@steady',
        e: 'e@steady',
        f: 'f@steady',
        g: 'g@flaky',
        h: 'h@flaky',
      });
    });
    assert.deepStrictEqual(events, [
      '1 session-down flaky 1/2 up',
      '13 probe-failed flaky probe 1, next in 10',
      '26 session-up flaky after 25 (2 probes) 2/2 up',
    ]);
  });

  it('counts failures of tries that were running together as one strike, and charges one item for them', () => {
    const events: string[] = [];
    marbles().run(({ cold, expectObservable }) => {
      let down = true;
      const balanced = cold('(abc|)').pipe(
        loadBalance(
          [session('s', 3)],
          (item: string, _s, attempt) => {
            if (!down) return cold('-(x|)').pipe(map(() => `${item}#${attempt}`));
            return cold<string>('-#', undefined, transient).pipe(finalize(() => (down = false)));
          },
          {
            maxConsecutiveFailures: 2,
            retry: { maxRetries: 1, backoff: 5, factor: 1 },
            fallback: (item, _e, attempts) => `${item} failed after ${attempts}`,
            onHealth: (e) => events.push(healthLine(e)),
          },
        ),
      );
      // All three fail at 1 on one cause: one strike (K = 2 not reached), and each retries at 6.
      expectObservable(balanced).toBe('7ms (abc|)', { a: 'a#2', b: 'b#2', c: 'c#2' });
    });
    assert.deepStrictEqual(events, []);
  });

  it('never charges a try that could not reach its session (SessionUnavailableError) to the item', () => {
    marbles().run(({ cold, expectObservable }) => {
      let refused = 2;
      const balanced = cold('a|').pipe(
        loadBalance(
          [session('s')],
          (item: string, _s, attempt) =>
            refused-- > 0 ? cold<string>('-#', undefined, new SessionUnavailableError('ECONNREFUSED')) : cold('-(x|)').pipe(map(() => `${item}#${attempt}`)),
          { retry: { maxRetries: 0, backoff: 5, factor: 1 }, fallback: (item) => `${item} failed` },
        ),
      );
      // Refused at 1 and 7 (two strikes of three), served at 13: with no retries allowed, the item is not failed.
      expectObservable(balanced).toBe('13ms (a|)', { a: 'a#3' });
    });
  });

  it('waits up to maxOutage while no session is up, probing, then errors with NoHealthySessionError', () => {
    const scheduler = marbles();
    const started: number[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const balanced = cold('(ab|)').pipe(
        loadBalance(
          [session('s')],
          () => {
            started.push(scheduler.now());
            return cold<string>('-#', undefined, transient);
          },
          {
            maxConsecutiveFailures: 1,
            maxOutage: 50,
            cooldown: { cooldown: 10, factor: 2, jitter: 0 },
            fallback: () => 'never: no record is failed for an outage',
          },
        ),
      );
      expectObservable(balanced).toBe('51ms #', undefined, new NoHealthySessionError([{ id: 's', failures: 1, probes: 2, downMs: 50, error: transient }], 50));
    });
    assert.deepStrictEqual(started, [0, 11, 32]);
  });

  it('errors at once when no session is up with maxOutage 0, or when every one is out for an error no retry fixes', () => {
    const refused = new Error('HTTP 401: bad key');
    marbles().run(({ cold, expectObservable }) => {
      const pool = [session('x'), session('y')];
      const downFor = (error: Error, maxOutage?: number) =>
        cold('(ab|)').pipe(
          loadBalance(pool, () => cold<string>('-#', undefined, error), {
            maxConsecutiveFailures: 1,
            maxOutage,
            retry: { backoff: 0 },
            fallback: (item) => `${item} failed`,
          }),
        );
      const down = (error: Error) => [
        { id: 'x', failures: 1, probes: 0, downMs: 0, error },
        { id: 'y', failures: 1, probes: 0, downMs: 0, error },
      ];
      expectObservable(downFor(transient, 0)).toBe('-#', undefined, new NoHealthySessionError(down(transient), 0));
      expectObservable(downFor(refused)).toBe('-#', undefined, new NoHealthySessionError(down(refused), null));
    });
    assert.match(
      new NoHealthySessionError([{ id: 'gpu0', failures: 3, probes: 4, downMs: 5000, error: transient }], 5000).message,
      /no inference session came back within 5s of the last one going down: gpu0 \(down 5s after 3 failures, 4 probes; last: TransientError: device busy\)/,
    );
    assert.match(
      new NoHealthySessionError([{ id: 'gpu0', failures: 3, probes: 0, downMs: 0, error: refused }], null).message,
      /no inference session can serve: all 1 are out of rotation for errors no retry can fix: gpu0 .*Error: HTTP 401/,
    );
  });

  it('waits for in-flight items before completing, and propagates a source error at once', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('----(x|)');
      const pool = [session('s', 4)];
      expectObservable(cold('ab|').pipe(loadBalance(pool, () => work))).toBe('----x(x|)');
      const broken = new Error('dataset line 7 is not JSON');
      const inner = cold('----(x|)');
      expectObservable(cold('a-#', undefined, broken).pipe(loadBalance(pool, () => inner))).toBe('--#', undefined, broken);
      expectSubscriptions(inner.subscriptions).toBe('^-!');
    });
  });

  it('unsubscribes every try in flight and cancels pending retries when unsubscribed mid-flight', () => {
    const started: string[] = [];
    const scheduler = marbles();
    scheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const slow = cold('------(x|)');
      const balanced = hot('ab-c|').pipe(
        loadBalance(
          [session('s'), session('t')],
          (item: string, s) => {
            started.push(`${scheduler.now()} ${item}@${s.id}`);
            return s.id === 't' ? cold<string>('#', undefined, transient) : slow;
          },
          { retry: { backoff: 2 }, maxConsecutiveFailures: 5 },
        ),
      );
      // a runs on s from 0; b fails on t at 1 and again at 3, c fails on t at 3; their retries (at 5 and 7) are
      // cancelled by the unsubscribe at 4, as is a's try.
      expectObservable(balanced, '^---!').toBe('');
      expectSubscriptions(slow.subscriptions).toBe('^---!');
    });
    assert.deepStrictEqual(started, ['0 a@s', '1 b@t', '3 c@t', '3 b@t']);
  });

  it('aborts abortable work in flight on unsubscribe', () => {
    const signals: AbortSignal[] = [];
    const subscription = of('a', 'b')
      .pipe(
        loadBalance([session('s', 2)], () =>
          abortable((signal) => {
            signals.push(signal);
            return new Promise<never>(() => {});
          }),
        ),
      )
      .subscribe();
    assert.deepStrictEqual(signals.map((s) => s.aborted), [false, false]);
    subscription.unsubscribe();
    assert.deepStrictEqual(signals.map((s) => s.aborted), [true, true]);
  });

  it('handles many synchronous items without deep recursion', async () => {
    const results: Observable<number[]> = range(0, 50_000).pipe(
      loadBalance([session('a', 2), session('b', 3)], (n: number) => of(n)),
      toArray(),
    );
    const all = await lastValueFrom(results);
    assert.equal(all.length, 50_000);
    assert.equal(all[49_999], 49_999);
  });

  it('rejects an empty pool or a session without capacity', () => {
    assert.throws(() => loadBalance([], () => of(1)), /session pool is empty/);
    assert.throws(() => loadBalance([session('z', 0)], () => of(1)), /concurrency of session z/);
  });
});
