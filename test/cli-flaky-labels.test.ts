import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { latestDataset, readJson, readRowsIndependently } from './support/output-files.js';
import { runCli } from './support/run-cli.js';

/**
 * A program whose answer depends on string-hash order (which element a set yields first), judged as 8 samples on
 * 2 workers: with a fixed hash seed every verdict is the same in every worker and every run; a flaky check with
 * other seeds shows it is flaky. Under PYTHONHASHSEED 0..3 it returns 'd', 'd', 'c', 'c'.
 */
const PROBLEM = {
  task_id: 11,
  text: "Write a function that returns one element of the set of 'a', 'b', 'c' and 'd'.",
  code: "def pick():\n    return 'd'",
  test_setup_code: '',
  test_list: ["assert pick() == 'd'"],
  challenge_test_list: [],
};
const HASH_ORDER_PROGRAM = "def pick():\n    return next(iter(set(['a', 'b', 'c', 'd'])))";
const STEADY = {
  task_id: 12,
  text: 'Write a function that adds one.',
  code: 'def inc(x):\n    return x + 1',
  test_setup_code: '',
  test_list: ['assert inc(1) == 2', 'assert inc(2) == 3'],
  challenge_test_list: [],
};
const SAMPLES = 8;

interface Row {
  task_id: number;
  sample_index: number;
  is_correct: boolean;
  flaky: boolean | null;
  flaky_check: { hash_seed: number; passed_tests: number; is_correct: boolean }[] | null;
}

describe('labels under a fixed hash seed, and the flaky check', () => {
  let dir: string;
  let dataset: string;
  let generations: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-flaky-'));
    dataset = join(dir, 'problems.jsonl');
    generations = join(dir, 'samples.jsonl');
    await writeFile(dataset, [PROBLEM, STEADY].map((problem) => JSON.stringify(problem)).join('\n'));
    const lines = Array.from({ length: SAMPLES }, () => [
      JSON.stringify({ task_id: PROBLEM.task_id, solution: HASH_ORDER_PROGRAM }),
      JSON.stringify({ task_id: STEADY.task_id, solution: STEADY.code }),
    ]).flat();
    await writeFile(generations, lines.join('\n'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function evaluate(out: string, ...extra: string[]): Promise<Row[]> {
    const run = await runCli(['evaluate', '--generations', generations, '--dataset', dataset, '--output-dir', out, '--workers', '2', '--quiet', ...extra]);
    assert.equal(run.code, 0, run.stderr);
    const rows = (await readRowsIndependently((await latestDataset(out)).parquet)) as unknown as Row[];
    return rows.sort((a, b) => a.task_id - b.task_id || a.sample_index - b.sample_index);
  }

  it('gives a hash-order-dependent program the same verdict in every worker and every run', async () => {
    const first = await evaluate(join(dir, 'first'));
    const second = await evaluate(join(dir, 'second'));
    const verdicts = [...first, ...second].filter((row) => row.task_id === PROBLEM.task_id).map((row) => row.is_correct);
    assert.equal(verdicts.length, 2 * SAMPLES);
    assert.deepEqual(verdicts, Array(2 * SAMPLES).fill(true), 'hash seed 0 yields "d" first');
    assert.ok(first.every((row) => row.flaky === null && row.flaky_check === null), 'no flaky check was asked for');
  });

  it('--hash-seed changes the seed: the same program then fails, again in every worker', async () => {
    const rows = await evaluate(join(dir, 'seed-2'), '--hash-seed', '2');
    const verdicts = rows.filter((row) => row.task_id === PROBLEM.task_id).map((row) => row.is_correct);
    assert.deepEqual(verdicts, Array(SAMPLES).fill(false), 'hash seed 2 yields "c" first');
  });

  it('--flaky-check 4 marks it flaky with each seed outcome, keeps is_correct from the run seed, and lists it in the metadata', async () => {
    const out = join(dir, 'flaky');
    const rows = await evaluate(out, '--flaky-check', '4');
    for (const row of rows.filter((row) => row.task_id === PROBLEM.task_id)) {
      assert.equal(row.flaky, true);
      assert.equal(row.is_correct, true);
      assert.deepEqual(
        row.flaky_check!.map(({ hash_seed, is_correct }) => [hash_seed, is_correct]),
        [[0, true], [1, true], [2, false], [3, false]],
      );
    }
    for (const row of rows.filter((row) => row.task_id === STEADY.task_id)) {
      assert.equal(row.flaky, false);
      assert.deepEqual(row.flaky_check!.map((outcome) => outcome.passed_tests), [2, 2, 2, 2]);
    }
    const metadata = await readJson<{ flaky_check: { hash_seeds: number[]; flaky_records: number; flaky_tasks: { task_id: number; sample_indices: number[] }[] } }>(
      (await latestDataset(out)).metadata,
    );
    assert.deepEqual(metadata.flaky_check.hash_seeds, [0, 1, 2, 3]);
    assert.equal(metadata.flaky_check.flaky_records, SAMPLES);
    assert.deepEqual(metadata.flaky_check.flaky_tasks, [{ task_id: PROBLEM.task_id, sample_indices: [0, 1, 2, 3, 4, 5, 6, 7] }]);
  });

  it('refuses a hash seed outside PYTHONHASHSEED range, naming the flag, and writes nothing', async () => {
    const out = join(dir, 'bad-seed');
    const run = await runCli(['evaluate', '--generations', generations, '--dataset', dataset, '--output-dir', out, '--hash-seed', '4294967296']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--hash-seed: must be an integer from 0 to 4294967295/);
  });
});
