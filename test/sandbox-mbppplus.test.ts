/**
 * MBPP+ judging in the sandbox, input by input, against EvalPlus's rules (evalplus/eval/__init__.py, unsafe_execute,
 * and _special_oracle.py at 26d6d00). Each expected verdict below is what EvalPlus's code gives for that program and
 * input, worked out by hand from its comparison: `out == exp`, then the task's special oracle, then (atol, or 1e-6 once
 * an expected output is a float) same type, same length and numpy.allclose(rtol=1e-7).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestResult } from '../src/records.js';
import type { CallSuite } from '../src/sandbox/executor.js';
import { createExecutor, type SandboxExecutor } from '../src/sandbox/sandbox-executor.js';

let executor: SandboxExecutor;
before(async () => {
  executor = await createExecutor({ workers: 2 });
});
after(() => executor.close());

interface Suite {
  taskId: number;
  entryPoint: string;
  /** Python's JSON, as MBPP+ writes it. */
  inputs: string;
  atol?: number;
}

const count = (inputs: string) => (inputs === '{}' ? 0 : (JSON.parse(inputs.replace(/-?Infinity|NaN/g, '0')) as unknown[]).length);

function calls(suite: Suite, rest: Partial<CallSuite> = {}): CallSuite {
  return { taskId: suite.taskId, entryPoint: suite.entryPoint, inputs: suite.inputs, count: count(suite.inputs), atol: suite.atol ?? 0, stopAtFirstFailure: false, ...rest };
}

/** The canonical solution's outputs, recorded as the ground truth is. */
async function record(suite: Suite, canonical: string): Promise<string[]> {
  const outcome = await executor.execute({ code: canonical, setupCode: '', tests: [], calls: calls(suite) });
  assert.ok(outcome.testResults.every((result) => result.passed), JSON.stringify(outcome.testResults));
  return outcome.outputs as string[];
}

async function judge(suite: Suite, expected: string[], code: string, rest: Partial<CallSuite> = {}, cpuLimits?: number[]): Promise<TestResult[]> {
  const outcome = await executor.execute({ code, setupCode: '', tests: [], calls: calls(suite, { expected, ...rest }), ...(cpuLimits ? { cpuLimits } : {}) });
  return outcome.testResults;
}

const verdicts = (results: readonly TestResult[]) => results.map((result) => (result.passed ? 'pass' : result.error_type));

