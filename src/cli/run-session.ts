import { Subscription } from 'rxjs';
import { InputError } from '../errors.js';
import type { InferenceBackend, InferenceSession } from '../inference/backend.js';
import { errorCode } from '../io/atomic-file.js';
import { AutosaveWriter } from '../io/autosave-writer.js';
import { writeDataset } from '../io/dataset-writer.js';
import { OutputLock } from '../io/output-lock.js';
import { runIdOf } from '../io/run-store/run-identity.js';
import { openRun, runExists, type RunStore } from '../io/run-store/run-store.js';
import { assertPreflight, renderPreflightTable } from '../monitor/preflight.js';
import { createProgressDisplay, progressModeFor, type ProgressDisplay, type ProgressMode } from '../monitor/progress-display.js';
import { ResourceMonitor } from '../monitor/resource-monitor.js';
import { resourceLimitsFromGib } from '../monitor/resource-thresholds.js';
import { RunLogger } from '../monitor/run-logger.js';
import { collectVersions, type RunVersions } from '../monitor/run-versions.js';
import { ThroughputMeter } from '../monitor/throughput-meter.js';
import { describeHealth, NoHealthySessionError, type PoolHealthEvent } from '../operators/load-balance.js';
import { extractCode } from '../prompt/code-extraction.js';
import { recordKey, type GenerationResult, type Prompted } from '../records.js';
import { flakyCheckSeeds } from '../sandbox/flaky-check.js';
import type { ExecutorOptions, SandboxExecutor } from '../sandbox/sandbox-executor.js';
import type { TaskTimeLimits } from '../sandbox/time-limits.js';
import { buildPipeline } from '../streams/build-pipeline.js';
import { culpritRow, triageAfterCrashes } from '../streams/crash-triage.js';
import { DatasetSummary } from '../streams/dataset-summary.js';
import { RecordWindow } from '../streams/record-window.js';
import { describeError } from '../streams/result-rows.js';
import { runMetadata } from '../streams/run-metadata.js';
import { SessionHealth } from '../streams/session-health.js';
import type { OpenedBackend } from './backend-factory.js';
import { GracefulStop } from './graceful-stop.js';
import { preflightFor } from './preflight-plan.js';
import { RunFailure } from './run-failure.js';
import { RunActivations } from './run-activations.js';
import type { RunInputs } from './run-inputs.js';
import { runIdentityOf } from './run-identity-of.js';
import { executorOptionsOf, openExecutor } from './sandbox-probes.js';
import type { PlusJudging } from '../sandbox/plus-judging.js';
import { plusJudgingOf, timeLimitPolicyOf, timeLimitsOf } from './time-limits-of.js';
import { promptsToDo } from './run-work.js';

export type BuildMode = 'build' | 'evaluate' | 'retry-failed';

/** What a run works on and where its completions come from. */
export interface RunSource {
  inputs: RunInputs;
  /** Opens the run's backend; called once the preflight has passed. */
  openBackend: () => Promise<OpenedBackend>;
  /** Opens the sandbox: `createExecutor` with the run's flags, unless the caller brings its own (the scale benchmark). */
  openExecutor?: (options: ExecutorOptions) => Promise<SandboxExecutor>;
}

/** What a command hands the session: its source, and which of the run's records it does. */
export interface RunPlan extends RunSource {
  mode: BuildMode;
  /**
   * `unfinished`: the records the run has not finished yet (build, evaluate). `failed`: those and the ones that
   * failed; the run must already exist (retry-failed).
   */
  redo: 'unfinished' | 'failed';
}

/** How long in-flight records may finish after Ctrl+C before they are abandoned (redone on resume). */
const GRACE_MS = 30_000;

/** Exit code of a run stopped by a signal, as a shell reports Ctrl+C. */
const INTERRUPTED_EXIT = 130;

/**
 * Log events the progress display already shows, or the run's last line says (`fatal`); the console leaves them out
 * (the log file keeps them).
 */
const DISPLAYED_EVENTS: ReadonlySet<string> = new Set(['progress', 'checkpoint', 'autosave', 'statistics', 'fatal']);

