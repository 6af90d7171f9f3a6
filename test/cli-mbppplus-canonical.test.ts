import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { latestDataset, readJson } from './support/output-files.js';
import { runCli } from './support/run-cli.js';

/**
 * The whole of MBPP+ v0.2.0 (`MBPP_STREAM_MBPPPLUS`): its 378 canonical solutions, as EvalPlus samples, through
 * `evaluate` as a user runs it. The ground truth is recorded from those same solutions in the sandbox, so every
 * task must pass its base and its plus inputs; a solution that times out or trips the comparison here would be
 * mislabelled for every model. Skipped without the file.
 */
const mbppPlus = process.env.MBPP_STREAM_MBPPPLUS;

interface Row {
  task_id: number;
  is_correct: boolean;
  is_correct_base: boolean | null;
  is_correct_plus: boolean | null;
  base_total: number | null;
  plus_total: number | null;
  plus_first_failure: string | null;
  base_first_failure: string | null;
}

describe('MBPP+ canonical solutions judged against their own ground truth', { skip: mbppPlus ? false : 'MBPP_STREAM_MBPPPLUS not set' }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-plus-canonical-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('passes every base and plus input of all 378 tasks', async () => {
    const tasks = (await readFile(mbppPlus!, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line.replace(/-?Infinity|NaN/g, '0')) as { task_id: string; prompt: string; canonical_solution: string });
    const samples = join(dir, 'canonical.jsonl');
    await writeFile(samples, tasks.map((task) => JSON.stringify({ task_id: task.task_id, solution: task.prompt + task.canonical_solution })).join('\n'));
    const out = join(dir, 'out');
    const run = await runCli(['evaluate', '--dataset', mbppPlus!, '--generations', samples, '--output-dir', out, '--workers', '2', '--quiet'], {
      env: { XDG_CACHE_HOME: join(dir, 'cache') },
    });
    assert.equal(run.code, 0, run.stderr.slice(-3000));
    const files = await latestDataset(out);
    const rows = await readJson<Row[]>(files.json);
    assert.equal(rows.length, 378);
    const failing = rows.filter((row) => !row.is_correct_base || !row.is_correct_plus);
    assert.deepEqual(
      failing.map((row) => `${row.task_id}: ${row.base_first_failure ?? row.plus_first_failure}`),
      [],
      'every canonical solution passes its own inputs',
    );
    assert.ok(rows.every((row) => row.is_correct), 'without the original asserts, is_correct is the plus label');
    assert.equal(rows.reduce((sum, row) => sum + row.base_total!, 0), 1174);
    assert.equal(rows.reduce((sum, row) => sum + row.plus_total!, 0), 39_841);
    const metadata = await readJson<{ labels: string; mbpp_plus: { base: { pass_rate: number }; plus: { pass_rate: number } }; time_limits: { mbpp_plus?: { fast_check: boolean } } }>(files.metadata);
    assert.equal(metadata.labels, 'mbpp+');
    assert.equal(metadata.mbpp_plus.base.pass_rate, 1);
    assert.equal(metadata.mbpp_plus.plus.pass_rate, 1);
    assert.equal(metadata.time_limits.mbpp_plus?.fast_check, true);
  });
});
