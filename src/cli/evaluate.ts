import { InputError } from '../errors.js';
import type { DatasetLocation } from '../io/dataset-location.js';
import { loadGenerations, type Generations } from '../io/generations-source.js';
import { selectRecords, TEST_RUN_SIZE, type LoadedMbpp } from '../io/mbpp-source.js';
import { openReplayBackend } from './backend-factory.js';
import { readRunInputs, type RunArgs } from './run-inputs.js';
import { RunSession, type RunSource } from './run-session.js';
import type { RunWork } from './run-work.js';

/** How many task ids an error message lists before it says "…". */
const LISTED_TASKS = 20;

/**
 * `evaluate --generations FILE`: labels existing generations, no model. It judges exactly the (task, sample)
 * pairs the file holds, in task order; the selection flags only narrow them. Re-running the same command resumes.
 */
export async function runEvaluate(args: RunArgs): Promise<number> {
  return RunSession.execute({ mode: 'evaluate', ...(await sourceOfGenerations({ ...args, backend: 'replay' })), redo: 'unfinished' });
}

/** The generations file's samples that the flags keep, replayed. */
export async function sourceOfGenerations(args: RunArgs): Promise<RunSource> {
  if (!args.generations) throw new InputError('--backend replay needs --generations FILE (JSONL or Parquet)');
  const generations = await loadGenerations(args.generations);
  const inputs = await readRunInputs(args, (dataset, location) => workOfGenerations(dataset, location, generations, args));
  // The work holds only samples the file has, so none is missing.
  return { inputs, openBackend: () => openReplayBackend(generations, args.model, []) };
}

/**
 * The file's (task, sample) pairs that the flags keep: `--split`, `--start` and `--end` select problems of the
 * dataset as for `build`, and the file's tasks among them are kept; `--test-run` keeps the first 10 of those and
 * `--samples N` the sample indices below N. A task the dataset lacks is an input error: its tests are unknown.
 */
function workOfGenerations(dataset: LoadedMbpp, location: DatasetLocation, generations: Generations, args: RunArgs): RunWork {
  const known = new Set(dataset.records.map((record) => record.task_id));
  const lacking = generations.taskIds().filter((taskId) => !known.has(taskId));
  if (lacking.length > 0) {
    const listed = `${lacking.slice(0, LISTED_TASKS).join(', ')}${lacking.length > LISTED_TASKS ? ', …' : ''}`;
    throw new InputError(`--generations ${generations.path}: ${lacking.length} task(s) not in the dataset ${location.path}: ${listed}`);
  }
  const inRange = selectRecords(dataset.records, { split: args.split, start: args.start, end: args.end });
  const samplesOf = (taskId: number): number[] =>
    generations.sampleIndices(taskId).filter((sampleIndex) => args.samples === undefined || sampleIndex < args.samples);
  const named = inRange.filter((record) => samplesOf(record.task_id).length > 0);
  if (named.length === 0) {
    throw new InputError(
      `--generations ${generations.path}: none of its ${generations.taskIds().length} task(s) has a sample in the selection (${selectionFlags(args)})`,
    );
  }
  const records = args.testRun ? named.slice(0, TEST_RUN_SIZE) : named;
  const samples = records.flatMap((record) => samplesOf(record.task_id).map((sampleIndex) => ({ record, sampleIndex })));
  return { records, samples, samplesPerProblem: Math.max(...records.map((record) => samplesOf(record.task_id).length)) };
}

/** The selection flags as the user gave them, for a message. */
function selectionFlags(args: RunArgs): string {
  const given = [
    `--split ${args.split}`,
    ...(args.start === undefined ? [] : [`--start ${args.start}`]),
    ...(args.end === undefined ? [] : [`--end ${args.end}`]),
    ...(args.samples === undefined ? [] : [`--samples ${args.samples}`]),
  ];
  return given.join(' ');
}
