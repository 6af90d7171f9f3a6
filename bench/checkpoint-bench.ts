/**
 * Checkpoint benchmark (issue 3): pushes synthetic finished records through `checkpointEvery(50)` over the
 * real run store, and measures
 *   - records/s end to end (every record fdatasync'd to the journal before it moves on),
 *   - the cost of a checkpoint near the start vs near the end (the last must cost <= 1.5x the first),
 *   - the time to reopen a run with 900 of 974 records done (resume, before the first new record).
 * The "backend" is trivial: each record is built in memory, so the numbers are the store's own cost.
 *
 *     node --import tsx bench/checkpoint-bench.ts [--records 100000] [--every 50]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { filter, from, lastValueFrom, map } from 'rxjs';
import { checkpointEvery } from '../src/operators/checkpoint-every.ts';
import type { GenerationResult } from '../src/records.ts';
import type { RunIdentity } from '../src/io/run-store/run-identity.ts';
import { openRun, type OpenRunOptions, type RunStore } from '../src/io/run-store/run-store.ts';
import { NO_PLUS_COLUMNS } from '../src/streams/result-rows.ts';

const MBPP_TASKS = 974;
/** Checkpoints averaged at each end of the run. */
const SAMPLE_CHECKPOINTS = 20;
/** Records finish out of order within windows this wide, as with concurrent sessions. */
const COMPLETION_WINDOW = 16;
/** One record in this many fails for good (their errors go into every checkpoint: 100 at the end of 100,000). */
const FAILURE_EVERY = 1000;

