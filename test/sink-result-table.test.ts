import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tableFromArrays } from 'apache-arrow';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { InputError } from '../src/errors.js';
import { parquetToTable, readParquetFile, tableToParquet, writeParquetFile } from '../src/io/parquet-file.js';
import { generationResultSchema, resultColumnNames, resultsToTable, tableToResults } from '../src/io/result-table.js';
import { NO_PLUS_COLUMNS } from '../src/streams/result-rows.js';
import { failedRow, manyRows, passingRow, tempDir } from './sink-rows.js';

const PLUS_COLUMNS: readonly string[] = Object.keys(NO_PLUS_COLUMNS);

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await tempDir()));
after(() => cleanup());

describe('result table', () => {
  it('has one column per GenerationResult field, with list and struct types', () => {
    assert.deepEqual(resultColumnNames, Object.keys(passingRow()));
    const type = (name: string) => String(generationResultSchema.fields.find((f) => f.name === name)?.type);
    assert.equal(type('test_list'), 'List<Utf8>');
    assert.equal(type('test_errors'), 'List<Utf8>');
    assert.equal(type('test_results'), 'List<Struct<{passed:Bool, error_type:Utf8, message:Utf8}>>');
    assert.equal(type('task_id'), 'Int32');
    assert.equal(type('generation_time'), 'Float64');
    const nullable = generationResultSchema.fields.filter((f) => f.nullable).map((f) => f.name);
    assert.deepEqual(nullable, [
      'challenge_test_results', 'flaky', 'flaky_check', ...PLUS_COLUMNS, 'prompt_tokens', 'completion_tokens', 'finish_reason', 'session_id', 'error',
    ]);
    assert.equal(type('plus_test_results'), type('test_results'));
    assert.equal(type('is_correct_plus'), 'Bool');
    assert.equal(type('base_total'), 'Int32');
    assert.equal(type('flaky_check'), 'List<Struct<{hash_seed:Uint32, passed_tests:Int32, is_correct:Bool}>>');
  });

  it('round-trips a flaky check (seeds up to 2^32 - 1), and reads a table written before those columns as null', () => {
    const checked = passingRow({
      flaky: true,
      flaky_check: [
        { hash_seed: 4_294_967_295, passed_tests: 3, is_correct: true },
        { hash_seed: 0, passed_tests: 1, is_correct: false },
      ],
    });
    assert.deepEqual(tableToResults(resultsToTable([checked]), 'memory'), [checked]);
    const table = resultsToTable([checked]);
    const older = table.select(resultColumnNames.filter((name) => name !== 'flaky' && name !== 'flaky_check'));
    const [back] = tableToResults(older, 'older.parquet');
    assert.deepEqual(back, { ...checked, flaky: null, flaky_check: null });
  });

  it('round-trips the MBPP+ columns, set and null, and reads a table written before them as null', () => {
    const rows = [passingRow(), failedRow(), passingRow({ task_id: 793, plus_total: 0, plus_passed: 0, plus_test_results: [], is_correct_plus: true })];
    assert.deepEqual(tableToResults(resultsToTable(rows), 'memory'), rows);
    const older = resultsToTable(rows).select(resultColumnNames.filter((name) => !PLUS_COLUMNS.includes(name)));
    const back = tableToResults(older, 'older.parquet');
    assert.deepEqual(back, rows.map((row) => ({ ...row, ...NO_PLUS_COLUMNS })));
  });

  it('round-trips every column in memory, nulls, unicode and empty lists included', () => {
    const rows = [passingRow(), failedRow()];
    assert.deepEqual(tableToResults(resultsToTable(rows), 'memory'), rows);
  });

  it('keeps only the dataset columns, in schema order', () => {
    const row = { ...passingRow(), extra: 'not a column' };
    const [back] = tableToResults(resultsToTable([row]), 'memory');
    assert.deepEqual(back, passingRow());
  });

  it('names the source and column a foreign table lacks', () => {
    const foreign = tableFromArrays({ task_id: Int32Array.from([1]) });
    assert.throws(() => tableToResults(foreign, 'x.parquet'), (e) => e instanceof InputError && /x\.parquet: no column "sample_index"/.test(e.message));
  });
});

describe('parquet file', () => {
  it('round-trips every column through a Parquet file, with each compression', async () => {
    const rows = [passingRow(), failedRow(), passingRow({ task_id: 12, test_list: [], test_results: [], challenge_test_results: [] })];
    for (const compression of ['snappy', 'zstd', 'uncompressed'] as const) {
      const path = join(dir, `rows-${compression}.parquet`);
      await writeParquetFile(path, resultsToTable(rows), { compression });
      assert.deepEqual(tableToResults(await readParquetFile(path), path), rows, compression);
    }
  });

  it('round-trips 1,000 rows and an empty table', () => {
    const rows = manyRows(1000);
    assert.deepEqual(tableToResults(parquetToTable(tableToParquet(resultsToTable(rows)), 'many'), 'many'), rows);
    const empty = parquetToTable(tableToParquet(resultsToTable([])), 'empty');
    assert.equal(empty.numRows, 0);
    assert.deepEqual(empty.schema.fields.map((f) => f.name), resultColumnNames);
  });

  it('is read the same by an independent reader (hyparquet), list and struct columns included', async () => {
    const rows = [...manyRows(50), passingRow({ task_id: 9001 }), failedRow({ task_id: 9002 })];
    const path = join(dir, 'independent.parquet');
    await writeParquetFile(path, resultsToTable(rows));
    const file = await asyncBufferFromFile(path);
    const seen = await parquetReadObjects({ file });
    assert.equal(seen.length, rows.length);
    // hyparquet decodes INT32 as number and BOOLEAN as boolean, so rows compare as plain objects.
    assert.deepEqual(seen.map((r) => ({ ...r })), rows);
    const metadata = await parquetMetadataAsync(file);
    const logical = (name: string) => metadata.schema.find((s) => s.name === name)?.logical_type?.type;
    assert.equal(logical('test_list'), 'LIST');
    assert.equal(logical('test_results'), 'LIST');
    assert.equal(logical('text'), 'STRING');
    const required = metadata.schema.filter((s) => s.name === 'task_id').map((s) => s.repetition_type);
    assert.deepEqual(required, ['REQUIRED']);
  });

  it('rejects a file that is not Parquet with an InputError naming it', async () => {
    const path = join(dir, 'not.parquet');
    await writeFile(path, 'task_id,text\n1,hello\n');
    await assert.rejects(readParquetFile(path), (e) => e instanceof InputError && e.message.startsWith(`${path}: not a readable Parquet file`));
    await assert.rejects(readParquetFile(join(dir, 'missing.parquet')), (e) => e instanceof InputError && /missing\.parquet: cannot read \(ENOENT\)/.test(e.message));
    assert.ok((await readFile(path, 'utf8')).startsWith('task_id'));
  });
});
