import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defer, lastValueFrom, of, throwError, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { TransientError } from '../src/inference/backend.js';
import { isRetryable, type RetryNotice } from '../src/operators/retry-policy.js';
import { retryWithBackoff } from '../src/operators/retry-with-backoff.js';
import { RecordTimeoutError, timeoutPerRecord } from '../src/operators/timeout-per-record.js';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

/** The failed-record value the tests' fallback builds. */
const failed = (error: unknown, attempts: number) => ({ failed: (error as Error).message, attempts });

describe('retryWithBackoff', () => {
  it('waits 1 s, 2 s, 4 s between tries, then turns the last error into a failed record', () => {
    const notices: RetryNotice[] = [];
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('-#', undefined, new TransientError('busy'));
      const result = work.pipe(retryWithBackoff({ fallback: failed, onRetry: (n) => notices.push(n) }));
      expectObservable(result).toBe('7004ms (f|)', { f: { failed: 'busy', attempts: 4 } });
      expectSubscriptions(work.subscriptions).toBe(['^!', '1001ms ^!', '3002ms ^!', '7003ms ^!']);
    });
    assert.deepStrictEqual(notices.map(({ attempt, delayMs }) => [attempt, delayMs]), [[1, 1000], [2, 2000], [3, 4000]]);
  });

  it('rethrows the last error when no fallback is given', () => {
    marbles().run(({ cold, expectObservable }) => {
      const error = new TransientError('busy');
      const work = cold('-#', undefined, error);
      expectObservable(work.pipe(retryWithBackoff({ maxRetries: 2, backoff: 10 }))).toBe('33ms #', undefined, error);
    });
  });

  it('does not retry an error that is not retryable', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('--#', undefined, new TypeError('bug in the prompt builder'));
      expectObservable(work.pipe(retryWithBackoff({ fallback: failed }))).toBe('--(f|)', {
        f: { failed: 'bug in the prompt builder', attempts: 1 },
      });
      expectSubscriptions(work.subscriptions).toBe('^-!');
    });
  });

  it('passes a success through, after a failed try, unchanged', () => {
    marbles().run(({ cold, expectObservable }) => {
      let tries = 0;
      const work = defer(() => (++tries === 1 ? cold('-#', undefined, new TransientError('reset')) : cold('-(a|)')));
      expectObservable(work.pipe(retryWithBackoff({ fallback: failed }))).toBe('1002ms (a|)');
    });
  });

  it('waits at least the server-suggested retryAfterMs', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('#', undefined, new TransientError('rate limited', 5000));
      expectObservable(work.pipe(retryWithBackoff({ maxRetries: 1, fallback: failed }))).toBe('5000ms (f|)', {
        f: { failed: 'rate limited', attempts: 2 },
      });
      expectSubscriptions(work.subscriptions).toBe(['(^!)', '5000ms (^!)']);
    });
  });

  it('spreads each wait by the jitter fraction', () => {
    for (const [random, delay] of [[0, 500], [0.75, 1250]] as const) {
      marbles().run(({ cold, expectObservable }) => {
        const work = cold('#', undefined, new TransientError('busy'));
        const result = work.pipe(retryWithBackoff({ maxRetries: 1, jitter: 0.5, random: () => random, fallback: failed }));
        expectObservable(result).toBe(`${delay}ms (f|)`, { f: { failed: 'busy', attempts: 2 } });
      });
    }
  });

  it('retries a record timeout by default', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('10ms (a|)');
      const result = work.pipe(timeoutPerRecord(5), retryWithBackoff({ maxRetries: 1, backoff: 100, fallback: failed }));
      expectObservable(result).toBe('110ms (f|)', { f: { failed: 'record timed out after 5 ms', attempts: 2 } });
      expectSubscriptions(work.subscriptions).toBe(['^ 4ms !', '105ms ^ 4ms !']);
    });
  });

  it('stops waiting and never resubscribes when unsubscribed during a backoff', () => {
    marbles().run(({ cold, expectObservable, expectSubscriptions }) => {
      const work = cold('-#', undefined, new TransientError('busy'));
      expectObservable(work.pipe(retryWithBackoff({ fallback: failed })), '^ 500ms !').toBe('');
      expectSubscriptions(work.subscriptions).toBe('^!');
    });
  });

  it('counts tries per subscription, so two records do not share a count', () => {
    marbles().run(({ cold, expectObservable }) => {
      const work = cold('#', undefined, new TransientError('busy'));
      const record: Observable<unknown> = work.pipe(retryWithBackoff({ maxRetries: 1, backoff: 1, fallback: failed }));
      expectObservable(record).toBe('1ms (f|)', { f: { failed: 'busy', attempts: 2 } });
      expectObservable(record).toBe('1ms (f|)', { f: { failed: 'busy', attempts: 2 } });
    });
  });

  it('rejects nonsensical settings when built', () => {
    assert.throws(() => retryWithBackoff({ maxRetries: -1 }), /retryWithBackoff: maxRetries/);
    assert.throws(() => retryWithBackoff({ jitter: 2 }), /jitter/);
  });
});

describe('isRetryable', () => {
  it('accepts transient and timeout errors only', () => {
    assert.equal(isRetryable(new TransientError('x')), true);
    assert.equal(isRetryable(new RecordTimeoutError(5)), true);
    assert.equal(isRetryable(new Error('x')), false);
    assert.equal(isRetryable('x'), false);
  });
});

describe('retryWithBackoff on real time', () => {
  it('lets a synchronous throw inside the work fail the record, not the stream', async () => {
    const result = await lastValueFrom(
      defer(() => throwError(() => new Error('boom'))).pipe(retryWithBackoff({ fallback: failed })),
    );
    assert.deepStrictEqual(result, { failed: 'boom', attempts: 1 });
    assert.deepStrictEqual(await lastValueFrom(of(1).pipe(retryWithBackoff())), 1);
  });
});
