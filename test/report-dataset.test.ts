import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runReport } from '../src/cli/report.js';
import { InputError } from '../src/errors.js';
import { writeDataset } from '../src/io/dataset-writer.js';
import { OutputLayout } from '../src/io/output-layout.js';
import { writeParquetFile } from '../src/io/parquet-file.js';
import { ThroughputMeter } from '../src/monitor/throughput-meter.js';
import { resultsToTable } from '../src/io/result-table.js';
import type { GenerationResult, Split, TestResult } from '../src/records.js';
import { buildDatasetReport } from '../src/report/dataset-report.js';
import { readReportDataset } from '../src/report/report-rows.js';
import { histogramBins } from '../src/report/svg-charts.js';
import { sampleRow } from './support/report-datasets.js';

const pass: TestResult = { passed: true, error_type: null, message: null };
const fail = (error_type: string, message: string): TestResult => ({ passed: false, error_type, message });

/** A row of a small hand-made dataset: only what the report reads differs between rows. */
function row(task_id: number, split: Split, verdict: 'passed' | 'wrong' | 'failed', seconds: number, tests: TestResult[] = []): GenerationResult {
  const results = verdict === 'passed' ? [pass, pass, pass] : tests;
  return {
    ...sampleRow({ task_id, split, correct: verdict === 'passed', seconds }),
    passed_tests: results.filter((r) => r.passed).length,
    test_errors: results.filter((r) => !r.passed).map((r) => `${r.error_type}: ${r.message}`),
    test_results: results,
    attempts: verdict === 'failed' ? 3 : 1,
    status: verdict === 'failed' ? 'failed' : 'ok',
    error: verdict === 'failed' ? 'TransientError: endpoint returned 503 <html>' : null,
  };
}

const rows: GenerationResult[] = [
  row(2, 'prompt', 'passed', 1),
  row(3, 'prompt', 'wrong', 2, [pass, fail('AssertionError', 'assert f(2) == 2'), pass]),
  row(11, 'test', 'passed', 1.5),
  row(12, 'test', 'passed', 0.5),
  row(13, 'test', 'wrong', 4, [fail('NameError', "name 'g' is not defined"), fail('NameError', '...'), pass]),
  row(14, 'test', 'wrong', 3, [fail('AssertionError', ''), pass, pass]),
  row(15, 'test', 'failed', 9),
  row(511, 'validation', 'passed', 2.5),
  row(601, 'train', 'wrong', 10, [fail('Timeout', 'ran past 10 s'), fail('Timeout', ''), fail('Timeout', '')]),
];

let tmp = '';
let datasetFile = '';
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-report-'));
  datasetFile = path.join(tmp, 'mbpp.parquet');
  await writeParquetFile(datasetFile, resultsToTable(rows));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function capture() {
  let text = '';
  return { out: { write: (chunk: string) => (text += chunk) }, text: () => text };
}

