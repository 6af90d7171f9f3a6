/**
 * The durable run store: one run's journal, checkpoints and manifest under `<output>/mbpp_datasets/`.
 *
 *     runs/<id>/manifest.json    identity, journal id, finished or not
 *     runs/<id>/journal.log      every finished record, one self-checking line each (the truth)
 *     runs/<id>/judging.log      which programs this attempt has in the sandbox (see judging-log.ts)
 *     runs/<id>/crashes.json     what earlier attempts killed outright had in the sandbox (see crash-history.ts)
 *     runs/<id>.old-<stamp>/     a run set aside by --fresh, with its checkpoints
 *     checkpoints/checkpoint_<id>_<seq>.json   the last 3 snapshots
 *
 * `openRun` finds the run the command's identity names and resumes it, or starts one; it repairs what a
 * crash can leave behind (a torn journal tail, a damaged or foreign checkpoint) and says so, and refuses,
 * writing nothing, when the output dir holds an unfinished run of other settings. It also reads what the last
 * attempt had in the sandbox if it was killed, so a program that brings the build down is caught, not rerun forever.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError } from '../../errors.js';
import type { CheckpointStore } from '../../operators/stores.js';
import { recordKey, type GenerationResult, type Generated } from '../../records.js';
import { writeFileAtomic } from '../atomic-file.js';
import type { OutputLayout } from '../output-layout.js';
import { CheckpointJournal, fileStamp } from './checkpoint-journal.js';
import { JournalReader } from './journal-reader.js';
import { indexLatestLines } from './latest-lines.js';
import { listCheckpoints, readCheckpoint, snapshotOf, writeCheckpoint } from './checkpoint-snapshot.js';
import { describeCrashes, foldAttempt, readCrashHistory, writeCrashHistory, type CrashHistory } from './crash-history.js';
import { JudgingLog, programKey, readAttempt, type SandboxedProgram } from './judging-log.js';
import { canonicalJson, describeDifferences, diffIdentities, runIdOf, type JsonValue, type RunIdentity } from './run-identity.js';
import { MANIFEST_FORMAT, readManifest, writeManifest, type ManifestReading, type RunManifest } from './run-manifest.js';
import { asJournalOutcome, RunProgress, type FailedRecord } from './run-progress.js';

/** The subset of a pino logger the store writes to. */
export interface RunStoreLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

export interface OpenRunOptions {
  /** Where the run lives: `datasetsDir` holds `runs/`, `checkpointsDir` the snapshots. */
  layout: Pick<OutputLayout, 'datasetsDir' | 'checkpointsDir'>;
  identity: RunIdentity;
  /** `--fresh`: set every run in the output dir aside and start over. */
  fresh?: boolean;
  /** `--run-id`: name the run instead of deriving its id from the identity. */
  runId?: string;
  /** Records the command selects, for the summary (`412/974 done`). */
  total?: number;
  logger?: RunStoreLogger;
  now?: () => Date;
}

export interface RunCounts {
  /** Records with a final result (ok or failed). */
  done: number;
  ok: number;
  failed: number;
  /** Judged and correct. */
  correct: number;
}

/** Rows the final dataset is read in at a time: bounded memory whatever the run's size. */
export const RESULT_BATCH_ROWS = 2000;

/** What `openRun` found. */
export interface RunOpening {
  /** Whether an existing run was picked up (false for a new or `--fresh` run). */
  resumed: boolean;
  /** Records already done when the run was opened. */
  resumedCount: number;
  /** How many times the run has been resumed, this time included. */
  resumes: number;
  /** Where `--fresh` moved earlier runs' files. */
  setAside: string[];
  /** What was repaired or ignored on the way (also logged as warnings). */
  warnings: string[];
  /** One line for the user: `resuming run 3f9c…: 412/974 done, 3 failed`. */
  summary: string;
}

const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const SET_ASIDE_MARK = '.old-';

const silentLogger: RunStoreLogger = { warn: () => undefined, info: () => undefined };

/** What an open run is made of; `openRun` assembles it. */
interface OpenedRunParts {
  runId: string;
  identity: RunIdentity;
  opening: RunOpening;
  journal: CheckpointJournal;
  progress: RunProgress;
  paths: RunPaths;
  manifest: RunManifest;
  /** Sequence number of the newest checkpoint file on disk, usable or not (0 if none). */
  lastSeq: number;
  crashes: CrashHistory;
  judgingLog: JudgingLog;
  now: () => Date;
}

