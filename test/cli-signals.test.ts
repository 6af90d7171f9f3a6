import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { latestDataset, readAutosaveIndependently, readRowsIndependently } from './support/output-files.js';
import { collect, REPO_ROOT, runCli, startCli } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');

/** The `--json` events a run printed on stdout. */
function events(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The command lines of the processes in process group `pgid` (Linux /proc): whom a signal to the group reaches. */
async function processGroup(pgid: number): Promise<Map<number, string>> {
  const members = new Map<number, string>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    // Fields after the command name (which may hold spaces and parentheses): state, ppid, pgrp.
    const stat = await readFile(join('/proc', name, 'stat'), 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
    members.set(Number(name), (await readFile(join('/proc', name, 'cmdline'), 'utf8').catch(() => '')).replaceAll('\0', ' ').slice(0, 200));
  }
  return members;
}

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

  /** The run's log file (one per run in this output dir). */
  async function logText(out: string): Promise<string> {
    const logs = join(out, 'mbpp_logs');
    const texts = await Promise.all((await readdir(logs)).map((name) => readFile(join(logs, name), 'utf8')));
    return texts.join('');
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
      assert.equal((await readAutosaveIndependently(join(out, 'mbpp_datasets', 'autosaves', autosaves[0]!))).length, journaled.length);

      const resumed = await runCli(args(out));
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, new RegExp(`resuming run \\w+: ${journaled.length}/12 done`));
      const rows = await readRowsIndependently((await latestDataset(out)).parquet);
      assert.deepEqual(rows.map((row) => row.task_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.ok(rows.every((row) => row.is_correct === true));
    });
  }

  it('Ctrl+C in a terminal (SIGINT to the whole process group) reaches the builder only: the records in flight finish, exit 130, counts agree; the same command then completes', async () => {
    const out = join(dir, 'terminal');
    // The four workers get tasks 1 to 4 first: task 1 answers at once, 2 to 4 sleep, so they are in their workers
    // when task 1 is reported and the signal comes.
    const records = (await readFile(SAMPLE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { task_id: number; code: string });
    const staggered = join(dir, 'staggered.jsonl');
    await writeFile(
      staggered,
      records
        .map((record) => JSON.stringify({ task_id: record.task_id, solution: `${[2, 3, 4].includes(record.task_id) ? 'import time\ntime.sleep(1.5)\n' : ''}${record.code}` }))
        .join('\n'),
    );
    const terminalArgs = ['evaluate', '--generations', staggered, '--dataset', SAMPLE, '--output-dir', out, '--json', '--workers', '4'];
    const child = startCli(terminalArgs, { detached: true });
    const result = collect(child);
    await recordsReported(child, 1);
    // A terminal signals its whole foreground process group: the builder must be alone in it, its sandbox workers
    // (alive from the start of the run to its end) in groups of their own. tsx's esbuild service is the tests' way
    // of running the CLI from its sources, not the builder's; a GPU sample (node-nvidia-smi's `sh -c nvidia-smi`)
    // lives for milliseconds and losing one to Ctrl+C costs nothing.
    const group = await processGroup(child.pid!);
    process.kill(-child.pid!, 'SIGINT');
    group.delete(child.pid!);
    const transient = (command: string) => command.includes('/esbuild --service') || command.includes('nvidia-smi');
    assert.deepEqual([...group.values()].filter((command) => !transient(command)), []);
    const stopped = await result;
    assert.equal(stopped.code, 130, stopped.stderr);
    // The sandbox workers lead process groups of their own: the terminal's signal never reached them, so no record
    // in flight lost its worker and went into an execution retry, and none was left to the grace period to cut.
    const said = `${stopped.stdout}${stopped.stderr}${await logText(out)}`;
    assert.doesNotMatch(said, /exited \(SIG/);
    assert.doesNotMatch(said, /"event":"retry"/);
    assert.doesNotMatch(said, /grace period ran out/);
    const journaled = await journalKeys(out);
    assert.deepEqual(['1:0', '2:0', '3:0', '4:0'].filter((key) => !journaled.includes(key)), [], 'the records in flight finished');
    const reported = events(stopped.stdout).filter((event) => event.event === 'record').length;
    const summary = events(stopped.stdout).find((event) => event.event === 'summary');
    assert.equal(reported, journaled.length, 'every journaled record was reported, and only those');
    assert.equal(summary?.done, journaled.length);
    assert.match(stopped.stderr, new RegExp(`stopped by SIGINT: ${journaled.length}/12 done`));

    const resumed = await runCli(terminalArgs);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming run \\w+: ${journaled.length}/12 done`));
    const rows = await readRowsIndependently((await latestDataset(out)).parquet);
    assert.deepEqual(rows.map((row) => row.task_id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.ok(rows.every((row) => row.is_correct === true && row.attempts === 1));
  });

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
