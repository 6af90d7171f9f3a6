import type { Level } from 'pino';
import { DEFAULT_HARDENING_CONFIG, loadHardeningConfig, mergeHardeningConfig, type HardeningConfig } from '../config.js';
import { locateDataset, type DatasetLocation } from '../io/dataset-location.js';
import { loadMbpp, type LoadedMbpp } from '../io/mbpp-source.js';
import { OutputLayout } from '../io/output-layout.js';
import { parseLogLevel } from '../monitor/run-logger.js';
import { loadPromptTemplate, thesisTemplate, type PromptTemplate } from '../prompt/prompt-template.js';
import type { BuildArgs } from './build-options.js';
import { parseDurationFlag } from './duration-flag.js';
import { checkNumericFlags } from './flag-checks.js';
import type { RunWork } from './run-work.js';

/** The flags as a command gets them: `evaluate` takes its samples per problem from the generations file. */
export type RunArgs = Omit<BuildArgs, 'samples'> & { samples?: number };

/** Everything a run reads and checks before it opens anything. */
export interface RunInputs {
  /** The flags, with `samples` set to the work's samples per problem. */
  args: BuildArgs;
  hardening: HardeningConfig;
  consoleLevel: Level;
  location: DatasetLocation;
  work: RunWork;
  template: PromptTemplate;
  layout: OutputLayout;
}

/**
 * Checks the flags and reads the config, the dataset and the prompt template; `selectWork` (the command's own)
 * picks what of the dataset the run covers. Every input problem is an `InputError` thrown before anything is
 * written.
 */
export async function readRunInputs(args: RunArgs, selectWork: (dataset: LoadedMbpp, location: DatasetLocation) => RunWork): Promise<RunInputs> {
  checkNumericFlags(args);
  const hardening = await hardeningConfigOf(args);
  const consoleLevel = parseLogLevel(args.logLevel);
  const location = await locateDataset({ dataset: args.dataset, testRun: args.testRun });
  const work = selectWork(await loadMbpp(location.path), location);
  const template = args.promptTemplate ? await loadPromptTemplate(args.promptTemplate) : thesisTemplate();
  const layout = await OutputLayout.create(args.outputDir, { testRun: args.testRun });
  return { args: { ...args, samples: work.samplesPerProblem }, hardening, consoleLevel, location, work, template, layout };
}

/** The hardening config: defaults, then `--config FILE`, then the flags that map onto it. */
async function hardeningConfigOf(args: RunArgs): Promise<HardeningConfig> {
  const base = args.config ? await loadHardeningConfig(args.config) : DEFAULT_HARDENING_CONFIG;
  return mergeHardeningConfig(base, {
    origin: 'command line',
    values: {
      checkpoint_frequency: args.checkpoint,
      max_memory_usage_gb: args.maxMemory,
      max_gpu_memory_usage_gb: args.maxGpuMemory,
      max_retries: args.maxRetries,
      timeout_per_record: args.timeout,
      max_outage: args.maxOutage === undefined ? undefined : parseDurationFlag('--max-outage', args.maxOutage),
      cpu_limit_floor: args.cpuLimitFloor,
      cpu_limit_factor: args.cpuLimitFactor,
    },
  });
}
