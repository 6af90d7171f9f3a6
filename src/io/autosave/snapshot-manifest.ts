/**
 * `_autosave.json`, inside each autosave directory: which journal bytes its parts cover and what the next save needs
 * to go on from it without reading the journal from the start. Readers of the dataset skip it (pyarrow, pandas and
 * Spark ignore names starting with `_`; a `*.parquet` glob does not match it).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordKeySet, type RecordKeyRanges } from '../run-store/record-key-set.js';
import type { TieredPart } from './part-tiers.js';

export const SNAPSHOT_MANIFEST = '_autosave.json';

/** Bumped when the manifest's meaning changes; a snapshot of another format is rebuilt, never reused. */
const SNAPSHOT_FORMAT = 1;

/** One Parquet file of a snapshot: the rows of a stretch of the journal. */
export interface SnapshotPart extends TieredPart {
  file: string;
}

export interface SnapshotManifest {
  format: number;
  run_id: string;
  journal_id: string;
  /** The parts hold the rows of journal bytes [0, covered). */
  covered: number;
  rows: number;
  /** Which earlier results the rows leave out: '' for none, else a digest of retry-failed's records to redo. */
  left_out: string;
  /** The records the rows hold: a later line of one of them would make its row stale. */
  keys: RecordKeyRanges;
  /** Records with more than one line below `covered` (redone failures): the start of the line whose row is kept. */
  repeated: Record<string, number>;
  parts: SnapshotPart[];
}

/** A manifest read back, with its keys as a set. */
export interface SnapshotState {
  manifest: SnapshotManifest;
  keys: RecordKeySet;
}

/** Reads the manifest of the snapshot in `dir`; null when it is missing, damaged or of another format. */
export async function readSnapshotManifest(dir: string): Promise<SnapshotState | null> {
  let parsed: Partial<SnapshotManifest>;
  try {
    parsed = JSON.parse(await readFile(join(dir, SNAPSHOT_MANIFEST), 'utf8')) as Partial<SnapshotManifest>;
  } catch {
    return null;
  }
  if (parsed?.format !== SNAPSHOT_FORMAT || typeof parsed.run_id !== 'string' || typeof parsed.journal_id !== 'string') return null;
  if (!Number.isSafeInteger(parsed.covered) || !Number.isSafeInteger(parsed.rows) || typeof parsed.left_out !== 'string') return null;
  const keys = RecordKeySet.fromRanges(parsed.keys);
  const repeated = parsed.repeated;
  if (keys === null || repeated === null || typeof repeated !== 'object' || !Object.values(repeated).every(Number.isSafeInteger)) return null;
  if (!Array.isArray(parsed.parts) || !parsed.parts.every(isPart)) return null;
  return { manifest: parsed as SnapshotManifest, keys };
}

function isPart(value: unknown): value is SnapshotPart {
  const part = value as Partial<SnapshotPart> | null;
  return (
    part !== null &&
    typeof part === 'object' &&
    typeof part.file === 'string' &&
    /^part-\d+-\d+\.parquet$/.test(part.file) &&
    Number.isSafeInteger(part.from) &&
    Number.isSafeInteger(part.to) &&
    Number.isSafeInteger(part.rows)
  );
}

export function newManifest(runId: string, journalId: string, leftOut: string): SnapshotManifest {
  return { format: SNAPSHOT_FORMAT, run_id: runId, journal_id: journalId, covered: 0, rows: 0, left_out: leftOut, keys: {}, repeated: {}, parts: [] };
}

/** A part's file name: its journal range, zero-padded so that names sort in journal order. */
export function partFileName(from: number, to: number): string {
  return `part-${String(from).padStart(13, '0')}-${String(to).padStart(13, '0')}.parquet`;
}