/** How often memory and GPUs are sampled for the progress line and threshold warnings. */
const RESOURCE_SAMPLE_MS = 5_000;

/** What a session holds; `release` closes whichever of them were opened, in a safe order. */
interface Held {
  backend?: InferenceBackend;
  executor?: SandboxExecutor;
  lock?: OutputLock;
  store?: RunStore;
  logger?: RunLogger;
  monitor?: ResourceMonitor;
  activations?: RunActivations;
}

async function release(held: Held): Promise<void> {
  await Promise.allSettled([held.store?.close(), held.activations?.close(), held.backend?.close(), held.executor?.close(), held.monitor?.stop()]);
  // The lock goes last but for the log, so no other build can open the run while it is still being closed.
  await held.lock?.release();
  held.logger?.close();
}

/** The run's open resources. */
interface OpenedRun {
  opened: OpenedBackend;
  executor: SandboxExecutor;
  timeLimits: TaskTimeLimits;
  /** How MBPP+ records are judged; undefined when the run has none. */
  plusJudging: PlusJudging | undefined;
  store: RunStore;
  /** --capture-activations: the run's activation store. */
  activations: RunActivations | undefined;
  logger: RunLogger;
  /** A write outside the stream that failed (the log, an autosave): it ends the run as a failed journal write does. */
  failure: RunFailure;
  versions: RunVersions;
  /** Lines said before the run and kept in the metadata. */
  notices: string[];
}

/** How the run is shown and watched while it streams. */
interface RunWatch {
  display: ProgressDisplay;
  resources: ResourceMonitor;
  /** Warnings go to the log (file and console); `--json` consumers also get them as events on stdout. */
  warn: (event: string, message: string) => void;
  /** Which inference sessions are up, and the outages so far. */
  health: SessionHealth;
  /** Hears the pool's health events (loadBalance logs them itself). */
  onHealth: (event: PoolHealthEvent<InferenceSession>) => void;
}

/** Progress a resumed run starts from. */
interface Carried {
  done: number;
  correct: number;
  failed: number;
  ok: number;
}

/**
 * One run of `build`, `evaluate` or `retry-failed`: it opens the backend, the sandbox, the output lock, the run
 * store and the log (after the preflight), streams the records through the pipeline with progress, resource
 * warnings and Ctrl+C handling, assembles the dataset from the journal, and closes everything it opened.
 */
export class RunSession {
  private constructor(
    private readonly plan: RunPlan,
    private readonly run: OpenedRun,
    private readonly held: Held,
  ) {}

  /** Opens a session, runs it to its end and closes it; resolves to the exit code. */
  static async execute(plan: RunPlan): Promise<number> {
    const session = await RunSession.open(plan);
    try {
      return await session.stream();
    } finally {
      await release(session.held);
    }
  }