describe('dataset report', () => {
  it('computes pass rates overall and by split, error types, slowest and failed records', () => {
    const report = buildDatasetReport({ source: 'mbpp.parquet', rows, absent: [] }, 3);
    assert.deepEqual([report.records, report.passed, report.wrong, report.failed], [9, 4, 4, 1]);
    assert.equal(report.passRate, 4 / 9);
    assert.deepEqual(
      report.bySplit?.map((s) => [s.split, s.records, s.passed]),
      [['prompt', 2, 1], ['test', 5, 2], ['validation', 1, 1], ['train', 1, 0]],
    );
    assert.deepEqual(
      report.errorTypes?.map((e) => [e.errorType, e.records]),
      [['AssertionError', 2], ['NameError', 1], ['not judged', 1], ['Timeout', 1]],
    );
    assert.deepEqual(report.slowest.map((r) => r.task_id), [601, 15, 13]);
    assert.deepEqual(report.failedRecords, [
      { task_id: 15, sample_index: 0, split: 'test', attempts: 3, error: 'TransientError: endpoint returned 503 <html>' },
    ]);
  });

  it('bins times for the histogram', () => {
    assert.deepEqual(histogramBins([], 4), []);
    assert.deepEqual(histogramBins([2, 2], 4), [{ from: 2, to: 2, count: 2 }]);
    assert.deepEqual(histogramBins([0, 1, 2, 3, 4], 2).map((b) => b.count), [2, 3]);
    // One slow outlier among 200 quick records: the quick ones spread over the regular bins, the outlier gets its own.
    const quick = Array.from({ length: 200 }, (_, i) => 0.1 + (i % 10) * 0.01);
    const bins = histogramBins([...quick, 7.5], 4);
    assert.equal(bins.length, 4);
    assert.deepEqual(bins.map((b) => b.count), [60, 60, 80, 1]);
    assert.equal(bins[3]!.to, 7.5);
  });

  it('prints the text report of a Parquet dataset', async () => {
    const printed = capture();
    assert.equal(await runReport({ datasets: [datasetFile], out: printed.out }), 0);
    const text = printed.text();
    assert.match(text, /^dataset: .*mbpp\.parquet\nmodel: tiny-llama\nrecords: 9  passed: 4 \(44\.4%\)  wrong: 4  failed after retries: 1\n/);
    assert.match(text, /\n  split       records  passed  pass rate\n  prompt            2       1      50\.0%\n  test              5       2      40\.0%\n/);
    assert.match(text, /\n  AssertionError        2\n/);
    assert.match(text, /slowest 9 records .*\n  task  split +seconds  generation  execution\n   601  train +10\.00 +8\.00 +2\.00\n    15  test /);
    assert.match(text, /failed records \(1\)\n  task  split  attempts  error\n    15  test          3  TransientError: endpoint returned 503 <html>\n$/);
  });

  it('writes a self-contained HTML page with the two charts, escaping dataset text', async () => {
    const html = path.join(tmp, 'report.html');
    const printed = capture();
    await runReport({ datasets: [datasetFile], html, out: printed.out });
    assert.match(printed.text(), /html report: .*report\.html\n$/);
    const page = await readFile(html, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    assert.equal((page.match(/<svg /g) ?? []).length, 2);
    assert.match(page, /aria-label="Pass rate by split"/);
    assert.match(page, /aria-label="Time per record"/);
    assert.match(page, />40\.0% \(2\/5\)</);
    assert.match(page, /endpoint returned 503 &lt;html&gt;/);
    assert.doesNotMatch(page, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no scripts, nothing fetched');
  });

  it('names the file when it is missing, not Parquet, or not a dataset', async () => {
    const missing = path.join(tmp, 'missing.parquet');
    await assert.rejects(runReport({ datasets: [missing], out: capture().out }), (error: unknown) =>
      error instanceof InputError && error.message.startsWith(`${missing}: cannot read (ENOENT)`));
    const corrupt = path.join(tmp, 'corrupt.parquet');
    await writeFile(corrupt, 'PAR1 this is not parquet');
    await assert.rejects(runReport({ datasets: [corrupt], out: capture().out }), (error: unknown) =>
      error instanceof InputError && error.message.startsWith(`${corrupt}: not a readable Parquet file`));
    await assert.rejects(
      runReport({ datasets: [datasetFile], html: path.join(tmp, 'no-dir', 'r.html'), out: capture().out }),
      (error: unknown) => error instanceof InputError && error.message.startsWith(`--html ${path.join(tmp, 'no-dir', 'r.html')}: cannot write`),
    );
  });
});

describe('report of a dataset as a run writes it', () => {
  it('reads the streamed JSON twin like the Parquet, and shows latency and the throughput the metadata records', async () => {
    const layout = await OutputLayout.create(path.join(tmp, 'run'));
    const throughput = new ThroughputMeter(() => 0).throughput();
    const metadata = { statistics: { throughput: { ...throughput, wall_seconds: 4, records: 9, records_per_second: 2.25, sessions: [
      { id: 'onnx-cuda:0', records: 9, completion_tokens: 900, records_per_second: 2.25, tokens_per_second: 225, busy_seconds: 3.6, utilization: 0.9 },
    ] } } };
    const written = await writeDataset(layout, [rows.slice(0, 4), rows.slice(4)], () => metadata);
    const [fromParquet, fromJson] = [await readReportDataset(written.parquet), await readReportDataset(written.json)];
    assert.deepEqual(fromJson.rows, fromParquet.rows);
    assert.equal(fromJson.rows.length, rows.length);
    const printed = capture();
    await runReport({ datasets: [written.json], out: printed.out });
    assert.match(printed.text(), /\nseconds per record \(latency; records overlap, so see throughput for the rate\)\n  stage +median +p95 +max\n  generation +2\.000 /);
    assert.match(printed.text(), /\nthroughput over wall time \(the run's last attempt, from .*_extended_metadata\.json\)\n  records  wall seconds  records\/s  tokens\/s\n        9           4\.0       2\.25         -\n/);
    assert.match(printed.text(), /\n  onnx-cuda:0        9       2\.25    225\.00   90%\n/);
  });
});
