/**
 * The builder `bench/scale-bench.ts` measures: `mbpp-stream evaluate` exactly as the CLI runs it (same flags, same
 * RunSession), except that with `--stub-executor` every program "passes" at once without running: the sandbox's
 * cost leaves the measurement, the pipeline's own (journal, checkpoints, autosaves, progress, statistics, the final
 * dataset) stays. Run it through the benchmark, not by hand.
 *
 *     node --import tsx bench/scale-run.ts --generations FILE --dataset FILE --output-dir DIR [--stub-executor] [evaluate flags]
 */
import yargs from 'yargs';
import { withBuildOptions } from '../src/cli/build-options.ts';
import { sourceOfGenerations } from '../src/cli/evaluate.ts';
import { RunSession } from '../src/cli/run-session.ts';
import { InputError } from '../src/errors.ts';
import type { TestResult } from '../src/records.ts';
import { createExecutor, type ExecutorOptions, type SandboxExecutor } from '../src/sandbox/sandbox-executor.ts';

const PASSED: TestResult = { passed: true, error_type: null, message: null };

/** The real executor's settings (a single idle worker), with `execute` answering every test as passed at once. */
async function stubExecutor(options: ExecutorOptions): Promise<SandboxExecutor> {
  const real = await createExecutor({ ...options, workers: 1 });
  return {
    isolation: real.isolation,
    parallelism: 64,
    python: real.python,
    limits: real.limits,
    hashSeed: real.hashSeed,
    judge: real.judge,
    warnings: real.warnings,
    describe: () => ({ ...real.describe(), stub: 'bench/scale-run.ts: no program runs, every test passes' }),
    execute: async (request) => ({
      testResults: request.tests.map(() => PASSED),
      testCpuSeconds: request.tests.map(() => 0.001),
      executionTime: 0,
    }),
    close: () => real.close(),
  };
}

const stub = process.argv.includes('--stub-executor');
const argv = process.argv.slice(2).filter((arg) => arg !== '--stub-executor');
try {
  const args = await withBuildOptions(yargs(argv)).default('backend', 'replay').strict().parseAsync();
  // As `evaluate`: the generations file says how many samples each task has.
  const source = await sourceOfGenerations({ ...args, backend: 'replay', samples: argv.includes('--samples') ? args.samples : undefined });
  process.exitCode = await RunSession.execute({ mode: 'evaluate', ...source, redo: 'unfinished', ...(stub ? { openExecutor: stubExecutor } : {}) });
} catch (error) {
  process.stderr.write(`scale-run: ${error instanceof InputError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = error instanceof InputError ? 2 : 1;
}
