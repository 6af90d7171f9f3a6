import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { AtomicWriteError } from '../src/io/atomic-file.js';
import { writeDataset } from '../src/io/dataset-writer.js';
import { OutputLayout } from '../src/io/output-layout.js';
import { readParquetFile } from '../src/io/parquet-file.js';
import { tableToResults } from '../src/io/result-table.js';
import type { GenerationResult, MbppRecord } from '../src/records.js';
import { failedRow, manyRows, passingRow, tempDir } from './sink-rows.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const start = new Date(2024, 2, 5, 7, 8, 9);

describe('writeDataset', () => {
  it('writes the Parquet, the JSON twin and the extended metadata with the same rows', async () => {
    const rows = [passingRow(), failedRow()];
    const layout = await OutputLayout.create(join(dir, 'out'), { now: start });
    const metadata = { total_records: 2, failed_records: [{ task_id: 601, error: 'TransientError' }], config: { max_retries: 3 } };
    const written = await writeDataset(layout, [rows.slice(0, 1), [], rows.slice(1)], () => metadata);

    assert.deepEqual(written, { ...layout.dataset, rows: 2 });
    assert.deepEqual((await readdir(layout.datasetsDir)).sort(), [
      'mbpp_dataset_20240305_070809.json',
      'mbpp_dataset_20240305_070809.parquet',
      'mbpp_dataset_20240305_070809_extended_metadata.json',
    ]);
    assert.deepEqual(tableToResults(await readParquetFile(written.parquet), written.parquet), rows);
    assert.deepEqual(JSON.parse(await readFile(written.json, 'utf8')), rows);
    assert.deepEqual(JSON.parse(await readFile(written.metadata, 'utf8')), { ...metadata, files: written });
    assert.deepEqual(await readdir(join(dir, 'out')), ['mbpp_datasets']);
  });

  it('writes an empty dataset', async () => {
    const layout = await OutputLayout.create(dir, { now: start });
    const written = await writeDataset(layout, [], () => ({}));
    assert.deepEqual(tableToResults(await readParquetFile(written.parquet), written.parquet), []);
    assert.deepEqual(JSON.parse(await readFile(written.json, 'utf8')), []);
  });

  it('never overwrites an existing dataset file', async () => {
    const first = await OutputLayout.create(dir, { now: start });
    await writeDataset(first, [[passingRow()]], () => ({ run: 1 }));
    // A layout picked before the first run wrote (another process, same second) has the same names.
    await assert.rejects(writeDataset(first, [[failedRow()]], () => ({ run: 2 })), (e) => e instanceof AtomicWriteError && e.code === 'EEXIST');
    assert.deepEqual(tableToResults(await readParquetFile(first.dataset.parquet), 'first'), [passingRow()]);
    assert.equal(JSON.parse(await readFile(first.dataset.metadata, 'utf8')).run, 1);
  });
});

describe('writeDataset, streamed', () => {
  it('writes batches as row groups of at most 2,000 rows, and the JSON twin one row per line', async () => {
    const rows = manyRows(5_000);
    async function* batches() {
      for (let first = 0; first < rows.length; first += 700) yield rows.slice(first, first + 700);
    }
    const layout = await OutputLayout.create(dir, { now: start });
    const written = await writeDataset(layout, batches(), () => ({}));
    assert.equal(written.rows, 5_000);
    const file = await asyncBufferFromFile(written.parquet);
    const metadata = await parquetMetadataAsync(file);
    assert.deepEqual(metadata.row_groups.map((group) => Number(group.num_rows)), [2000, 2000, 1000]);
    const seen = await parquetReadObjects({ file, columns: ['task_id', 'sample_index'] });
    assert.deepEqual(seen.map((row) => [row.task_id, row.sample_index]), rows.map((row) => [row.task_id, row.sample_index]));
    const lines = (await readFile(written.json, 'utf8')).split('\n');
    assert.deepEqual([lines[0], lines.at(-2), lines.at(-1)], ['[', ']', '']);
    assert.equal(lines.length, 5_000 + 3, 'one line per row');
    assert.deepEqual(JSON.parse(lines[1]!.slice(0, -1)), rows[0], 'each row line is the row, then a comma');
  });

  it('a batch that cannot be read leaves no file under the dataset names and fails with its own error', async () => {
    const layout = await OutputLayout.create(dir, { now: start });
    const lost = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    async function* batches() {
      yield manyRows(3);
      throw lost;
    }
    await assert.rejects(writeDataset(layout, batches(), () => ({})), (error: Error) => error.cause === lost || error === lost);
    assert.deepEqual(await readdir(layout.datasetsDir), []);
  });
});

describe('writeDataset on the real MBPP data', { skip: process.env.MBPP_STREAM_DATASET ? false : 'MBPP_STREAM_DATASET not set' }, () => {
  it('writes all problems as rows that an independent reader sees whole', async () => {
    const lines = (await readFile(process.env.MBPP_STREAM_DATASET ?? '', 'utf8')).split('\n').filter((line) => line.trim());
    const rows: GenerationResult[] = lines.map((line) => {
      const record = JSON.parse(line) as MbppRecord;
      return passingRow({
        task_id: record.task_id,
        text: record.text,
        reference_code: record.code,
        generated_code: record.code,
        raw_completion: record.code,
        test_list: record.test_list,
        test_setup_code: record.test_setup_code,
        total_tests: record.test_list.length,
        passed_tests: record.test_list.length,
        test_results: record.test_list.map(() => ({ passed: true, error_type: null, message: null })),
        challenge_test_results: record.challenge_test_list.length ? [] : null,
      });
    });
    const layout = await OutputLayout.create(dir);
    const written = await writeDataset(layout, [rows], () => ({ source: 'mbpp' }));
    assert.equal(written.rows, rows.length);
    assert.deepEqual(tableToResults(await readParquetFile(written.parquet), written.parquet), rows);
    const seen = await parquetReadObjects({ file: await asyncBufferFromFile(written.parquet), columns: ['task_id', 'reference_code', 'test_list'] });
    assert.deepEqual(seen.map((r) => ({ ...r })), rows.map(({ task_id, reference_code, test_list }) => ({ task_id, reference_code, test_list })));
    assert.deepEqual(JSON.parse(await readFile(written.json, 'utf8')), rows);
  });
});
