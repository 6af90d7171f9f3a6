import { selectRecords, type LoadedMbpp } from '../io/mbpp-source.js';
import { openBackend } from './backend-factory.js';
import type { BuildArgs } from './build-options.js';
import { readRunInputs } from './run-inputs.js';
import { RunSession } from './run-session.js';
import { everySample, type RunWork } from './run-work.js';

/**
 * `build`: the problems `--split`, `--start`, `--end` and `--test-run` select, `--samples` of each, from the
 * backend `--backend` names. Re-running the same command resumes the run.
 */
export async function runBuild(args: BuildArgs): Promise<number> {
  const inputs = await readRunInputs(args, (dataset) => workOfFlags(dataset, args));
  const taskIds = inputs.work.records.map((record) => record.task_id);
  return RunSession.execute({ mode: 'build', inputs, openBackend: () => openBackend(args, taskIds), redo: 'unfinished' });
}

/** What the selection flags pick: `--samples` samples of each problem they select. */
export function workOfFlags(dataset: LoadedMbpp, args: BuildArgs): RunWork {
  const records = selectRecords(dataset.records, { split: args.split, start: args.start, end: args.end, testRun: args.testRun });
  return everySample(records, args.samples);
}
