/** The metadata's summary of a dataset's rows: which labels it carries, and MBPP+'s base and plus pass@k. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GenerationResult } from '../src/records.ts';
import { DatasetSummary } from '../src/streams/dataset-summary.ts';
import { makeFailure, makeResult } from './runstore-records.ts';

const close = (actual: number | undefined, expected: number) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

/** 12 samples of an MBPP+ task without asserts: the first `base` pass the base inputs, the first `plus` the plus ones too. */
function plusTask(taskId: number, base: number, plus: number): GenerationResult[] {
  return Array.from({ length: 12 }, (_, i) =>
    makeResult(taskId, i, { test_list: [], is_correct: i < plus, is_correct_base: i < base, is_correct_plus: i < plus }),
  );
}

function summaryOf(rows: GenerationResult[]): DatasetSummary {
  const summary = new DatasetSummary();
  summary.add(rows);
  return summary;
}

describe('DatasetSummary', () => {
  it('gives MBPP+ base and plus pass rates and pass@k (unbiased estimator), checked by hand', () => {
    // Task 3's last sample failed after retries: null labels, correct on none.
    const rows = [...plusTask(2, 3, 1), ...plusTask(3, 2, 0).slice(0, 11), makeFailure(3, 'TransientError: gone', 4, 11)];
    rows[rows.length - 1] = { ...rows[rows.length - 1]!, test_list: [] };
    const summary = summaryOf(rows);
    assert.equal(summary.labels(), 'mbpp+');
    const plus = summary.mbppPlus(true)!;
    assert.deepEqual([plus.base.correct, plus.plus.correct], [5, 1]);
    close(plus.base.pass_rate, 5 / 24);
    close(plus.plus.pass_rate, 1 / 24);
    // Base: 3 and 2 of 12 -> pass@1 5/24; pass@10 (1 + 1 - C(10,10)/C(12,10)) / 2 = 131/132.
    close(plus.base.pass_at_k![1], 5 / 24);
    close(plus.base.pass_at_k![10], 131 / 132);
    // Plus: 1 and 0 of 12 -> pass@1 1/24; pass@10 (1 - C(11,10)/C(12,10)) / 2 = 5/12.
    close(plus.plus.pass_at_k![1], 1 / 24);
    close(plus.plus.pass_at_k![10], 5 / 12);
    assert.deepEqual(plus.plus.pass_at_k_by_problem!.map((p) => [p.task_id, p.n, p.c]), [[2, 12, 1], [3, 12, 0]]);
    assert.deepEqual(summary.passAtKByProblem().pass_at_k, plus.plus.pass_at_k, 'without asserts the headline is the plus label');
  });

  it('leaves pass@k out with one sample a problem, as for the headline', () => {
    const plus = summaryOf(plusTask(2, 3, 1)).mbppPlus(false)!;
    assert.deepEqual(Object.keys(plus.base), ['correct', 'pass_rate']);
  });

  it('says which label is_correct is: asserts, mbpp+, or asserts and mbpp+', () => {
    const plain = summaryOf([makeResult(1), makeFailure(2, 'x', 1)]);
    assert.equal(plain.labels(), 'asserts');
    assert.equal(plain.mbppPlus(true), null);
    assert.equal(summaryOf([makeResult(2, 0, { is_correct_base: true, is_correct_plus: false })]).labels(), 'asserts and mbpp+');
    // Rows journaled before the MBPP+ columns existed lack them.
    const older = makeResult(1) as Partial<GenerationResult>;
    delete older.is_correct_plus;
    assert.equal(summaryOf([older as GenerationResult]).labels(), 'asserts');
  });
});
