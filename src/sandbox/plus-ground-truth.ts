import { InputError } from '../errors.js';
import type { MbppRecord, PlusSuite, PlusTask } from '../records.js';
import type { CallSuite, CodeExecutor } from './executor.js';
import { interpreterCachePath, readInterpreterCache, writeInterpreterCache } from './interpreter-cache.js';
import type { PythonInstall } from './python.js';

/** The canonical solution on one suite's inputs: each output (a base64 pickle) and the CPU seconds its call took. */
export interface SuiteTruth {
  outputs: string[];
  cpu: number[];
}

/** A task's MBPP+ ground truth, as EvalPlus computes it before judging anything. */
export interface PlusTruth {
  base: SuiteTruth;
  plus: SuiteTruth;
}

export type PlusGroundTruth = ReadonlyMap<number, PlusTruth>;

/** EvalPlus's address-space limit per program: some canonical outputs take a gigabyte (Mbpp/255). */
const EVALPLUS_MEMORY_MB = 4096;

/** The canonical solutions get this much CPU per input while their outputs are recorded. */
const RECORDING_CPU_SECONDS = 60;

/** A canonical solution that does not return on some input: the task cannot be judged (a problem of the dataset). */
export class GroundTruthError extends InputError {}

export interface PlusGroundTruthOptions {
  /** The tool's cache dir; the ground truth lives in `mbppplus-ground-truth/` under it. */
  cacheDir: string;
  /** Named in errors. */
  datasetPath: string;
  datasetSha256: string;
  python: PythonInstall;
  /** The run's MBPP+ records: the ones not cached yet are recorded now. */
  records: readonly MbppRecord[];
  executor: CodeExecutor;
  /** Told before recording, with how many tasks. */
  onRecord?: (tasks: number) => void;
}

/** The call suite that runs a task's inputs of one kind (recording when `expected` is absent). */
export function callSuite(task: PlusTask, taskId: number, suite: PlusSuite, rest: Pick<CallSuite, 'stopAtFirstFailure' | 'expected' | 'totalCpuSeconds'>): CallSuite {
  return {
    memoryMb: EVALPLUS_MEMORY_MB,
    taskId,
    entryPoint: task.entry_point,
    inputs: suite === 'base' ? task.base_input : task.plus_input,
    count: suite === 'base' ? task.base_count : task.plus_count,
    atol: task.atol,
    ...rest,
  };
}

/**
 * Loads the MBPP+ expected outputs of these tasks, recording the missing ones by running each canonical solution
 * (`prompt + canonical_solution`, as EvalPlus does) on a deep copy of every input in the sandbox, and caches them
 * with each call's CPU time (which sets the per-input limits). Recorded once per dataset and interpreter.
 * Throws `GroundTruthError` naming the tasks whose canonical solution fails on an input.
 */
export async function loadPlusGroundTruth(
  options: PlusGroundTruthOptions,
): Promise<{ truth: PlusGroundTruth; file: string; recorded: number; cacheError?: string }> {
  const file = interpreterCachePath(options.cacheDir, 'mbppplus-ground-truth', options.datasetSha256, options.python);
  const cached = await readInterpreterCache<PlusTruth>(file, options.datasetSha256, options.python);
  const plusRecords = options.records.filter((record): record is MbppRecord & { plus: PlusTask } => record.plus !== undefined);
  const missing = plusRecords.filter((record) => !(String(record.task_id) in cached.tasks));
  const failures: string[] = [];
  if (missing.length > 0) {
    options.onRecord?.(missing.length);
    const record = async (task: PlusTask, taskId: number, suite: PlusSuite): Promise<SuiteTruth> => {
      const calls = callSuite(task, taskId, suite, { stopAtFirstFailure: true });
      const outcome = await options.executor.execute({
        code: task.prompt + task.canonical_solution,
        setupCode: '',
        tests: [],
        calls,
        cpuLimits: Array.from({ length: calls.count }, () => RECORDING_CPU_SECONDS),
      });
      const failed = outcome.testResults.findIndex((result, index) => !result.passed || outcome.outputs?.[index] == null);
      if (failed >= 0) {
        const result = outcome.testResults[failed]!;
        failures.push(`${task.evalplus_id} ${suite} input ${failed}: ${result.error_type ?? 'no output'}${result.message ? `: ${result.message}` : ''}`);
      }
      return { outputs: (outcome.outputs ?? []).map((output) => output ?? ''), cpu: (outcome.testCpuSeconds ?? []).map((seconds) => seconds ?? 0) };
    };
    const recorded = await Promise.all(
      missing.map(async (entry) => {
        const [base, plus] = await Promise.all([record(entry.plus, entry.task_id, 'base'), record(entry.plus, entry.task_id, 'plus')]);
        return [entry.task_id, { base, plus }] as const;
      }),
    );
    if (failures.length > 0) {
      throw new GroundTruthError(
        `--dataset ${options.datasetPath}: ${failures.length} input(s) on which the canonical solution does not return, so no program can be judged on them: ${failures.slice(0, 5).join('; ')}`,
      );
    }
    for (const [taskId, truth] of recorded) cached.tasks[String(taskId)] = truth;
  }
  const truth = new Map(plusRecords.map((entry) => [entry.task_id, cached.tasks[String(entry.task_id)]!]));
  if (missing.length === 0) return { truth, file, recorded: 0 };
  const cacheError = await writeInterpreterCache(file, cached);
  return { truth, file, recorded: missing.length, ...(cacheError ? { cacheError } : {}) };
}