/** One run, open for appending finished records and writing checkpoints. Get one from `openRun`. */
export class RunStore implements CheckpointStore<GenerationResult> {
  readonly runId: string;
  readonly identity: RunIdentity;
  readonly opening: RunOpening;
  private readonly journal: CheckpointJournal;
  private readonly progress: RunProgress;
  private readonly paths: RunPaths;
  private manifest: RunManifest;
  private readonly now: () => Date;
  private readonly crashes: CrashHistory;
  private readonly judgingLog: JudgingLog;
  private nextSeq: number;
  /** Checkpoint writes run one at a time, in call order. */
  private checkpointChain: Promise<unknown> = Promise.resolve();

  constructor(parts: OpenedRunParts) {
    this.runId = parts.runId;
    this.identity = parts.identity;
    this.opening = parts.opening;
    this.journal = parts.journal;
    this.progress = parts.progress;
    this.paths = parts.paths;
    this.manifest = parts.manifest;
    this.now = parts.now;
    this.crashes = parts.crashes;
    this.judgingLog = parts.judgingLog;
    this.nextSeq = parts.lastSeq + 1;
  }

  /**
   * Notes that a record's program goes into the sandbox now, durably enough to outlive this process being killed
   * by it; the returned function notes that it came out. O(1): one small write, no fsync (see judging-log.ts).
   */
  enterSandbox(generated: Generated): () => void {
    const taskId = generated.record.task_id;
    const sampleIndex = generated.sampleIndex;
    const { completion, generatedCode, generationTime } = generated;
    this.judgingLog.enter({ task_id: taskId, sample_index: sampleIndex, completion, generatedCode, generationTime });
    return () => this.judgingLog.leave(taskId, sampleIndex);
  }

  /** `recordKey`s of the records in the sandbox at a crash and not cleared since: to be judged first, one at a time. */
  crashSuspects(): Set<string> {
    return new Set(this.crashes.suspects.map(programKey));
  }

  /** Records whose program brought the build down, with that program: labelled, never run again. */
  crashCulprits(): SandboxedProgram[] {
    return [...this.crashes.culprits];
  }

  /** Journals a finished record (ok or failed); resolves once it is on disk. A later result for the same key replaces it. */
  append(result: GenerationResult): Promise<void> {
    return this.appendAll([result]);
  }

  /** Journals finished records, in order, with one write and one sync; resolves once all are on disk. */
  async appendAll(results: readonly GenerationResult[]): Promise<void> {
    if (this.manifest.finishedAt !== null) await this.markUnfinished();
    const ends = await this.journal.appendAll(results);
    results.forEach((result, index) => this.progress.apply(result, ends[index]!));
  }

  /** Writes a snapshot of the progress so far (the journal prefix appended until now) and keeps the last 3. */
  checkpoint(count: number): Promise<void> {
    const snapshot = snapshotOf(this.runId, this.nextSeq, this.identity, this.manifest.journalId, this.progress, count, this.now());
    this.nextSeq += 1;
    const write = this.checkpointChain.then(() => writeCheckpoint(this.paths.checkpointsDir, snapshot));
    this.checkpointChain = write.catch(() => undefined);
    return write.then(() => undefined);
  }

  /** Whether the record has a final result (ok or failed) in this run. */
  isCompleted(taskId: number, sampleIndex: number): boolean {
    return this.progress.completed.has(taskId, sampleIndex);
  }

  /** `recordKey`s of every record with a final result: what a resume skips. */
  completedKeys(): Set<string> {
    const keys = new Set<string>();
    for (const { taskId, sampleIndex } of this.progress.completed.entries()) keys.add(recordKey(taskId, sampleIndex));
    return keys;
  }

  /** Records whose latest result failed, with error and attempts, in key order: what `retry-failed` redoes. */
  failedRecords(): FailedRecord[] {
    return this.progress.failedRecords();
  }

  counts(): RunCounts {
    const failed = this.progress.failed.size;
    return { done: this.progress.done, ok: this.progress.done - failed, failed, correct: this.progress.correct };
  }

  /** The journal's file, and the bytes of it on disk now (every line below is complete and synced). */
  get journalFile(): { path: string; id: string; size: number } {
    return { path: this.paths.journal, id: this.manifest.journalId, size: this.journal.size };
  }

