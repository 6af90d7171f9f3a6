import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError } from '../src/errors.ts';
import { detectDatasetFormat, loadDataset } from '../src/io/dataset-format.ts';
import { selectRecords } from '../src/io/mbpp-source.ts';
import { loadMbppPlus } from '../src/io/mbppplus-source.ts';
import { arrayElements, objectFields } from '../src/io/python-json.ts';
import { sha256Hex } from '../src/io/table-rows.ts';
import { REPO_ROOT } from './support/run-cli.ts';

const PLUS_SAMPLE = join(REPO_ROOT, 'fixtures/mbppplus-sample.jsonl');
const MBPP_SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'source-mbppplus-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A valid MBPP+ line as Python's json writes it, with `fields` replacing (or, as `undefined`, dropping) its own. */
function plusLine(taskNumber: number, fields: Record<string, string | undefined> = {}): string {
  const raw: Record<string, string | undefined> = {
    task_id: JSON.stringify(`Mbpp/${taskNumber}`),
    prompt: JSON.stringify(`"""\nWrite a function to return ${taskNumber}.\nassert f() == ${taskNumber}\n"""\n`),
    entry_point: '"f"',
    canonical_solution: JSON.stringify(`\ndef f():\n    return ${taskNumber}\n`),
    base_input: '[[]]',
    atol: '0',
    plus_input: '[[], []]',
    ...fields,
  };
  const written = Object.entries(raw).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return `{${written.map(([key, value]) => `${JSON.stringify(key)}: ${value}`).join(', ')}}`;
}