  /** Runs the preflight, then opens the run's resources; what was opened is closed again if a later step fails. */
  private static async open(plan: RunPlan): Promise<RunSession> {
    const { args, work, layout, location, template } = plan.inputs;
    const preflight = await preflightFor(args, work.records.length);
    if (!args.quiet && !args.json) process.stderr.write(`${renderPreflightTable(preflight.result.rows)}\n`);
    assertPreflight(preflight.result);
    const held: Held = {};
    try {
      const opened = await plan.openBackend();
      held.backend = opened.backend;
      const executor = await (plan.openExecutor ?? openExecutor)(executorOptionsOf(args, preflight.python?.executable));
      held.executor = executor;
      const notices = noticesOf(plan.inputs, opened, executor);
      const identity = runIdentityOf(
        args,
        location.sha256,
        plan.inputs.dataset,
        template.text,
        opened.backend,
        timeLimitPolicyOf(plan.inputs.hardening, executor.limits.cpuSeconds),
      );
      if (plan.redo === 'failed' && !(await runExists(layout, args.runId ?? runIdOf(identity)))) {
        throw new InputError(`retry-failed: no run with these settings in ${layout.datasetsDir}; run build first (same flags)`);
      }
      const lock = await OutputLock.acquire(layout.datasetsDir);
      held.lock = lock;
      if (lock.tookOverFrom !== undefined) notices.push(`took over the lock of an earlier run that is gone (pid ${lock.tookOverFrom})`);
      const store = await openRun({ layout, identity, fresh: args.fresh, runId: args.runId, total: work.samples.length });
      held.store = store;
      const activations = opened.capture && (await RunActivations.open(layout, store, opened.capture, args.activationDtype));
      held.activations = activations;
      const failure = new RunFailure();
      // --quiet shows only the summary; the log file still gets everything.
      const logger = new RunLogger({
        file: layout.logFile,
        consoleLevel: args.quiet ? 'error' : plan.inputs.consoleLevel,
        console: process.stderr,
        consoleOmits: DISPLAYED_EVENTS,
        onFileError: (error) => failure.report(error),
      });
      held.logger = logger;
      const versions = collectVersions();
      logger.start(
        { mode: plan.mode, run_id: store.runId, args: { ...args }, hardening: plan.inputs.hardening, backend: opened.backend.describe(), sandbox: executor.describe() },
        versions,
      );
      if (store.opening.resumed || store.opening.warnings.length > 0) logger.logger.info({ event: 'resume' }, store.opening.summary);
      const timeLimits = await timeLimitsOf(plan.inputs, executor, logger);
      const plusJudging = await plusJudgingOf(plan.inputs, executor, logger);
      return new RunSession(plan, { opened, executor, timeLimits, plusJudging, store, activations, logger, failure, versions, notices }, held);
    } catch (error) {
      await release(held);
      throw error;
    }
  }

  /** Streams the records still to do, then writes the dataset; resolves to the exit code. */
  private async stream(): Promise<number> {
    const { store } = this.run;
    const { template, work } = this.plan.inputs;
    const redoFailed = this.plan.redo === 'failed';
    const failedKeys = new Set(store.failedRecords().map((failed) => recordKey(failed.task_id, failed.sample_index)));
    const done = store.completedKeys();
    const skip = redoFailed ? new Set([...done].filter((key) => !failedKeys.has(key))) : done;
    const { labelled, toRun: items } = await this.triageAfterCrashes(promptsToDo(work, template, skip));
    const carried = this.carried(redoFailed);
    const watch = this.watch(redoFailed ? carried.done + items.length : work.samples.length, carried);
    watch.resources.start(RESOURCE_SAMPLE_MS);
    const { backend } = this.run.opened;
    watch.display.start({ run_id: store.runId, records: items.length, backend: backend.name, model: backend.model, sandbox: this.run.executor.isolation });
    for (const notice of this.run.notices) watch.warn('notice', notice);
    for (const warning of [...store.opening.warnings, ...(this.run.activations?.warnings ?? [])]) watch.warn('recovery', warning);
    for (const row of labelled) {
      watch.warn('crash', `task ${row.task_id} sample ${row.sample_index}: labelled Killed without running it again (its program brought the build down)`);
    }

    const { layout, hardening } = this.plan.inputs;
    const { logger, failure } = this.run;
    const autosaver = new AutosaveWriter({
      autosavesDir: layout.autosavesDir,
      runId: store.runId,
      journal: () => store.journalFile,
      keepLast: hardening.autosave_keep_last,
      redo: redoFailed ? [...failedKeys] : [],
      onSaved: (saved) => logger.autosave(saved.rows, saved.path),
      onError: (error) => failure.report(error),
    });
    const meter = new ThroughputMeter();
    meter.start();
    try {
      const ending = await this.pipe(items, watch, autosaver, meter);
      if (ending.stop.stopping || ending.fatal !== undefined) return await this.stopEarly(ending, watch, autosaver, meter);
      // The final dataset supersedes the autosaves: one still being written is dropped, not waited for.
      await autosaver.close();
      return await this.finish(watch, meter);
    } finally {
      await autosaver.close();
    }
  }

