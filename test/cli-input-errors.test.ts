import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, runCli } from './support/run-cli.js';

/** Every bad input: one line on stderr naming what is wrong, exit code 2, and the output dir untouched. */
describe('bad input to mbpp-stream build', () => {
  let dir: string;
  const sample = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');
  let sampleLines: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-cli-errors-'));
    sampleLines = (await readFile(sample, 'utf8')).trim().split('\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A dataset file whose line `index` (0-based) is replaced. */
  async function datasetWithLine(name: string, index: number, line: string): Promise<string> {
    const lines = [...sampleLines];
    lines[index] = line;
    const path = join(dir, `${name}.jsonl`);
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  }

  function recordWith(index: number, change: Record<string, unknown>): string {
    return JSON.stringify({ ...JSON.parse(sampleLines[index]!), ...change });
  }

  async function expectRefused(args: string[], mustMention: RegExp[], command = ['build', '--backend', 'reference']): Promise<void> {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    // An output dir with an earlier file in it: it must survive byte for byte, and nothing may be added.
    await mkdir(out);
    await writeFile(join(out, 'keep.txt'), 'earlier work');
    const run = await runCli([...command, '--output-dir', out, ...args]);
    assert.equal(run.code, 2, `exit code for ${args.join(' ')}: ${run.stderr}`);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line expected, got:\n${run.stderr}`);
    assert.match(lines[0]!, /^mbpp-stream: /);
    for (const pattern of mustMention) assert.match(lines[0]!, pattern);
    assert.deepEqual(await readdir(out), ['keep.txt']);
    assert.equal(await readFile(join(out, 'keep.txt'), 'utf8'), 'earlier work');
  }

  it('a malformed JSON line names the file and line', async () => {
    const path = await datasetWithLine('malformed', 2, '{"text": "oops", ');
    await expectRefused(['--dataset', path], [/malformed\.jsonl/, /line 3/]);
  });

  it('a missing field names the file, line and field', async () => {
    const record = JSON.parse(sampleLines[1]!) as Record<string, unknown>;
    delete record.test_list;
    const path = await datasetWithLine('missing', 1, JSON.stringify(record));
    await expectRefused(['--dataset', path], [/missing\.jsonl/, /line 2/, /test_list/]);
  });

  it('a mistyped field names the field', async () => {
    const path = await datasetWithLine('mistyped', 0, recordWith(0, { task_id: 'one' }));
    await expectRefused(['--dataset', path], [/mistyped\.jsonl/, /line 1/, /task_id/]);
  });

  it('an empty test_list is refused', async () => {
    const path = await datasetWithLine('empty-tests', 3, recordWith(3, { test_list: [] }));
    await expectRefused(['--dataset', path], [/empty-tests\.jsonl/, /line 4/, /test_list/]);
  });

  it('a duplicated task_id is refused', async () => {
    const path = await datasetWithLine('duplicate', 4, recordWith(4, { task_id: 1 }));
    await expectRefused(['--dataset', path], [/duplicate\.jsonl/, /task_id/, /line 5/]);
  });

  it('--start after --end is refused', async () => {
    await expectRefused(['--dataset', sample, '--start', '5', '--end', '2'], [/--start 5/, /--end 2/]);
  });

  it('an index past the end names the flag and the valid range', async () => {
    await expectRefused(['--dataset', sample, '--end', '500'], [/--end 500/, /0–11/]);
  });

  it('an unknown split is refused', async () => {
    await expectRefused(['--dataset', sample, '--split', 'dev'], [/--split/, /dev/]);
  });

  it('a missing dataset file names --dataset', async () => {
    await expectRefused(['--dataset', join(dir, 'nope.jsonl')], [/--dataset/, /nope\.jsonl/]);
  });

  it('a non-numeric flag value names the flag', async () => {
    await expectRefused(['--dataset', sample, '--start', 'abc'], [/--start/]);
  });

  it('--help still prints the command\'s help (the help yargs caches after starting a handler is switched off)', async () => {
    const run = await runCli(['build', '--help']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /mbpp-stream build/);
    assert.match(run.stdout, /--dataset/);
    assert.match(run.stdout, /--hash-seed/);
  });

  it('a one-value flag given twice is refused by name; repeatable flags may repeat', async () => {
    await expectRefused(['--dataset', sample, '--model', 'a', '--model', 'b'], [/--model was given 2 times \(a, b\); give it once/]);
    await expectRefused(['--dataset', sample, '--max-new-tokens', '5', '--max-new-tokens', '6'], [/--max-new-tokens was given 2 times/]);
    await expectRefused(['--dataset', sample, '--stop', 'x', '--stop', 'y', '--start', 'abc'], [/--start/], ['build', '--backend', 'reference']);
  });

  it('an unknown flag is refused', async () => {
    await expectRefused(['--dataset', sample, '--temprature', '0.5'], [/temprature/]);
  });

  it('an unknown key in --config names the file and key', async () => {
    const config = join(dir, 'hardening.json');
    await writeFile(config, JSON.stringify({ checkpoint_frequency: 10, checkpoint_every: 5 }));
    await expectRefused(['--dataset', sample, '--config', config], [/hardening\.json/, /checkpoint_every/]);
  });

  it('a negative frequency in --config is refused', async () => {
    const config = join(dir, 'negative.json');
    await writeFile(config, JSON.stringify({ gc_collect_frequency: -1 }));
    await expectRefused(['--dataset', sample, '--config', config], [/negative\.json/, /gc_collect_frequency/]);
  });

  it('no dataset anywhere, offline, without --test-run names --dataset', async () => {
    await expectRefused([], [/--dataset/]);
  });

  it('a missing prompt template names the flag', async () => {
    await expectRefused(['--dataset', sample, '--prompt-template', join(dir, 'none.txt')], [/--prompt-template/]);
  });

  it('evaluate: tasks the generations file names but the dataset lacks are named', async () => {
    const generations = join(dir, 'unknown-tasks.jsonl');
    await writeFile(generations, [1, 500, 974].map((taskId) => JSON.stringify({ task_id: `Mbpp/${taskId}`, solution: 'pass' })).join('\n'));
    await expectRefused(['--generations', generations, '--dataset', sample], [/unknown-tasks\.jsonl: 2 task\(s\) not in the dataset .*mbpp-sample\.jsonl: 500, 974$/], ['evaluate']);
  });

  it('evaluate: a selection that keeps none of the file\'s tasks says so', async () => {
    const generations = join(dir, 'prompt-split.jsonl');
    await writeFile(generations, [1, 2].map((taskId) => JSON.stringify({ task_id: taskId, completion: 'pass' })).join('\n'));
    await expectRefused(['--generations', generations, '--dataset', sample, '--split', 'test'], [/prompt-split\.jsonl: none of its 2 task\(s\) has a sample in the selection \(--split test\)/], ['evaluate']);
  });

  it('replay without --generations names the flag', async () => {
    const out = join(dir, 'replay-out');
    const run = await runCli(['build', '--backend', 'replay', '--dataset', sample, '--output-dir', out]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--generations/);
    await assert.rejects(readdir(out), { code: 'ENOENT' });
  });
});
