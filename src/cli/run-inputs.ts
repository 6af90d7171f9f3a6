import type { Level } from 'pino';
import { DEFAULT_HARDENING_CONFIG, loadHardeningConfig, mergeHardeningConfig, type HardeningConfig } from '../config.js';
import { locateDataset, type DatasetLocation } from '../io/dataset-location.js';
import { loadDataset, type DatasetDescription } from '../io/dataset-format.js';
import type { LoadedMbpp } from '../io/mbpp-source.js';
import { OutputLayout } from '../io/output-layout.js';
import { parseLogLevel } from '../monitor/run-logger.js';
import { loadPromptTemplate, mbppPlusTemplate, thesisTemplate, type PromptTemplate } from '../prompt/prompt-template.js';
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
  /** MBPP or MBPP+, and the original MBPP joined to MBPP+. */
  dataset: DatasetDescription;
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
  const loaded = await loadDataset(location.path, { format: args.datasetFormat, original: args.originalDataset });
  const work = selectWork(loaded, location);
  const dataset = { datasetFormat: loaded.datasetFormat, original: loaded.original };
  const template = await templateOf(args, dataset);
  const layout = await OutputLayout.create(args.outputDir, { testRun: args.testRun });
  return { args: { ...args, samples: work.samplesPerProblem }, hardening, consoleLevel, location, dataset, work, template, layout };
}

/**
 * `--prompt-template FILE`, else the thesis prompt; MBPP+ without the original MBPP joined is prompted as EvalPlus
 * prompts, with its own prompt.
 */
async function templateOf(args: RunArgs, dataset: DatasetDescription): Promise<PromptTemplate> {
  if (args.promptTemplate) return loadPromptTemplate(args.promptTemplate);
  return dataset.datasetFormat === 'mbppplus' && dataset.original === undefined ? mbppPlusTemplate() : thesisTemplate();
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
