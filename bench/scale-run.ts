/**
 * The builder `bench/scale-bench.ts` measures: `mbpp-stream evaluate` exactly as the CLI runs it (same flags, same
 * RunSession), except that with `--stub-executor` every program "passes" at once without running: the sandbox's
 * cost leaves the measurement, the pipeline's own (journal, checkpoints, autosaves, progress, statistics, the final
 * dataset) stays. `--stub-fail-every N` makes every N-th program the stub is given fail (an error, as a crashed
 * judge would raise), and `--retry-failed` runs `retry-failed` instead of `evaluate`. Run it through the benchmark.
 *
 *     node --import tsx bench/scale-run.ts --generations FILE --dataset FILE --output-dir DIR
 *       [--stub-executor [--stub-fail-every N]] [--retry-failed] [evaluate flags]
 */
import yargs from 'yargs';
import { withBuildOptions } from '../src/cli/build-options.ts';
import { sourceOfGenerations } from '../src/cli/evaluate.ts';
import { RunSession } from '../src/cli/run-session.ts';
import { InputError } from '../src/errors.ts';
import type { TestResult } from '../src/records.ts';
import { createExecutor, type ExecutorOptions, type SandboxExecutor } from '../src/sandbox/sandbox-executor.ts';

const PASSED: TestResult = { passed: true, error_type: null, message: null };

/** Takes `--name VALUE` out of `args`; the value, or undefined. */
function takeFlag(args: string[], name: string, hasValue: boolean): string | undefined {
  const index = args.indexOf(name);
  if (index === -1) return undefined;
  const [, value] = args.splice(index, hasValue ? 2 : 1);
  return value ?? '';
}

/**
 * The real executor's settings (a single idle worker), with `execute` answering every test as passed at once, or
 * failing every `failEvery`-th program.
 */
async function stubExecutor(options: ExecutorOptions, failEvery: number): Promise<SandboxExecutor> {
  const real = await createExecutor({ ...options, workers: 1 });
  let given = 0;
  return {
    isolation: real.isolation,
    parallelism: 64,
    python: real.python,
    limits: real.limits,
    hashSeed: real.hashSeed,
    judge: real.judge,
    warnings: real.warnings,
    describe: () => ({ ...real.describe(), stub: 'bench/scale-run.ts: no program runs, every test passes' }),
    execute: async (request) => {
      given += 1;
      if (failEvery > 0 && given % failEvery === 0) throw new Error(`stub: program ${given} fails (--stub-fail-every ${failEvery})`);
      return { testResults: request.tests.map(() => PASSED), testCpuSeconds: request.tests.map(() => 0.001), executionTime: 0 };
    },
    close: () => real.close(),
  };
}

const argv = process.argv.slice(2);
const stub = takeFlag(argv, '--stub-executor', false) !== undefined;
const failEvery = Number(takeFlag(argv, '--stub-fail-every', true) ?? 0);
const retryFailed = takeFlag(argv, '--retry-failed', false) !== undefined;
try {
  const args = await withBuildOptions(yargs(argv)).default('backend', 'replay').strict().parseAsync();
  // As `evaluate`: the generations file says how many samples each task has.
  const source = await sourceOfGenerations({ ...args, backend: 'replay', samples: argv.includes('--samples') ? args.samples : undefined });
  process.exitCode = await RunSession.execute({
    ...source,
    ...(retryFailed ? { mode: 'retry-failed', redo: 'failed' } : { mode: 'evaluate', redo: 'unfinished' }),
    ...(stub ? { openExecutor: (options: ExecutorOptions) => stubExecutor(options, failEvery) } : {}),
  });
} catch (error) {
  process.stderr.write(`scale-run: ${error instanceof InputError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = error instanceof InputError ? 2 : 1;
}
