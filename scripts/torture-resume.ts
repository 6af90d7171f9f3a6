/**
 * Torture test for crash safety: runs a real `build` (reference backend), SIGKILLs it at random points and
 * re-runs the same command until it finishes, then checks that the dataset equals an uninterrupted run's, has no
 * duplicates, and that no kill lost a record the process had reported finished (its `--json` record events come
 * after the journal's fsync).
 *
 *   npx tsx scripts/torture-resume.ts --dataset PATH [--split test --end 39] [--kills 8] [--seed 1]
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readParquetFile } from '../src/io/parquet-file.js';
import { tableToResults } from '../src/io/result-table.js';
import { recordKey, type GenerationResult } from '../src/records.js';
import { collect, startCli } from '../test/support/run-cli.js';

export interface TortureOptions {
  dataset: string;
  /** Selection flags shared by every run, e.g. ['--split', 'test', '--end', '39']. */
  selection: string[];
  /**
   * Each of these kills lands right after a run reports its Nth finished record, N uniform in
   * WORKERS+1..WORKERS+total/(2·kills): counted in records, not time, so every kill lands with work left whatever
   * the machine's speed.
   */
  kills: number;
  seed: number;
  log?: (line: string) => void;
}

export interface TortureReport {
  kills: number;
  runs: number;
  rows: number;
  /** Records reported finished before a kill but missing from the dataset afterwards (must be empty). */
  lost: string[];
  duplicates: string[];
  /** Keys whose verdict differs from the uninterrupted run (must be empty). */
  mismatches: string[];
  /** Rows in the uninterrupted run that the interrupted one lacks or has extra. */
  missing: string[];
  extra: string[];
}

/**
 * Sandbox workers of every run. At most this many records are in the sandbox at a kill, and the resumed run judges
 * them alone first: a kill then would make one of them, by the crash triage's rule, the program that brought the
 * build down. So no kill comes before a run has reported more records than this.
 */
const WORKERS = 2;

/** What must be equal between two runs of the same records: everything but timings and tries. */
function verdictOf(row: GenerationResult): string {
  return JSON.stringify([row.generated_code, row.passed_tests, row.total_tests, row.is_correct, row.status, row.test_results]);
}

async function finalRows(outputDir: string): Promise<GenerationResult[]> {
  const dir = join(outputDir, 'mbpp_datasets');
  const parquet = (await readdir(dir)).filter((name) => name.startsWith('mbpp_dataset_') && name.endsWith('.parquet')).sort();
  const latest = parquet.at(-1);
  if (!latest) throw new Error(`no dataset written in ${dir}`);
  return tableToResults(await readParquetFile(join(dir, latest)), latest);
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keys of the records a run reported finished on its `--json` event stream; `onRecord` hears each new count. */
function watchFinished(child: ChildProcess, finished: Set<string>, onRecord: (count: number) => void): void {
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const event = JSON.parse(line) as { event?: string; task_id?: number; sample_index?: number };
        if (event.event === 'record' && event.task_id !== undefined) {
          finished.add(recordKey(event.task_id, event.sample_index ?? 0));
          onRecord(finished.size);
        }
      } catch {
        // Not an event line.
      }
    }
  });
}

export async function tortureResume(options: TortureOptions): Promise<TortureReport> {
  const log = options.log ?? (() => undefined);
  const next = random(options.seed);
  const root = await mkdtemp(join(tmpdir(), 'mbpp-torture-'));
  try {
    const baseArgs = ['build', '--backend', 'reference', '--dataset', options.dataset, '--json', '--checkpoint', '5', '--workers', String(WORKERS), ...options.selection];
    const clean = await collect(startCli([...baseArgs, '--output-dir', join(root, 'clean')]));
    if (clean.code !== 0) throw new Error(`uninterrupted run failed (${clean.code}): ${clean.stderr}`);
    const expected = await finalRows(join(root, 'clean'));

    const out = join(root, 'killed');
    const recordsPerKill = Math.max(1, Math.floor(expected.length / (2 * options.kills)));
    const reported = new Set<string>();
    let kills = 0;
    let runs = 0;
    for (;;) {
      runs += 1;
      const child = startCli([...baseArgs, '--output-dir', out]);
      const finishedNow = new Set<string>();
      const killAt = WORKERS + 1 + Math.floor(next() * recordsPerKill);
      // Counted from the run's own finished records, so kills land in the work, not in start-up.
      watchFinished(child, finishedNow, (count) => {
        if (kills < options.kills && count === killAt) child.kill('SIGKILL');
      });
      const run = await collect(child);
      for (const key of finishedNow) reported.add(key);
      if (run.signal === 'SIGKILL') {
        kills += 1;
        log(`kill ${kills} at record ${killAt}: ${finishedNow.size} records reported finished in that run`);
        continue;
      }
      if (run.code !== 0) throw new Error(`run ${runs} exited ${run.code}: ${run.stderr}`);
      break;
    }

    const rows = await finalRows(out);
    const seen = new Map<string, GenerationResult>();
    const duplicates: string[] = [];
    for (const row of rows) {
      const key = recordKey(row.task_id, row.sample_index);
      if (seen.has(key)) duplicates.push(key);
      seen.set(key, row);
    }
    const expectedByKey = new Map(expected.map((row) => [recordKey(row.task_id, row.sample_index), row]));
    return {
      kills,
      runs,
      rows: rows.length,
      lost: [...reported].filter((key) => !seen.has(key)),
      duplicates,
      mismatches: [...seen].filter(([key, row]) => expectedByKey.has(key) && verdictOf(expectedByKey.get(key)!) !== verdictOf(row)).map(([key]) => key),
      missing: [...expectedByKey.keys()].filter((key) => !seen.has(key)),
      extra: [...seen.keys()].filter((key) => !expectedByKey.has(key)),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      dataset: { type: 'string' },
      split: { type: 'string', default: 'test' },
      end: { type: 'string', default: '39' },
      kills: { type: 'string', default: '8' },
      seed: { type: 'string', default: '1' },
    },
  });
  const dataset = values.dataset ?? process.env.MBPP_STREAM_DATASET;
  if (!dataset) throw new Error('pass --dataset PATH or set MBPP_STREAM_DATASET');
  const report = await tortureResume({
    dataset,
    selection: ['--split', values.split!, '--end', values.end!],
    kills: Number(values.kills),
    seed: Number(values.seed),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify(report, null, 2));
  const ok = [report.lost, report.duplicates, report.mismatches, report.missing, report.extra].every((list) => list.length === 0);
  process.exitCode = ok ? 0 : 1;
}