  /**
   * Every journaled result, once per key (the latest), sorted by (task_id, sample_index), `batchRows` at a time:
   * the rows of the final dataset, the same however many sessions the run took. Only an index of where each
   * record's line lies is held, never the rows.
   */
  async *results(batchRows = RESULT_BATCH_ROWS): AsyncGenerator<GenerationResult[]> {
    const reader = await JournalReader.open(this.paths.journal);
    try {
      const spans = (await indexLatestLines(reader, 0, this.journal.size)).inKeyOrder();
      for (let first = 0; first < spans.length; first += batchRows) {
        yield (await reader.entriesAt(spans.slice(first, first + batchRows))) as GenerationResult[];
      }
    } finally {
      await reader.close();
    }
  }

  /** Marks the run finished (its dataset assembled), so a command with other settings may use the output dir. */
  async markFinished(): Promise<void> {
    this.manifest = { ...this.manifest, finishedAt: this.now().toISOString() };
    await writeManifest(this.paths.manifest, this.manifest);
  }

  /** A finished run that takes new results (`retry-failed`) is unfinished again until reassembled. */
  private async markUnfinished(): Promise<void> {
    this.manifest = { ...this.manifest, finishedAt: null };
    await writeManifest(this.paths.manifest, this.manifest);
  }

  /** Waits for appends and checkpoints in flight, then closes the journal. The attempt ended: it did not crash. */
  async close(): Promise<void> {
    this.judgingLog.end('closed');
    await this.checkpointChain;
    await this.journal.close();
  }
}

interface RunPaths {
  runsDir: string;
  runDir: string;
  manifest: string;
  journal: string;
  judgingLog: string;
  crashes: string;
  checkpointsDir: string;
}

/** Whether the output dir holds a run of this id (its manifest), without creating anything. */
export async function runExists(layout: OpenRunOptions['layout'], runId: string): Promise<boolean> {
  return stat(runPaths(layout, runId).manifest).then(
    () => true,
    () => false,
  );
}

function runsDirOf(layout: OpenRunOptions['layout']): string {
  return join(layout.datasetsDir, 'runs');
}

function runPaths(layout: OpenRunOptions['layout'], runId: string): RunPaths {
  const runsDir = runsDirOf(layout);
  const runDir = join(runsDir, runId);
  return {
    runsDir,
    runDir,
    manifest: join(runDir, 'manifest.json'),
    journal: join(runDir, 'journal.log'),
    judgingLog: join(runDir, 'judging.log'),
    crashes: join(runDir, 'crashes.json'),
    checkpointsDir: layout.checkpointsDir,
  };
}

interface ExistingRun {
  runId: string;
  reading: ManifestReading;
}

