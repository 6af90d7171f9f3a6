import type { FlakyCheck, TestResult } from '../records.js';

/** A program to judge: the generated code, the problem's setup code, and its assert-tests. */
export interface ExecutionRequest {
  code: string;
  setupCode: string;
  tests: string[];
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
