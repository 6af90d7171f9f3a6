/**
 * Checkpoint snapshots: `checkpoints/checkpoint_<run>_<seq>.json`, a compact copy of a run's progress and the
 * journal offset it covers, never the results themselves. A snapshot only saves reading the journal from
 * the start on resume; any snapshot can be lost or damaged and the journal rebuilds the same state.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { RecordKeySet, type RecordKeyRanges } from './record-key-set.js';
import { RunProgress, type FailedRecord } from './run-progress.js';
import type { RunIdentity } from './run-identity.js';

/** Bumped when the snapshot's meaning changes; a reader ignores snapshots newer than it knows. */
export const CHECKPOINT_FORMAT = 1;

/** Snapshots kept per run; older ones are deleted as newer ones land. */
export const CHECKPOINTS_KEPT = 3;

/** A snapshot as written to disk. */
export interface CheckpointSnapshot {
  format: number;
  runId: string;
  /** Increases by one per snapshot of the run, across sessions. */
  seq: number;
  writtenAt: string;
  identity: RunIdentity;
  /**
   * The journal prefix this snapshot covers: resume reads the journal from `offset`. `id` is the journal's
   * (from the manifest), so a snapshot is never applied to another journal of the same run id.
   */
  journal: { id: string; offset: number; lines: number };
  counters: {
    done: number;
    ok: number;
    failed: number;
    /** Records whose latest result is judged correct (what a resumed run's progress starts from). */
    correct: number;
    /** The count the pipeline reported when it asked for this checkpoint. */
    reported: number;
  };
  completed: RecordKeyRanges;
  failed: FailedRecord[];
}

export function checkpointFileName(runId: string, seq: number): string {
  return `checkpoint_${runId}_${String(seq).padStart(6, '0')}.json`;
}

export interface CheckpointFile {
  seq: number;
  path: string;
}

/** The run's snapshot files, newest first. */
export async function listCheckpoints(checkpointsDir: string, runId: string): Promise<CheckpointFile[]> {
  let names: string[];
  try {
    names = await readdir(checkpointsDir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
  const prefix = `checkpoint_${runId}_`;
  const files: CheckpointFile[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.json')) continue;
    const seqText = name.slice(prefix.length, -'.json'.length);
    if (/^\d+$/.test(seqText)) files.push({ seq: Number(seqText), path: join(checkpointsDir, name) });
  }
  return files.sort((a, b) => b.seq - a.seq);
}

/** Builds the snapshot of `progress` as of now. */
export function snapshotOf(
  runId: string,
  seq: number,
  identity: RunIdentity,
  journalId: string,
  progress: RunProgress,
  reported: number,
  now: Date,
): CheckpointSnapshot {
  const failed = progress.failedRecords();
  return {
    format: CHECKPOINT_FORMAT,
    runId,
    seq,
    writtenAt: now.toISOString(),
    identity,
    journal: { id: journalId, offset: progress.journalOffset, lines: progress.journalLines },
    counters: {
      done: progress.done,
      ok: progress.done - failed.length,
      failed: failed.length,
      correct: progress.correct,
      reported,
    },
    completed: progress.completed.toRanges(),
    failed,
  };
}

/** Writes a snapshot atomically, then deletes the run's snapshots older than the last `CHECKPOINTS_KEPT`. */
export async function writeCheckpoint(checkpointsDir: string, snapshot: CheckpointSnapshot): Promise<string> {
  const path = join(checkpointsDir, checkpointFileName(snapshot.runId, snapshot.seq));
  await writeFileAtomic(path, `${JSON.stringify(snapshot)}\n`);
  const files = await listCheckpoints(checkpointsDir, snapshot.runId);
  const stale = files.filter((file) => file.seq <= snapshot.seq - CHECKPOINTS_KEPT);
  await Promise.all(stale.map((file) => rm(file.path, { force: true })));
  return path;
}

/** A snapshot read back: its progress rebuilt, or why it cannot be used. */
export type CheckpointReading =
  | { usable: true; snapshot: CheckpointSnapshot; progress: RunProgress }
  | { usable: false; newerFormat: boolean; reason: string };

function isFailedRecord(value: unknown): value is FailedRecord {
  const record = value as Partial<FailedRecord> | null;
  return (
    record !== null &&
    typeof record === 'object' &&
    Number.isSafeInteger(record.task_id) &&
    Number.isSafeInteger(record.sample_index) &&
    typeof record.error === 'string' &&
    Number.isSafeInteger(record.attempts)
  );
}

/**
 * Reads and checks one snapshot file of run `runId` and journal `journalId`. Never throws on bad content:
 * it says what is wrong.
 */
export async function readCheckpoint(path: string, runId: string, journalId: string): Promise<CheckpointReading> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { usable: false, newerFormat: false, reason: `unreadable (${(error as Error).message})` };
  }
  if (text.trim() === '') return { usable: false, newerFormat: false, reason: 'empty' };
  let parsed: Partial<CheckpointSnapshot>;
  try {
    parsed = JSON.parse(text) as Partial<CheckpointSnapshot>;
  } catch {
    return { usable: false, newerFormat: false, reason: 'not valid JSON' };
  }
  if (parsed === null || typeof parsed !== 'object') return { usable: false, newerFormat: false, reason: 'not an object' };
  if (typeof parsed.format !== 'number') return { usable: false, newerFormat: false, reason: 'no format version' };
  if (parsed.format > CHECKPOINT_FORMAT) {
    return {
      usable: false,
      newerFormat: true,
      reason: `format ${parsed.format} is newer than this version reads (${CHECKPOINT_FORMAT})`,
    };
  }
  if (parsed.runId !== runId) return { usable: false, newerFormat: false, reason: `belongs to run ${String(parsed.runId)}` };
  const journal = parsed.journal;
  if (!journal || !Number.isSafeInteger(journal.offset) || journal.offset < 0 || !Number.isSafeInteger(journal.lines)) {
    return { usable: false, newerFormat: false, reason: 'no journal offset' };
  }
  if (journal.id !== journalId) {
    return { usable: false, newerFormat: false, reason: 'it belongs to an earlier journal of this run id' };
  }
  const completed = RecordKeySet.fromRanges(parsed.completed);
  if (!completed) return { usable: false, newerFormat: false, reason: 'malformed key ranges' };
  if (!Array.isArray(parsed.failed) || !parsed.failed.every(isFailedRecord)) {
    return { usable: false, newerFormat: false, reason: 'malformed failed records' };
  }
  if (!Number.isSafeInteger(parsed.seq)) return { usable: false, newerFormat: false, reason: 'no sequence number' };
  // Snapshots of earlier versions did not count correct records; the journal has them.
  if (!Number.isSafeInteger(parsed.counters?.correct)) return { usable: false, newerFormat: false, reason: 'no count of correct records' };
  const snapshot = parsed as CheckpointSnapshot;
  const progress = new RunProgress({
    completed,
    failed: snapshot.failed,
    correct: snapshot.counters.correct,
    journalOffset: journal.offset,
    journalLines: journal.lines,
  });
  return { usable: true, snapshot, progress };
}
