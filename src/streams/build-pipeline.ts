import { defer, EMPTY, finalize, from, map, mergeMap, of, pipe, tap, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { HardeningConfig } from '../config.js';
import type { InferenceBackend, InferenceSession } from '../inference/backend.js';
import {
  abortable,
  autosaveEvery,
  checkpointEvery,
  gcEvery,
  loadBalance,
  memoryCleanupEvery,
  progressEvery,
  retryWithBackoff,
  timeoutPerRecord,
  type AutosaveSink,
  type CheckpointStore,
  type OperatorLogger,
  type PoolHealthEvent,
  type Progress,
  type ProgressCounts,
  type RetryNotice,
} from '../operators/index.js';
import type { PromptTemplate } from '../prompt/prompt-template.js';
import { recordKey, type Completion, type GenerationResult, type Generated, type Prompted, type SourcedRecord } from '../records.js';
import type { CodeExecutor, ExecutionRequest, PlusSuites } from '../sandbox/executor.js';
import { judgeWithFlakyCheck } from '../sandbox/flaky-check.js';
import { withPlusSuites } from '../sandbox/plus-executor.js';
import { JudgeAloneGate } from './judge-alone-gate.js';
import { failedRow, judgedRow } from './result-rows.js';

/** The parts and settings of the standard build pipeline. */
export interface BuildPipelineConfig {
  backend: InferenceBackend;
  executor: CodeExecutor;
  /** Turns a completion into runnable code (skipped when the backend returns code). */
  extractCode: (completion: string) => string;
  hardening: HardeningConfig;
  /** Makes each finished record durable (the run's journal) and takes checkpoints. */
  store: CheckpointStore<GenerationResult>;
  autosave?: AutosaveSink;
  /** Run the problems' `challenge_test_list` too. */
  challengeTests?: boolean;
  /** Each test's (then each challenge test's) CPU limit for a record's program; the executor's default when absent. */
  cpuLimits?: (record: SourcedRecord) => number[];
  /** A record's MBPP+ suites to judge beside its asserts (undefined: none). */
  plusSuites?: (record: SourcedRecord) => PlusSuites | undefined;
  /** Hash seeds to judge each program under, the executor's own first (`flakyCheckSeeds`); two or more run a flaky check. */
  flakySeeds?: readonly number[];
  /** Releases or trims idle inference sessions every `memory_cleanup_frequency` records. */
  memoryCleanup?: () => Promise<unknown>;
  /**
   * Notes that a program goes into the sandbox, in a way that outlives this process being killed by it; the
   * returned function notes that it came out. So a program that brings the build down is found on resume.
   */
  enterSandbox?: (generated: Generated) => () => void;
  /** Notes that a session starts generating a record; the returned function notes that it stopped (session utilization). */
  generating?: (session: InferenceSession) => () => void;
  /** `recordKey`s of records in the sandbox at an earlier crash: judged one at a time before others run beside them. */
  judgeAlone?: Iterable<string>;
  /** Records the whole run must finish (for progress), and what a resumed run had already. */
  total: number;
  initial?: Partial<ProgressCounts>;
  /** While true, no new record starts: in-flight ones finish, the rest is left for a resume. */
  stopping?: () => boolean;
  onProgress?: (progress: Progress) => void;
  onRetry?: (notice: RetryNotice & { stage: 'generation' | 'execution' }) => void;
  /** Sessions going out of and back into rotation, and the whole pool going down and up. */
  onHealth?: (event: PoolHealthEvent<InferenceSession>) => void;
  logger?: OperatorLogger;
  scheduler?: SchedulerLike;
}

/** One sample of each selected problem, with its prompt, minus the ones a resumed run already has. */
export function promptedItems(
  records: readonly SourcedRecord[],
  template: PromptTemplate,
  samples: number,
  done: ReadonlySet<string> = new Set(),
): Prompted[] {
  return records.flatMap((record) => {
    const prompt = template.render(record);
    return Array.from({ length: samples }, (_, sampleIndex) => ({ record, sampleIndex, prompt })).filter(
      (item) => !done.has(recordKey(record.task_id, item.sampleIndex)),
    );
  });
}

type GenerationOutcome = { generated: Generated; attempts: number } | { failed: GenerationResult };

/**
 * source -> loadBalance(sessions, generate) -> execute (in parallel with inference) -> journal/checkpoint ->
 * autosave -> gc -> memory cleanup -> progress. Each record ends as exactly one row: judged, or failed after its
 * retries (the stream goes on). Rows come out in finishing order; the final dataset is sorted from the journal.
 */
export function buildPipeline(config: BuildPipelineConfig): OperatorFunction<Prompted, GenerationResult> {
  const { backend, hardening, scheduler } = config;
  const executor = withPlusSuites(config.executor);
  const timeoutMs = hardening.timeout_per_record * 1000;
  const retry = { maxRetries: hardening.max_retries, backoff: hardening.retry_backoff * 1000, scheduler };
  const stopping = config.stopping ?? (() => false);
  const flakySeeds = config.flakySeeds ?? [];
  const gate = new JudgeAloneGate(config.judgeAlone ?? []);

  const generate = (item: Prompted, session: InferenceSession, attempt: number): Observable<GenerationOutcome> => {
    if (stopping()) return EMPTY;
    const started = performance.now();
    return defer(() => {
      const stopped = config.generating?.(session);
      return abortable((signal) => session.generate({ item, signal })).pipe(finalize(() => stopped?.()));
    }).pipe(
      timeoutPerRecord<Completion>(timeoutMs, { scheduler }),
      map((completion) => ({
        generated: {
          ...item,
          completion,
          generatedCode: completion.code ?? config.extractCode(completion.text),
          generationTime: (performance.now() - started) / 1000,
        },
        attempts: attempt,
      })),
    );
  };

  const execute = ({ generated, attempts }: { generated: Generated; attempts: number }): Observable<GenerationResult> => {
    let executions = 0;
    const { record } = generated;
    return defer(() => {
      executions += 1;
      const leaveSandbox = config.enterSandbox?.(generated);
      return abortable((signal) => {
        const request: ExecutionRequest = {
          code: generated.generatedCode,
          setupCode: record.test_setup_code,
          tests: record.test_list,
          challengeTests: config.challengeTests ? record.challenge_test_list : undefined,
          cpuLimits: config.cpuLimits?.(record),
          plusSuites: config.plusSuites?.(record),
          signal,
        };
        return flakySeeds.length > 1 ? judgeWithFlakyCheck(executor, request, flakySeeds) : executor.execute(request);
      }).pipe(finalize(() => leaveSandbox?.()));
    }).pipe(
      timeoutPerRecord(timeoutMs, { scheduler }),
      map((outcome) => judgedRow({ ...generated, ...outcome }, backend.model, backend.name, attempts + executions - 1)),
      retryWithBackoff({
        ...retry,
        retryable: () => true,
        onRetry: (notice) => config.onRetry?.({ ...notice, stage: 'execution' }),
        fallback: (error, tries) =>
          failedRow(generated, backend.model, backend.name, error, attempts + tries - 1, {
            rawCompletion: generated.completion.text,
            generatedCode: generated.generatedCode,
            generationTime: generated.generationTime,
          }),
      }),
    );
  };

  return pipe(
    loadBalance(backend.sessions, generate, {
      retry: { ...retry, onRetry: (notice) => config.onRetry?.({ ...notice, stage: 'generation' }) },
      fallback: (item, error, attempts): GenerationOutcome => ({
        failed: failedRow(item, backend.model, backend.name, error, attempts),
      }),
      maxOutage: hardening.max_outage * 1000,
      onHealth: config.onHealth,
      logger: config.logger,
    }),
    // A generated record waiting for an executor slot when a stop comes is left for the resume, like one never started.
    mergeMap((outcome) => {
      if ('failed' in outcome) {
        gate.settle(recordKey(outcome.failed.task_id, outcome.failed.sample_index));
        return of(outcome.failed);
      }
      const key = recordKey(outcome.generated.record.task_id, outcome.generated.sampleIndex);
      return gate.inTurn(key, defer(() => (stopping() ? EMPTY : execute(outcome))));
    }, executor.parallelism),
    checkpointEvery(hardening.checkpoint_frequency, config.store),
    tap((row) => {
      // The failed row is journaled first, so `retry-failed` can redo it after the user fixes the cause.
      if (row.status === 'failed' && !hardening.continue_on_error) {
        throw new Error(`record ${row.task_id} failed and continue_on_error is false: ${row.error}`);
      }
    }),
    config.autosave
      ? autosaveEvery(hardening.autosave_frequency, config.autosave, { minIntervalMs: hardening.autosave_min_seconds * 1000, scheduler })
      : tap(),
    gcEvery(hardening.gc_collect_frequency, { logger: config.logger }),
    config.memoryCleanup
      ? memoryCleanupEvery(hardening.memory_cleanup_frequency, () => from(config.memoryCleanup!()), { logger: config.logger })
      : tap(),
    progressEvery(hardening.progress_log_frequency, {
      total: config.total,
      initial: config.initial,
      outcome: (row) => (row.status === 'failed' ? 'failed' : row.is_correct ? 'passed' : 'wrong'),
      retries: (row) => Math.max(0, row.attempts - 1),
      onProgress: config.onProgress,
      scheduler,
    }),
  );
}
