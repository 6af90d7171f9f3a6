import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Int64, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { InputError } from '../src/errors.ts';
import { loadGenerations } from '../src/io/generations-source.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'source-generations-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
async function jsonl(lines: readonly (Record<string, unknown> | string)[]): Promise<string> {
  const path = join(dir, `gen-${fileCount++}.jsonl`);
  await writeFile(path, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n'));
  return path;
}

async function loadError(path: string): Promise<string> {
  const error = await loadGenerations(path).then(
    () => assert.fail('expected an InputError'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
  return error.message;
}

describe('loadGenerations', () => {
  test('raw completions: extraction applies (no code), samples numbered in order per task', async () => {
    const path = await jsonl([
      { task_id: 11, completion: 'def a(): pass' },
      { task_id: 12, completion: 'def b(): pass' },
      { task_id: 11, completion: 'def a(): return 1' },
    ]);
    const generations = await loadGenerations(path);
    assert.equal(generations.format, 'jsonl');
    assert.equal(generations.size, 3);
    assert.deepEqual(generations.get(11, 0), { text: 'def a(): pass' });
    assert.deepEqual(generations.get(11, 1), { text: 'def a(): return 1' });
    assert.deepEqual(generations.get(12, 0), { text: 'def b(): pass' });
    assert.equal(generations.get(12, 1), undefined);
    assert.deepEqual(generations.sampleIndices(11), [0, 1]);
    assert.deepEqual(generations.sampleIndices(13), []);
    assert.deepEqual(generations.taskIds(), [11, 12]);
  });

  test('EvalPlus style: "Mbpp/<n>" task ids, solution used as code', async () => {
    const generations = await loadGenerations(
      await jsonl([
        { task_id: 'Mbpp/11', solution: 'def f():\n    return 1\n' },
        { task_id: 'Mbpp/12', solution: 'def g(): pass', completion: 'Sure! def g(): pass' },
        { task_id: '13', completion: 'x = 1' },
      ]),
    );
    assert.deepEqual(generations.get(11, 0), { text: 'def f():\n    return 1\n', code: 'def f():\n    return 1\n' });
    assert.deepEqual(generations.get(12, 0), { text: 'Sure! def g(): pass', code: 'def g(): pass' });
    assert.deepEqual(generations.get(13, 0), { text: 'x = 1' });
  });

  test('explicit sample_index is honoured', async () => {
    const generations = await loadGenerations(
      await jsonl([
        { task_id: 2, sample_index: 3, completion: 'three' },
        { task_id: 2, sample_index: 0, completion: 'zero' },
      ]),
    );
    assert.equal(generations.get(2, 3)?.text, 'three');
    assert.equal(generations.get(2, 0)?.text, 'zero');
    assert.deepEqual(generations.sampleIndices(2), [0, 3]);
  });

  test('reports the selected task_ids that have no generation', async () => {
    const generations = await loadGenerations(await jsonl([{ task_id: 11, completion: 'a' }, { task_id: 13, completion: 'b' }]));
    assert.deepEqual(generations.missingTaskIds([11, 12, 13, 14]), [12, 14]);
    assert.deepEqual(generations.missingTaskIds(new Set([11])), []);
  });

  test('reads Parquet with int64 task ids', async () => {
    const table = new Table({
      task_id: vectorFromArray([11n, 12n], new Int64()),
      completion: vectorFromArray(['```python\ndef f(): pass\n```', 'def g(): pass'], new Utf8()),
    });
    const path = join(dir, 'generations.parquet');
    await writeFile(path, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream'))));
    const generations = await loadGenerations(path);
    assert.equal(generations.format, 'parquet');
    assert.equal(generations.get(12, 0)?.text, 'def g(): pass');
    assert.deepEqual(generations.missingTaskIds([11, 12]), []);
  });

  const errors: [string, (Record<string, unknown> | string)[], RegExp][] = [
    ['malformed JSON', [{ task_id: 1, completion: 'a' }, '{"task_id": 2, "completion": '], /, line 2: malformed JSON/],
    ['missing task_id', [{ completion: 'a' }], /, line 1: field "task_id" is missing/],
    ['unparseable task_id', [{ task_id: 'HumanEval/3', completion: 'a' }], /, line 1: field "task_id" must be a positive integer or "Mbpp\/<n>", got string "HumanEval\/3"/],
    ['zero task_id', [{ task_id: 0, completion: 'a' }], /, line 1: field "task_id" must be a positive integer/],
    ['neither completion nor solution', [{ task_id: 1, text: 'a' }], /, line 1: field "completion" is missing \(give "completion" or "solution"\)/],
    ['completion not a string', [{ task_id: 1, completion: ['a'] }], /, line 1: field "completion" must be a string, got a list/],
    ['negative sample_index', [{ task_id: 1, sample_index: -1, completion: 'a' }], /, line 1: field "sample_index" must be 0 or more, got -1/],
    [
      'a duplicated sample',
      [{ task_id: 1, completion: 'a' }, { task_id: 2, completion: 'b' }, { task_id: 1, sample_index: 0, completion: 'c' }],
      /, line 3: task_id 1 sample_index 0 appears twice \(first at line 1\)/,
    ],
  ];
  for (const [name, lines, expected] of errors) {
    test(`error: ${name}`, async () => {
      const path = await jsonl(lines);
      const message = await loadError(path);
      assert.ok(message.startsWith(path), message);
      assert.match(message, expected);
    });
  }

  test('an empty file is an error naming --generations', async () => {
    assert.match(await loadError(await jsonl([''])), /^--generations .*: the file has no generations/);
  });
});