describe('MBPP+ judging: EvalPlus special rules', () => {
  it('set equality (similar_elements, Mbpp/2): order and duplicates do not matter, inputs arrive as tuples', async () => {
    const suite = { taskId: 2, entryPoint: 'similar_elements', inputs: '[[[3, 4, 5, 6], [5, 7, 4, 10]], [[1, 2, 3, 4], [5, 4, 3, 7]]]' };
    const expected = await record(suite, 'def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n');
    const typed = 'def similar_elements(a, b):\n    assert isinstance(a, tuple) and isinstance(b, tuple)\n    return tuple(set(a) & set(b))\n';
    assert.deepEqual(verdicts(await judge(suite, expected, typed)), ['pass', 'pass'], 'EvalPlus turns these lists into tuples');
    const otherOrderList = 'def similar_elements(a, b):\n    return sorted(set(a) & set(b), reverse=True)\n';
    assert.deepEqual(verdicts(await judge(suite, expected, otherOrderList)), ['pass', 'pass']);
    const duplicates = 'def similar_elements(a, b):\n    common = [x for x in a if x in b]\n    return common + common\n';
    assert.deepEqual(verdicts(await judge(suite, expected, duplicates)), ['pass', 'pass']);
    const union = 'def similar_elements(a, b):\n    return tuple(set(a) | set(b))\n';
    const wrong = await judge(suite, expected, union);
    assert.deepEqual(verdicts(wrong), ['AssertionError', 'AssertionError']);
    assert.match(wrong[0]!.message!, /^expected \(4, 5\), got /);
    assert.deepEqual(verdicts(await judge(suite, expected, 'def similar_elements(a, b):\n    return 5\n')), ['TypeError', 'TypeError'], 'set(5) raises');
  });

  it('not-None tasks (text_match_three): the ground truth is whether the canonical output was not None', async () => {
    const suite = { taskId: 787, entryPoint: 'text_match_three', inputs: '[["xabbbx"], ["ab"], ["abbb"]]' };
    const expected = await record(suite, 'import re\ndef text_match_three(text):\n    return re.search("abbb", text)\n');
    const message = 'def text_match_three(text):\n    return "Found a match!" if "abbb" in text else None\n';
    assert.deepEqual(verdicts(await judge(suite, expected, message)), ['pass', 'pass', 'pass']);
    const booleans = 'def text_match_three(text):\n    return "abbb" in text\n';
    assert.deepEqual(verdicts(await judge(suite, expected, booleans)), ['pass', 'pass', 'pass'], 'a bool output is compared as a bool');
    const neverNone = 'def text_match_three(text):\n    return "Found a match!" if "abbb" in text else "Not matched!"\n';
    assert.deepEqual(verdicts(await judge(suite, expected, neverNone)), ['pass', 'AssertionError', 'pass']);
    const inverted = 'def text_match_three(text):\n    return "abbb" not in text\n';
    assert.deepEqual(verdicts(await judge(suite, expected, inverted)), ['AssertionError', 'AssertionError', 'AssertionError']);
  });

  it('alternative answers: surface_Area (Mbpp/581) with the perpendicular height, digit_distance_nums (Mbpp/558) zero-padded', async () => {
    const area = { taskId: 581, entryPoint: 'surface_Area', inputs: '[[3, 4], [4, 5], [1, 2]]' };
    const areaExpected = await record(area, 'def surface_Area(b, s):\n    return 2 * b * s + pow(b, 2)\n');
    const perpendicular = 'import math\ndef surface_Area(b, h):\n    return round(b * b + 2 * b * math.sqrt((b / 2) ** 2 + h * h))\n';
    assert.deepEqual(verdicts(await judge(area, areaExpected, perpendicular)), ['pass', 'pass', 'pass']);
    assert.deepEqual(verdicts(await judge(area, areaExpected, 'def surface_Area(b, s):\n    return b * s\n')), ['AssertionError', 'AssertionError', 'AssertionError']);

    const digits = { taskId: 558, entryPoint: 'digit_distance_nums', inputs: '[[1, 2], [1234, 99]]' };
    const digitsExpected = await record(digits, 'def digit_distance_nums(n1, n2):\n    return sum(map(int, str(abs(n1 - n2))))\n');
    const padded =
      'def digit_distance_nums(n1, n2):\n    a, b = str(n1), str(n2)\n    w = max(len(a), len(b))\n    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(w), b.zfill(w)))\n';
    assert.deepEqual(verdicts(await judge(digits, digitsExpected, padded)), ['pass', 'pass'], '1234 vs 0099 is 14, not the canonical 10: the oracle accepts it');
    assert.deepEqual(verdicts(await judge(digits, digitsExpected, 'def digit_distance_nums(n1, n2):\n    return 14\n')), ['AssertionError', 'pass']);
  });

  it("atol: the task's tolerance, 1e-6 for float outputs when it is 0, same type and length required", async () => {
    const tolerant = { taskId: 17, entryPoint: 'area', inputs: '[[1], [10]]', atol: 1e-4 };
    const expected = await record(tolerant, 'def area(r):\n    return 3.14159265 * r * r\n');
    assert.deepEqual(verdicts(await judge(tolerant, expected, 'def area(r):\n    return 3.1416 * r * r\n')), ['pass', 'AssertionError'], 'off by 7e-6, then by 7e-4');

    const exactTask = { taskId: 17, entryPoint: 'area', inputs: '[[1]]' };
    const exactExpected = await record(exactTask, 'def area(r):\n    return 3.0 * r\n');
    assert.deepEqual(verdicts(await judge(exactTask, exactExpected, 'def area(r):\n    return 3.0000005 * r\n')), ['pass'], 'within the enforced 1e-6');
    assert.deepEqual(verdicts(await judge(exactTask, exactExpected, 'def area(r):\n    return 3.00001 * r\n')), ['AssertionError']);
    assert.deepEqual(verdicts(await judge(exactTask, exactExpected, 'def area(r):\n    return 3\n')), ['pass'], '3 == 3.0 exactly');
    assert.deepEqual(verdicts(await judge(exactTask, exactExpected, 'def area(r):\n    return "3.0"\n')), ['AssertionError']);

    const pair = { taskId: 17, entryPoint: 'pair', inputs: '[[1]]' };
    const pairExpected = await record(pair, 'def pair(x):\n    return (0.1 + 0.2, 1.0)\n');
    assert.deepEqual(verdicts(await judge(pair, pairExpected, 'def pair(x):\n    return (0.3, 1.0)\n')), ['pass']);
    assert.deepEqual(verdicts(await judge(pair, pairExpected, 'def pair(x):\n    return [0.3, 1.0]\n')), ['AssertionError'], 'a list is not the tuple expected');
    assert.deepEqual(verdicts(await judge(pair, pairExpected, 'def pair(x):\n    return (0.3, 1.0, 2.0)\n')), ['AssertionError']);
  });

  it("keeps EvalPlus's atol state: after a float output, 1e-6 holds for the inputs after it", async () => {
    const identity = 'def f(x):\n    return x\n';
    const nudged = 'def f(x):\n    return x if isinstance(x, float) else [x[0], x[1] + 1e-9]\n';
    const floatFirst = { taskId: 17, entryPoint: 'f', inputs: '[[0.5], [[1, 2.0]]]' };
    assert.deepEqual(verdicts(await judge(floatFirst, await record(floatFirst, identity), nudged)), ['pass', 'pass']);
    const mixedFirst = { taskId: 17, entryPoint: 'f', inputs: '[[[1, 2.0]], [0.5]]' };
    assert.deepEqual(verdicts(await judge(mixedFirst, await record(mixedFirst, identity), nudged)), ['AssertionError', 'pass'], '[1, 2.0] is not all floats: no tolerance yet');
  });
});

