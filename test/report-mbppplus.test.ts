/** The report of an MBPP+ dataset: the headline beside the base and plus labels, their pass rates and pass@k. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runReport } from '../src/cli/report.js';
import { labelRates } from '../src/report/label-rates.js';
import type { ReportRow } from '../src/report/report-rows.js';
import { compareRuns } from '../src/report/run-comparison.js';
import { writeToolDataset, type SampleSpec } from './support/report-datasets.js';

const close = (actual: number | undefined, expected: number) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${actual} != ${expected}`);

/**
 * 12 samples of a task, the first `base` correct on the base inputs, the first `plus` of those on base and plus;
 * without asserts the headline is the plus label.
 */
function task(task_id: number, base: number, plus: number, asserts = false): SampleSpec[] {
  return Array.from({ length: 12 }, (_, i) => ({
    task_id,
    sample_index: i,
    correct: asserts ? i % 2 === 0 : i < plus,
    mbppPlus: { base: i < base, plus: i < plus, asserts },
  }));
}

/** The same samples as report rows. */
function rows(specs: readonly SampleSpec[], status: ReportRow['status'] = 'ok'): ReportRow[] {
  return specs.map((spec) => ({
    task_id: spec.task_id, sample_index: spec.sample_index ?? 0, split: null, model: null, status, is_correct: spec.correct,
    test_results: null, generation_time: 1, execution_time: 0, attempts: 1, error: null,
    has_asserts: spec.mbppPlus?.asserts !== false,
    is_correct_base: spec.mbppPlus?.base ?? null,
    is_correct_plus: spec.mbppPlus ? spec.mbppPlus.base && spec.mbppPlus.plus : null,
  }));
}

// Base: task 2 has 3 of 12 correct, task 3 has 2 -> pass@1 = (3/12 + 2/12) / 2 = 5/24; pass@10 = (1 + 1 - C(10,10)/C(12,10)) / 2
// = (1 + 65/66) / 2 = 131/132 (task 2 has 9 < 10 wrong samples, so any 10 hold a right one).
// Plus: task 2 has 1, task 3 none -> pass@1 = 1/24; pass@10 = (1 - C(11,10)/C(12,10)) / 2 = (1 - 11/66) / 2 = 5/12.
const mbppPlusOnly = [...task(2, 3, 1), ...task(3, 2, 0)];

let tmp = '';
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-report-plus-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function report(datasets: Record<string, SampleSpec[]>, json = false): Promise<{ text: string; html: string }> {
  const files = await Promise.all(
    Object.entries(datasets).map(async ([name, specs]) => {
      const parquet = path.join(tmp, `${name}.parquet`);
      const twin = path.join(tmp, `${name}.json`);
      await writeToolDataset(parquet, specs, json ? twin : undefined);
      return json ? twin : parquet;
    }),
  );
  const htmlFile = path.join(tmp, `${Object.keys(datasets).join('-')}.html`);
  let text = '';
  await runReport({ datasets: files, html: htmlFile, out: { write: (chunk: string) => (text += chunk) } });
  return { text, html: await readFile(htmlFile, 'utf8') };
}

describe('MBPP+ labels of a dataset', () => {
  it('gives each label its pass rate and pass@k (unbiased estimator), checked by hand', () => {
    const labels = labelRates(rows(mbppPlusOnly))!;
    assert.equal(labels.labels, 'mbpp+');
    const [headline, base, plus] = labels.rates;
    assert.deepEqual(labels.rates.map((r) => [r.column, r.passed]), [['is_correct', 1], ['is_correct_base', 5], ['is_correct_plus', 1]]);
    close(base!.passRate, 5 / 24);
    assert.deepEqual(base!.passAtK.map((p) => p.k), [1, 10]);
    close(base!.passAtK[0]!.value, 5 / 24);
    close(base!.passAtK[1]!.value, 131 / 132);
    close(plus!.passAtK[0]!.value, 1 / 24);
    close(plus!.passAtK[1]!.value, 5 / 12);
    assert.deepEqual(headline!.passAtK, plus!.passAtK, 'without asserts the headline is the plus label');
  });

  it('counts a record that failed after retries as correct on no label', () => {
    const failed = rows(task(2, 12, 12), 'failed');
    assert.deepEqual(labelRates(failed)!.rates.map((r) => r.passed), [0, 0, 0]);
  });

  it('names the asserts as the headline when the original file was joined, and has no labels without MBPP+', () => {
    const joined = labelRates(rows(task(2, 3, 1, true)))!;
    assert.equal(joined.labels, 'asserts and mbpp+');
    assert.deepEqual(joined.rates.map((r) => [r.judges, r.passed]), [['the original asserts', 6], ['MBPP+ base inputs', 3], ['MBPP+ base and plus inputs', 1]]);
    assert.equal(labelRates(rows([{ task_id: 2, correct: true }])), null);
  });
});

