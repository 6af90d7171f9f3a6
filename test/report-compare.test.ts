import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runReport } from '../src/cli/report.js';
import { InputError } from '../src/errors.js';
import type { ReportDataset, ReportRow } from '../src/report/report-rows.js';
import { compareRuns, MCNEMAR, SIGN_TEST } from '../src/report/run-comparison.js';
import { originalRow, writeOriginalParquet, writeToolDataset } from './support/report-datasets.js';
import { runCli } from './support/run-cli.js';

/** A dataset of `tasks`: task_id -> correct flags of its samples. */
function dataset(source: string, tasks: Record<number, boolean[]>): ReportDataset {
  const rows: ReportRow[] = Object.entries(tasks).flatMap(([task, verdicts]) =>
    verdicts.map((is_correct, sample_index) => ({
      task_id: Number(task), sample_index, split: null, model: null, status: 'ok' as const, is_correct,
      test_results: null, generation_time: 1, execution_time: 0, attempts: 1, error: null,
    })),
  );
  return { source, rows, absent: [] };
}

const T = true;
const F = false;
/** n samples of which the first c are correct. */
const of = (n: number, c: number) => Array.from({ length: n }, (_, i) => i < c);

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

describe('comparing two runs', () => {
  it('single samples: gained, lost, agreement and McNemar on the shared tasks', () => {
    const a = dataset('a', { 1: [T], 2: [T], 3: [T], 4: [F], 5: [F], 6: [F], 7: [F], 8: [T], 9: [F], 10: [F], 20: [T] });
    const b = dataset('b', { 1: [T], 2: [F], 3: [T], 4: [T], 5: [T], 6: [T], 7: [T], 8: [T], 9: [F], 10: [T], 11: [F], 12: [T] });
    const c = compareRuns(a, b);
    assert.equal(c.sharedTasks, 10);
    assert.deepEqual([c.a.onlyHere, c.b.onlyHere], [1, 2]);
    assert.deepEqual([c.bothSolved, c.neitherSolved], [3, 1]);
    assert.deepEqual(c.gained.map((t) => t.task_id), [4, 5, 6, 7, 10]);
    assert.deepEqual(c.lost.map((t) => t.task_id), [2]);
    close(c.agreement, 4 / 10);
    assert.equal(c.singleSample, true);
    assert.deepEqual([c.test.name, c.test.better, c.test.worse, c.test.ties], [MCNEMAR, 5, 1, 4]);
    close(c.test.pValue, 0.21875); // 2 * (C(6,0) + C(6,1)) / 2^6
    assert.deepEqual(c.rates, [{ label: 'pass rate', a: 0.4, b: 0.8, charted: true }]); // on the shared tasks only
  });

  it('several samples: solved by a majority of samples, the sign test on per-task pass rates, pass@k of each', () => {
    const a = dataset('a', { 1: of(4, 0), 2: of(4, 2), 3: of(4, 3), 4: of(4, 4), 5: of(4, 1) });
    const b = dataset('b', { 1: of(4, 3), 2: of(4, 2), 3: of(4, 1), 4: of(4, 4), 5: of(4, 2) });
    const c = compareRuns(a, b);
    assert.equal(c.singleSample, false);
    assert.deepEqual(c.gained, [{ task_id: 1, a: { n: 4, c: 0 }, b: { n: 4, c: 3 } }]);
    assert.deepEqual(c.lost.map((t) => t.task_id), [3]);
    assert.deepEqual([c.bothSolved, c.neitherSolved], [1, 2]); // 2 of 4 is not a majority
    assert.deepEqual([c.test.name, c.test.better, c.test.worse, c.test.ties], [SIGN_TEST, 2, 1, 2]);
    close(c.test.pValue, 1);
    assert.deepEqual(c.rates.map((r) => r.label), ['pass rate', 'pass@1']);
    close(c.rates[1]!.a!, 10 / 20);
    close(c.rates[1]!.b!, 12 / 20);
  });

  it('compares per-task rates across different sample counts, and gives pass@k only to the run that has it', () => {
    const a = dataset('a', { 1: [F], 2: [T], 3: [T] });
    const b = dataset('b', { 1: of(10, 1), 2: of(10, 10), 3: of(10, 9) });
    const c = compareRuns(a, b);
    assert.equal(c.test.name, SIGN_TEST);
    assert.deepEqual([c.test.better, c.test.worse, c.test.ties], [1, 1, 1]);
    assert.deepEqual(c.rates.map((r) => [r.label, r.a === null, r.b === null]), [['pass rate', false, false], ['pass@1', false, false], ['pass@10', true, false]]);
  });

  it('refuses two runs without a shared task', () => {
    assert.throws(() => compareRuns(dataset('a.parquet', { 1: [T] }), dataset('b.parquet', { 2: [T] })), (error: unknown) =>
      error instanceof InputError && error.message === 'a.parquet and b.parquet share no task_id: nothing to compare');
  });
});

