import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GenerationResult } from '../src/records.ts';
import { latestDataset, readJson, readRowsIndependently } from './support/output-files.ts';
import { REPO_ROOT, runCli } from './support/run-cli.ts';

/**
 * Three labels per program through the CLI: `evaluate` on the MBPP+ fixture joined with the original MBPP sample,
 * with hand-written programs right on everything, right on the asserts and base inputs only, wrong, and without the
 * entry point; and the ground truth recorded once, then read from the cache.
 */
const PLUS_SAMPLE = join(REPO_ROOT, 'fixtures/mbppplus-sample.jsonl');
const MBPP_SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');

const programs = [
  { task_id: 'Mbpp/4', solution: 'def second_largest(values):\n    s = sorted(set(values))\n    return s[-2] if len(s) > 1 else None\n' },
  // Float division: exact for the asserts and base inputs, wrong for the plus input 10**22.
  { task_id: 'Mbpp/6', solution: 'def triangular(n):\n    return int(n * (n + 1) / 2)\n' },
  // Right only for gcd_of(100, 25).
  { task_id: 'Mbpp/9', solution: 'def gcd_of(a, b):\n    return b\n' },
  { task_id: 'Mbpp/10', solution: 'def camel(name):\n    return name\n' },
];

/** The columns these tests read, as the dataset types them. */
type Row = Pick<
  GenerationResult,
  | 'task_id'
  | 'is_correct'
  | 'passed_tests'
  | 'total_tests'
  | 'is_correct_base'
  | 'is_correct_plus'
  | 'base_passed'
  | 'base_total'
  | 'plus_passed'
  | 'plus_total'
  | 'base_test_results'
  | 'plus_test_results'
  | 'base_first_failure'
  | 'plus_first_failure'
  | 'flaky'
>;

describe('MBPP+ labels beside the original asserts', () => {
  let dir: string;
  let generations: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-mbppplus-labels-'));
    generations = join(dir, 'samples.jsonl');
    await writeFile(generations, programs.map((program) => JSON.stringify(program)).join('\n'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function evaluate(out: string, extra: string[] = []) {
    const run = await runCli(
      ['evaluate', '--generations', generations, '--dataset', PLUS_SAMPLE, '--original-dataset', MBPP_SAMPLE, '--output-dir', out, '--quiet', ...extra],
      { env: { XDG_CACHE_HOME: join(dir, 'cache') } },
    );
    assert.equal(run.code, 0, run.stderr);
    const files = await latestDataset(out);
    const rows = (await readRowsIndependently(files.parquet)) as unknown as Row[];
    const logs = join(out, 'mbpp_logs');
    const log = (await Promise.all((await readdir(logs)).map((name) => readFile(join(logs, name), 'utf8')))).join('\n');
    return { rows: new Map(rows.map((row) => [row.task_id, row])), metadata: await readJson<Record<string, unknown>>(files.metadata), log };
  }

  it('gives each program its asserts, base and plus labels, with per-input verdicts and first failures', async () => {
    const { rows, metadata, log } = await evaluate(join(dir, 'first'));
    assert.match(log, /"event":"mbppplus-ground-truth"/, 'the first run records the ground truth');
    assert.equal(metadata.labels, 'asserts and mbpp+');

    const right = rows.get(4)!;
    assert.deepEqual([right.is_correct, right.is_correct_base, right.is_correct_plus], [true, true, true]);
    assert.deepEqual([right.base_passed, right.base_total, right.plus_passed, right.plus_total], [3, 3, 2, 2]);
    assert.equal(right.base_first_failure, null);

    const floatDivision = rows.get(6)!;
    assert.deepEqual([floatDivision.is_correct, floatDivision.is_correct_base, floatDivision.is_correct_plus], [true, true, false]);
    assert.deepEqual(floatDivision.plus_test_results!.map((result) => result.error_type), [null, 'AssertionError', 'Skipped']);
    assert.match(floatDivision.plus_first_failure!, /^input 1: AssertionError: expected 50000000000000000000005000000000000000000000, got 5000000000000000\d+$/);

    const wrong = rows.get(9)!;
    assert.deepEqual([wrong.passed_tests, wrong.total_tests, wrong.is_correct], [1, 3, false]);
    assert.deepEqual([wrong.is_correct_base, wrong.is_correct_plus, wrong.plus_total], [false, false, 0], 'no plus inputs: plus is base');
    assert.deepEqual(wrong.base_test_results!.map((result) => result.error_type), ['AssertionError', 'Skipped', 'Skipped']);

    const missing = rows.get(10)!;
    assert.deepEqual([missing.is_correct, missing.is_correct_base, missing.is_correct_plus], [false, false, false]);
    assert.match(missing.base_first_failure!, /^input 0: ProgramError: NameError: name 'snake_to_camel' is not defined/);
  });

  it('--flaky-check judges the MBPP+ suites under each seed: a program whose output follows string-hash order is flaky', async () => {
    const flaky = join(dir, 'flaky.jsonl');
    // The parts of the name in set order: right under some hash seeds, wrong under others.
    const setOrder = "def snake_to_camel(name):\n    head, *rest = name.split('_')\n    return head + ''.join(p.capitalize() for p in set(rest))\n";
    await writeFile(flaky, JSON.stringify({ task_id: 'Mbpp/10', solution: setOrder }));
    const out = join(dir, 'flaky-out');
    const run = await runCli(['evaluate', '--generations', flaky, '--dataset', PLUS_SAMPLE, '--output-dir', out, '--quiet', '--flaky-check', '8'], {
      env: { XDG_CACHE_HOME: join(dir, 'cache') },
    });
    assert.equal(run.code, 0, run.stderr);
    const [row] = (await readRowsIndependently((await latestDataset(out)).parquet)) as unknown as Row[];
    assert.equal(row!.flaky, true, 'read_file_name has two parts after the head: their set order depends on the seed');
  });

  it('refuses, in one line naming the file, a dataset whose canonical solution fails on an input', async () => {
    const task = {
      task_id: 'Mbpp/6',
      prompt: '"""\nTriangular.\n"""\n',
      entry_point: 'triangular',
      canonical_solution: '\ndef triangular(n):\n    return 10 // n\n',
      base_input: [[1], [0]],
      atol: 0,
      plus_input: [[2]],
    };
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify(task)}\n`);
    const run = await runCli(['build', '--backend', 'reference', '--dataset', bad, '--output-dir', join(dir, 'bad'), '--quiet'], { env: { XDG_CACHE_HOME: join(dir, 'cache') } });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`--dataset ${bad}: 1 input\\(s\\) on which the canonical solution does not return.*Mbpp/6 base input 1: ZeroDivisionError`));
  });

  it('reads the ground truth from the cache the next time, and --test-details judges every input', async () => {
    const { rows, log } = await evaluate(join(dir, 'details'), ['--test-details']);
    assert.doesNotMatch(log, /"event":"mbppplus-ground-truth"/, 'recorded once per dataset and interpreter');
    assert.deepEqual(rows.get(9)!.base_test_results!.map((result) => result.error_type), ['AssertionError', 'AssertionError', null]);
    assert.deepEqual(rows.get(6)!.plus_test_results!.map((result) => result.error_type), [null, 'AssertionError', 'AssertionError']);
    assert.deepEqual([rows.get(6)!.is_correct_base, rows.get(6)!.is_correct_plus], [true, false], 'the labels do not depend on it');
  });
});