let fileCount = 0;
async function jsonlFile(lines: readonly string[]): Promise<string> {
  const path = join(dir, `plus-${fileCount++}.jsonl`);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

async function inputError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => assert.fail('expected an InputError'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
  assert.ok(!error.message.includes('\n'), 'the message is one line');
  return error.message;
}

describe('loadMbppPlus', () => {
  test('the sample: task ids, statement, code, no asserts, and the inputs as raw text with their counts', async () => {
    const loaded = await loadMbppPlus(PLUS_SAMPLE);
    assert.equal(loaded.format, 'jsonl');
    assert.equal(loaded.sha256, sha256Hex(await readFile(PLUS_SAMPLE)));
    assert.deepEqual(loaded.records.map((record) => record.task_id), [4, 6, 9, 10]);
    const [four, six, nine, ten] = loaded.records;
    assert.equal(ten?.text, 'Write a function to convert a snake_case identifier to camelCase.');
    assert.equal(ten?.code, `${ten?.plus?.prompt}${ten?.plus?.canonical_solution}`);
    assert.deepEqual([ten?.test_list, ten?.test_setup_code, ten?.challenge_test_list], [[], '', []]);
    assert.deepEqual(
      { ...ten?.plus, base_input: undefined, plus_input: undefined, prompt: undefined, canonical_solution: undefined },
      { evalplus_id: 'Mbpp/10', entry_point: 'snake_to_camel', base_count: 3, plus_count: 3, atol: 0, base_input: undefined, plus_input: undefined, prompt: undefined, canonical_solution: undefined },
    );
    // Strings holding brackets, quotes and the words NaN/Infinity are one input each.
    assert.equal(JSON.parse(ten?.plus?.plus_input ?? '')[1][0], 'NaN_[Infinity]_{"x": \'y\'}_\\_]');
    assert.equal(four?.plus?.atol, 0.0001);
    assert.equal(four?.plus?.plus_input, '[[[-Infinity, Infinity, 3]], [[1.5, 2.5]]]');
    assert.equal(six?.plus?.plus_input, '[[0], [10000000000000000000000], [-9999999999999999999999]]');
    assert.deepEqual([nine?.plus?.plus_input, nine?.plus?.plus_count, nine?.plus?.base_count], ['{}', 0, 3]);
  });

  test('records select by split and range as MBPP does', async () => {
    const { records } = await loadMbppPlus(PLUS_SAMPLE);
    assert.deepEqual(selectRecords(records, { split: 'prompt', start: 1, end: 2 }).map((record) => record.task_id), [6, 9]);
  });

  const fieldCases: [string, Record<string, string | undefined>, RegExp][] = [
    ['task_id not Mbpp/N', { task_id: '"HumanEval/2"' }, /field "task_id" must be EvalPlus's "Mbpp\/<n>", got string "HumanEval\/2"/],
    ['task_id an integer', { task_id: '2' }, /field "task_id" must be EvalPlus's "Mbpp\/<n>", got number 2/],
    ['task_id out of range', { task_id: '"Mbpp/975"' }, /field "task_id" is 975, outside MBPP's task_ids 1–974/],
    ['task_id missing', { task_id: undefined }, /field "task_id" is missing/],
    ['entry_point not an identifier', { entry_point: '"f()"' }, /field "entry_point" must be a Python identifier, got string "f\(\)"/],
    ['prompt not a string', { prompt: '3' }, /field "prompt" must be a string, got number 3/],
    ['canonical_solution missing', { canonical_solution: undefined }, /field "canonical_solution" is missing/],
    ['atol negative', { atol: '-1' }, /field "atol" must be a number 0 or more, got number -1/],
    ['atol NaN', { atol: 'NaN' }, /field "atol" must be a number 0 or more, got number NaN/],
    ['atol a string', { atol: '"0"' }, /field "atol" must be a number 0 or more, got string "0"/],
    ['base_input missing', { base_input: undefined }, /field "base_input" is missing/],
    ['base_input a number', { base_input: '3' }, /field "base_input" must be a list of argument lists, got 3/],
    ['plus_input a non-empty object', { plus_input: '{"a": [1]}' }, /field "plus_input" must be a list of argument lists, got \{"a": \[1\]\}/],
    ['an input not a list', { plus_input: '[[1], 2]' }, /field "plus_input" input 1 must be a list of arguments, got 2/],
  ];
  for (const [name, fields, message] of fieldCases) {
    test(`refused: ${name}, naming the file, line and field`, async () => {
      const path = await jsonlFile([plusLine(2), plusLine(3, fields)]);
      const error = await inputError(loadMbppPlus(path));
      assert.ok(error.startsWith(`${path}, line 2: `), error);
      assert.match(error, message);
    });
  }

  test('malformed Python JSON names the line and column', async () => {
    const path = await jsonlFile([plusLine(2), plusLine(3, { plus_input: '[[1], [2}' })]);
    assert.match(await inputError(loadMbppPlus(path)), /, line 2: malformed JSON \(expected '\]' at column \d+, found "\}"\)$/);
  });

  test('a duplicate task names both lines', async () => {
    const path = await jsonlFile([plusLine(2), plusLine(3), plusLine(2)]);
    assert.match(await inputError(loadMbppPlus(path)), /, line 3: field "task_id" duplicates task_id 2 \(first at line 1\)$/);
  });

  test('an empty file, a missing file, a directory and Parquet are refused', async () => {
    const empty = await jsonlFile(['']);
    assert.match(await inputError(loadMbppPlus(empty)), /: the file has no records$/);
    assert.match(await inputError(loadMbppPlus(join(dir, 'absent.jsonl'))), /^--dataset .*absent\.jsonl: cannot read \(ENOENT\)$/);
    const folder = join(dir, 'folder');
    await mkdir(folder, { recursive: true });
    assert.match(await inputError(loadMbppPlus(folder)), /: is a directory; MBPP\+ is read from EvalPlus's JSONL file/);
    const parquet = join(dir, 'data.parquet');
    await writeFile(parquet, 'PAR1 not really');
    assert.match(await inputError(loadMbppPlus(parquet)), /: is Parquet; MBPP\+ is read from EvalPlus's JSONL file/);
  });
});

describe('dataset format', () => {
  test('auto-detection: MBPP+ by its first record, MBPP otherwise', async () => {
    assert.equal(await detectDatasetFormat(PLUS_SAMPLE), 'mbppplus');
    assert.equal(await detectDatasetFormat(MBPP_SAMPLE), 'mbpp');
    // A Mbpp/N id without base_input is an EvalPlus samples file, not MBPP+.
    assert.equal(await detectDatasetFormat(await jsonlFile(['{"task_id": "Mbpp/2", "solution": "pass"}'])), 'mbpp');
    assert.equal(await detectDatasetFormat(await jsonlFile(['{"task_id": "Mbpp/2", "base_input": [[NaN]]}'])), 'mbppplus');
    assert.equal(await detectDatasetFormat(await jsonlFile(['{broken'])), 'mbpp');
  });

  test('loadDataset loads each format and says which', async () => {
    const plus = await loadDataset(PLUS_SAMPLE);
    assert.equal(plus.datasetFormat, 'mbppplus');
    assert.equal(plus.records.length, 4);
    assert.equal(plus.original, undefined);
    const mbpp = await loadDataset(MBPP_SAMPLE, { format: 'auto' });
    assert.equal(mbpp.datasetFormat, 'mbpp');
    assert.equal(mbpp.records[0]?.plus, undefined);
    assert.equal((await loadDataset(PLUS_SAMPLE, { format: 'mbppplus' })).datasetFormat, 'mbppplus');
  });

  test('forcing a format the file is not is refused clearly', async () => {
    assert.match(
      await inputError(loadDataset(PLUS_SAMPLE, { format: 'mbpp' })),
      /--dataset .*mbppplus-sample\.jsonl is MBPP\+ \(EvalPlus's format\), not MBPP: drop --dataset-format mbpp/,
    );
    assert.match(
      await inputError(loadDataset(MBPP_SAMPLE, { format: 'mbppplus' })),
      /--dataset .*mbpp-sample\.jsonl is MBPP, not MBPP\+ \(EvalPlus's format\): drop --dataset-format mbppplus, or give --dataset-format mbpp$/,
    );
    // A file of neither format: the forced format's loader says what is wrong, and where.
    const neither = await jsonlFile(['{"task_id": "two", "base_input": []}']);
    assert.match(await inputError(loadDataset(neither, { format: 'mbppplus' })), /, line 1: field "task_id" must be EvalPlus's "Mbpp\/<n>", got string "two"$/);
    assert.match(await inputError(loadDataset(neither, { format: 'mbpp' })), /, line 1: field "task_id" must be an integer, got string "two"$/);
  });
});

describe('--original-dataset', () => {
  test('each MBPP+ record takes the original text, code and asserts and keeps its MBPP+ part', async () => {
    const [plusOnly, joined, original] = await Promise.all([
      loadDataset(PLUS_SAMPLE),
      loadDataset(PLUS_SAMPLE, { original: MBPP_SAMPLE }),
      loadDataset(MBPP_SAMPLE),
    ]);
    assert.deepEqual(joined.original, { path: MBPP_SAMPLE, sha256: original.sha256 });
    assert.equal(joined.sha256, plusOnly.sha256);
    joined.records.forEach((record, index) => {
      const source = original.records.find((candidate) => candidate.task_id === record.task_id);
      assert.deepEqual(record, { ...source, plus: plusOnly.records[index]?.plus });
    });
  });

  test('an MBPP+ task the original lacks is refused, listing it', async () => {
    const original = await jsonlFile([(await readFile(MBPP_SAMPLE, 'utf8')).split('\n')[3] ?? '']);
    assert.match(
      await inputError(loadDataset(PLUS_SAMPLE, { original })),
      /^--original-dataset .*: lacks 3 of the MBPP\+ tasks \(Mbpp\/6, Mbpp\/9, Mbpp\/10\)$/,
    );
  });

  test('with an MBPP dataset, or an MBPP+ file as the original, it is refused', async () => {
    assert.match(await inputError(loadDataset(MBPP_SAMPLE, { original: MBPP_SAMPLE })), /^--original-dataset joins the original MBPP to an MBPP\+ dataset, but --dataset .* is MBPP/);
    assert.match(await inputError(loadDataset(PLUS_SAMPLE, { original: PLUS_SAMPLE })), /^--original-dataset .* is MBPP\+, not the original MBPP/);
    assert.match(await inputError(loadDataset(PLUS_SAMPLE, { original: join(dir, 'absent.jsonl') })), /^--original-dataset .*absent\.jsonl: cannot read \(ENOENT\)$/);
  });
});

const realFile = process.env.MBPP_STREAM_MBPPPLUS;
describe('the real MBPP+ file (v0.2.0)', { skip: realFile ? false : 'MBPP_STREAM_MBPPPLUS is not set' }, () => {
  test('378 tasks, 1,174 base and 39,841 plus inputs; Mbpp/793 has none; Mbpp/404 holds Infinity', async () => {
    const path = realFile ?? '';
    const loaded = await loadDataset(path);
    assert.equal(loaded.datasetFormat, 'mbppplus');
    assert.equal(loaded.records.length, 378);
    const plus = loaded.records.map((record) => record.plus);
    assert.equal(plus.reduce((sum, task) => sum + (task?.base_count ?? 0), 0), 1174);
    assert.equal(plus.reduce((sum, task) => sum + (task?.plus_count ?? 0), 0), 39841);
    assert.equal(plus.filter((task) => task?.atol === 0.0001).length, 13);
    const byId = new Map(loaded.records.map((record) => [record.task_id, record]));
    assert.deepEqual([byId.get(793)?.plus?.plus_input, byId.get(793)?.plus?.plus_count], ['{}', 0]);
    // Mbpp/404 (minimum of two numbers) has [-Infinity, Infinity] among its plus inputs, read as the text Python wrote.
    const inputs = arrayElements(byId.get(404)?.plus?.plus_input ?? '').map((input) => input.replace(/\s/g, ''));
    assert.ok(inputs.includes('[-Infinity,Infinity]'), 'Mbpp/404 has the input [-Infinity, Infinity]');
    // The inputs are kept byte for byte as the file has them.
    const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
    const line404 = lines.find((line) => line.startsWith('{"task_id": "Mbpp/404"')) ?? '';
    assert.equal(objectFields(line404).get('plus_input'), byId.get(404)?.plus?.plus_input);
    assert.equal(byId.get(2)?.text, 'Write a function to find the shared elements from the given two lists.');
  });

  test('joined with the original MBPP file, when that is set too', { skip: process.env.MBPP_STREAM_DATASET ? false : 'MBPP_STREAM_DATASET is not set' }, async () => {
    const joined = await loadDataset(realFile ?? '', { original: process.env.MBPP_STREAM_DATASET });
    assert.equal(joined.records.length, 378);
    assert.ok(joined.records.every((record) => record.test_list.length > 0 && record.plus !== undefined));
  });
});