  /**
   * Journals the rows of records whose program brought the build down in earlier attempts (labelled, not run
   * again) and returns the other records to do, those in the sandbox at a crash first.
   */
  private async triageAfterCrashes(items: Prompted[]): Promise<{ labelled: GenerationResult[]; toRun: Prompted[] }> {
    const { store, opened } = this.run;
    const findings = { suspects: store.crashSuspects(), culprits: store.crashCulprits() };
    const challengeTests = this.plan.inputs.args.challengeTests;
    const triage = triageAfterCrashes(items, findings, (item, program) => culpritRow(item, program, opened.backend, challengeTests));
    for (const row of triage.labelled) await store.append(row);
    return triage;
  }

  /** What a resumed run already has, for the progress counters (failed records are redone by retry-failed). */
  private carried(redoFailed: boolean): Carried {
    const { done, ok, failed, correct } = this.run.store.counts();
    return redoFailed ? { done: ok, correct, failed: 0, ok } : { done, correct, failed, ok };
  }

  private watch(total: number, carried: Carried): RunWatch {
    const { args, hardening } = this.plan.inputs;
    const { logger } = this.run;
    const progressMode: ProgressMode = progressModeFor({ json: args.json, quiet: args.quiet, isTTY: process.stderr.isTTY, columns: process.stderr.columns });
    const resources = new ResourceMonitor({
      limits: resourceLimitsFromGib(hardening.max_memory_usage_gb, hardening.max_gpu_memory_usage_gb),
      onWarning: (warning) => {
        logger.resourceWarning(warning);
        if (progressMode === 'json') display.warning(warning.message);
      },
    });
    this.held.monitor = resources;
    const health = new SessionHealth(this.run.opened.backend.sessions.length);
    const display = createProgressDisplay({
      mode: progressMode,
      stream: args.json ? process.stdout : process.stderr,
      total,
      resumed: { done: carried.done, passed: carried.correct, wrong: carried.ok - carried.correct, failed: carried.failed },
      every: hardening.progress_log_frequency,
      resources: () => resources.latest,
      sessions: () => health,
    });
    const warn = (event: string, message: string): void => {
      logger.logger.warn({ event }, message);
      if (progressMode === 'json') display.warning(message);
    };
    const onHealth = (event: PoolHealthEvent<InferenceSession>): void => {
      health.observe(event);
      if (progressMode === 'json' && event.kind !== 'probe-failed') display.warning(describeHealth(event));
    };
    return { display, resources, warn, health, onHealth };
  }