describe('MBPP+ judging: inputs, suites and limits', () => {
  const triple = { taskId: 6, entryPoint: 'triple', inputs: '[[1], [2], [3]]' };
  const canonical = 'def triple(n):\n    return 3 * n\n';

  it('stops at the first failing input by default (fast_check); --test-details judges them all', async () => {
    const expected = await record(triple, canonical);
    const wrongOnTwo = 'def triple(n):\n    return 0 if n == 2 else 3 * n\n';
    const fast = await judge(triple, expected, wrongOnTwo, { stopAtFirstFailure: true });
    assert.deepEqual(verdicts(fast), ['pass', 'AssertionError', 'Skipped']);
    assert.equal(fast[2]!.message, 'not run: input 1 failed');
    assert.deepEqual(verdicts(await judge(triple, expected, wrongOnTwo)), ['pass', 'AssertionError', 'pass']);
    const loops = 'def triple(n):\n    while n == 1:\n        pass\n    return 3 * n\n';
    assert.deepEqual(verdicts(await judge(triple, expected, loops, {}, [1, 1, 1])), ['Timeout', 'pass', 'pass'], 'in detail, inputs after a timeout still run');
  });

  it('fails every input of a program without the entry point, or one that does not load', async () => {
    const expected = await record(triple, canonical);
    const missing = await judge(triple, expected, 'def twice(n):\n    return 2 * n\n');
    assert.deepEqual(verdicts(missing), ['ProgramError', 'ProgramError', 'ProgramError']);
    assert.match(missing[0]!.message!, /NameError: name 'triple' is not defined/);
    assert.deepEqual(verdicts(await judge(triple, expected, 'def triple(n) return n\n')), ['ProgramError', 'ProgramError', 'ProgramError']);
  });

  it('calls on a deep copy of each input: a program that mutates its argument sees a fresh one next time', async () => {
    const suite = { taskId: 6, entryPoint: 'total', inputs: '[[[1, 2]], [[3, 4]]]' };
    const expected = await record(suite, 'def total(xs):\n    return sum(xs)\n');
    const mutates = 'seen = []\ndef total(xs):\n    seen.append(xs)\n    s = sum(xs)\n    xs.append(100)\n    return s\n';
    assert.deepEqual(verdicts(await judge(suite, expected, mutates)), ['pass', 'pass']);
  });

  it('reads Infinity and NaN as floats; a NaN output never equals itself (as in EvalPlus)', async () => {
    const infinite = { taskId: 6, entryPoint: 'f', inputs: '[[Infinity], [-Infinity], [1e308]]' };
    const doubled = 'def f(x):\n    return x * 2\n';
    assert.deepEqual(verdicts(await judge(infinite, await record(infinite, doubled), doubled)), ['pass', 'pass', 'pass']);
    const nan = { taskId: 6, entryPoint: 'f', inputs: '[[NaN]]' };
    assert.deepEqual(verdicts(await judge(nan, await record(nan, 'def f(x):\n    return x\n'), 'def f(x):\n    return x\n')), ['AssertionError']);
  });

  it('an empty suite ({}) has no inputs and no verdicts', async () => {
    const empty = { taskId: 793, entryPoint: 'triple', inputs: '{}' };
    assert.deepEqual(await record(empty, canonical), []);
    assert.deepEqual(await judge(empty, [], canonical), []);
  });

  it("caps the whole suite's CPU (EvalPlus's per-task timeout, here in CPU seconds)", async () => {
    const suite = { taskId: 6, entryPoint: 'spin', inputs: '[[1], [2], [3], [4]]' };
    const expected = await record(suite, 'def spin(n):\n    return n\n');
    const slow = 'import time\ndef spin(n):\n    end = time.process_time() + 0.9\n    while time.process_time() < end:\n        pass\n    return n\n';
    const results = await judge(suite, expected, slow, { stopAtFirstFailure: true, totalCpuSeconds: 1 }, [1, 1, 1, 1]);
    assert.deepEqual(verdicts(results), ['pass', 'Timeout', 'Skipped', 'Skipped'], 'each input is under its own limit; the second passes the suite\'s');
    assert.equal(results[1]!.message, 'the suite exceeded its total CPU budget of 1 s');
  });

  it('records large outputs (hundreds of KB pickled) and judges against them', async () => {
    const suite = { taskId: 6, entryPoint: 'squares', inputs: '[[200000]]' };
    const code = 'def squares(n):\n    return [i * i for i in range(n)]\n';
    const expected = await record(suite, code);
    assert.ok(expected[0]!.length > 100_000, `output blob of ${expected[0]!.length} chars`);
    assert.deepEqual(verdicts(await judge(suite, expected, code)), ['pass']);
    assert.deepEqual(verdicts(await judge(suite, expected, 'def squares(n):\n    return [i * i for i in range(n - 1)]\n')), ['AssertionError']);
  });

  it('refuses, when recording, an output the judge could not read back (more than plain data)', async () => {
    const suite = { taskId: 6, entryPoint: 'f', inputs: '[[1], [2]]' };
    const outcome = await executor.execute({
      code: 'import fractions, datetime\ndef f(n):\n    return fractions.Fraction(n, 3) if n == 1 else datetime.date(2020, 1, n)\n',
      setupCode: '',
      tests: [],
      calls: calls(suite),
    });
    assert.deepEqual(verdicts(outcome.testResults), ['pass', 'UnreadableOutput']);
    assert.match(outcome.testResults[1]!.message!, /datetime\.date, which the judge does not read/);
    assert.equal(outcome.outputs![1], null);
  });

  it('refuses expected outputs that would make the judge load anything but plain data', async () => {
    // zlib(pickle(os.getcwd)): unpickling it would resolve posix.getcwd, a callable, in the trusted worker.
    const callable = 'eAFrYJkqwgABPawF+cWZFVN62NJTS5LLU6ZMnqIHAHf4CX8=';
    const one = { taskId: 6, entryPoint: 'triple', inputs: '[[1]]' };
    await assert.rejects(judge(one, [callable], canonical), /posix\.getcwd, which the judge does not read/);
    // The worker goes on judging after refusing a job.
    assert.deepEqual(verdicts(await judge(one, await record(one, canonical), canonical)), ['pass']);
  });
});
