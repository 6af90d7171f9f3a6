import type { Argv } from 'yargs';
import { DATASET_FORMAT_CHOICES, type DatasetFormatChoice } from '../io/dataset-format-choices.js';

/** The flags `build`, `evaluate` and `retry-failed` share: what to run, on what, where the results go. */
export interface BuildArgs {
  backend: 'reference' | 'replay' | 'onnx' | 'openai';
  dataset?: string;
  datasetFormat: DatasetFormatChoice;
  originalDataset?: string;
  outputDir: string;
  split: string;
  start?: number;
  end?: number;
  testRun: boolean;
  config?: string;
  checkpoint?: number;
  maxMemory?: number;
  maxGpuMemory?: number;
  maxRetries?: number;
  timeout?: number;
  maxOutage?: string;
  promptTemplate?: string;
  generations?: string;
  model?: string;
  modelsDir?: string;
  dtype?: string;
  stop?: string[];
  samples: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  maxNewTokens?: number;
  batchSize?: number;
  devices?: string;
  sessions?: number;
  captureActivations: boolean;
  activationLayers?: string[];
  activationPositions?: string[];
  activationDtype: 'float32' | 'float16';
  endpoint?: string[];
  concurrency?: number;
  apiKeyEnv?: string;
  chat: boolean;
  sandbox: 'auto' | 'bwrap' | 'rlimit' | 'none';
  workers?: number;
  python?: string;
  hashSeed: number;
  flakyCheck: number;
  testDetails: boolean;
  cpuLimitFloor?: number;
  cpuLimitFactor?: number;
  allowUncontained: boolean;
  challengeTests: boolean;
  fresh: boolean;
  runId?: string;
  quiet: boolean;
  json: boolean;
  logLevel: string;
}