  /** Runs the pipeline until it ends, a signal stops it, or an error no retry could fix ends it. */
  private async pipe(items: Prompted[], watch: RunWatch, autosaver: AutosaveWriter, meter: ThroughputMeter): Promise<{ stop: GracefulStop; fatal: unknown }> {
    const { store, logger, executor, opened } = this.run;
    const { args, hardening, work } = this.plan.inputs;
    const { display, resources, warn, health } = watch;
    let subscription = new Subscription();
    const stop = new GracefulStop({
      graceMs: GRACE_MS,
      onStopping: (signal) => {
        if (health.up === 0) {
          // Nothing can start until a session comes back; records in the sandbox are redone on resume.
          warn('stopping', `${signal}: no inference session is up, so no record can go on; stopping now`);
          subscription.unsubscribe();
          return;
        }
        warn('stopping', `${signal}: no new records start; waiting up to ${GRACE_MS / 1000}s for those in flight (again to exit now)`);
      },
      onAbandon: () => {
        warn('abandon', `the ${GRACE_MS / 1000}s grace period ran out: the records still in flight are left for the resume`);
        subscription.unsubscribe();
      },
    }).install();
    /** What ended the run early: a signal, or an error no retry could fix (every session out of rotation, a full disk…). */
    let fatal: unknown;
    // Twice what the sessions and the sandbox work on at once: enough that neither waits, not the whole to-do list.
    const inFlight = opened.backend.sessions.reduce((sum, session) => sum + session.concurrency, 0) + executor.parallelism;
    const window = new RecordWindow(items, 2 * inFlight);
    // Shown as soon as they are durable, not at the end of the stream: a stop that cuts the stream after the append
    // must not leave the display (and the exit message) a record behind the journal.
    const journal = async (rows: readonly GenerationResult[]): Promise<void> => {
      for (const row of rows) await this.run.activations?.record(row);
      await store.appendAll(rows);
      for (const row of rows) {
        window.release();
        meter.record(row);
        display.record(row);
        if (row.status === 'failed') logger.failure(row, row.attempts, row.error);
      }
    };
    try {
      await new Promise<void>((resolve, reject) => {
        subscription = window.records$
          .pipe(
            buildPipeline({
              backend: opened.backend,
              executor,
              extractCode,
              hardening,
              store: {
                append: (row) => journal([row]),
                // Records that finish close together share one write and one sync of the journal.
                appendAll: journal,
                checkpoint: async (count) => {
                  await store.checkpoint(count);
                  display.checkpoint(count);
                  logger.checkpoint(count);
                },
              },
              // Returns at once: the autosave is written beside the stream, not in its way.
              autosave: autosaver,
              challengeTests: args.challengeTests,
              flakySeeds: flakyCheckSeeds(args.hashSeed, args.flakyCheck),
              cpuLimits: (record) => this.run.timeLimits.for(record, args.challengeTests),
              plusSuites: (record) => this.run.plusJudging?.suitesFor(record),
              memoryCleanup: opened.memoryCleanup,
              enterSandbox: (generated) => {
                try {
                  return store.enterSandbox(generated);
                } catch (error) {
                  // A note that cannot be written (a full disk) ends the run, rather than failing records one by one.
                  this.run.failure.report(error);
                  throw error;
                }
              },
              generating: (session) => meter.generating(session.id),
              judgeAlone: store.crashSuspects(),
              total: work.samples.length,
              stopping: () => stop.stopping,
              onRetry: ({ error, attempt, delayMs, stage }) =>
                logger.logger.info({ event: 'retry', stage, attempt, delay_ms: delayMs, error: String(error) }, `retry ${stage}`),
              onProgress: (progress) =>
                logger.progress(
                  { ...progress },
                  { recordsPerSecond: progress.ratePerSecond ?? 0, etaSeconds: progress.etaMs === null ? null : progress.etaMs / 1000 },
                  resources.latest?.memory.rssBytes,
                ),
              onHealth: watch.onHealth,
              logger: logger.logger,
            }),
          )
          .subscribe({ complete: resolve, error: reject });
        subscription.add(resolve);
        this.run.failure.onReport((error) => {
          reject(error);
          subscription.unsubscribe();
        });
      });
    } catch (error) {
      fatal = error;
    } finally {
      stop.uninstall();
    }
    return { stop, fatal };
  }

  /**
   * A signal or a fatal error: every finished record is in the journal; make the stop point quick to resume with a
   * checkpoint and an autosave where the disk still takes them, and say in one line why the run stopped.
   */
  private async stopEarly(
    { stop, fatal }: { stop: GracefulStop; fatal: unknown },
    watch: RunWatch,
    autosaver: AutosaveWriter,
    meter: ThroughputMeter,
  ): Promise<number> {
    const { store, logger } = this.run;
    // The message gives the display's counts, so it agrees with the summary above it; the checkpoint takes the
    // journal's, which with retry-failed also holds the failed records still to redo.
    const { done, total } = watch.display.counts;
    const journaled = store.counts().done;
    const why =
      fatal === undefined
        ? `stopped by ${stop.receivedSignal}`
        : fatal instanceof NoHealthySessionError && fatal.waitedMs !== null
          ? `stopped: ${fatal.message} (--max-outage sets how long to wait)`
          : isDiskFull(fatal)
            ? `stopped: the disk is full (${messageOf(fatal)})`
            : `stopped by an error: ${describeError(fatal)}`;
    if (fatal !== undefined) logger.logger.error({ event: 'fatal', err: fatal }, why);
    const unsaved = [
      ...(await failureOf(() => store.checkpoint(journaled)).then((error) => (error === undefined ? [] : [`checkpoint (${messageOf(error)})`]))),
      ...(await failureOf(() => autosaver.flush()).then((error) => (error === undefined ? [] : [`autosave (${messageOf(error)})`]))),
    ];
    watch.display.finish({ throughput: meter.throughput() });
    const saved =
      unsaved.length === 0
        ? 'journal, checkpoint and autosave saved'
        : `every finished record is in the journal; not written: ${unsaved.join(', ')}${isDiskFull(fatal) ? '; free some space first' : ''}`;
    process.stderr.write(`${why}: ${done}/${total} done, ${saved}. Resume with the same command: mbpp-stream ${process.argv.slice(2).join(' ')}\n`);
    return fatal === undefined ? INTERRUPTED_EXIT : 1;
  }

