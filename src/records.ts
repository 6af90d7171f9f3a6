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
