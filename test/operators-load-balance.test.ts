import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defer, finalize, lastValueFrom, map, of, range, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { RecordError, TransientError } from '../src/inference/backend.js';
import { abortable } from '../src/operators/abortable.js';
import { loadBalance, NoHealthySessionError, type QuarantineNotice } from '../src/operators/load-balance.js';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

interface FakeSession {
  id: string;
  concurrency: number;
}

const session = (id: string, concurrency = 1): FakeSession => ({ id, concurrency });
const transient = new TransientError('device busy');

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
    const notices: Array<QuarantineNotice<FakeSession>> = [];
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
            onQuarantine: (n) => notices.push(n),
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
    const notices: Array<QuarantineNotice<FakeSession>> = [];
    const started: string[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const balanced = cold('a-b-c-d-e-f|').pipe(
        loadBalance(
          [session('dead'), session('slow')],
          (item: string, s) => {
            started.push(`${item}@${s.id}`);
            return s.id === 'dead' ? cold<string>('#', undefined, transient) : cold('-(x|)').pipe(map(() => item));
          },
          { maxConsecutiveFailures: 2, retry: { backoff: 0 }, onQuarantine: (n) => notices.push(n) },
        ),
      );
      expectObservable(balanced).toBe('-a-b-c-d-e-(f|)');
    });
    assert.deepStrictEqual(started, ['a@dead', 'a@slow', 'b@dead', 'b@slow', 'c@slow', 'd@slow', 'e@slow', 'f@slow']);
    assert.deepStrictEqual(
      notices.map((n) => [n.session.id, n.failures, n.healthyLeft]),
      [['dead', 2, 1]],
    );
  });

  it('errors clearly when no healthy session is left', () => {
    marbles().run(({ cold, expectObservable }) => {
      const balanced = cold('(ab|)').pipe(
        loadBalance([session('x'), session('y')], () => cold<string>('-#', undefined, transient), {
          maxConsecutiveFailures: 1,
          retry: { backoff: 0 },
          fallback: () => 'never used: the pool is gone',
        }),
      );
      expectObservable(balanced).toBe(
        '-#',
        undefined,
        new NoHealthySessionError([
          { id: 'x', failures: 1, error: transient },
          { id: 'y', failures: 1, error: transient },
        ]),
      );
    });
    assert.match(
      new NoHealthySessionError([{ id: 'gpu0', failures: 3, error: transient }]).message,
      /no healthy inference session left: all 1 .*gpu0 \(3 failures, last: TransientError: device busy\)/,
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