function flagValue(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const identity: RunIdentity = {
  datasetSha256: '0'.repeat(64),
  split: 'all',
  range: null,
  backend: 'bench',
  model: 'bench',
  promptTemplate: 'bench {text}',
  generation: { temperature: 0, samples: 103 },
};

/** A plausible row: a few hundred bytes of prompt and code, one test. */
function syntheticResult(index: number): GenerationResult {
  const taskId = 1 + (index % MBPP_TASKS);
  const code = `def solve_${taskId}(xs):\n    return sorted(xs)[:${index % 7}]\n`;
  return {
    task_id: taskId,
    sample_index: Math.floor(index / MBPP_TASKS),
    split: 'test',
    text: `Write a function to return the smallest ${index % 7} items of a list (task ${taskId}).`,
    reference_code: code,
    test_list: [`assert solve_${taskId}([3, 1, 2]) == [1, 2, 3][:${index % 7}]`],
    test_setup_code: '',
    prompt: `You are an expert Python programmer, and here is your task: task ${taskId}`,
    model: 'bench',
    backend: 'bench',
    raw_completion: `[BEGIN]\n${code}[DONE]`,
    generated_code: code,
    passed_tests: 1,
    total_tests: 1,
    test_errors: [],
    test_results: [{ passed: true, error_type: null, message: null }],
    challenge_test_results: null,
    is_correct: index % 3 !== 0,
    flaky: null,
    flaky_check: null,
    ...NO_PLUS_COLUMNS,
    generation_time: 0.001,
    execution_time: 0.001,
    prompt_tokens: 60,
    completion_tokens: 20,
    finish_reason: 'stop',
    session_id: 'bench',
    attempts: 1,
    status: index % FAILURE_EVERY === 0 ? 'failed' : 'ok',
    error: index % FAILURE_EVERY === 0 ? 'TransientError: synthetic outage after 3 attempts' : null,
  };
}

/** Indexes 0..n-1, reversed within each window: out-of-order completion, every record once. */
function* completionOrder(n: number): Generator<number> {
  for (let start = 0; start < n; start += COMPLETION_WINDOW) {
    for (let index = Math.min(start + COMPLETION_WINDOW, n) - 1; index >= start; index -= 1) yield index;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The store, with each checkpoint's duration recorded. */
function timedCheckpoints(store: RunStore, durations: number[]) {
  return {
    append: (result: GenerationResult) => store.append(result),
    checkpoint: async (count: number) => {
      const start = performance.now();
      await store.checkpoint(count);
      durations.push(performance.now() - start);
    },
  };
}

interface ThroughputResult {
  recordsPerSecond: number;
  seconds: number;
  checkpoints: number;
  firstCheckpointMs: number;
  lastCheckpointMs: number;
}

/** All records through `checkpointEvery(every)`; checkpoint cost as the median of the first and last few. */
async function throughput(layout: OpenRunOptions['layout'], records: number, every: number): Promise<ThroughputResult> {
  const store = await openRun({ layout, identity, total: records });
  const durations: number[] = [];
  const start = performance.now();
  const results$ = from(completionOrder(records)).pipe(
    map(syntheticResult),
    checkpointEvery(every, timedCheckpoints(store, durations)),
  );
  await lastValueFrom(results$);
  const seconds = (performance.now() - start) / 1000;
  await store.close();
  return {
    recordsPerSecond: records / seconds,
    seconds,
    checkpoints: durations.length,
    firstCheckpointMs: median(durations.slice(0, SAMPLE_CHECKPOINTS)),
    lastCheckpointMs: median(durations.slice(-SAMPLE_CHECKPOINTS)),
  };
}

/** Reopens a run with `done` of 974 records journaled (checkpoints every `every`), timing `openRun` + the skip set. */
async function resumeTime(layout: OpenRunOptions['layout'], done: number, every: number, tries: number): Promise<number[]> {
  const resumeIdentity = { ...identity, generation: { temperature: 0, samples: 1 } };
  const first = await openRun({ layout, identity: resumeIdentity, total: MBPP_TASKS });
  const finished$ = from(completionOrder(MBPP_TASKS)).pipe(
    filter((index) => index < done),
    map(syntheticResult),
    checkpointEvery(every, first),
  );
  await lastValueFrom(finished$);
  await first.close();
  const times: number[] = [];
  for (let attempt = 0; attempt < tries; attempt += 1) {
    const start = performance.now();
    const store = await openRun({ layout, identity: resumeIdentity, total: MBPP_TASKS });
    const skip = store.completedKeys();
    times.push(performance.now() - start);
    if (skip.size !== done) throw new Error(`resume found ${skip.size} done, expected ${done}`);
    await store.close();
  }
  return times;
}

async function main(): Promise<void> {
  const records = flagValue('--records', 100_000);
  const every = flagValue('--every', 50);
  const dir = await mkdtemp(join(tmpdir(), 'checkpoint-bench-'));
  try {
    const layoutOf = (name: string) => {
      const datasetsDir = join(dir, name, 'mbpp_datasets');
      return { datasetsDir, checkpointsDir: join(datasetsDir, 'checkpoints') };
    };
    const run = await throughput(layoutOf('throughput'), records, every);
    const ratio = run.lastCheckpointMs / run.firstCheckpointMs;
    console.log(`records:            ${records} through checkpointEvery(${every}), ${run.checkpoints} checkpoints`);
    console.log(`throughput:         ${run.recordsPerSecond.toFixed(0)} records/s (${run.seconds.toFixed(1)} s)`);
    console.log(
      `checkpoint cost:    first ${SAMPLE_CHECKPOINTS} median ${run.firstCheckpointMs.toFixed(2)} ms, ` +
        `last ${SAMPLE_CHECKPOINTS} median ${run.lastCheckpointMs.toFixed(2)} ms, last/first ${ratio.toFixed(2)}x ` +
        `(${ratio <= 1.5 ? 'ok' : 'OVER'} the 1.5x bound)`,
    );
    const resume = await resumeTime(layoutOf('resume'), 900, every, 5);
    console.log(
      `resume 900/974:     median ${median(resume).toFixed(1)} ms, max ${Math.max(...resume).toFixed(1)} ms over ${resume.length} opens`,
    );
    if (ratio > 1.5) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
