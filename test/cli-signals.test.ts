import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { latestDataset, readRowsIndependently } from './support/output-files.js';
import { collect, REPO_ROOT, runCli, startCli } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');

/** Resolves once the child's `--json` stream has reported `count` finished records. */
function recordsReported(child: ReturnType<typeof startCli>, count: number): Promise<number> {
  return new Promise((resolve) => {
    let seen = 0;
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.includes('"event":"record"') && ++seen === count) resolve(seen);
    });
  });
}

describe('Ctrl+C and SIGTERM during a build', () => {
  let dir: string;
  let generations: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-cli-signals-'));
    // Every solution sleeps at import, so each of the 12 records takes seconds and a signal lands mid-run.
    const records = (await readFile(SAMPLE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { task_id: number; code: string });
    generations = join(dir, 'slow.jsonl');
    await writeFile(
      generations,
      records.map((record) => JSON.stringify({ task_id: record.task_id, solution: `import time\ntime.sleep(0.4)\n${record.code}` })).join('\n'),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const args = (out: string) => ['evaluate', '--generations', generations, '--dataset', SAMPLE, '--output-dir', out, '--json', '--workers', '2'];

  async function journalKeys(out: string): Promise<string[]> {
    const runs = join(out, 'mbpp_datasets', 'runs');
    const [run] = await readdir(runs);
    const text = await readFile(join(runs, run!, 'journal.log'), 'utf8');
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => {
        const row = JSON.parse(line.slice(line.indexOf('{'))) as { task_id: number; sample_index: number };
        return `${row.task_id}:${row.sample_index}`;
      });
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: in-flight records finish, nothing new starts, exit 130 with a resume hint; the same command then completes`, async () => {
      const out = join(dir, signal);
      const child = startCli(args(out));
      const result = collect(child);
      await recordsReported(child, 1);
      child.kill(signal);
      const stopped = await result;
      assert.equal(stopped.code, 130, stopped.stderr);
      assert.match(stopped.stderr, /no new records start/);
      assert.match(stopped.stderr, /Resume with the same command/);
      const journaled = await journalKeys(out);
      assert.ok(journaled.length >= 1 && journaled.length < 12, `journal holds ${journaled.length} records`);
      assert.equal(new Set(journaled).size, journaled.length, 'no record journaled twice');
      // An interrupted run writes no final dataset, only its journal, a checkpoint and an autosave of what is done.
      assert.ok(!(await readdir(join(out, 'mbpp_datasets'))).some((name) => name.endsWith('.parquet')));
      const autosaves = await readdir(join(out, 'mbpp_datasets', 'autosaves'));
      assert.equal(autosaves.length, 1);
      assert.equal((await readRowsIndependently(join(out, 'mbpp_datasets', 'autosaves', autosaves[0]!))).length, journaled.length);

      const resumed = await runCli(args(out));
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, new RegExp(`resuming run \\w+: ${journaled.length}/12 done`));
      const rows = await readRowsIndependently((await latestDataset(out)).parquet);
      assert.deepEqual(rows.map((row) => row.task_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.ok(rows.every((row) => row.is_correct === true));
    });
  }

  it('a second Ctrl+C exits at once, and the run still resumes to a complete, duplicate-free dataset', async () => {
    const out = join(dir, 'twice');
    const child = startCli(args(out));
    const result = collect(child);
    await recordsReported(child, 1);
    child.kill('SIGINT');
    child.kill('SIGINT');
    const stopped = await result;
    assert.equal(stopped.code, 130);
    const resumed = await runCli(args(out));
    assert.equal(resumed.code, 0, resumed.stderr);
    const rows = await readRowsIndependently((await latestDataset(out)).parquet);
    assert.equal(rows.length, 12);
    assert.equal(new Set(rows.map((row) => row.task_id)).size, 12);
  });
});
