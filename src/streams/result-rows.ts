import type { Executed, GenerationResult, MbppRecord, PlusResults, PlusSuite, Prompted, TestResult } from '../records.js';

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

/** The MBPP+ columns of a record not judged on MBPP+ inputs. */
export const NO_PLUS_COLUMNS = {
  is_correct_base: null,
  is_correct_plus: null,
  base_passed: null,
  base_total: null,
  plus_passed: null,
  plus_total: null,
  base_test_results: null,
  plus_test_results: null,
  base_first_failure: null,
  plus_first_failure: null,
} satisfies Partial<GenerationResult>;

/** Whether the headline label is the MBPP+ inputs': an MBPP+ record without the original asserts. */
function headlineIsPlus(record: MbppRecord): boolean {
  return record.plus !== undefined && record.test_list.length === 0;
}

/** Tests (or inputs) the headline label counts: the asserts, or every base and plus input. */
function headlineTotal(record: MbppRecord): number {
  return headlineIsPlus(record) ? record.plus!.base_count + record.plus!.plus_count : record.test_list.length;
}

function verdictLine(result: TestResult): string {
  return `${result.error_type ?? 'Error'}${result.message ? `: ${result.message}` : ''}`;
}

/** The original's `test_errors`: one readable line per failed test. */
function testErrors(tests: readonly string[], results: readonly TestResult[]): string[] {
  return results.flatMap((result, index) => (result.passed ? [] : [`${tests[index] ?? `test ${index}`}: ${verdictLine(result)}`]));
}

/** Failing inputs listed one by one per suite; the rest are counted, so a wrong program's errors stay readable. */
const LISTED_INPUT_FAILURES = 10;

/**
 * `test_errors` of an MBPP+ headline: a line per failing input (`base input 3: AssertionError: ...`, inputs counted
 * from 0 as in the file), at most `LISTED_INPUT_FAILURES` a suite, then one line for the other failures and one for
 * the `Skipped` inputs (not run after the first failure), so every verdict that is not a pass is accounted for.
 */
function inputErrors(suite: PlusSuite, results: readonly TestResult[]): string[] {
  const failed = results.flatMap((result, index) => (result.passed || result.error_type === 'Skipped' ? [] : [{ result, index }]));
  const skipped = results.filter((result) => result.error_type === 'Skipped').length;
  const unlisted = failed.length - LISTED_INPUT_FAILURES;
  const counted = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
  return [
    ...failed.slice(0, LISTED_INPUT_FAILURES).map(({ result, index }) => `${suite} input ${index}: ${verdictLine(result)}`),
    ...(unlisted > 0 ? [`${suite}: ${counted(unlisted, 'more failing input')} (see ${suite}_test_results)`] : []),
    ...(skipped > 0 ? [`${suite}: ${counted(skipped, 'input')} Skipped (not run after the first failure)`] : []),
  ];
}

/** `input N: <error_type>: <message>` of a suite's first failing input; null when none failed. */
function firstFailure(results: readonly TestResult[]): string | null {
  const index = results.findIndex((result) => !result.passed && result.error_type !== 'Skipped');
  return index === -1 ? null : `input ${index}: ${verdictLine(results[index]!)}`;
}

/** The MBPP+ columns of a record judged on its base and plus inputs; totals are the record's input counts. */
function plusColumns(record: MbppRecord, results: PlusResults) {
  const passed = (suite: readonly TestResult[]) => suite.filter((result) => result.passed).length;
  const basePassed = passed(results.base);
  const plusPassed = passed(results.plus);
  const baseTotal = record.plus!.base_count;
  const plusTotal = record.plus!.plus_count;
  const isCorrectBase = basePassed === baseTotal;
  return {
    is_correct_base: isCorrectBase,
    is_correct_plus: isCorrectBase && plusPassed === plusTotal,
    base_passed: basePassed,
    base_total: baseTotal,
    plus_passed: plusPassed,
    plus_total: plusTotal,
    base_test_results: results.base,
    plus_test_results: results.plus,
    base_first_failure: firstFailure(results.base),
    plus_first_failure: firstFailure(results.plus),
  } satisfies Partial<GenerationResult>;
}

/** A judged record: right or wrong, it is a label, not an error. */
export function judgedRow(executed: Executed, model: string, backend: string, attempts: number): GenerationResult {
  const { record, plusResults } = executed;
  const plus = record.plus && plusResults ? plusColumns(record, plusResults) : NO_PLUS_COLUMNS;
  const headline = headlineIsPlus(record)
    ? {
        results: [...(plusResults?.base ?? []), ...(plusResults?.plus ?? [])],
        errors: plusResults ? [...inputErrors('base', plusResults.base), ...inputErrors('plus', plusResults.plus)] : [],
      }
    : { results: executed.testResults, errors: testErrors(record.test_list, executed.testResults) };
  const passed = headline.results.filter((result) => result.passed).length;
  const total = headlineTotal(record);
  return {
    ...baseRow(executed, model, backend),
    raw_completion: executed.completion.text,
    generated_code: executed.generatedCode,
    passed_tests: passed,
    total_tests: total,
    test_errors: headline.errors,
    test_results: headline.results,
    challenge_test_results: executed.challengeResults ?? null,
    // Without its verdicts (a judge that never ran them) an MBPP+ headline is not a pass.
    is_correct: headlineIsPlus(record) ? plus.is_correct_plus === true : total > 0 && passed === total,
    flaky: executed.flakyCheck?.flaky ?? null,
    flaky_check: executed.flakyCheck?.seeds ?? null,
    ...plus,
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
    total_tests: headlineTotal(item.record),
    test_errors: [],
    test_results: [],
    challenge_test_results: null,
    is_correct: false,
    flaky: null,
    flaky_check: null,
    ...NO_PLUS_COLUMNS,
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
