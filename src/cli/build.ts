import { selectRecords } from '../io/mbpp-source.js';
import { openBackend } from './backend-factory.js';
import { readRunInputs, type RunArgs } from './run-inputs.js';
import { RunSession, type RunSource } from './run-session.js';
import { everySample } from './run-work.js';

/**
 * `build`: the problems `--split`, `--start`, `--end` and `--test-run` select, `--samples` of each, from the
 * backend `--backend` names. Re-running the same command resumes the run.
 */
export async function runBuild(args: RunArgs): Promise<number> {
  return RunSession.execute({ mode: 'build', ...(await sourceOfFlags(args)), redo: 'unfinished' });
}

/** The problems the selection flags pick, `--samples` (default 1) of each, from the backend `--backend` names. */
export async function sourceOfFlags(args: RunArgs): Promise<RunSource> {
  const inputs = await readRunInputs(args, (dataset) =>
    everySample(selectRecords(dataset.records, { split: args.split, start: args.start, end: args.end, testRun: args.testRun }), args.samples ?? 1),
  );
  const taskIds = inputs.work.records.map((record) => record.task_id);
  return { inputs, openBackend: () => openBackend(inputs.args, taskIds) };
}
