import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runReport } from '../src/cli/report.js';
import { InputError } from '../src/errors.js';
import { readReportDataset } from '../src/report/report-rows.js';
import { originalRow, writeOriginalJson, writeOriginalParquet, writeToolDataset } from './support/report-datasets.js';
import { runCli } from './support/run-cli.js';

const rows = [originalRow(11, true, 2), originalRow(12, false, 3.5), originalRow(13, true, 1), originalRow(14, false, 0.5)];

let tmp = '';
let parquet = '';
let json = '';
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-report-original-'));
  parquet = path.join(tmp, 'mbpp_dataset_20240101_120000.parquet');
  json = path.join(tmp, 'mbpp_dataset_20240101_120000.json');
  await writeOriginalParquet(parquet, rows);
  await writeOriginalJson(json, rows);
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function capture() {
  let text = '';
  return { out: { write: (chunk: string) => (text += chunk) }, text: () => text };
}

const rejectsWith = (promise: Promise<unknown>, message: RegExp) =>
  assert.rejects(promise, (error: unknown) => error instanceof InputError && message.test(error.message));

describe("report of the original pipeline's datasets", () => {
  it('reads its Parquet (int64 columns) and its JSON twin alike, each row sample 0', async () => {
    const fromParquet = await readReportDataset(parquet);
    const fromJson = await readReportDataset(json);
    assert.deepEqual(fromParquet.rows, fromJson.rows);
    assert.deepEqual(fromParquet.absent, ['sample_index', 'split', 'model', 'status', 'test_results', 'execution_time']);
    assert.deepEqual(fromParquet.rows[1], {
      task_id: 12, sample_index: 0, split: null, model: null, status: 'ok', is_correct: false, test_results: null,
      generation_time: 3.5, execution_time: 0, attempts: 1, error: null, flaky: null,
    });
  });

  it('reports what it can and says what it cannot show', async () => {
    for (const file of [parquet, json]) {
      const printed = capture();
      assert.equal(await runReport({ datasets: [file], out: printed.out }), 0);
      const text = printed.text();
      assert.match(text, /\nmodel: \(not recorded\)\nrecords: 4  passed: 2 \(50\.0%\)  wrong: 2  failed after retries: 0\n/);
      assert.match(text, /\nnot shown: this dataset lacks columns the report reads/);
      assert.match(text, /\n  no sample_index: each row is taken as sample 0 of its task\n/);
      assert.match(text, /\n  no split: pass rate by split not shown\n/);
      assert.match(text, /\n  no test_results \(per-test verdicts\): why records did not pass is not shown\n/);
      assert.match(text, /\n  no status: records that failed after retries cannot be told from wrong ones\n/);
      assert.match(text, /\n  no execution_time: times are generation time only\n/);
      assert.doesNotMatch(text, /pass rate by split\n|why records did not pass \(|pass@k/);
      assert.match(text, /slowest 4 records .*\n  task  seconds  generation  execution\n    12     3\.50        3\.50       0\.00\n/);
    }
  });

  it('draws the HTML page without the charts it has no data for', async () => {
    const html = path.join(tmp, 'original.html');
    await runReport({ datasets: [parquet], html, out: capture().out });
    const page = await readFile(html, 'utf8');
    assert.equal((page.match(/<svg /g) ?? []).length, 1);
    assert.match(page, /aria-label="Time per record"/);
    assert.match(page, /<li>no split: pass rate by split not shown<\/li>/);
  });

  it('tells this tool’s JSON twin from the original’s: every column present, nothing missing', async () => {
    const ours = path.join(tmp, 'ours.parquet');
    const twin = path.join(tmp, 'ours.json');
    await writeToolDataset(ours, [{ task_id: 11, correct: true, split: 'test' }, { task_id: 601, correct: false, split: 'train' }], twin);
    const [fromParquet, fromJson] = [await readReportDataset(ours), await readReportDataset(twin)];
    assert.deepEqual(fromJson.absent, []);
    assert.deepEqual(fromJson.rows, fromParquet.rows);
    const printed = capture();
    await runReport({ datasets: [twin], out: printed.out });
    assert.match(printed.text(), /\n  test         1       1     100\.0%\n  train        1       0       0\.0%\n/);
    assert.doesNotMatch(printed.text(), /not shown/);
  });

  it('names the file and what is wrong with it', async () => {
    const write = async (name: string, text: string) => {
      const file = path.join(tmp, name);
      await writeFile(file, text);
      return file;
    };
    const noColumn = await write('no-column.json', JSON.stringify([{ task_id: 11, generation_time: 1 }]));
    await rejectsWith(readReportDataset(noColumn), /no-column\.json: no column "is_correct" \(a dataset has at least task_id, is_correct, generation_time\)$/);
    const twice = path.join(tmp, 'twice.json');
    await writeOriginalJson(twice, [originalRow(11, true), originalRow(11, false)]);
    await rejectsWith(readReportDataset(twice), /twice\.json: rows 0 and 1 are both task 11 sample 0 \(there is no sample_index column/);
    const mistyped = await write('mistyped.json', JSON.stringify([{ ...originalRow(11, true), is_correct: 'yes' }]));
    await rejectsWith(readReportDataset(mistyped), /mistyped\.json: row 0, column "is_correct": expected a boolean, got yes$/);
    const shortRow = await write('short.json', JSON.stringify([originalRow(11, true), { task_id: 12, is_correct: true }]));
    await rejectsWith(readReportDataset(shortRow), /short\.json: row 1 has no "generation_time"$/);
    const columns = await write('columns.json', JSON.stringify({ task_id: { 0: 11 }, is_correct: { 0: true } }));
    await rejectsWith(readReportDataset(columns), /columns\.json: expected a JSON array of row objects \(pandas: DataFrame\.to_json\(orient="records"\)\), got object$/);
    const notJson = await write('notes.txt', 'task 11 passed');
    await rejectsWith(readReportDataset(notJson), /notes\.txt: neither Parquet nor JSON \(/);
    const empty = await write('empty.json', '[]');
    await rejectsWith(readReportDataset(empty), /empty\.json: the dataset has no records$/);
  });

  it('exits 2 with one line from the command line', async () => {
    const result = await runCli(['report', path.join(tmp, 'missing.parquet')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^mbpp-stream: .*missing\.parquet: cannot read \(ENOENT\)\n$/);
    const three = await runCli(['report', parquet, json, parquet]);
    assert.equal(three.code, 2);
    assert.match(three.stderr, /^mbpp-stream: report takes one dataset, or two to compare; got 3\n$/);
  });
});
