/** Dataset rows for the sink tests: every column, nulls, unicode, empty lists, and a generator for many rows. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerationResult } from '../src/records.js';
import { NO_PLUS_COLUMNS } from '../src/streams/result-rows.js';

/** A passing row with every nullable column set. */
export function passingRow(overrides: Partial<GenerationResult> = {}): GenerationResult {
  return {
    task_id: 11,
    sample_index: 0,
    split: 'test',
    text: 'Write a python function to remove first and last occurrence of a given character from the string.',
    reference_code: 'def remove_Occ(s,ch):\n    return s\n',
    test_list: ['assert remove_Occ("hello","l") == "heo"', 'assert remove_Occ("abcda","a") == "bcd"'],
    test_setup_code: '',
    prompt: 'Write a python function...\n\nassert remove_Occ("hello","l") == "heo"\n\n# Solution:',
    model: 'reference',
    backend: 'reference',
    raw_completion: 'def remove_Occ(s,ch):\n    return s\n',
    generated_code: 'def remove_Occ(s,ch):\n    return s\n',
    passed_tests: 2,
    total_tests: 2,
    test_errors: [],
    test_results: [
      { passed: true, error_type: null, message: null },
      { passed: true, error_type: null, message: null },
    ],
    challenge_test_results: [{ passed: true, error_type: null, message: null }],
    is_correct: true,
    flaky: null,
    flaky_check: null,
    is_correct_base: true,
    is_correct_plus: false,
    base_passed: 3,
    base_total: 3,
    plus_passed: 1,
    plus_total: 3,
    base_test_results: [
      { passed: true, error_type: null, message: null },
      { passed: true, error_type: null, message: null },
      { passed: true, error_type: null, message: null },
    ],
    plus_test_results: [
      { passed: true, error_type: null, message: null },
      { passed: false, error_type: 'AssertionError', message: 'expected [1, 2], got [2, 1] ∞' },
      { passed: false, error_type: 'Skipped', message: null },
    ],
    base_first_failure: null,
    plus_first_failure: 'input 1: AssertionError: expected [1, 2], got [2, 1] ∞',
    generation_time: 0.125,
    execution_time: 1.5,
    prompt_tokens: 120,
    completion_tokens: 42,
    finish_reason: 'stop',
    session_id: 'onnx-cuda:0',
    attempts: 1,
    status: 'ok',
    error: null,
    ...overrides,
  };
}

/** A failed row: nulls where allowed, unicode text, empty lists, failing verdicts. */
export function failedRow(overrides: Partial<GenerationResult> = {}): GenerationResult {
  return passingRow({
    task_id: 601,
    sample_index: 3,
    split: 'train',
    text: 'Écrire une fonction — 数字を数える 🐍 "quotes" \\ back\nslash',
    raw_completion: '',
    generated_code: '',
    passed_tests: 0,
    test_errors: ['Test 1 failed: AssertionError', 'Test 2 failed: ZeroDivisionError: division by zero ∞'],
    test_results: [
      { passed: false, error_type: 'AssertionError', message: '' },
      { passed: false, error_type: 'ZeroDivisionError', message: 'division by zero ∞' },
    ],
    challenge_test_results: null,
    is_correct: false,
    flaky: null,
    flaky_check: null,
    ...NO_PLUS_COLUMNS,
    generation_time: 0,
    execution_time: 0,
    prompt_tokens: null,
    completion_tokens: null,
    finish_reason: null,
    session_id: null,
    attempts: 4,
    status: 'failed',
    error: 'TransientError: endpoint returned 503 🚫',
    ...overrides,
  });
}

/** `count` rows with distinct task ids, alternating passing and failed, with varied list lengths. */
export function manyRows(count: number): GenerationResult[] {
  return Array.from({ length: count }, (_, i) => {
    const tests = Array.from({ length: i % 4 }, (_, t) => `assert f(${i}, ${t}) == ${i * t}`);
    const base = i % 2 === 0 ? passingRow() : failedRow();
    return {
      ...base,
      task_id: i + 1,
      test_list: tests,
      total_tests: tests.length,
      test_results: tests.map((_, t) => ({ passed: t % 2 === 0, error_type: t % 2 === 0 ? null : 'Timeout', message: null })),
      generation_time: i / 7,
    };
  });
}

/** A fresh temp dir, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'mbpp-sink-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
