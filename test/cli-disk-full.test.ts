// A full disk on every write path of a build (the journal, the log, the autosaves, the final dataset): the run ends
// with one line saying why, a checkpoint where the disk still takes one, exit 1, nothing lost; once there is room,
// the same command finishes with every record once. Each path gets a small tmpfs of its own that fills mid-run, so
// the failure is real (ENOSPC from the kernel) and lands where the test means it to. Needs root (mount); skipped
// where mounting is not allowed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJournalLine } from '../src/io/run-store/journal-line.ts';
import { latestDataset, readRowsIndependently } from './support/output-files.js';
import { REPO_ROOT, runCli, type CliRun } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');
/** The bundled sample's 12 problems, 3 samples each. */
const RECORDS = 36;

function mount(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
}

function resize(dir: string, size: string): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'ignore' });
}

function mountingWorks(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = join(tmpdir(), `mbpp-mount-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    mount(probe, '4k');
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rm', ['-rf', probe]);
  }
}

const skip = mountingWorks() ? false : 'needs root and tmpfs mounts (mount -t tmpfs)';

describe('a disk that fills up mid-run', { skip }, () => {
  let dir: string;
  let config: string;
  const mounted: string[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-disk-full-'));
    config = join(dir, 'hardening.json');
    // A line and a checkpoint per record and an autosave every 5 (however soon), so each path writes all through the run.
    await writeFile(config, JSON.stringify({ progress_log_frequency: 1, checkpoint_frequency: 1, autosave_frequency: 5, autosave_min_seconds: 0 }));
  });
  after(async () => {
    for (const point of mounted.reverse()) execFileSync('umount', ['-l', point]);
    await rm(dir, { recursive: true, force: true });
  });

  /** An output dir on a roomy tmpfs (the preflight's disk check passes), with `small` folders on tiny ones. */
  async function outputDir(name: string, small: Record<string, string>): Promise<string> {
    const out = join(dir, name);
    await mkdir(out);
    mount(out, '128m');
    mounted.push(out);
    for (const [folder, size] of Object.entries(small)) {
      await mkdir(join(out, folder), { recursive: true });
      mount(join(out, folder), size);
      mounted.push(join(out, folder));
    }
    return out;
  }

  const build = (out: string) =>
    runCli(['build', '--backend', 'reference', '--dataset', SAMPLE, '--samples', '3', '--output-dir', out, '--config', config]);

  /** Exit 1 with one line saying the disk is full, naming the file, and how to resume; no stack trace. */
  function assertStoppedByFullDisk(run: CliRun, file: RegExp): void {
    assert.equal(run.code, 1, run.stderr);
    const why = run.stderr.split('\n').filter((line) => /no space left on device/i.test(line));
    assert.equal(why.length, 1, `one line says why:\n${run.stderr}`);
    assert.match(why[0]!, /^stopped: (the disk is full|could not write the dataset: the disk is full) \(cannot write /);
    assert.match(why[0]!, file);
    assert.match(why[0]!, /Resume with the same command|the same command writes it/);
    assert.doesNotMatch(run.stderr, /unexpected failure|\n\s+at /, 'no stack trace');
  }

  /** The journal's records, each line checked: a failed write left no torn or duplicated line. */
  async function journaled(out: string): Promise<string[]> {
    const runs = join(out, 'mbpp_datasets', 'runs');
    const [run] = await readdir(runs);
    const bytes = await readFile(join(runs, run!, 'journal.log'));
    const lines = bytes.toString('latin1').split('\n').slice(0, -1);
    return lines.map((line) => {
      const row = decodeJournalLine(Buffer.from(line, 'latin1')) as { task_id: number; sample_index: number } | null;
      assert.ok(row !== null, 'every journal line checks out');
      return `${row.task_id}:${row.sample_index}`;
    });
  }

  /** After making room, the same command resumes and writes every record once. */
  async function resumesToCompleteDataset(out: string, before: number, command: (out: string) => Promise<CliRun> = build): Promise<void> {
    const resumed = await command(out);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming run \\w+: ${before}/${RECORDS} done`));
    const rows = await readRowsIndependently((await latestDataset(out)).parquet);
    const keys = rows.map((row) => `${row.task_id}:${row.sample_index}`);
    assert.equal(keys.length, RECORDS);
    assert.equal(new Set(keys).size, RECORDS, 'every record once');
  }

  it('the journal: its write fails, the run stops at once, and resumes where it stopped', async () => {
    const out = await outputDir('journal', { 'mbpp_datasets/runs': '48k' });
    const stopped = await build(out);
    assertStoppedByFullDisk(stopped, /(journal|judging)\.log/);
    const done = await journaled(out);
    assert.ok(done.length > 0 && done.length < RECORDS, `${done.length} records journaled`);
    assert.equal(new Set(done).size, done.length);
    resize(join(out, 'mbpp_datasets/runs'), '16m');
    await resumesToCompleteDataset(out, done.length);
  });

  it('the log file: the run stops rather than go on unlogged, and resumes', async () => {
    const out = await outputDir('log', { mbpp_logs: '8k' });
    const stopped = await build(out);
    assertStoppedByFullDisk(stopped, /cannot write the log .*mbpp_logs/);
    assert.match(stopped.stderr, /journal, checkpoint and autosave saved/);
    const done = await journaled(out);
    assert.ok(done.length > 0 && done.length < RECORDS, `${done.length} records journaled`);
    resize(join(out, 'mbpp_logs'), '16m');
    await resumesToCompleteDataset(out, done.length);
  });

  it('the autosaves: the run stops, says the autosave was not written, and resumes', async () => {
    // The first 6 programs are quick, the rest wait while a marker exists: the first autosave (at 5) is written,
    // and fails, while the run is still going, whatever the machine's speed.
    const marker = join(dir, 'hold');
    await writeFile(marker, '');
    const problems = (await readFile(SAMPLE, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { task_id: number; code: string });
    const hold = `import os, time\nwhile os.path.exists(${JSON.stringify(marker)}):\n    time.sleep(0.05)\n`;
    const generations = join(dir, 'held.jsonl');
    const lines = problems.flatMap((problem, index) =>
      [0, 1, 2].map((sample) => JSON.stringify({ task_id: problem.task_id, sample_index: sample, solution: `${index < 2 ? '' : hold}${problem.code}` })),
    );
    await writeFile(generations, `${lines.join('\n')}\n`);
    const evaluate = (out: string) =>
      runCli(['evaluate', '--generations', generations, '--dataset', SAMPLE, '--output-dir', out, '--config', config, '--sandbox', 'none', '--workers', '2']);

    const out = await outputDir('autosave', { 'mbpp_datasets/autosaves': '8k' });
    const stopped = await evaluate(out);
    assertStoppedByFullDisk(stopped, /autosave/);
    assert.match(stopped.stderr, /every finished record is in the journal; not written: autosave/);
    const done = await journaled(out);
    assert.ok(done.length >= 5 && done.length < RECORDS, `${done.length} records journaled`);
    await rm(marker);
    resize(join(out, 'mbpp_datasets/autosaves'), '16m');
    await resumesToCompleteDataset(out, done.length, evaluate);
    assert.deepEqual((await readdir(join(out, 'mbpp_datasets/autosaves'))).filter((name) => name.startsWith('.')), [], 'the half-made autosave was cleared');
  });

  it('the final dataset: no partial file is left under its name, and the same command writes it once there is room', async () => {
    // The output folder itself is tiny (its lock file fits); the run's own folders are roomy mounts inside it.
    const out = await outputDir('final', { mbpp_datasets: '8k' });
    for (const folder of ['runs', 'checkpoints', 'autosaves']) {
      await mkdir(join(out, 'mbpp_datasets', folder));
      mount(join(out, 'mbpp_datasets', folder), '16m');
      mounted.push(join(out, 'mbpp_datasets', folder));
    }
    const stopped = await build(out);
    assertStoppedByFullDisk(stopped, /mbpp_dataset_\d{8}_\d{6}\.(json|parquet)/);
    assert.deepEqual((await readdir(join(out, 'mbpp_datasets'))).filter((name) => name.startsWith('mbpp_dataset_') || name.endsWith('.tmp')), []);
    assert.equal((await journaled(out)).length, RECORDS);
    resize(join(out, 'mbpp_datasets'), '16m');
    await resumesToCompleteDataset(out, RECORDS);
  });
});
