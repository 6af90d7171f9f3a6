import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lastValueFrom, type SchedulerLike, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { abortable } from '../src/operators/abortable.js';
import { RecordTimeoutError, timeoutPerRecord } from '../src/operators/timeout-per-record.js';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

/** Wraps a scheduler so a test can see whether every timer it handed out was cleared. */
function recordingTimers(scheduler: SchedulerLike): { scheduler: SchedulerLike; timers: Subscription[] } {
  const timers: Subscription[] = [];
  return {
    timers,
    scheduler: {
      now: () => scheduler.now(),
      schedule: (work: never, delay?: number, state?: never) => {
        const timer = scheduler.schedule(work, delay, state);
        timers.push(timer);
        return timer;
      },
    } as SchedulerLike,
  };
}

describe('timeoutPerRecord', () => {
  it('errors with a RecordTimeoutError at the limit and unsubscribes the work', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('10ms (a|)');
      expectObservable(work.pipe(timeoutPerRecord(5))).toBe('5ms #', undefined, new RecordTimeoutError(5));
      expectSubscriptions(work.subscriptions).toBe('^ 4ms !');
    });
  });

  it('times the whole work, not only its first value', () => {
    marbles().run(({ cold, expectObservable }) => {
      const work = cold('-a 10ms b|');
      expectObservable(work.pipe(timeoutPerRecord(5))).toBe('-a 3ms #', { a: 'a' }, new RecordTimeoutError(5));
    });
  });

  it('passes work that finishes in time through and clears its timer', () => {
    const testScheduler = marbles();
    const clearedAfterCompletion: boolean[] = [];
    testScheduler.run(({ cold, expectObservable }) => {
      const { scheduler, timers } = recordingTimers(testScheduler);
      expectObservable(cold('--a|').pipe(timeoutPerRecord(5, { scheduler }))).toBe('--a|');
      testScheduler.schedule(() => clearedAfterCompletion.push(timers.length === 1 && timers.every((t) => t.closed)), 4);
    });
    assert.deepStrictEqual(clearedAfterCompletion, [true]);
  });

  it('clears its timer when the work errors first', () => {
    const testScheduler = marbles();
    const cleared: boolean[] = [];
    testScheduler.run(({ cold, expectObservable }) => {
      const { scheduler, timers } = recordingTimers(testScheduler);
      const error = new Error('backend down');
      expectObservable(cold('-#', undefined, error).pipe(timeoutPerRecord(5, { scheduler }))).toBe('-#', undefined, error);
      testScheduler.schedule(() => cleared.push(timers.length === 1 && timers.every((t) => t.closed)), 2);
    });
    assert.deepStrictEqual(cleared, [true]);
  });

  it('aborts the signal of abortable work when it fires', () => {
    const signals: AbortSignal[] = [];
    marbles().run(({ expectObservable }) => {
      const hanging = abortable((signal) => {
        signals.push(signal);
        return new Promise<never>(() => {});
      });
      expectObservable(hanging.pipe(timeoutPerRecord(300))).toBe('300ms #', undefined, new RecordTimeoutError(300));
    });
    assert.equal(signals.length, 1);
    assert.equal(signals[0]!.aborted, true);
    assert.equal((signals[0]!.reason as DOMException).name, 'AbortError');
  });

  it('rejects a limit that is not a positive number', () => {
    assert.throws(() => timeoutPerRecord(0), RangeError);
    assert.throws(() => timeoutPerRecord(Number.NaN), RangeError);
  });
});

describe('abortable', () => {
  it('emits the resolved value and completes, without aborting', async () => {
    let seen: AbortSignal | undefined;
    const value = await lastValueFrom(
      abortable(async (signal) => {
        seen = signal;
        return 42;
      }),
    );
    assert.equal(value, 42);
    assert.equal(seen?.aborted, false);
  });

  it('errors with the rejection, or with a synchronous throw', async () => {
    await assert.rejects(lastValueFrom(abortable(() => Promise.reject(new Error('refused')))), /refused/);
    await assert.rejects(
      lastValueFrom(
        abortable(() => {
          throw new Error('no session');
        }),
      ),
      /no session/,
    );
  });

  it('aborts on unsubscribe while the work runs, and starts afresh per subscription', () => {
    const signals: AbortSignal[] = [];
    const work = abortable((signal) => {
      signals.push(signal);
      return new Promise<never>(() => {});
    });
    work.subscribe().unsubscribe();
    work.subscribe();
    assert.equal(signals.length, 2);
    assert.deepStrictEqual(signals.map((s) => s.aborted), [true, false]);
  });
});