  /**
   * Every record is done: the dataset (streamed from the journal a batch at a time, summed up for the metadata on
   * the way), its metadata and the run's end. A dataset that cannot be written (a full disk) is said in one line;
   * the journal keeps every record, so the same command writes it once there is room.
   */
  private async finish(watch: RunWatch, meter: ThroughputMeter): Promise<number> {
    const { store, logger, opened, executor, versions, notices } = this.run;
    const { args, location, work, hardening, template, layout } = this.plan.inputs;
    await watch.resources.stop();
    const throughput = meter.throughput();
    const summary = new DatasetSummary();
    async function* rows() {
      for await (const batch of store.results()) {
        summary.add(batch);
        yield batch;
      }
    }
    const metadataOf = () =>
      runMetadata({
        mode: this.plan.mode,
        runId: store.runId,
        identity: store.identity,
        location,
        selection: { split: args.split, start: args.start ?? null, end: args.end ?? null, test_run: args.testRun, records: work.records.length },
        samples: work.samplesPerProblem,
        backend: opened.backend,
        executor,
        timeLimits: {
          ...this.run.timeLimits.describe(work.records, args.challengeTests),
          ...(this.run.plusJudging ? { mbpp_plus: this.run.plusJudging.describe() } : {}),
        },
        hardening,
        template,
        summary,
        failed: store.failedRecords(),
        broughtTheBuildDown: store.crashCulprits(),
        missingTaskIds: opened.missingTaskIds,
        notices,
        versions,
        resumes: store.opening.resumes,
        peaks: watch.resources.peaks,
        outages: watch.health.outages(),
        throughput,
      });
    let metadata: ReturnType<typeof metadataOf> | undefined;
    const { activations } = this.run;
    let written: Awaited<ReturnType<typeof writeDataset>>;
    try {
      written = await writeDataset(layout, rows(), () => {
        metadata = metadataOf();
        return activations ? { ...metadata, activations: activations.describe() } : metadata;
      });
      await store.markFinished();
    } catch (error) {
      if (errorCode(error) === undefined) throw error;
      const why = isDiskFull(error) ? `the disk is full (${messageOf(error)})` : messageOf(error);
      logger.logger.error({ event: 'fatal', err: error }, `could not write the dataset: ${why}`);
      watch.display.finish({ throughput });
      process.stderr.write(
        `stopped: could not write the dataset: ${why}. Every record is in the journal; once there is room, the same command writes it: ` +
          `mbpp-stream ${process.argv.slice(2).join(' ')}\n`,
      );
      return 1;
    }
    logger.statistics(metadata!.statistics);
    watch.display.finish({ output: written.parquet, statistics: metadata!.statistics, throughput });
    return 0;
  }
}

/** A full disk or quota: the one failure the user fixes by making room, then resuming. */
function isDiskFull(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs `work`; resolves to what it threw, or undefined when it succeeded. */
async function failureOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return error ?? new Error('failed');
  }
}

/** What the run says before it starts: fallbacks in use, backend and sandbox notices, generations it lacks. */
function noticesOf(inputs: RunInputs, opened: OpenedBackend, executor: SandboxExecutor): string[] {
  const { location } = inputs;
  const missing = opened.missingTaskIds;
  return [
    ...(location.bundledSample
      ? [`dataset: no MBPP file found${location.fallbackReason ? ` (${location.fallbackReason})` : ''}; --test-run uses the bundled sample ${location.path}, not MBPP`]
      : []),
    ...opened.notices,
    ...executor.warnings,
    ...(missing.length > 0
      ? [`--generations has nothing for ${missing.length} selected task(s): ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}; they will be failed records`]
      : []),
  ];
}
