/**
 * The record and result types every layer shares. A record's trip:
 * `MbppRecord` (source) -> `Prompted` -> `Generated` -> `Executed` -> `GenerationResult` (journal, Parquet).
 */

/** The MBPP splits as the dataset defines them, by task_id. */
export type Split = 'prompt' | 'test' | 'validation' | 'train';

/** One problem as in the original google-research JSONL. */
export interface MbppRecord {
  task_id: number;
  text: string;
  /** The reference solution. */
  code: string;
  test_setup_code: string;
  test_list: string[];
  challenge_test_list: string[];
  /**
   * The problem's MBPP+ (EvalPlus) side, when the dataset is MBPP+: judged by calling `entry_point` on each input
   * and comparing with the canonical solution's output, base inputs and plus inputs each as their own program.
   * An MBPP+ record without the original MBPP file joined has no asserts (`test_list` is empty).
   */
  plus?: PlusTask;
}

/** One MBPP+ task as EvalPlus's `MbppPlus-*.jsonl` gives it. */
export interface PlusTask {
  /** EvalPlus's id, `Mbpp/<task_id>`. */
  evalplus_id: string;
  entry_point: string;
  /** The MBPP+ prompt: a docstring with the problem and one assert. */
  prompt: string;
  canonical_solution: string;
  /**
   * The inputs as the file writes them: Python's JSON text of a list of argument lists (it may hold `Infinity`,
   * `NaN` and integers past 2^53, so only Python parses it). `{}` stands for no inputs (Mbpp/793's plus inputs).
   */
  base_input: string;
  plus_input: string;
  /** How many inputs each holds. */
  base_count: number;
  plus_count: number;
  /** Absolute tolerance for float outputs (0: EvalPlus's 1e-6 applies to float outputs). */
  atol: number;
}

/** The two MBPP+ suites of a problem, judged as two programs (as EvalPlus does). */
export type PlusSuite = 'base' | 'plus';

/** MBPP+ verdicts of one program: one per input of each suite (`Skipped` after the first failure, by default). */
export interface PlusResults {
  base: TestResult[];
  plus: TestResult[];
}

/** A problem with the split it belongs to, as the source emits it. */
export interface SourcedRecord extends MbppRecord {
  split: Split;
}

/** A unit of work: one sample of one problem, with its prompt. */
export interface Prompted {
  record: SourcedRecord;
  /** 0 unless several samples per problem are drawn (`--samples N`). */
  sampleIndex: number;
  prompt: string;
}

/** What a backend returns for one prompt. */
export interface Completion {
  /** Raw model text (or the code itself for backends that return code). */
  text: string;
  /** Set when the backend already returns runnable code: extraction is skipped. */
  code?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** 'stop' | 'length' | 'eos' | 'aborted' | backend-specific. */
  finishReason?: string;
  /** Which session (device, endpoint) produced it. */
  sessionId?: string;
}

export interface Generated extends Prompted {
  completion: Completion;
  generatedCode: string;
  /** Seconds spent in the backend. */
  generationTime: number;
}

/**
 * One test's verdict. `error_type` is null on a pass; otherwise one of the verdict kinds below,
 * or the Python exception type name for `exception`.
 */
export interface TestResult {
  passed: boolean;
  /** null | 'AssertionError' | <ExceptionType> | 'Timeout' | 'OutOfMemory' | 'Killed' | 'ProgramError' | 'Skipped' (not run: an earlier test timed out) */
  error_type: string | null;
  message: string | null;
}

/** One hash seed's outcome in a flaky check (`--flaky-check K`). */
export interface SeedOutcome {
  hash_seed: number;
  passed_tests: number;
  is_correct: boolean;
}

/** A program judged under several hash seeds: whether its verdicts differed, and each seed's outcome. */
export interface FlakyCheck {
  /** True when some test's verdict differs between seeds. */
  flaky: boolean;
  /** The run's own seed first. */
  seeds: SeedOutcome[];
}

export interface Executed extends Generated {
  testResults: TestResult[];
  /** Set when the program was judged under several hash seeds. */
  flakyCheck?: FlakyCheck;
  /** Results of `challenge_test_list`, when requested. */
  challengeResults?: TestResult[];
  /** MBPP+ verdicts, for MBPP+ records. */
  plusResults?: PlusResults;
  /** Seconds spent executing. */
  executionTime: number;
}

/** How a record ended: `ok` means it was generated and judged (right or wrong); `failed` means it could not be. */
export type RecordStatus = 'ok' | 'failed';

/** One row of the dataset. Column names keep the original pipeline's where it had them. */
export interface GenerationResult {
  task_id: number;
  sample_index: number;
  split: Split;
  text: string;
  reference_code: string;
  test_list: string[];
  test_setup_code: string;
  prompt: string;
  model: string;
  backend: string;
  raw_completion: string;
  generated_code: string;
  /**
   * `passed_tests`, `total_tests`, `test_errors`, `test_results` and `is_correct` are the run's headline label: the
   * asserts of `test_list`; in an MBPP+ run without the original asserts, the base then plus inputs (so `is_correct`
   * is `is_correct_plus` there).
   */
  passed_tests: number;
  total_tests: number;
  /** Human-readable error per failed test, as the original. */
  test_errors: string[];
  test_results: TestResult[];
  challenge_test_results: TestResult[] | null;
  is_correct: boolean;
  /** Whether the verdicts differed across the hash seeds of a flaky check; null when none was run. `is_correct` is the run's own seed's. */
  flaky: boolean | null;
  /** Each seed's outcome in the flaky check, the run's own seed first; null when none was run. */
  flaky_check: SeedOutcome[] | null;
  /** MBPP+ base label: every base input passes. Null for records without MBPP+ inputs (and failed records). */
  is_correct_base: boolean | null;
  /** MBPP+ plus label, as EvalPlus reports it: base and plus inputs all pass. Null as `is_correct_base`. */
  is_correct_plus: boolean | null;
  base_passed: number | null;
  base_total: number | null;
  plus_passed: number | null;
  plus_total: number | null;
  /** Per-input verdicts of the base and plus inputs. */
  base_test_results: TestResult[] | null;
  plus_test_results: TestResult[] | null;
  /** The first failing input of each suite, as `input N: <error_type>: <message>`; null when all passed or not judged. */
  base_first_failure: string | null;
  plus_first_failure: string | null;
  generation_time: number;
  execution_time: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  finish_reason: string | null;
  /** The inference session (device, endpoint) that produced the completion. */
  session_id: string | null;
  attempts: number;
  status: RecordStatus;
  error: string | null;
}

/** A record key that is unique within a run: one sample of one task. */
export function recordKey(taskId: number, sampleIndex: number): string {
  return `${taskId}:${sampleIndex}`;
}
