import type { Executed, GenerationResult, Prompted, TestResult } from '../records.js';

/** What every row of a record carries, whatever happened to it. */
function baseRow(item: Prompted, model: string, backend: string) {
  const { record } = item;
  return {
    task_id: record.task_id,
    sample_index: item.sampleIndex,
    split: record.split,
    text: record.text,
    reference_code: record.code,
    test_list: record.test_list,
    test_setup_code: record.test_setup_code,
    prompt: item.prompt,
    model,
    backend,
  };
}

/** The original's `test_errors`: one readable line per failed test. */
function testErrors(tests: readonly string[], results: readonly TestResult[]): string[] {
  return results.flatMap((result, index) =>
    result.passed ? [] : [`${tests[index] ?? `test ${index}`}: ${result.error_type ?? 'Error'}${result.message ? `: ${result.message}` : ''}`],
  );
}

/** A judged record: right or wrong, it is a label, not an error. */
export function judgedRow(executed: Executed, model: string, backend: string, attempts: number): GenerationResult {
  const passed = executed.testResults.filter((result) => result.passed).length;
  const total = executed.record.test_list.length;
  return {
    ...baseRow(executed, model, backend),
    raw_completion: executed.completion.text,
    generated_code: executed.generatedCode,
    passed_tests: passed,
    total_tests: total,
    test_errors: testErrors(executed.record.test_list, executed.testResults),
    test_results: executed.testResults,
    challenge_test_results: executed.challengeResults ?? null,
    is_correct: total > 0 && passed === total,
    flaky: executed.flakyCheck?.flaky ?? null,
    flaky_check: executed.flakyCheck?.seeds ?? null,
    generation_time: executed.generationTime,
    execution_time: executed.executionTime,
    prompt_tokens: executed.completion.promptTokens ?? null,
    completion_tokens: executed.completion.completionTokens ?? null,
    finish_reason: executed.completion.finishReason ?? null,
    session_id: executed.completion.sessionId ?? null,
    attempts,
    status: 'ok',
    error: null,
  };
}

/** A record that could not be generated or judged after its retries: kept, marked failed, with the error. */
export function failedRow(
  item: Prompted,
  model: string,
  backend: string,
  error: unknown,
  attempts: number,
  partial: { rawCompletion?: string; generatedCode?: string; generationTime?: number } = {},
): GenerationResult {
  return {
    ...baseRow(item, model, backend),
    raw_completion: partial.rawCompletion ?? '',
    generated_code: partial.generatedCode ?? '',
    passed_tests: 0,
    total_tests: item.record.test_list.length,
    test_errors: [],
    test_results: [],
    challenge_test_results: null,
    is_correct: false,
    flaky: null,
    flaky_check: null,
    generation_time: partial.generationTime ?? 0,
    execution_time: 0,
    prompt_tokens: null,
    completion_tokens: null,
    finish_reason: null,
    session_id: null,
    attempts,
    status: 'failed',
    error: describeError(error),
  };
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
