import yargs, { type Argv } from 'yargs';
import { InputError } from '../errors.js';
import { withBuildOptions, type BuildArgs } from './build-options.js';
import type { GenerateArgs } from './generate.js';
import { withModelsOptions, type ModelsArgs } from './models.js';
import type { ReportArgs } from './report.js';
import { closeUnusedExecutor, startSandboxProbes } from './sandbox-probes.js';

/**
 * Parses argv and runs one command; resolves to the process exit code. Bad input of any kind becomes a single
 * `mbpp-stream: …` line on stderr and exit code 2, before anything is written.
 */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const run = async (task: () => Promise<number>): Promise<void> => {
    exitCode = await task();
  };
  const parser = yargs(argv)
    .scriptName('mbpp-stream')
    .usage('$0 <command> [options]')
    .command<BuildArgs>(
      'build',
      'Prompt a model for each MBPP problem, run the tests, write the labelled dataset (resumes a stopped run)',
      (y) => withBuildOptions(y),
      (args) =>
        run(async () => {
          startSandboxProbes(args, { executor: true });
          return (await import('./build.js')).runBuild(args);
        }),
    )
    .command<BuildArgs>(
      'evaluate',
      'Judge the (task, sample) pairs of a generations file, EvalPlus samples included (no model): --generations FILE',
      (y) =>
        withBuildOptions(y)
          .default('backend', 'replay')
          .demandOption('generations')
          // The file says how many samples each task has; --samples N only keeps sample indices below N.
          .default('samples', undefined)
          .describe('samples', 'Only the samples with sample_index below N (default: every sample in the file)'),
      (args) =>
        run(async () => {
          startSandboxProbes(args, { executor: true });
          return (await import('./evaluate.js')).runEvaluate(args);
        }),
    )
    .command<BuildArgs>(
      'retry-failed',
      'Reprocess the failed records of a run (the same flags as its build or evaluate)',
      (y) =>
        withBuildOptions(y)
          // Replaying, the samples come from the file, as for evaluate; otherwise --samples defaults to 1.
          .default('samples', undefined)
          .describe('samples', 'Samples per problem (default 1; with --backend replay, every sample in the file)'),
      (args) =>
        run(async () => {
          startSandboxProbes(args, { executor: true });
          return (await import('./retry-failed.js')).runRetryFailed(args);
        }),
    )
    .command<BuildArgs>(
      'preflight',
      'Check Node, Python, sandbox, machine, disk, GPUs, CUDA, model and dataset for a build with these flags',
      (y) => withBuildOptions(y),
      (args) =>
        run(async () => {
          startSandboxProbes(args);
          return (await import('./preflight.js')).runPreflightCommand(args);
        }),
    )
    .command<ReportArgs>(
      'report <datasets..>',
      'Summarise a dataset (pass rates, pass@k, error types, slowest and failed records), or compare two on their shared tasks',
      (y) =>
        y
          .positional('datasets', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'mbpp_dataset_<timestamp>.parquet or its .json twin (also the original pipeline\'s); two to compare A with B',
          })
          .option('html', { type: 'string', describe: 'Also write a self-contained HTML page with charts' }) as unknown as Argv<ReportArgs>,
      (args) => run(async () => (await import('./report.js')).runReport(args)),
    )
    .command<GenerateArgs>(
      'generate',
      'Print one completion of an ONNX model, to check it by hand',
      (y) =>
        y
          .option('model', { type: 'string', demandOption: true, describe: 'ONNX model dir, or org/name[@revision] (Hugging Face cache or Hub)' })
          .option('prompt', { type: 'string', demandOption: true, describe: 'Text to continue' })
          .option('models-dir', { type: 'string', describe: 'Where model ids are looked up before the Hugging Face cache' })
          .option('dtype', { type: 'string', describe: 'Which ONNX export of the model: fp32, fp16, q8, …' })
          .option('devices', { type: 'string', describe: 'cpu or cuda:N' })
          .option('max-new-tokens', { type: 'number' })
          .option('temperature', { type: 'number' })
          .option('top-p', { type: 'number' })
          .option('top-k', { type: 'number' })
          .option('seed', { type: 'number' })
          .option('stop', { type: 'string', array: true, describe: 'Stop sequence; repeat for several' }) as unknown as Argv<GenerateArgs>,
      (args) => run(async () => (await import('./generate.js')).runGenerate(args)),
    )
    .command<ModelsArgs>(
      'models <action> [models..]',
      'Download (pull), list or remove (rm) ONNX models in the Hugging Face cache, shared with Python tools',
      (y) => withModelsOptions(y),
      (args) => run(async () => (await import('./models.js')).runModels(args)),
    )
    .strictCommands()
    .strictOptions()
    // getOptions() is yargs's own (not in its typings): the options declared so far, the command's included.
    .check((argv) => checkGivenOnce(argv, new Set((parser as unknown as { getOptions(): { array: string[] } }).getOptions().array)))
    .demandCommand(1, 'name a command: build, evaluate, retry-failed, generate, preflight, report or models')
    .recommendCommands()
    .help()
    .version()
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((message, error) => {
      throw error ?? new InputError(message);
    });
  // yargs renders the whole help text after starting a command's handler, to show it if the handler fails (~50 ms
  // on the start-up path of a build); failures here are one line (`.fail` throws), never the help.
  const usage = (parser as unknown as { getInternalMethods?(): { getUsageInstance(): { cacheHelpMessage?(): void } } })
    .getInternalMethods?.()
    .getUsageInstance();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => undefined;
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (error) {
    return reportFailure(error);
  } finally {
    await closeUnusedExecutor();
  }
}

/**
 * A flag that takes one value, given more than once (`--model a --model b`), is refused by name: yargs would make it
 * an array that the command then misreads. Flags declared as arrays (`--endpoint`, `--stop`) may repeat.
 */
function checkGivenOnce(argv: Record<string, unknown>, arrays: ReadonlySet<string>): true {
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key.includes('-') || !Array.isArray(value)) continue;
    const name = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    if (arrays.has(name) || arrays.has(key)) continue;
    const flag = `--${name}`;
    throw new InputError(`${flag} was given ${value.length} times (${value.map(String).join(', ')}); give it once`);
  }
  return true;
}

/** Prints what went wrong. Input errors are one line; anything else is a bug or an environment failure. */
function reportFailure(error: unknown): number {
  if (error instanceof InputError) {
    process.stderr.write(`mbpp-stream: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`mbpp-stream: unexpected failure: ${message}\n`);
  return 1;
}
