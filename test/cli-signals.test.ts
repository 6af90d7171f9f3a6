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

  it('a second build on the same output dir is refused while the first runs; a lock left by a killed run is taken over', async () => {
    const out = join(dir, 'locked');
    // Slower programs than the other tests': the first run must still be busy when the second one starts.
    const slower = join(dir, 'slower.jsonl');
    await writeFile(slower, (await readFile(generations, 'utf8')).replaceAll('time.sleep(0.4)', 'time.sleep(2)'));
    const lockArgs = ['evaluate', '--generations', slower, '--dataset', SAMPLE, '--output-dir', out, '--json', '--workers', '2'];
    const first = startCli(lockArgs);
    const firstResult = collect(first);
    await recordsReported(first, 1);
    const second = await runCli(lockArgs);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`in use by another mbpp-stream run \\(pid ${first.pid}\\)`));
    first.kill('SIGKILL');
    await firstResult;
    // The killed run's lock is still there, naming a pid that is gone: the next run takes over and finishes.
    const resumed = await runCli(args(out).map((arg) => (arg === generations ? slower : arg)));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /took over the lock of an earlier run that is gone/);
    assert.ok(!(await readdir(join(out, 'mbpp_datasets'))).includes('.mbpp-stream.lock'), 'the lock is released at the end');
  });

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
