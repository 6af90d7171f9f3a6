import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestScheduler } from 'rxjs/testing';
import { progressEvery, type ItemOutcome, type Progress } from '../src/operators/progress-every.js';
import type { OperatorLogger } from '../src/operators/operator-logger.js';

const marbles = (): TestScheduler => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

interface Finished {
  outcome: ItemOutcome;
  attempts: number;
}

describe('progressEvery', () => {
  it('reports counters, rate over the moving window and ETA every n items and at completion', () => {
    const reports: Progress[] = [];
    const infos: string[] = [];
    const logger: OperatorLogger = { debug: () => {}, info: (_obj, msg) => infos.push(msg ?? ''), warn: () => {} };
    marbles().run(({ cold, expectObservable }) => {
      const items: Record<string, Finished> = {
        a: { outcome: 'passed', attempts: 1 },
        b: { outcome: 'wrong', attempts: 1 },
        c: { outcome: 'failed', attempts: 4 },
        d: { outcome: 'passed', attempts: 2 },
      };
      const source = cold('10ms a 9ms b 9ms c 19ms d|', items);
      const reported = source.pipe(
        progressEvery(2, {
          total: 10,
          initial: { passed: 2 },
          window: 2,
          outcome: (item) => item.outcome,
          retries: (item) => item.attempts - 1,
          onProgress: (p) => reports.push(p),
          logger,
        }),
      );
      expectObservable(reported).toBe('10ms a 9ms b 9ms c 19ms d|', items);
    });
    assert.deepStrictEqual(reports, [
      // At 20: samples (0, 2) (10, 3) (20, 4): 2 items in 20 ms.
      { passed: 3, wrong: 1, failed: 0, retries: 0, done: 4, total: 10, remaining: 6, elapsedMs: 20, ratePerSecond: 100, etaMs: 60, final: false },
      // At 50: window (20, 4) (30, 5) (50, 6): 2 items in 30 ms, the slowdown shows.
      { passed: 4, wrong: 1, failed: 1, retries: 4, done: 6, total: 10, remaining: 4, elapsedMs: 50, ratePerSecond: 2000 / 30, etaMs: 60, final: false },
      { passed: 4, wrong: 1, failed: 1, retries: 4, done: 6, total: 10, remaining: 4, elapsedMs: 51, ratePerSecond: 2000 / 30, etaMs: 60, final: true },
    ]);
    assert.deepStrictEqual(infos, ['progress 4/10', 'progress 6/10', 'progress 6/10']);
  });

  it('reports an unknown rate before time has passed and a final report for an empty stream', () => {
    const reports: Progress[] = [];
    marbles().run(({ cold, expectObservable }) => {
      const reported = cold('(ab|)').pipe(progressEvery(1, { total: 3, outcome: () => 'passed', onProgress: (p) => reports.push(p) }));
      expectObservable(reported).toBe('(ab|)');
      expectObservable(cold('|').pipe(progressEvery(1, { total: 3, outcome: () => 'passed', onProgress: (p) => reports.push(p) }))).toBe('|');
    });
    assert.deepStrictEqual(reports.map((p) => [p.done, p.ratePerSecond, p.etaMs, p.final]), [
      [1, null, null, false],
      [2, null, null, false],
      [2, null, null, true],
      [0, null, null, true],
    ]);
  });

  it('rejects a frequency that is not a positive integer', () => {
    assert.throws(() => progressEvery(-1, { total: 1, outcome: () => 'passed' }), /progressEvery: n must be a positive integer/);
  });
});
