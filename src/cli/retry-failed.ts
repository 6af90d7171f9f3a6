import { openBackend } from './backend-factory.js';
import type { BuildArgs } from './build-options.js';
import { workOfFlags } from './build.js';
import { readRunInputs } from './run-inputs.js';
import { RunSession } from './run-session.js';

/** `retry-failed`: with the flags of an earlier build, redoes that run's failed records (and any it never did). */
export async function runRetryFailed(args: BuildArgs): Promise<number> {
  const inputs = await readRunInputs(args, (dataset) => workOfFlags(dataset, args));
  const taskIds = inputs.work.records.map((record) => record.task_id);
  return RunSession.execute({ mode: 'retry-failed', inputs, openBackend: () => openBackend(args, taskIds), redo: 'failed' });
}
