/**
 * Small datasets for the report tests, written as the files a user hands `report`: this tool's Parquet and JSON
 * twin, and the original Python pipeline's (pandas: Int64 columns, a list column of nullable strings, a JSON
 * array of row objects).
 */
import { writeFile } from 'node:fs/promises';
import { Bool, Field, Float64, Int64, List, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { writeParquetFile } from '../../src/io/parquet-file.js';
import { resultsToTable, toDatasetRow } from '../../src/io/result-table.js';
import type { GenerationResult, Split, TestResult } from '../../src/records.js';
import { NO_PLUS_COLUMNS } from '../../src/streams/result-rows.js';

const pass: TestResult = { passed: true, error_type: null, message: null };
const assertionFailure: TestResult = { passed: false, error_type: 'AssertionError', message: 'assert f(2) == 2' };
const skipped: TestResult = { passed: false, error_type: 'Skipped', message: null };

export interface SampleSpec {
  task_id: number;
  sample_index?: number;
  correct: boolean;
  split?: Split;
  model?: string;
  seconds?: number;
  /** The flaky check's verdict; leave out for no check. */
  flaky?: boolean | null;
  /**
   * MBPP+ labels, for an MBPP+ record; `asserts: false` for one without the original asserts (then `correct`, the
   * headline, should be `plus`).
   */
  mbppPlus?: { base: boolean; plus: boolean; asserts?: boolean };
}

/** The MBPP+ columns of a judged record: three base inputs, four plus inputs, the first failing one's line. */
function plusColumns({ base, plus }: { base: boolean; plus: boolean }): Partial<GenerationResult> {
  const baseResults = base ? [pass, pass, pass] : [pass, assertionFailure, skipped];
  const plusResults = plus ? [pass, pass, pass, pass] : [pass, pass, assertionFailure, skipped];
  return {
    is_correct_base: base,
    is_correct_plus: base && plus,
    base_passed: baseResults.filter((r) => r.passed).length,
    base_total: 3,
    plus_passed: plusResults.filter((r) => r.passed).length,
    plus_total: 4,
    base_test_results: baseResults,
    plus_test_results: plusResults,
    base_first_failure: base ? null : 'input 1: AssertionError: assert f(2) == 2',
    plus_first_failure: plus ? null : 'input 2: AssertionError: assert f(2) == 2',
  };
}

/** A full dataset row of this tool; only what the report reads varies. */
export function sampleRow(spec: SampleSpec): GenerationResult {
  const results = spec.correct ? [pass, pass, pass] : [pass, assertionFailure, pass];
  const seconds = spec.seconds ?? 1;
  return {
    task_id: spec.task_id,
    sample_index: spec.sample_index ?? 0,
    split: spec.split ?? 'test',
    text: `Write a function for problem ${spec.task_id}.`,
    reference_code: 'def f(x):\n    return x',
    test_list: spec.mbppPlus?.asserts === false ? [] : ['assert f(1) == 1', 'assert f(2) == 2', 'assert f(3) == 3'],
    test_setup_code: '',
    prompt: `problem ${spec.task_id}`,
    model: spec.model ?? 'tiny-llama',
    backend: 'onnx',
    raw_completion: 'def f(x):\n    return x',
    generated_code: 'def f(x):\n    return x',
    passed_tests: results.filter((r) => r.passed).length,
    total_tests: 3,
    test_errors: results.filter((r) => !r.passed).map((r) => `${r.error_type}: ${r.message}`),
    test_results: results,
    challenge_test_results: null,
    is_correct: spec.correct,
    generation_time: seconds * 0.8,
    execution_time: seconds * 0.2,
    prompt_tokens: 100,
    completion_tokens: 42,
    finish_reason: 'stop',
    session_id: 'cpu:0',
    attempts: 1,
    status: 'ok',
    error: null,
    flaky: spec.flaky ?? null,
    flaky_check: null,
    ...NO_PLUS_COLUMNS,
    ...(spec.mbppPlus ? plusColumns(spec.mbppPlus) : {}),
  };
}

/** Writes `specs` as this tool's Parquet at `path` and, with `json`, its JSON twin. */
export async function writeToolDataset(path: string, specs: readonly SampleSpec[], json?: string): Promise<void> {
  const rows = specs.map(sampleRow);
  await writeParquetFile(path, resultsToTable(rows));
  if (json !== undefined) await writeFile(json, JSON.stringify(rows.map(toDatasetRow), null, 2));
}

/** One row of the original pipeline's dataset: its eight columns only. */
export interface OriginalRow {
  task_id: number;
  prompt: string;
  generated_code: string;
  passed_tests: number;
  total_tests: number;
  test_errors: string[];
  is_correct: boolean;
  generation_time: number;
}

export function originalRow(task_id: number, correct: boolean, generation_time = 1.5): OriginalRow {
  return {
    task_id,
    prompt: `You are an expert Python programmer, and here is your task: problem ${task_id}`,
    generated_code: 'def f(x):\n    return x',
    passed_tests: correct ? 3 : 1,
    total_tests: 3,
    test_errors: correct ? [] : ['Test 2 failed: assert f(2) == 2', 'Test 3 failed: assert f(3) == 3'],
    is_correct: correct,
    generation_time,
  };
}

/** Writes rows as pandas' `to_parquet` would type them: int64 integers, list<string> with nullable items. */
export async function writeOriginalParquet(path: string, rows: readonly OriginalRow[]): Promise<void> {
  const int64 = (pick: (row: OriginalRow) => number) => vectorFromArray(rows.map((row) => BigInt(pick(row))), new Int64());
  const utf8 = (pick: (row: OriginalRow) => string) => vectorFromArray(rows.map(pick), new Utf8());
  await writeParquetFile(
    path,
    new Table({
      task_id: int64((row) => row.task_id),
      prompt: utf8((row) => row.prompt),
      generated_code: utf8((row) => row.generated_code),
      passed_tests: int64((row) => row.passed_tests),
      total_tests: int64((row) => row.total_tests),
      test_errors: vectorFromArray(rows.map((row) => row.test_errors), new List(new Field('element', new Utf8(), true))),
      is_correct: vectorFromArray(rows.map((row) => row.is_correct), new Bool()),
      generation_time: vectorFromArray(rows.map((row) => row.generation_time), new Float64()),
    }),
  );
}

/** Writes rows as the JSON twin: an array of row objects (pandas `to_json(orient="records")`). */
export async function writeOriginalJson(path: string, rows: readonly OriginalRow[]): Promise<void> {
  await writeFile(path, JSON.stringify(rows, null, 2));
}
