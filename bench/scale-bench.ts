/**
 * Scale benchmark (issue 14): a pass@k-sized `evaluate` (200,000 records by default: the 974 MBPP problems with
 * ~205 samples each) through the real pipeline and the replay backend, measured from outside the builder:
 *   - seconds per 1,000 records, from the progress line printed every 1,000 (timed as it arrives), for each tenth
 *     of the run; flat means the last tenth costs about what the first did,
 *   - the builder's RSS (/proc/<pid>/status) at 10%, 50% and 100% of the records, and its peak while it writes
 *     the final dataset (VmHWM),
 *   - the final dataset's assembly, and with --kill-at N, the time to resume after a SIGKILL at N records.
 *
 * `--variant stub` (default): no program runs (bench/scale-run.ts answers every test as passed), so the numbers
 * are the pipeline's own cost. `--variant sandbox`: cheap real programs are judged in the real sandbox (the run is
 * then as fast as the sandbox workers): every sample is a program that defines nothing, so each of its tests fails
 * at once with a NameError. The same small cost for every record, so the tenths compare; the reference solutions
 * would not do, their cost differs from task to task by 1,000x, and a run judges the tasks in order.
 *
 * With `--fail-every N` (stub) every N-th program fails and is not retried; then `retry-failed` redoes the failures
 * (failing every N-th of them again) and is timed too.
 *
 *     MBPP_STREAM_DATASET=mbpp.jsonl node --import tsx bench/scale-bench.ts [--variant stub|sandbox]
 *       [--records 200000] [--kill-at 150000] [--fail-every 1000] [--keep DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MIB = 1024 * 1024;
/** Runs, defines nothing: every test then fails at once (NameError). */
const CHEAP_PROGRAM = 'solved = False\n';
const EVERY = 1000;

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function count(name: string, fallback: number): number {
  const text = flag(name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const variant = flag('--variant') ?? 'stub';
if (variant !== 'stub' && variant !== 'sandbox') throw new Error('--variant is stub or sandbox');
const records = count('--records', 200_000);
const killAt = flag('--kill-at') === undefined ? undefined : count('--kill-at', 0);
const failEvery = flag('--fail-every') === undefined ? undefined : count('--fail-every', 0);
if (failEvery !== undefined && variant !== 'stub') throw new Error('--fail-every needs --variant stub');
const dataset = process.env.MBPP_STREAM_DATASET;
if (!dataset) throw new Error('set MBPP_STREAM_DATASET to the MBPP JSONL (974 problems)');

/** What one builder process showed: a progress line every 1,000 records, timed and with the RSS at that moment. */
interface Observed {
  marks: Array<{ done: number; atMs: number; rssBytes: number }>;
  startedAtMs: number;
  /** When the display started (the run opened: preflight, store, resume), ms after spawn. */
  openedAfterMs: number | null;
  /** Peak RSS after the last record, while the dataset was written. */
  assemblyPeakBytes: number;
  /** When the last record was reported and when the process exited. */
  lastRecordAtMs: number | null;
  exitedAtMs: number;
  code: number | null;
  stderrTail: string[];
}

function procStatus(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  } catch {
    return null;
  }
}

/** Runs the builder once; `onProgress` may kill it. */
function runBuilder(args: string[], env: NodeJS.ProcessEnv, onProgress?: (done: number, child: ChildProcess) => void): Promise<Observed> {
  const runner = fileURLToPath(new URL('./scale-run.ts', import.meta.url));
  const startedAtMs = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', runner, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const observed: Observed = { marks: [], startedAtMs, openedAfterMs: null, assemblyPeakBytes: 0, lastRecordAtMs: null, exitedAtMs: 0, code: null, stderrTail: [] };
  let total = Infinity;
  const sampler = setInterval(() => {
    if (observed.lastRecordAtMs === null) return;
    const status = procStatus(child.pid!);
    if (status) observed.assemblyPeakBytes = Math.max(observed.assemblyPeakBytes, status.rss, status.hwm);
  }, 100);
  createInterface({ input: child.stderr! }).on('line', (line) => {
    const atMs = performance.now();
    observed.stderrTail = [...observed.stderrTail.slice(-20), line];
    if (observed.openedAfterMs === null && /\] starting: /.test(line)) observed.openedAfterMs = atMs - startedAtMs;
    const progress = /^\[\d\d:\d\d:\d\d\] (\d+)\/(\d+) /.exec(line);
    if (!progress) return;
    const done = Number(progress[1]);
    total = Number(progress[2]);
    observed.marks.push({ done, atMs, rssBytes: procStatus(child.pid!)?.rss ?? 0 });
    if (done >= total) observed.lastRecordAtMs = atMs;
    onProgress?.(done, child);
  });
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearInterval(sampler);
      observed.exitedAtMs = performance.now();
      observed.code = code;
      resolve(observed);
    });
  });
}