/** Runs in the output dir (not those set aside), with their manifests. */
async function listRuns(runsDir: string): Promise<ExistingRun[]> {
  let names: string[];
  try {
    names = await readdir(runsDir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw new InputError(`--output-dir: cannot read ${runsDir} (${(error as Error).message})`);
  }
  const runs: ExistingRun[] = [];
  for (const name of names.sort()) {
    if (name.includes(SET_ASIDE_MARK) || !RUN_ID_PATTERN.test(name)) continue;
    if (!(await stat(join(runsDir, name))).isDirectory()) continue;
    runs.push({ runId: name, reading: await readManifest(join(runsDir, name, 'manifest.json')) });
  }
  return runs;
}

function sameIdentity(a: RunIdentity, b: RunIdentity): boolean {
  return canonicalJson(a as unknown as JsonValue) === canonicalJson(b as unknown as JsonValue);
}

function isUnfinished(run: ExistingRun): boolean {
  return !run.reading.readable || run.reading.manifest.finishedAt === null;
}

const PROCEED = 'rerun with --fresh to set it aside and start over, or use another --output-dir';

/** Moves a run's directory and its checkpoints to `runs/<id>.old-<stamp>/`; returns where. */
async function setAside(paths: RunPaths, runId: string, stamp: string): Promise<string> {
  let target = `${paths.runDir}${SET_ASIDE_MARK}${stamp}`;
  for (let n = 1; await stat(target).then(() => true, () => false); n += 1) {
    target = `${paths.runDir}${SET_ASIDE_MARK}${stamp}-${n}`;
  }
  const runExists = await stat(paths.runDir).then(() => true, () => false);
  if (runExists) await rename(paths.runDir, target);
  const checkpoints = await listCheckpoints(paths.checkpointsDir, runId);
  if (checkpoints.length > 0) {
    await mkdir(join(target, 'checkpoints'), { recursive: true });
    for (const file of checkpoints) await rename(file.path, join(target, 'checkpoints', basename(file.path)));
  }
  return runExists || checkpoints.length > 0 ? target : '';
}

/**
 * Opens the run the command names: resumes it when it exists (same identity), starts it otherwise.
 * Throws `InputError` (writing nothing) when `--run-id` is malformed, or when the output dir holds an
 * unfinished run whose identity differs, naming each differing setting.
 */
export async function openRun(options: OpenRunOptions): Promise<RunStore> {
  const { identity, layout } = options;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  if (options.runId !== undefined && !RUN_ID_PATTERN.test(options.runId)) {
    throw new InputError(`--run-id ${JSON.stringify(options.runId)}: use 1-64 letters, digits, '-' or '_', starting with a letter or digit`);
  }
  const runsDir = runsDirOf(layout);
  const existing = await listRuns(runsDir);
  const setAsidePaths: string[] = [];
  let runId = options.runId ?? runIdOf(identity);
  let found = existing.find((run) => run.runId === runId);

  if (options.fresh) {
    const stamp = fileStamp(now());
    const ids = new Set([...existing.map((run) => run.runId), runId]);
    for (const id of ids) {
      const moved = await setAside(runPaths(layout, id), id, stamp);
      if (moved) setAsidePaths.push(moved);
    }
    found = undefined;
  } else {
    if (!found && options.runId === undefined) {
      found = existing.find((run) => isUnfinished(run) && run.reading.readable && sameIdentity(run.reading.manifest.identity, identity));
      if (found) runId = found.runId;
    }
    if (found && found.reading.readable && !sameIdentity(found.reading.manifest.identity, identity)) {
      const differences = describeDifferences(runId, diffIdentities(found.reading.manifest.identity, identity));
      throw new InputError(`run ${runId} in ${runsDir} was made with other settings: ${differences}; ${PROCEED}`);
    }
    // A derived id is the hash of the identity, so it vouches for a lost manifest; a chosen one does not.
    if (found && !found.reading.readable && runId !== runIdOf(identity)) {
      throw new InputError(`--run-id ${runId}: manifest ${runPaths(layout, runId).manifest} is ${found.reading.reason}; ${PROCEED}`);
    }
    if (!found) {
      const blocking = existing.filter(isUnfinished);
      const first = blocking[0];
      if (first) {
        const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more)` : '';
        const what = first.reading.readable
          ? `with other settings: ${describeDifferences(first.runId, diffIdentities(first.reading.manifest.identity, identity))}`
          : `whose manifest is ${first.reading.reason}`;
        throw new InputError(`--output-dir ${layout.datasetsDir} has an unfinished run ${first.runId}${more} ${what}; ${PROCEED}`);
      }
    }
  }

  const paths = runPaths(layout, runId);
  const warnings: string[] = [];
  const warn = (details: object, message: string) => {
    warnings.push(message);
    logger.warn({ runId, ...details }, message);
  };
  let manifest: RunManifest;
  if (found?.reading.readable) {
    manifest = { ...found.reading.manifest, resumes: (found.reading.manifest.resumes ?? 0) + 1 };
    await writeManifest(paths.manifest, manifest);
  } else {
    if (found && !found.reading.readable) {
      warn({ manifest: paths.manifest }, `run ${runId}: manifest was ${found.reading.reason}; rewritten from this command's settings`);
    } else {
      // A new run under an id whose old checkpoints linger (its run dir removed by hand): keep them apart.
      const stale = await setAside(paths, runId, fileStamp(now()));
      if (stale) setAsidePaths.push(stale);
    }
    manifest = {
      format: MANIFEST_FORMAT,
      runId,
      journalId: randomBytes(8).toString('hex'),
      identity,
      createdAt: now().toISOString(),
      finishedAt: null,
    };
    await mkdir(paths.runDir, { recursive: true });
    await writeFileAtomic(paths.journal, '', { overwrite: false }).catch((error: { code?: string }) => {
      if (error.code !== 'EEXIST') throw error;
    });
    await writeManifest(paths.manifest, manifest);
  }

  await mkdir(paths.checkpointsDir, { recursive: true });
  const journal = await CheckpointJournal.open(paths.journal);
  const { progress, lastSeq } = await restoreProgress(paths, runId, manifest, journal, warn, now);
  const crashes = await recallCrashes(paths, warn);
  const judgingLog = JudgingLog.start(paths.judgingLog, now(), crashes.suspects.map(programKey));
  const opening: RunOpening = {
    resumed: found !== undefined,
    resumedCount: progress.done,
    resumes: manifest.resumes ?? 0,
    setAside: setAsidePaths,
    warnings,
    summary: summaryLine(found !== undefined, runId, progress, options.total, setAsidePaths),
  };
  logger.info({ runId, done: progress.done, failed: progress.failed.size, setAside: setAsidePaths }, opening.summary);
  return new RunStore({ runId, identity, opening, journal, progress, paths, manifest, lastSeq, crashes, judgingLog, now });
}

/** The crash history with the last attempt folded in (once: the history names the attempt it folded last). */
async function recallCrashes(paths: RunPaths, warn: (details: object, message: string) => void): Promise<CrashHistory> {
  const { history: stored, problem } = await readCrashHistory(paths.crashes);
  if (problem !== undefined) warn({ crashes: paths.crashes }, `${paths.crashes} is ${problem}; starting a new crash history`);
  const attempt = await readAttempt(paths.judgingLog);
  const folding = attempt !== null && attempt.id !== stored.foldedAttempt ? foldAttempt(stored, attempt) : null;
  const history = folding?.history ?? stored;
  if (folding) await writeCrashHistory(paths.crashes, history);
  for (const line of describeCrashes(folding, history)) warn({ crashes: paths.crashes }, line);
  return history;
}

/**
 * The run's progress: from the newest usable checkpoint plus the journal after it, or from the whole
 * journal when no checkpoint is usable. Repairs the journal's tail on the way.
 */
async function restoreProgress(
  paths: RunPaths,
  runId: string,
  manifest: RunManifest,
  journal: CheckpointJournal,
  warn: (details: object, message: string) => void,
  now: () => Date,
): Promise<{ progress: RunProgress; lastSeq: number }> {
  const files = await listCheckpoints(paths.checkpointsDir, runId);
  let progress: RunProgress | undefined;
  for (const file of files) {
    const reading = await readCheckpoint(file.path, runId, manifest.journalId);
    let problem: string | undefined;
    if (!reading.usable) problem = reading.reason;
    else if (!(await journal.isLineBoundary(reading.snapshot.journal.offset))) {
      problem = `it covers ${reading.snapshot.journal.offset} journal bytes but the journal has ${journal.size}`;
    }
    if (problem === undefined && reading.usable) {
      progress = reading.progress;
      break;
    }
    const newer = !reading.usable && reading.newerFormat;
    warn(
      { checkpoint: file.path },
      newer ? `ignoring checkpoint ${file.path}: ${problem}` : `checkpoint ${file.path} is unusable (${problem}); falling back`,
    );
  }
  if (!progress) {
    if (files.length > 0) warn({ journal: paths.journal }, `no usable checkpoint for run ${runId}; rebuilding its progress from the journal`);
    progress = new RunProgress();
  }
  const restored = progress;
  let foreign = 0;
  const recovery = await journal.recover(
    restored.journalOffset,
    (entry, end) => {
      const outcome = asJournalOutcome(entry);
      if (outcome) restored.apply(outcome, end);
      else foreign += 1;
    },
    now,
  );
  for (const damage of recovery.damage) {
    const action = damage.kind === 'torn-tail' ? 'cut off the torn tail' : 'skipped a corrupt line';
    warn(
      { journal: paths.journal, ...damage },
      `journal ${paths.journal}: ${action} (${damage.length} bytes at offset ${damage.offset}, copy in ${damage.savedTo}); its records will be redone`,
    );
  }
  if (foreign > 0) warn({ journal: paths.journal }, `journal ${paths.journal}: skipped ${foreign} lines that are not results`);
  return { progress: restored, lastSeq: files[0]?.seq ?? 0 };
}

function summaryLine(resumed: boolean, runId: string, progress: RunProgress, total: number | undefined, setAsidePaths: string[]): string {
  const done = total === undefined ? `${progress.done} done` : `${progress.done}/${total} done`;
  const failed = progress.failed.size > 0 ? `, ${progress.failed.size} failed` : '';
  const aside = setAsidePaths.length > 0 ? ` (earlier files set aside in ${setAsidePaths.join(', ')})` : '';
  return `${resumed ? 'resuming' : 'starting'} run ${runId}: ${done}${failed}${aside}`;
}
