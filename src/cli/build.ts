import { from, Subscription, tap } from 'rxjs';
import { DEFAULT_HARDENING_CONFIG, loadHardeningConfig, mergeHardeningConfig, type HardeningConfig } from '../config.js';
import { InputError } from '../errors.js';
import { AutosaveWriter } from '../io/autosave-writer.js';
import { locateDataset } from '../io/dataset-location.js';
import { writeDataset } from '../io/dataset-writer.js';
import { loadMbpp, selectRecords } from '../io/mbpp-source.js';
import { OutputLayout } from '../io/output-layout.js';
import { OutputLock } from '../io/output-lock.js';
import { runIdOf } from '../io/run-store/run-identity.js';
import { openRun, runExists, type RunStore } from '../io/run-store/run-store.js';
import { assertPreflight, renderPreflightTable } from '../monitor/preflight.js';
import { createProgressDisplay, progressModeFor } from '../monitor/progress-display.js';
import { ResourceMonitor } from '../monitor/resource-monitor.js';
import { resourceLimitsFromGib } from '../monitor/resource-thresholds.js';
import { parseLogLevel, RunLogger } from '../monitor/run-logger.js';
import { collectVersions } from '../monitor/run-versions.js';
import { extractCode } from '../prompt/code-extraction.js';
import { loadPromptTemplate, thesisTemplate } from '../prompt/prompt-template.js';
import { recordKey, type GenerationResult } from '../records.js';
import { createExecutor } from '../sandbox/sandbox-executor.js';
import { buildPipeline, promptedItems } from '../streams/build-pipeline.js';
import { describeError } from '../streams/result-rows.js';
import { runMetadata } from '../streams/run-metadata.js';
import { openBackend } from './backend-factory.js';
import type { BuildArgs } from './build-options.js';
import { checkNumericFlags } from './flag-checks.js';
import { GracefulStop } from './graceful-stop.js';
import { preflightFor } from './preflight-plan.js';
import { runIdentityOf } from './run-identity-of.js';

export type BuildMode = 'build' | 'evaluate' | 'retry-failed';

/** How long in-flight records may finish after Ctrl+C before they are abandoned (redone on resume). */
const GRACE_MS = 30_000;

/** Exit code of a run stopped by a signal, as a shell reports Ctrl+C. */
const INTERRUPTED_EXIT = 130;

/** Log events the progress display already shows; the console leaves them out (the log file keeps them). */
const DISPLAYED_EVENTS: ReadonlySet<string> = new Set(['progress', 'checkpoint', 'autosave', 'statistics']);

/** How often memory and GPUs are sampled for the progress line and threshold warnings. */
const RESOURCE_SAMPLE_MS = 5_000;

/**
 * `build`, `evaluate` and `retry-failed`: validate everything, open (or resume) the run, stream the records
 * through the pipeline, then assemble the dataset from the journal. Nothing is written before every input has
 * been checked.
 */
