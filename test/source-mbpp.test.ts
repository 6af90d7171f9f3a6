import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Field, Int32, Int64, List, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { firstValueFrom, toArray } from 'rxjs';
import { InputError } from '../src/errors.ts';
import { loadMbpp, mbppSource, selectRecords, splitOfTaskId } from '../src/io/mbpp-source.ts';
import type { MbppRecord } from '../src/records.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'source-mbpp-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function problem(taskId: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    text: `Write a function to return ${taskId}.`,
    code: `def f():\n    return ${taskId}`,
    task_id: taskId,
    test_setup_code: '',
    test_list: [`assert f() == ${taskId}`],
    challenge_test_list: [],
    ...overrides,
  };
}

let fileCount = 0;
async function jsonlFile(lines: readonly (Record<string, unknown> | string)[]): Promise<string> {
  const path = join(dir, `data-${fileCount++}.jsonl`);
  await writeFile(path, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + '\n');
  return path;
}

async function loadError(path: string): Promise<string> {
  const error = await loadMbpp(path).then(
    () => assert.fail('expected an InputError'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
  assert.ok(!error.message.includes('\n'), 'the message is one line');
  return error.message;
}

describe('loadMbpp: JSONL', () => {
  test('reads records, tolerates CRLF and blank lines, and reports format and sha256', async () => {
    const path = join(dir, 'crlf.jsonl');
    await writeFile(path, `${JSON.stringify(problem(2))}\r\n\r\n${JSON.stringify(problem(1))}\r\n`);
    const loaded = await loadMbpp(path);
    assert.equal(loaded.format, 'jsonl');
    assert.match(loaded.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      loaded.records.map((record) => record.task_id),
      [2, 1],
    );
    assert.deepEqual(loaded.records[1], problem(1));
  });

  test('challenge_test_list may be absent, and defaults to empty', async () => {
    const { challenge_test_list: _dropped, ...withoutChallenge } = problem(3);
    const loaded = await loadMbpp(await jsonlFile([withoutChallenge]));
    assert.deepEqual(loaded.records[0]?.challenge_test_list, []);
  });

  test('malformed JSON names the file and line', async () => {
    const path = await jsonlFile([problem(1), '{"text": "broken",', problem(3)]);
    assert.match(await loadError(path), new RegExp(`^${escape(path)}, line 2: malformed JSON`));
  });

  test('a line that is not an object names the line', async () => {
    const path = await jsonlFile([problem(1), '[1, 2]']);
    assert.match(await loadError(path), /line 2: expected a JSON object, got an array/);
  });

  const fieldCases: [string, Record<string, unknown>, RegExp][] = [
    ['missing text', { text: undefined }, /line 2: field "text" is missing/],
    ['missing test_list', { test_list: undefined }, /line 2: field "test_list" is missing/],
    ['missing test_setup_code', { test_setup_code: undefined }, /line 2: field "test_setup_code" is missing/],
    ['task_id as a string', { task_id: '7' }, /line 2: field "task_id" must be an integer, got string "7"/],
    ['fractional task_id', { task_id: 7.5 }, /line 2: field "task_id" must be an integer, got number 7.5/],
    ['task_id out of range', { task_id: 975 }, /line 2: field "task_id" is 975, outside MBPP's task_ids 1–974/],
    ['code as a number', { code: 42 }, /line 2: field "code" must be a string, got number 42/],
    ['test_list as a string', { test_list: 'assert f()' }, /line 2: field "test_list" must be a list of strings, got string/],
    ['test_list with a number', { test_list: ['assert f()', 3] }, /line 2: field "test_list" must be a list of strings, item 1 is number 3/],
    ['empty test_list', { test_list: [] }, /line 2: field "test_list" is empty/],
    ['mistyped challenge_test_list', { challenge_test_list: 'x' }, /line 2: field "challenge_test_list" must be a list/],
  ];
  for (const [name, overrides, expected] of fieldCases) {
    test(`field validation: ${name}`, async () => {
      const path = await jsonlFile([problem(1), JSON.parse(JSON.stringify(problem(2, overrides)))]);
      const message = await loadError(path);
      assert.ok(message.startsWith(`${path}, line 2: `), message);
      assert.match(message, expected);
    });
  }

  test('a duplicated task_id names both lines', async () => {
    const path = await jsonlFile([problem(1), problem(2), problem(1)]);
    assert.match(await loadError(path), /line 3: field "task_id" duplicates task_id 1 \(first at line 1\)/);
  });

  test('an empty file, or a missing one, is an InputError naming it', async () => {
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '\n');
    assert.match(await loadError(empty), /--dataset .*empty\.jsonl: the file has no records/);
    assert.match(await loadError(join(dir, 'absent.jsonl')), /--dataset .*absent\.jsonl: cannot read \(ENOENT\)/);
  });
});

/** The Hugging Face `full` config's schema: int32 task_id, list<string> tests. */
function hfParquet(records: readonly MbppRecord[], taskIdType: Int32 | Int64 = new Int32()): Uint8Array {
  const strings = new List(new Field('item', new Utf8(), true));
  const table = new Table({
    task_id: vectorFromArray(
      records.map((record) => (taskIdType instanceof Int64 ? BigInt(record.task_id) : record.task_id)),
      taskIdType,
    ),
    text: vectorFromArray(records.map((record) => record.text), new Utf8()),
    code: vectorFromArray(records.map((record) => record.code), new Utf8()),
    test_list: vectorFromArray(records.map((record) => record.test_list), strings),
    test_setup_code: vectorFromArray(records.map((record) => record.test_setup_code), new Utf8()),
    challenge_test_list: vectorFromArray(records.map((record) => record.challenge_test_list), strings),
  });
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')));
}

const asRecord = (value: Record<string, unknown>) => value as unknown as MbppRecord;

describe('loadMbpp: Hugging Face Parquet', () => {
  test('a single .parquet file reads the same records as JSONL', async () => {
    const records = [problem(1), problem(2, { test_list: ['assert f() == 2', 'assert True'] })].map(asRecord);
    const path = join(dir, 'single.parquet');
    await writeFile(path, hfParquet(records, new Int64()));
    const loaded = await loadMbpp(path);
    assert.equal(loaded.format, 'parquet');
    assert.deepEqual(loaded.records, records);
  });

  test('a directory of parts (full/train-00000-of-00001.parquet, ...) reads them all', async () => {
    const full = join(dir, 'hf', 'full');
    await mkdir(full, { recursive: true });
    await writeFile(join(full, 'prompt-00000-of-00001.parquet'), hfParquet([problem(1), problem(2)].map(asRecord)));
    await writeFile(join(full, 'test-00000-of-00001.parquet'), hfParquet([problem(11)].map(asRecord)));
    await writeFile(join(full, 'train-00000-of-00001.parquet'), hfParquet([problem(601)].map(asRecord)));
    const loaded = await loadMbpp(full);
    assert.deepEqual(
      selectRecords(loaded.records).map((record) => [record.task_id, record.split]),
      [
        [1, 'prompt'],
        [2, 'prompt'],
        [11, 'test'],
        [601, 'train'],
      ],
    );
    assert.match(await loadError(join(dir, 'hf')), /directory has no \.parquet files .*hf\/full/);
  });

  test('a bad row names the part file, the row and the field', async () => {
    const path = join(dir, 'bad-row.parquet');
    await writeFile(path, hfParquet([problem(1), problem(2, { test_list: [] })].map(asRecord)));
    assert.equal(await loadError(path), `${path}, row 2: field "test_list" is empty`);
  });

  test('a duplicate across parts names both places', async () => {
    const parts = join(dir, 'dup-parts');
    await mkdir(parts);
    await writeFile(join(parts, 'a.parquet'), hfParquet([problem(5)].map(asRecord)));
    await writeFile(join(parts, 'b.parquet'), hfParquet([problem(5)].map(asRecord)));
    assert.match(
      await loadError(parts),
      /b\.parquet, row 1: field "task_id" duplicates task_id 5 \(first at .*a\.parquet, row 1\)/,
    );
  });
});

describe('selectRecords', () => {
  // Two problems in each split, shuffled, so ordering is tested too.
  const records = [601, 12, 1, 512, 974, 2, 11, 511].map((taskId) => asRecord(problem(taskId)));

  const ids = (selected: { task_id: number }[]) => selected.map((record) => record.task_id);

  test('splits by task_id, all in task_id order by default', () => {
    assert.deepEqual(ids(selectRecords(records)), [1, 2, 11, 12, 511, 512, 601, 974]);
    assert.deepEqual(ids(selectRecords(records, { split: 'prompt' })), [1, 2]);
    assert.deepEqual(ids(selectRecords(records, { split: 'test' })), [11, 12]);
    assert.deepEqual(ids(selectRecords(records, { split: 'validation' })), [511, 512]);
    assert.deepEqual(ids(selectRecords(records, { split: 'train' })), [601, 974]);
    assert.deepEqual(
      selectRecords(records, { split: 'validation' }).map((record) => record.split),
      ['validation', 'validation'],
    );
  });

  test('split boundaries are the dataset’s', () => {
    assert.deepEqual([1, 10, 11, 510, 511, 600, 601, 974].map(splitOfTaskId), [
      'prompt', 'prompt', 'test', 'test', 'validation', 'validation', 'train', 'train',
    ]);
  });

  test('start and end are inclusive indices into the split', () => {
    assert.deepEqual(ids(selectRecords(records, { start: 2, end: 4 })), [11, 12, 511]);
    assert.deepEqual(ids(selectRecords(records, { start: 3, end: 3 })), [12]);
    assert.deepEqual(ids(selectRecords(records, { split: 'train', start: 1 })), [974]);
    assert.deepEqual(ids(selectRecords(records, { end: 0 })), [1]);
  });

  test('test-run takes the first 10 of the selection', () => {
    const many = Array.from({ length: 30 }, (_, index) => asRecord(problem(index + 1)));
    assert.deepEqual(ids(selectRecords(many, { testRun: true })), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(ids(selectRecords(many, { split: 'test', testRun: true })), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    assert.deepEqual(ids(selectRecords(many, { start: 25, testRun: true })), [26, 27, 28, 29, 30]);
  });

  const selectionErrors: [string, Parameters<typeof selectRecords>[1], RegExp][] = [
    ['start after end', { start: 3, end: 1 }, /^--start 3 is after --end 1/],
    ['end past the end', { end: 8 }, /^--end 8 is outside split "all" \(valid indices 0–7/],
    ['start past the end of a split', { split: 'test', start: 2 }, /^--start 2 is outside split "test" \(valid indices 0–1/],
    ['negative start', { start: -1 }, /^--start -1 is outside/],
    ['fractional end', { end: 1.5 }, /^--end 1.5 is outside/],
    ['unknown split', { split: 'dev' }, /^--split "dev" is not a split; choose one of all, prompt, test, validation, train/],
  ];
  for (const [name, selection, expected] of selectionErrors) {
    test(`selection error: ${name}`, () => {
      assert.throws(() => selectRecords(records, selection), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, expected);
        return true;
      });
    });
  }

  test('a split with no problems in this dataset is an error naming --split', () => {
    assert.throws(() => selectRecords([asRecord(problem(1))], { split: 'train' }), /--split train: .*task_ids 601–974/);
  });

  test('mbppSource emits the selection in order, to each subscriber', async () => {
    const source = mbppSource(selectRecords(records, { split: 'test' }));
    assert.deepEqual(ids(await firstValueFrom(source.pipe(toArray()))), [11, 12]);
    assert.deepEqual(ids(await firstValueFrom(source.pipe(toArray()))), [11, 12]);
  });
});

const fullDataset = process.env.MBPP_STREAM_DATASET;
describe('the full MBPP file', { skip: fullDataset ? false : 'MBPP_STREAM_DATASET is not set' }, () => {
  test('974 records, splits of 10/500/90/374', async () => {
    const loaded = await loadMbpp(fullDataset ?? '');
    assert.equal(loaded.records.length, 974);
    const sizes = (['prompt', 'test', 'validation', 'train'] as const).map(
      (split) => selectRecords(loaded.records, { split }).length,
    );
    assert.deepEqual(sizes, [10, 500, 90, 374]);
    assert.deepEqual(
      ids(selectRecords(loaded.records, { split: 'test', start: 0, end: 2 })),
      [11, 12, 13],
    );
  });
  const ids = (selected: { task_id: number }[]) => selected.map((record) => record.task_id);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
