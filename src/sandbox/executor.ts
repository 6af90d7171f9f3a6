import type { FlakyCheck, PlusResults, TestResult } from '../records.js';

/**
 * MBPP+ inputs to judge instead of assert-tests: the program's `entryPoint` is called on a deep copy of each input in
 * turn, in one process, and each output compared with the expected one by EvalPlus's rules. Without `expected` the
 * outputs are recorded instead (the canonical solution's run that makes the ground truth).
 */
export interface CallSuite {
  /** Selects EvalPlus's per-task input deserialisation (JSON lists to tuples, sets, complex numbers). */
  taskId: number;
  entryPoint: string;
  /** Python's JSON text of the list of argument lists (`{}`: none). */
  inputs: string;
  /** How many inputs `inputs` holds (the worker checks). */
  count: number;
  /** One expected output per input, each a base64 pickle as `outputs` returns them; absent to record outputs. */
  expected?: string[];
  /** EvalPlus's atol for the task. */
  atol: number;
  /** EvalPlus's fast_check: the first failing input ends the suite and the rest are `Skipped`. */
  stopAtFirstFailure: boolean;
  /** CPU seconds the whole suite may use (EvalPlus caps a task at 60 s); the input running past it times out. */
  totalCpuSeconds?: number;
  /** Address space the program may use, when more than the sandbox's own limit (EvalPlus gives 4 GiB). */
  memoryMb?: number;
}

/** One MBPP+ suite to judge, with each input's CPU limit. */
export interface JudgedSuite {
  calls: CallSuite;
  cpuLimits: number[];
}

/** A problem's two MBPP+ suites, judged as two programs (as EvalPlus does: base, then plus). */
export interface PlusSuites {
  base: JudgedSuite;
  plus: JudgedSuite;
}

/** A program to judge: the generated code, the problem's setup code, and its assert-tests. */
export interface ExecutionRequest {
  code: string;
  setupCode: string;
  /** The assert-tests; ignored when `calls` is given. */
  tests: string[];
  /** Judge (or record) MBPP+ inputs instead of tests: one verdict per input. */
  calls?: CallSuite;
  /** Judge the program's MBPP+ suites too (with `withPlusSuites`): the outcome gets `plusResults`. */
  plusSuites?: PlusSuites;
  /** Judged separately, only when given (`--challenge-tests`). */
  challengeTests?: string[];
  /** Whole CPU seconds each test (then each challenge test) may use; the executor's `cpuSeconds` when absent. */
  cpuLimits?: number[];
  /** Judge under this string-hash seed instead of the executor's own (a flaky check). */
  hashSeed?: number;
  /** Aborting kills the program's whole process tree. */
  signal?: AbortSignal;
}

export interface ExecutionOutcome {
  /** One verdict per entry of `tests`, in order. */
  testResults: TestResult[];
  challengeResults?: TestResult[];
  /** Set when the program was judged under several hash seeds (`judgeWithFlakyCheck`). */
  flakyCheck?: FlakyCheck;
  /** CPU seconds each test (then each challenge test) took; null where the test did not end on its own. */
  testCpuSeconds?: (number | null)[];
  /** A recording `calls` suite's outputs, one base64 pickle per input; null where the call did not return. */
  outputs?: (string | null)[];
  /** MBPP+ verdicts, when the record has MBPP+ inputs (set by the MBPP+ judge, not by a single executor call). */
  plusResults?: PlusResults;
  /** Wall seconds for the whole program. */
  executionTime: number;
}

/** Isolation in force: `bwrap` (namespaces), `rlimit` (process limits only), `none` (explicitly unsafe). */
export type IsolationLevel = 'bwrap' | 'rlimit' | 'none';

/** Runs untrusted Python against its tests. Implementations must never let the program affect the caller. */
export interface CodeExecutor {
  readonly isolation: IsolationLevel;
  /** Number of programs it runs in parallel. */
  readonly parallelism: number;
  execute(request: ExecutionRequest): Promise<ExecutionOutcome>;
  close(): Promise<void>;
}
