import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signTestPValue } from '../src/metrics/sign-test.js';
import type { ReportRow } from '../src/report/report-rows.js';
import { flakyTasks, passAtKValues, summariseSamples, taskTallies } from '../src/report/task-samples.js';

const close = (actual: number, expected: number, tolerance = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} != ${expected}`);

/** 2 * P(X <= min(up, down)) for X ~ Binomial(up + down, 1/2), exactly in BigInt, to 30 digits. */
function signTestByDefinition(up: number, down: number): number {
  const n = up + down;
  let term = 1n; // C(n, 0)
  let tail = 1n;
  for (let i = 1; i <= Math.min(up, down); i++) {
    term = (term * BigInt(n - i + 1)) / BigInt(i);
    tail += term;
  }
  const scale = 10n ** 30n;
  const p = Number((2n * tail * scale) / 2n ** BigInt(n)) / Number(scale);
  return Math.min(1, p);
}

describe("McNemar's exact test / the sign test", () => {
  it('matches p-values computed by hand', () => {
    assert.equal(signTestPValue(0, 0), 1); // no discordant pair: no evidence either way
    close(signTestPValue(0, 5), 2 / 32); // 2 * C(5,0) / 2^5
    close(signTestPValue(1, 5), (2 * (1 + 6)) / 64); // 2 * (C(6,0) + C(6,1)) / 2^6 = 0.21875
    close(signTestPValue(5, 1), 0.21875); // two-sided: symmetric
    close(signTestPValue(2, 8), (2 * (1 + 10 + 45)) / 1024); // 0.109375
    close(signTestPValue(0, 10), 2 / 1024);
    assert.equal(signTestPValue(3, 3), 1); // 2 * 42/64 > 1: capped
    assert.equal(signTestPValue(4, 5), 1);
  });

  it('agrees with the exact binomial sum, also where 2^-n is below the smallest double', () => {
    for (const [up, down] of [[10, 30], [45, 25], [120, 80], [550, 650], [700, 800]] as const) {
      close(signTestPValue(up, down), signTestByDefinition(up, down), 1e-10);
    }
    assert.ok(signTestPValue(0, 1500) >= 0);
  });

  it('rejects impossible counts', () => {
    assert.throws(() => signTestPValue(-1, 2), RangeError);
    assert.throws(() => signTestPValue(1.5, 2), RangeError);
  });
});

/** `correct` of `n` samples of a task, as report rows. */
function task(task_id: number, n: number, correct: number, extra: Partial<ReportRow> = {}): ReportRow[] {
  return Array.from({ length: n }, (_, sample_index) => ({
    task_id,
    sample_index,
    split: null,
    model: null,
    status: 'ok',
    is_correct: sample_index < correct,
    test_results: null,
    generation_time: 1,
    execution_time: 0,
    attempts: 1,
    error: null,
    ...extra,
  }));
}

describe('pass@k of a multi-sample dataset', () => {
  it('is the mean over tasks of the unbiased estimator, for each k every task has samples for', () => {
    const rows = [...task(1, 20, 2), ...task(2, 20, 0), ...task(3, 20, 20), ...task(4, 20, 5)];
    const values = passAtKValues(taskTallies(rows));
    assert.deepEqual(values.map((v) => v.k), [1, 10]);
    close(values[0]!.value, (2 / 20 + 0 + 1 + 5 / 20) / 4);
    // task 1: 1 - C(18,10)/C(20,10) = 1 - (10*9)/(20*19); task 4: 1 - C(15,10)/C(20,10) = 1 - 3003/184756.
    close(values[1]!.value, (1 - 90 / 380 + 0 + 1 + (1 - 3003 / 184756)) / 4);
  });

  it('counts tasks by correct samples, 0 to n', () => {
    const summary = summariseSamples(taskTallies([...task(1, 4, 2), ...task(2, 4, 0), ...task(3, 4, 4), ...task(4, 4, 2)]))!;
    assert.deepEqual(summary.tasksByCorrect, [1, 0, 2, 0, 1]);
    assert.deepEqual([summary.tasks, summary.minSamples, summary.maxSamples], [4, 4, 4]);
    assert.deepEqual(summary.passAtK.map((v) => v.k), [1]);
  });

  it('counts a record that failed after retries as not correct', () => {
    const rows = task(1, 2, 2);
    rows[1] = { ...rows[1]!, status: 'failed' };
    assert.deepEqual(taskTallies(rows).map((t) => [t.n, t.c]), [[2, 1]]);
  });

  it('has no sample summary for one sample per task', () => {
    assert.equal(summariseSamples(taskTallies([...task(1, 1, 1), ...task(2, 1, 0)])), null);
  });

  it('lists flaky tasks only when a flaky check ran', () => {
    assert.equal(flakyTasks(task(1, 3, 1)), null);
    assert.equal(flakyTasks(task(1, 3, 1, { flaky: null })), null);
    assert.deepEqual(flakyTasks(task(1, 3, 1, { flaky: false })), []);
    const rows = [...task(7, 3, 1, { flaky: false }), ...task(2, 2, 1, { flaky: false })];
    rows[1] = { ...rows[1]!, flaky: true };
    rows[2] = { ...rows[2]!, flaky: true };
    assert.deepEqual(flakyTasks(rows), [{ task_id: 7, flakySamples: 2, samples: 3 }]);
  });
});