export async function runBuild(args: BuildArgs, mode: BuildMode): Promise<number> {
  checkNumericFlags(args);
  const hardening = await hardeningConfigOf(args);
  const consoleLevel = parseLogLevel(args.logLevel);

  const location = await locateDataset({ dataset: args.dataset, testRun: args.testRun });
  const mbpp = await loadMbpp(location.path);
  const selected = selectRecords(mbpp.records, { split: args.split, start: args.start, end: args.end, testRun: args.testRun });
  const template = args.promptTemplate ? await loadPromptTemplate(args.promptTemplate) : thesisTemplate();
  const layout = await OutputLayout.create(args.outputDir, { testRun: args.testRun });
  const preflight = await preflightFor(args, selected.length);
  if (!args.quiet && !args.json) process.stderr.write(`${renderPreflightTable(preflight.result.rows)}\n`);
  assertPreflight(preflight.result);
  const opened = await openBackend(args, selected.map((record) => record.task_id));
  const executor = await createExecutor({
    isolation: args.sandbox,
    workers: args.workers,
    python: preflight.python?.executable,
  }).catch(async (error: unknown) => {
    await opened.backend.close();
    throw error;
  });
  const { backend } = opened;
  const notices = [
    ...(location.bundledSample
      ? [`dataset: no MBPP file found${location.fallbackReason ? ` (${location.fallbackReason})` : ''}; --test-run uses the bundled sample ${location.path}, not MBPP`]
      : []),
    ...opened.notices,
    ...executor.warnings,
    ...(opened.missingTaskIds.length > 0
      ? [`--generations has nothing for ${opened.missingTaskIds.length} selected task(s): ${opened.missingTaskIds.slice(0, 20).join(', ')}${opened.missingTaskIds.length > 20 ? ', …' : ''}; they will be failed records`]
      : []),
  ];

  let store: RunStore | undefined;
  let logger: RunLogger | undefined;
  let monitor: ResourceMonitor | undefined;
  let lock: OutputLock | undefined;
  try {
    const identity = runIdentityOf(args, location.sha256, template.text, backend);
    const total = selected.length * args.samples;
    if (mode === 'retry-failed' && !(await runExists(layout, args.runId ?? runIdOf(identity)))) {
      throw new InputError(`retry-failed: no run with these settings in ${layout.datasetsDir}; run build first (same flags)`);
    }
    lock = await OutputLock.acquire(layout.datasetsDir);
    if (lock.tookOverFrom !== undefined) notices.push(`took over the lock of an earlier run that is gone (pid ${lock.tookOverFrom})`);
    store = await openRun({ layout, identity, fresh: args.fresh, runId: args.runId, total });
    // --quiet shows only the summary; the log file still gets everything.
    logger = new RunLogger({
      file: layout.logFile,
      consoleLevel: args.quiet ? 'error' : consoleLevel,
      console: process.stderr,
      consoleOmits: DISPLAYED_EVENTS,
    });
    const runLogger = logger;
    const runStore = store;
    const versions = collectVersions();
    runLogger.start({ mode, run_id: store.runId, args: { ...args }, hardening, backend: backend.describe(), sandbox: executor.describe() }, versions);
    if (store.opening.resumed || store.opening.warnings.length > 0) runLogger.logger.info({ event: 'resume' }, store.opening.summary);

    const failedKeys = new Set(store.failedRecords().map((failed) => recordKey(failed.task_id, failed.sample_index)));
    const done = store.completedKeys();
    const skip = mode === 'retry-failed' ? new Set([...done].filter((key) => !failedKeys.has(key))) : done;
    const items = promptedItems(selected, template, args.samples, skip);
    // What a resumed run already has, for the progress counters (failed records are redone by retry-failed).
    const carriedRows = (await store.readResults()).filter((row) => mode !== 'retry-failed' || row.status !== 'failed');
    const carriedCorrect = carriedRows.filter((row) => row.is_correct).length;
    const carriedFailed = carriedRows.filter((row) => row.status === 'failed').length;
    const carried = { done: carriedRows.length, correct: carriedCorrect, failed: carriedFailed, ok: carriedRows.length - carriedFailed };

    const resources = new ResourceMonitor({
      limits: resourceLimitsFromGib(hardening.max_memory_usage_gb, hardening.max_gpu_memory_usage_gb),
      onWarning: (warning) => {
        runLogger.resourceWarning(warning);
        if (progressMode === 'json') display.warning(warning.message);
      },
    });
    monitor = resources;
    const progressMode = progressModeFor({ json: args.json, quiet: args.quiet, isTTY: process.stderr.isTTY });
    /** Warnings go to the log (file and console); `--json` consumers also get them as events on stdout. */
    const warn = (event: string, message: string): void => {
      runLogger.logger.warn({ event }, message);
      if (progressMode === 'json') display.warning(message);
    };
    const display = createProgressDisplay({
      mode: progressMode,
      stream: args.json ? process.stdout : process.stderr,
      total: mode === 'retry-failed' ? carried.done + items.length : total,
      resumed: { done: carried.done, passed: carried.correct, wrong: carried.ok - carried.correct, failed: carried.failed },
      every: hardening.progress_log_frequency,
      resources: () => resources.latest,
    });
    resources.start(RESOURCE_SAMPLE_MS);
    display.start({ run_id: store.runId, records: items.length, backend: backend.name, model: backend.model, sandbox: executor.isolation });
    for (const notice of notices) warn('notice', notice);
    for (const warning of store.opening.warnings) warn('recovery', warning);

    const autosaver = new AutosaveWriter({
      layout,
      runId: runStore.runId,
      rows: () => runStore.readResults(),
      keepLast: hardening.autosave_keep_last,
    });
    let subscription = new Subscription();
    const stop = new GracefulStop({
      graceMs: GRACE_MS,
      onStopping: (signal) =>
        warn('stopping', `${signal}: no new records start; waiting up to ${GRACE_MS / 1000}s for those in flight (again to exit now)`),
      onAbandon: () => subscription.unsubscribe(),
    }).install();

    const started = performance.now();
    /** What ended the run early: a signal, or an error no retry could fix (every session out of rotation, a full disk…). */
    let fatal: unknown;
    try {
      await new Promise<void>((resolve, reject) => {
        subscription = from(items)
          .pipe(
            buildPipeline({
              backend,
              executor,
              extractCode,
              hardening,
              store: {
                append: (row) => runStore.append(row),
                checkpoint: async (count) => {
                  await runStore.checkpoint(count);
                  display.checkpoint(count);
                  runLogger.checkpoint(count);
                },
              },
              autosave: {
                autosave: async (count) => {
                  await autosaver.autosave(count);
                  runLogger.autosave(count, layout.autosavesDir);
                },
              },
              challengeTests: args.challengeTests,
              memoryCleanup: opened.memoryCleanup,
              total,
              stopping: () => stop.stopping,
              onRetry: ({ error, attempt, delayMs, stage }) =>
                runLogger.logger.info({ event: 'retry', stage, attempt, delay_ms: delayMs, error: String(error) }, `retry ${stage}`),
              onProgress: (progress) =>
                runLogger.progress(
                  { ...progress },
                  { recordsPerSecond: progress.ratePerSecond ?? 0, etaSeconds: progress.etaMs === null ? null : progress.etaMs / 1000 },
                  resources.latest?.memory.rssBytes,
                ),
              onQuarantine: ({ session, failures, healthyLeft }) =>
                warn('quarantine', `session ${session.id} taken out of rotation after ${failures} failures; ${healthyLeft} left`),
              logger: runLogger.logger,
            }),
            tap((row: GenerationResult) => {
              display.record(row);
              if (row.status === 'failed') runLogger.failure(row, row.attempts, row.error);
            }),
          )
          .subscribe({ complete: resolve, error: reject });
        subscription.add(resolve);
      });
    } catch (error) {
      fatal = error;
    } finally {
      stop.uninstall();
    }

    const elapsed = (performance.now() - started) / 1000;
    if (stop.stopping || fatal !== undefined) {
      const done = runStore.counts().done;
      const why = fatal === undefined ? `stopped by ${stop.receivedSignal}` : `stopped by an error: ${describeError(fatal)}`;
      if (fatal !== undefined) runLogger.logger.error({ event: 'fatal', err: fatal }, why);
      // Every finished record is already in the journal; these make the stop point quick to resume and inspect.
      await runStore.checkpoint(done);
      await autosaver.autosave(done);
      display.finish();
      process.stderr.write(
        `${why}: ${done}/${total} done, journal, checkpoint and autosave saved. ` +
          `Resume with the same command: mbpp-stream ${process.argv.slice(2).join(' ')}\n`,
      );
      return fatal === undefined ? INTERRUPTED_EXIT : 1;
    }

    await resources.stop();
    const results = await runStore.readResults();
    const metadata = runMetadata({
      mode,
      runId: runStore.runId,
      identity: runStore.identity,
      location,
      selection: { split: args.split, start: args.start ?? null, end: args.end ?? null, test_run: args.testRun, records: selected.length },
      samples: args.samples,
      backend,
      executor,
      hardening,
      template,
      results,
      failed: runStore.failedRecords(),
      missingTaskIds: opened.missingTaskIds,
      notices,
      versions,
      resumes: runStore.opening.resumes,
      peaks: resources.peaks,
      elapsedSeconds: elapsed,
    });
    const written = await writeDataset(layout, results, metadata);
    await runStore.markFinished();
    runLogger.statistics(metadata.statistics);
    display.finish({ output: written.parquet, statistics: metadata.statistics });
    return 0;
  } finally {
    await Promise.allSettled([store?.close(), backend.close(), executor.close(), monitor?.stop()]);
    await lock?.release();
    logger?.close();
  }
}

/** The hardening config: defaults, then `--config FILE`, then the flags that map onto it. */
async function hardeningConfigOf(args: BuildArgs): Promise<HardeningConfig> {
  const base = args.config ? await loadHardeningConfig(args.config) : DEFAULT_HARDENING_CONFIG;
  return mergeHardeningConfig(base, {
    origin: 'command line',
    values: {
      checkpoint_frequency: args.checkpoint,
      max_memory_usage_gb: args.maxMemory,
      max_gpu_memory_usage_gb: args.maxGpuMemory,
      max_retries: args.maxRetries,
      timeout_per_record: args.timeout,
    },
  });
}