/** Declares the shared flags on a yargs command. Names and meanings follow the original Python pipeline. */
export function withBuildOptions<T>(y: Argv<T>): Argv<T & BuildArgs> {
  return y
    .option('backend', {
      choices: ['reference', 'replay', 'onnx', 'openai'] as const,
      default: 'onnx' as const,
      describe: 'Where completions come from',
    })
    .option('dataset', { type: 'string', describe: 'MBPP JSONL or Parquet, or MBPP+ JSONL (else $MBPP_STREAM_DATASET, then the cache)' })
    .option('dataset-format', {
      choices: DATASET_FORMAT_CHOICES,
      default: 'auto' as const,
      describe: 'What --dataset holds; auto: MBPP+ when its first task_id is "Mbpp/N" with base_input, else MBPP',
    })
    .option('original-dataset', {
      type: 'string',
      describe: 'The original MBPP file, joined to an MBPP+ dataset by task id: its text and asserts are prompted and judged too',
    })
    .option('output-dir', { type: 'string', default: '.', describe: 'Where mbpp_datasets/ and mbpp_logs/ go' })
    .option('split', {
      type: 'string',
      default: 'all',
      describe: 'prompt (1-10), test (11-510), validation (511-600), train (601-974) or all',
    })
    .option('start', { type: 'number', describe: 'First index into the split (inclusive)' })
    .option('end', { type: 'number', describe: 'Last index into the split (inclusive)' })
    .option('test-run', { type: 'boolean', default: false, describe: 'Only the first 10 records' })
    .option('config', { type: 'string', describe: 'HardeningConfig JSON file (snake_case keys); flags override it' })
    .option('checkpoint', { type: 'number', describe: 'Checkpoint every N records (checkpoint_frequency, 50)' })
    .option('max-memory', { type: 'number', describe: 'Warn above this process memory in GB (100)' })
    .option('max-gpu-memory', { type: 'number', describe: 'Warn above this memory per GPU in GB (30)' })
    .option('max-retries', { type: 'number', describe: 'Retries of a transient failure per record (3)' })
    .option('timeout', { type: 'number', describe: 'Seconds per record before it is cancelled and retried (300)' })
    .option('max-outage', {
      type: 'string',
      describe: 'How long to wait, probing, while no inference session is up before stopping to resume later: 90s, 15m, 1h (15m)',
    })
    .option('prompt-template', { type: 'string', describe: 'Template file with {text} and {tests}' })
    .option('generations', { type: 'string', describe: 'JSONL/Parquet of existing generations (replay backend)' })
    .option('model', { type: 'string', describe: 'ONNX model dir, or org/name[@revision] from the Hugging Face cache or Hub (onnx); served model name (openai)' })
    .option('models-dir', { type: 'string', describe: 'Where model ids are looked up before the Hugging Face cache (onnx; else $MBPP_STREAM_MODELS_DIR)' })
    .option('dtype', { type: 'string', describe: 'Which ONNX export of the model: fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4 (onnx; default the first it has)' })
    .option('stop', { type: 'string', array: true, describe: 'Extra stop sequence; repeat for several' })
    .option('samples', { type: 'number', default: 1, describe: 'Samples per problem (pass@k in the metadata)' })
    .option('temperature', { type: 'number', describe: 'Sampling temperature (0 = greedy, the default)' })
    .option('top-p', { type: 'number', describe: 'Nucleus sampling mass' })
    .option('top-k', { type: 'number', describe: 'Sample among the k most likely tokens' })
    .option('seed', { type: 'number', describe: 'Seed for reproducible sampling' })
    .option('max-new-tokens', { type: 'number', describe: 'Tokens to generate per record (200)' })
    .option('batch-size', { type: 'number', describe: 'Records batched per session run (onnx)' })
    .option('devices', { type: 'string', describe: 'cuda:0,cuda:1,... or cpu (onnx)' })
    .option('sessions', { type: 'number', describe: 'CPU sessions with --devices cpu (onnx)' })
    .option('capture-activations', {
      type: 'boolean',
      default: false,
      describe: 'Also record the residual stream after the chosen layers at the chosen positions, beside the labels (onnx)',
    })
    .option('activation-layers', { type: 'string', array: true, describe: 'Decoder layers to capture: 0,6,-1 or all (default all)' })
    .option('activation-positions', {
      type: 'string',
      array: true,
      describe: 'Positions to capture: last-prompt, mean-prompt, mean-generated, comma-separated (default last-prompt)',
    })
    .option('activation-dtype', { choices: ['float32', 'float16'] as const, default: 'float32' as const, describe: 'dtype of the activation files' })
    .option('endpoint', { type: 'string', array: true, describe: 'OpenAI-compatible base URL; repeat for several' })
    .option('concurrency', { type: 'number', describe: 'In-flight requests per endpoint (openai)' })
    .option('api-key-env', { type: 'string', describe: 'Environment variable holding the API key (openai)' })
    .option('chat', { type: 'boolean', default: false, describe: 'Use the chat completions API (openai)' })
    .option('sandbox', {
      choices: ['auto', 'bwrap', 'rlimit', 'none'] as const,
      default: 'auto' as const,
      describe: 'Isolation for generated code; none is unsafe',
    })
    .option('workers', { type: 'number', describe: 'Parallel Python executions (default: cores)' })
    .option('python', {
      type: 'string',
      describe: 'Interpreter that judges the code, e.g. a venv\'s bin/python (else $MBPP_STREAM_PYTHON, then python3)',
    })
    .option('hash-seed', {
      type: 'number',
      default: 0,
      describe: 'PYTHONHASHSEED (and random seed) judged code runs with, so labels are the same in every run',
    })
    .option('cpu-limit-floor', {
      type: 'number',
      describe: 'cpu_limit_floor: whole CPU seconds no test gets less of (default 1)',
    })
    .option('cpu-limit-factor', {
      type: 'number',
      describe: "cpu_limit_factor: a test's limit is this times the reference solution's CPU time on it (default 4)",
    })
    .option('flaky-check', {
      type: 'number',
      default: 1,
      describe: 'Judge each program under K hash seeds; K >= 2 adds the flaky and flaky_check columns',
    })
    .option('test-details', {
      type: 'boolean',
      default: false,
      describe: "MBPP+: judge every input (EvalPlus's --test_details); by default a suite's first failing input ends it",
    })
    .option('allow-uncontained', {
      type: 'boolean',
      default: false,
      describe: 'Run where generated code could kill or signal your other processes (not root, no user namespaces)',
    })
    .option('challenge-tests', { type: 'boolean', default: false, describe: 'Also run challenge_test_list' })
    .option('fresh', { type: 'boolean', default: false, describe: 'Start the run over; old files are kept aside' })
    .option('run-id', { type: 'string', describe: 'Resume or create this run explicitly' })
    .option('quiet', { type: 'boolean', default: false, describe: 'Only print the summary' })
    .option('json', { type: 'boolean', default: false, describe: 'One JSON event per line on stdout' })
    .option('log-level', {
      choices: ['debug', 'info', 'warn', 'error'],
      default: 'info',
      describe: 'Console log level (the log file gets everything, debug included)',
    }) as unknown as Argv<T & BuildArgs>;
}
