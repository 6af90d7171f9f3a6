import { renderPreflightTable } from '../monitor/preflight.js';
import type { BuildArgs } from './build-options.js';
import { checkNumericFlags } from './flag-checks.js';
import { preflightFor } from './preflight-plan.js';

/** `mbpp-stream preflight [build flags]`: the checks a build would run first, as a table; exit 1 on a fail. */
export async function runPreflightCommand(args: BuildArgs, out: { write(text: string): unknown } = process.stdout): Promise<number> {
  checkNumericFlags(args);
  // The run's size is not known without reading the dataset; size the disk check for a full MBPP run.
  const { result } = await preflightFor(args, 974);
  out.write(`${renderPreflightTable(result.rows)}\n`);
  return result.ok ? 0 : 1;
}
