import { sourceOfFlags } from './build.js';
import { sourceOfGenerations } from './evaluate.js';
import type { RunArgs } from './run-inputs.js';
import { RunSession } from './run-session.js';

/**
 * `retry-failed`: with the flags of an earlier `build` or `evaluate`, redoes that run's failed records (and any it
 * never did). Replaying, the work is the generations file's samples, as `evaluate` picks them, so the tasks the
 * file never had are not added to the run as failures.
 */
export async function runRetryFailed(args: RunArgs): Promise<number> {
  const source = args.backend === 'replay' ? await sourceOfGenerations(args) : await sourceOfFlags(args);
  return RunSession.execute({ mode: 'retry-failed', ...source, redo: 'failed' });
}