describe('mbpp-stream report A B', () => {
  let tmp = '';
  let baseline = '';
  let steered = '';
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-report-compare-'));
    // The baseline as the original pipeline wrote it, the steered run as this tool does: the thesis' comparison.
    baseline = path.join(tmp, 'baseline.parquet');
    await writeOriginalParquet(baseline, [11, 12, 13, 14, 15, 16, 17, 18].map((task, i) => originalRow(task, [T, T, F, F, F, F, F, T][i]!)));
    steered = path.join(tmp, 'steered.parquet');
    await writeToolDataset(
      steered,
      [11, 12, 13, 14, 15, 16, 17, 18, 19].map((task_id, i) => ({ task_id, correct: [T, F, T, T, T, T, T, T, F][i]!, model: 'gemma-2-2b+steer', flaky: task_id === 13 })),
    );
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('prints the comparison and writes it as HTML', async () => {
    const html = path.join(tmp, 'cmp.html');
    const result = await runCli(['report', baseline, steered, '--html', html]);
    assert.equal(result.code, 0, result.stderr);
    const text = result.stdout;
    assert.match(text, /^comparison on the 8 tasks both runs have\n  A: .*baseline\.parquet  model: \(not recorded\)  samples: 1 per task\n/);
    assert.match(text, /\n     no sample_index: each row is taken as sample 0 of its task\n/);
    assert.match(text, /\n  B: .*steered\.parquet  model: gemma-2-2b\+steer  samples: 1 per task; 1 more tasks only in B, left out\n/);
    assert.match(text, /\n                 A      B  B − A\n  pass rate  37\.5%  87\.5%  \+50\.0 pts\n/);
    assert.match(text, /\n  gained \(solved in B only\)      5\n  lost \(solved in A only\)        1\n/);
    assert.match(text, /\n  agreement: 25\.0%\n/);
    assert.match(text, /\nMcNemar's exact test \(two-sided, on the 6 tasks whose verdict differs: 5 gained, 1 lost\): p = 0\.2188\n/);
    assert.match(text, /\ntasks gained \(5\)\n  13 14 15 16 17\n\ntasks lost \(1\)\n  12\n/);
    assert.match(text, /\nflaky tasks in B \(1\)[^\n]*\n  task  flaky samples  samples\n    13              1        1\nhtml report: .*cmp\.html\n$/);
    const page = await readFile(html, 'utf8');
    assert.match(page, /aria-label="Pass rate and pass@k, A against B"/);
    assert.match(page, /aria-label="Tasks by outcome in A and B"/);
    assert.match(page, /McNemar&#39;s exact test .*<strong>p = 0\.2188<\/strong>/);
    assert.match(page, /<h2>Tasks gained \(5\)<\/h2>\n<p>13, 14, 15, 16, 17<\/p>/);
    assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no scripts, nothing fetched');
  });

  it('compares multi-sample runs with the sign test and lists changed tasks with their counts', async () => {
    const a = path.join(tmp, 'multi-a.parquet');
    const b = path.join(tmp, 'multi-b.parquet');
    const specs = (counts: number[]) => counts.flatMap((c, t) => Array.from({ length: 10 }, (_, s) => ({ task_id: t + 1, sample_index: s, correct: s < c })));
    await writeToolDataset(a, specs([0, 2, 8, 10, 5]));
    await writeToolDataset(b, specs([9, 3, 2, 10, 6]));
    let text = '';
    await runReport({ datasets: [a, b], out: { write: (chunk: string) => (text += chunk) } });
    assert.match(text, /\n  pass rate  50\.0%   60\.0%  \+10\.0 pts\n  pass@1     50\.0%   60\.0%  \+10\.0 pts\n  pass@10    80\.0%  100\.0%  \+20\.0 pts\n/);
    assert.match(text, /\nper task \(solved: more than half of its samples pass\)\n/);
    assert.match(text, /\nsign test on per-task pass rates \(two-sided exact binomial on the 4 tasks whose pass rate changed: 3 higher in B, 1 lower, 1 unchanged\): p = 0\.6250\n/);
    assert.match(text, /\ntasks gained \(2\)\n  task  A correct  B correct\n     1  0\/10       9\/10\n     5  5\/10       6\/10\n/);
    assert.match(text, /\ntasks lost \(1\)\n  task  A correct  B correct\n     3  8\/10       2\/10\n/);
  });
});
