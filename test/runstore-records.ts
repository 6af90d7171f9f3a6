// Builders shared by the run-store tests: synthetic results, identities and a throwaway output dir.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Generated, GenerationResult } from '../src/records.ts';
import type { RunIdentity } from '../src/io/run-store/run-identity.ts';
import { NO_PLUS_COLUMNS } from '../src/streams/result-rows.ts';

export function makeResult(taskId: number, sampleIndex = 0, overrides: Partial<GenerationResult> = {}): GenerationResult {
  return {
    task_id: taskId,
    sample_index: sampleIndex,
    split: 'test',
    text: `Write a function number ${taskId}.`,
    reference_code: `def f${taskId}():\n    return ${taskId}`,
    test_list: [`assert f${taskId}() == ${taskId}`],
    test_setup_code: '',
    prompt: `prompt ${taskId}`,
    model: 'reference',
    backend: 'reference',
    raw_completion: `def f${taskId}():\n    return ${taskId}`,
    generated_code: `def f${taskId}():\n    return ${taskId}`,
    passed_tests: 1,
    total_tests: 1,
    test_errors: [],
    test_results: [{ passed: true, error_type: null, message: null }],
    challenge_test_results: null,
    is_correct: true,
    flaky: null,
    flaky_check: null,
    ...NO_PLUS_COLUMNS,
    generation_time: 0.01,
    execution_time: 0.02,
    prompt_tokens: null,
    completion_tokens: null,
    finish_reason: 'stop',
    session_id: null,
    attempts: 1,
    status: 'ok',
    error: null,
    ...overrides,
  };
}

/** A generated program of task `taskId`, as the pipeline hands it to the sandbox. */
export function makeGenerated(taskId: number, sampleIndex = 0, code = `def f${taskId}():\n    return ${taskId}`): Generated {
  const result = makeResult(taskId, sampleIndex);
  return {
    record: {
      task_id: taskId,
      text: result.text,
      code: result.reference_code,
      test_setup_code: '',
      test_list: result.test_list,
      challenge_test_list: [],
      split: 'test',
    },
    sampleIndex,
    prompt: result.prompt,
    completion: { text: code, finishReason: 'stop' },
    generatedCode: code,
    generationTime: 0.01,
  };
}

export function makeFailure(taskId: number, error: string, attempts: number, sampleIndex = 0): GenerationResult {
  return makeResult(taskId, sampleIndex, {
    status: 'failed',
    error,
    attempts,
    is_correct: false,
    flaky: null,
    flaky_check: null,
    passed_tests: 0,
    test_results: [],
    raw_completion: '',
    generated_code: '',
  });
}

export function makeIdentity(overrides: Partial<RunIdentity> = {}): RunIdentity {
  return {
    datasetSha256: 'a'.repeat(64),
    split: 'test',
    range: { start: 0, end: 500 },
    backend: 'reference',
    model: 'reference',
    promptTemplate: 'You are an expert Python programmer, and here is your task: {text}',
    generation: { temperature: 0, topP: 1, seed: 42, maxTokens: 512, samples: 1 },
    ...overrides,
  };
}

/** A fresh output dir and its layout; `cleanup` removes it. */
export async function makeOutputDir(): Promise<{
  dir: string;
  layout: { datasetsDir: string; checkpointsDir: string };
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'runstore-'));
  const datasetsDir = join(dir, 'mbpp_datasets');
  return {
    dir,
    layout: { datasetsDir, checkpointsDir: join(datasetsDir, 'checkpoints') },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Records a logger's warnings, as pino would receive them. */
export function recordingLogger(): { warnings: string[]; infos: string[]; warn: (d: object, m: string) => void; info: (d: object, m: string) => void } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, warn: (_d, m) => warnings.push(m), info: (_d, m) => infos.push(m) };
}

/** Every row `store.results()` hands out, its batches joined. */
export async function allResults(store: { results(batchRows?: number): AsyncIterable<GenerationResult[]> }, batchRows?: number): Promise<GenerationResult[]> {
  const rows: GenerationResult[] = [];
  for await (const batch of store.results(batchRows)) rows.push(...batch);
  return rows;
}
