import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Executed, PlusResults, PlusTask, SourcedRecord, TestResult } from '../src/records.ts';
import { culpritRow } from '../src/streams/crash-triage.ts';
import { failedRow, judgedRow, NO_PLUS_COLUMNS } from '../src/streams/result-rows.ts';
import { makeGenerated } from './runstore-records.ts';

const pass: TestResult = { passed: true, error_type: null, message: null };
const wrong = (message: string): TestResult => ({ passed: false, error_type: 'AssertionError', message });
const skipped: TestResult = { passed: false, error_type: 'Skipped', message: null };

const plusTask = (base_count: number, plus_count: number): PlusTask => ({
  evalplus_id: 'Mbpp/2',
  entry_point: 'similar_elements',
  prompt: '"""\nWrite a function.\nassert similar_elements((3, 4), (4, 5)) == (4,)\n"""\n',
  canonical_solution: 'def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n',
  base_input: '[[[3, 4], [4, 5]]]',
  plus_input: '[]',
  base_count,
  plus_count,
  atol: 0,
});

/** A judged program of task 2: with the original asserts when `tests` is given, else an MBPP+ record without them. */
function executed(plus: PlusTask | undefined, plusResults: PlusResults | undefined, tests: string[] = [], testResults: TestResult[] = []): Executed {
  const generated = makeGenerated(2);
  const record: SourcedRecord = { ...generated.record, test_list: tests, ...(plus ? { plus } : {}) };
  return { ...generated, record, testResults, plusResults, executionTime: 0.5 };
}

describe('judgedRow, MBPP+', () => {
  it('gives an MBPP+ record without asserts the base then plus verdicts as its headline: is_correct is is_correct_plus', () => {
    const row = judgedRow(executed(plusTask(2, 3), { base: [pass, pass], plus: [pass, wrong('expected 4, got 5'), skipped] }), 'm', 'b', 1);
    assert.deepEqual(
      { passed: row.passed_tests, total: row.total_tests, correct: row.is_correct, results: row.test_results.length },
      { passed: 3, total: 5, correct: false, results: 5 },
    );
    assert.deepEqual(row.test_errors, ['plus input 1: AssertionError: expected 4, got 5', 'plus: 1 input Skipped (not run after the first failure)']);
    assert.deepEqual(
      {
        base: row.is_correct_base, plus: row.is_correct_plus, basePassed: row.base_passed, baseTotal: row.base_total,
        plusPassed: row.plus_passed, plusTotal: row.plus_total, baseFirst: row.base_first_failure, plusFirst: row.plus_first_failure,
      },
      { base: true, plus: false, basePassed: 2, baseTotal: 2, plusPassed: 1, plusTotal: 3, baseFirst: null, plusFirst: 'input 1: AssertionError: expected 4, got 5' },
    );
    assert.deepEqual(row.plus_test_results, [pass, wrong('expected 4, got 5'), skipped]);
  });

  it('counts a program that passes every input as correct on both labels', () => {
    const row = judgedRow(executed(plusTask(1, 2), { base: [pass], plus: [pass, pass] }), 'm', 'b', 1);
    assert.deepEqual([row.is_correct, row.is_correct_base, row.is_correct_plus, row.passed_tests, row.total_tests], [true, true, true, 3, 3]);
    assert.deepEqual(row.test_errors, []);
  });

  it('fails the plus label when the base inputs fail, even if every plus input passes (as EvalPlus does)', () => {
    const timeout: TestResult = { passed: false, error_type: 'Timeout', message: null };
    const row = judgedRow(executed(plusTask(2, 1), { base: [timeout, skipped], plus: [pass] }), 'm', 'b', 1);
    assert.deepEqual([row.is_correct_base, row.is_correct_plus, row.is_correct], [false, false, false]);
    assert.equal(row.base_first_failure, 'input 0: Timeout');
    assert.deepEqual(row.test_errors, ['base input 0: Timeout', 'base: 1 input Skipped (not run after the first failure)']);
  });

  it('lists ten failing inputs a suite and counts the rest (--test-details judges every input)', () => {
    const row = judgedRow(executed(plusTask(1, 25), { base: [pass], plus: Array.from({ length: 25 }, (_, i) => wrong(`input ${i} wrong`)) }), 'm', 'b', 1);
    assert.equal(row.test_errors.length, 11);
    assert.equal(row.test_errors[9], 'plus input 9: AssertionError: input 9 wrong');
    assert.equal(row.test_errors[10], 'plus: 15 more failing inputs (see plus_test_results)');
  });

  it('keeps the asserts as the headline when the original file is joined: three labels per program', () => {
    const tests = ['assert f(1) == 1', 'assert f(2) == 2'];
    const row = judgedRow(executed(plusTask(1, 1), { base: [pass], plus: [wrong('expected 1, got 2')] }, tests, [pass, pass]), 'm', 'b', 1);
    assert.deepEqual([row.is_correct, row.passed_tests, row.total_tests, row.test_errors], [true, 2, 2, []]);
    assert.deepEqual([row.is_correct_base, row.is_correct_plus, row.plus_first_failure], [true, false, 'input 0: AssertionError: expected 1, got 2']);
  });

  it('gives a record without MBPP+ inputs null MBPP+ columns', () => {
    const row = judgedRow(executed(undefined, undefined, ['assert f(1) == 1'], [wrong('')]), 'm', 'b', 1);
    assert.deepEqual(row.test_errors, ['assert f(1) == 1: AssertionError']);
    for (const [column, value] of Object.entries(NO_PLUS_COLUMNS)) assert.equal(row[column as keyof typeof row], value, column);
  });

  it('gives a failed MBPP+ record null MBPP+ columns and the headline count of its inputs', () => {
    const generated = executed(plusTask(3, 100), undefined);
    const row = failedRow(generated, 'm', 'b', new Error('boom'), 4);
    assert.deepEqual([row.total_tests, row.is_correct, row.is_correct_base, row.is_correct_plus, row.plus_total], [103, false, null, null, null]);
  });

  it('labels every input of a program that brought the build down Killed', () => {
    const { record } = executed(plusTask(2, 3), undefined);
    const program = { task_id: 2, sample_index: 0, completion: { text: 'x' }, generatedCode: 'x', generationTime: 0 };
    const row = culpritRow({ record, sampleIndex: 0, prompt: 'p' }, program, { model: 'm', name: 'b' }, false);
    assert.deepEqual([row.is_correct, row.is_correct_base, row.base_passed, row.plus_total, row.total_tests], [false, false, 0, 3, 5]);
    assert.ok(row.plus_test_results!.every((result) => result.error_type === 'Killed'));
  });
});