describe('mbpp-stream report of an MBPP+ dataset', () => {
  it('prints the base and plus pass rates and pass@k beside the headline, in text and HTML (JSON twin too)', async () => {
    for (const json of [false, true]) {
      const { text, html } = await report({ [`plus-only-${json}`]: mbppPlusOnly }, json);
      assert.match(text, /\nrecords: 24  passed: 1 \(4\.2%\)/);
      assert.match(text, /\nlabels: MBPP\+ without the original asserts: is_correct is is_correct_plus \(base then plus inputs\)\n/);
      assert.match(text, /\n  label +judges +passed +pass rate +pass@1 +pass@10\n/);
      assert.match(text, /\n  is_correct +MBPP\+ base and plus inputs \(is_correct_plus\) +1 +4\.2% +4\.2% +41\.7%\n/);
      assert.match(text, /\n  is_correct_base +MBPP\+ base inputs +5 +20\.8% +20\.8% +99\.2%\n/);
      assert.match(text, /\n  is_correct_plus +MBPP\+ base and plus inputs +1 +4\.2% +4\.2% +41\.7%\n/);
      assert.match(html, /aria-label="Pass rate by label"/);
      assert.match(html, /<tr><td>is_correct_base<\/td><td>MBPP\+ base inputs<\/td><td>5<\/td><td>20\.8%<\/td><td>20\.8%<\/td><td>99\.2%<\/td><\/tr>/);
    }
  });

  it('shows no pass@k columns with one sample a task, and no labels for a dataset without MBPP+', async () => {
    const single = mbppPlusOnly.filter((spec) => spec.sample_index === 0);
    const { text } = await report({ single });
    assert.match(text, /\n  label +judges +passed +pass rate\n/);
    assert.match(text, /\n  is_correct_base +MBPP\+ base inputs +2 +100\.0%\n/);
    const plain = await report({ plain: [{ task_id: 2, correct: true }] });
    assert.doesNotMatch(plain.text, /labels:|is_correct_base/);
    assert.doesNotMatch(plain.html, /Pass rate by label/);
  });

  it('compares base and plus rates of two runs, a dash where a run has no MBPP+ labels', async () => {
    const stronger = [...task(2, 12, 6), ...task(3, 6, 6)];
    const { text, html } = await report({ a: mbppPlusOnly, b: stronger });
    assert.match(text, /\n     labels: MBPP\+ without the original asserts/);
    // B: base 12 and 6 of 12 -> 75.0%; plus 6 and 6 -> 50.0%; base pass@10 of B is 1 for both tasks.
    assert.match(text, /\n  base pass rate +20\.8% +75\.0% +\+54\.2 pts\n/);
    assert.match(text, /\n  base pass@10 +99\.2% +100\.0% +\+0\.8 pts\n/);
    assert.match(text, /\n  plus pass rate +4\.2% +50\.0% +\+45\.8 pts\n/);
    assert.match(html, /<td>plus pass@10<\/td><td>41\.7%<\/td>/);
    const plain = await report({ a: mbppPlusOnly.filter((s) => s.sample_index === 0), c: [{ task_id: 2, correct: true }, { task_id: 3, correct: false }] });
    assert.match(plain.text, /\n  base pass rate +100\.0% +–\n/);
    assert.doesNotMatch(plain.text, /base pass@1/, 'one sample a task: pass@1 is the pass rate again');
  });

  it('keeps MBPP+ pass@k out of the comparison chart, which would crowd it', () => {
    const labelled = (source: string, specs: SampleSpec[]) => ({ source, rows: rows(specs), absent: [] });
    const comparison = compareRuns(labelled('a', mbppPlusOnly), labelled('b', mbppPlusOnly));
    assert.deepEqual(
      comparison.rates.filter((rate) => rate.charted).map((rate) => rate.label),
      ['pass rate', 'pass@1', 'pass@10', 'base pass rate', 'plus pass rate'],
    );
    assert.deepEqual(comparison.rates.filter((rate) => !rate.charted).map((rate) => rate.label), ['base pass@1', 'base pass@10', 'plus pass@1', 'plus pass@10']);
  });
});
