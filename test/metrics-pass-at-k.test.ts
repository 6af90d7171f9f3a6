import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meanPassAtK, passAtK, passAtKByProblem } from '../src/metrics/pass-at-k.js';

/** C(n, k) exactly, for checking the product form against the definition. */
function binomial(n: number, k: number): bigint {
  let result = 1n;
  for (let i = 1; i <= k; i += 1) result = (result * BigInt(n - k + i)) / BigInt(i);
  return result;
}

/** 1 - C(n-c, k)/C(n, k) by the definition, to 15 significant digits. */
function passAtKByDefinition(n: number, c: number, k: number): number {
  const scale = 10n ** 30n;
  const ratio = (binomial(n - c, k) * scale) / binomial(n, k);
  return 1 - Number(ratio) / Number(scale);
}

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

describe('passAtK', () => {
  it('matches known values', () => {
    close(passAtK(5, 1, 2), 0.4); // 1 - C(4,2)/C(5,2) = 1 - 6/10
    close(passAtK(10, 3, 5), 1 - 21 / 252);
    close(passAtK(200, 0, 100), 0);
    assert.equal(passAtK(10, 8, 3), 1); // fewer than k wrong samples: any k contain a correct one
  });

  it('is c/n for k = 1', () => {
    for (const [n, c] of [[1, 0], [1, 1], [10, 3], [200, 37]] as const) close(passAtK(n, c, 1), c / n);
  });

  it('agrees with the binomial definition where the coefficients are huge', () => {
    for (const [n, c, k] of [[200, 10, 100], [200, 1, 10], [150, 75, 100], [100, 3, 10]] as const) {
      close(passAtK(n, c, k), passAtKByDefinition(n, c, k));
    }
  });

  it('rejects impossible counts', () => {
    assert.throws(() => passAtK(5, 6, 1), RangeError);
    assert.throws(() => passAtK(5, 1, 6), RangeError);
    assert.throws(() => passAtK(5, 1, 0), RangeError);
    assert.throws(() => passAtK(5, 1.5, 1), RangeError);
  });
});

describe('passAtKByProblem', () => {
  it('groups samples per problem and reports each k the sample count allows', () => {
    const samples = [
      ...Array.from({ length: 10 }, (_, i) => ({ task_id: 12, is_correct: i < 3 })),
      { task_id: 11, is_correct: true },
      { task_id: 11, is_correct: false },
    ];
    const problems = passAtKByProblem(samples);
    assert.deepStrictEqual(problems.map((p) => [p.task_id, p.n, p.c, Object.keys(p.pass_at_k)]), [
      [11, 2, 1, ['1']],
      [12, 10, 3, ['1', '10']],
    ]);
    close(problems[1]!.pass_at_k[1]!, 0.3);
    assert.equal(problems[1]!.pass_at_k[10], 1);
    assert.deepStrictEqual(meanPassAtK(problems), { 1: (0.5 + 0.3) / 2 });
    assert.deepStrictEqual(meanPassAtK([]), {});
  });
});
