import { openBackend } from './backend-factory.js';
import type { BuildArgs } from './build-options.js';
import { workOfFlags } from './build.js';
import { readRunInputs } from './run-inputs.js';
import { RunSession } from './run-session.js';

/** `evaluate --generations FILE`: labels existing generations, no model (the replay backend). */
export async function runEvaluate(given: BuildArgs): Promise<number> {
  const args: BuildArgs = { ...given, backend: 'replay' };
  const inputs = await readRunInputs(args, (dataset) => workOfFlags(dataset, args));
  const taskIds = inputs.work.records.map((record) => record.task_id);
  return RunSession.execute({ mode: 'evaluate', inputs, openBackend: () => openBackend(args, taskIds), redo: 'unfinished' });
}