/** Seconds per 1,000 records over [from, to) records, from the marks; record 0 is `startMs` (the run opened). */
function secondsPerThousand(marks: Observed['marks'], startMs: number, from: number, to: number): number {
  const at = (done: number) => (done === 0 ? startMs : marks.find((mark) => mark.done >= done)?.atMs);
  const start = at(from);
  const end = at(to);
  if (start === undefined || end === undefined) return NaN;
  return (end - start) / 1000 / ((to - from) / 1000);
}

function rssAt(marks: Observed['marks'], done: number): number {
  return marks.find((mark) => mark.done >= done)?.rssBytes ?? NaN;
}

async function main(): Promise<void> {
  const keep = flag('--keep');
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'mbpp-scale-')));
  await mkdir(dir, { recursive: true });
  const problems = (await readFile(dataset!, 'utf8'))
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { task_id: number; code: string });
  // Each problem gets records/974 samples, the first ones one more, so the file holds exactly `records` pairs.
  const base = Math.floor(records / problems.length);
  const extra = records % problems.length;
  const lines: string[] = [];
  problems.forEach((problem, index) => {
    for (let sample = 0; sample < base + (index < extra ? 1 : 0); sample++) {
      lines.push(JSON.stringify({ task_id: problem.task_id, sample_index: sample, solution: variant === 'stub' ? problem.code : CHEAP_PROGRAM }));
    }
  });
  const generations = join(dir, 'generations.jsonl');
  await writeFile(generations, `${lines.join('\n')}\n`);
  const config = join(dir, 'hardening.json');
  // Failures are meant to stay failed for retry-failed to redo, not to be retried on the spot.
  await writeFile(config, JSON.stringify({ progress_log_frequency: EVERY, ...(failEvery ? { max_retries: 0 } : {}) }));
  const out = join(dir, 'out');
  const stubFlags = variant === 'stub' ? ['--stub-executor', ...(failEvery ? ['--stub-fail-every', String(failEvery)] : [])] : [];
  const args = ['--generations', generations, '--dataset', dataset!, '--output-dir', out, '--config', config, ...stubFlags];
  // The stub's instant "timings" must not land in the user's cache of reference timings.
  const env = variant === 'stub' ? { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } : process.env;

  console.log(`scale benchmark, ${variant} variant: ${records.toLocaleString('en-US')} records (${problems.length} problems x ${base}-${base + (extra > 0 ? 1 : 0)} samples), replay backend`);
  let killed: Observed | undefined;
  if (killAt !== undefined) {
    killed = await runBuilder(args, env, (done, child) => {
      if (done >= killAt) child.kill('SIGKILL');
    });
    const last = killed.marks.at(-1)?.done ?? 0;
    console.log(`killed (SIGKILL) at ${last.toLocaleString('en-US')} records`);
  }
  const run = await runBuilder(args, env);
  if (run.code !== 0) throw new Error(`the builder exited ${run.code}:\n${run.stderrTail.join('\n')}`);
  // The records' clock starts when the run has opened (process start, preflight and the replay file's load excluded).
  const opened = run.startedAtMs + (run.openedAfterMs ?? 0);

  if (killed) {
    const resumedAt = run.marks[0]?.done ?? 0;
    console.log(`resume: run opened ${((run.openedAfterMs ?? NaN) / 1000).toFixed(2)} s after launch (preflight, store, resume point); ` +
      `next 1,000-record mark (${resumedAt.toLocaleString('en-US')}) after ${((run.marks[0]!.atMs - run.startedAtMs) / 1000).toFixed(2)} s`);
    const done = run.marks.at(-1)!.done - (run.marks[0]?.done ?? 0);
    console.log(`resumed run: ${done.toLocaleString('en-US')} more records, ${secondsPerThousand(run.marks, opened, run.marks[0]!.done, run.marks.at(-1)!.done).toFixed(3)} s per 1,000`);
  } else {
    const tenth = records / 10;
    console.log('\ntenth   records            s per 1,000');
    for (let t = 0; t < 10; t++) {
      const from = t * tenth;
      console.log(`${String(t + 1).padStart(5)}   ${`${from.toLocaleString('en-US')}-${(from + tenth).toLocaleString('en-US')}`.padEnd(17)}  ${secondsPerThousand(run.marks, opened, from, from + tenth).toFixed(3)}`);
    }
    const first = secondsPerThousand(run.marks, opened, 0, tenth);
    const second = secondsPerThousand(run.marks, opened, tenth, 2 * tenth);
    const last = secondsPerThousand(run.marks, opened, 9 * tenth, records);
    console.log(`last tenth / first tenth: ${(last / first).toFixed(2)} (last / second: ${(last / second).toFixed(2)})`);
    console.log(`\nbuilder RSS at 10%: ${(rssAt(run.marks, tenth) / MIB).toFixed(0)} MiB, 50%: ${(rssAt(run.marks, records / 2) / MIB).toFixed(0)} MiB, ` +
      `100%: ${(rssAt(run.marks, records) / MIB).toFixed(0)} MiB (100% - 10%: ${((rssAt(run.marks, records) - rssAt(run.marks, tenth)) / MIB).toFixed(0)} MiB)`);
    console.log(`run opened ${((run.openedAfterMs ?? NaN) / 1000).toFixed(2)} s after launch; records took ${((run.lastRecordAtMs! - opened) / 1000).toFixed(1)} s`);
  }
  const datasets = join(out, 'mbpp_datasets');
  const files = await readdir(datasets);
  const size = async (name: string | undefined) => (name === undefined ? NaN : (await stat(join(datasets, name))).size / MIB);
  const autosaves = (await readdir(join(datasets, 'autosaves'))).sort();
  const parts = autosaves.length ? (await readdir(join(datasets, 'autosaves', autosaves.at(-1)!))).filter((name) => name.endsWith('.parquet')).length : 0;
  console.log(`final dataset: written ${((run.exitedAtMs - run.lastRecordAtMs!) / 1000).toFixed(1)} s after the last record, ` +
    `peak RSS then ${(run.assemblyPeakBytes / MIB).toFixed(0)} MiB; Parquet ${(await size(files.find((n) => n.endsWith('.parquet')))).toFixed(0)} MiB, ` +
    `JSON ${(await size(files.find((n) => /_\d{6}(_\d+)?\.json$/.test(n)))).toFixed(0)} MiB; newest autosave: ${parts} parts`);
  if (failEvery) {
    const retry = await runBuilder([...args, '--retry-failed'], env);
    if (retry.code !== 0) throw new Error(`retry-failed exited ${retry.code}:\n${retry.stderrTail.join('\n')}`);
    const summary = retry.stderrTail.find((line) => line.startsWith('finished '));
    console.log(`retry-failed: run opened ${((retry.openedAfterMs ?? NaN) / 1000).toFixed(2)} s after launch, exited after ` +
      `${((retry.exitedAtMs - retry.startedAtMs) / 1000).toFixed(1)} s (${summary ?? 'no summary'}), peak RSS ${(retry.assemblyPeakBytes / MIB).toFixed(0)} MiB`);
  }
  if (!keep) await rm(dir, { recursive: true, force: true });
}

await main();
