/**
 * A run's autosaves: `autosaves/autosave_<run>_<timestamp>_<rows>.parquet/`, each a complete partial dataset of the
 * rows finished so far, as a directory of Parquet parts that pandas, pyarrow, Polars and DuckDB read as one table
 * (`pd.read_parquet(dir)`, `duckdb: FROM 'dir/*.parquet'`). The newest `keepLast` are kept.
 *
 * A save costs what is new, not what is done: it writes one part with the rows journaled since the last save and
 * hard-links the earlier parts into the new directory (unchanged files, no bytes copied); now and then ten small
 * parts are merged into a bigger one (see part-tiers.ts). Rows come from the journal, never from memory. A save is
 * built in a hidden temp directory and renamed into place, so a reader or a crash sees whole autosaves only.
 *
 * The rows of an autosave are each record's latest journaled result. The builder journals a record again only when
 * `retry-failed` redoes a failure; such an attempt rebuilds its first autosave from the whole journal, leaving out
 * the failures it is about to redo (their new rows come in as they finish), so no record appears twice.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { recordKey } from '../../records.js';
import { syncDirectory, writeFileAtomic } from '../atomic-file.js';
import { formatTimestamp } from '../output-layout.js';
import type { ParquetCompression } from '../parquet-file.js';
import { JournalReader } from '../run-store/journal-reader.js';
import { indexLatestLines } from '../run-store/latest-lines.js';
import { RecordKeySet } from '../run-store/record-key-set.js';
import { JournalRows, writeJournalPart, type KeepLine } from './journal-part.js';
import { REBUILT_PART_ROWS, trailingMerge } from './part-tiers.js';
import {
  SNAPSHOT_MANIFEST,
  newManifest,
  partFileName,
  readSnapshotManifest,
  type SnapshotManifest,
  type SnapshotPart,
  type SnapshotState,
} from './snapshot-manifest.js';

export interface AutosaveSeriesOptions {
  autosavesDir: string;
  /** Letters, digits, `.`, `-` and `_` only (checked by the writer). */
  runId: string;
  /** The run's journal and its id (from the manifest): a snapshot of another journal is never reused. */
  journal: { path: string; id: string };
  keepLast: number;
  /** `recordKey`s of the failed records this attempt redoes (retry-failed): their rows from before it are left out. */
  redo: readonly string[];
  /** The journal's size when this attempt began: lines from there on are its own. */
  attemptStart: number;
  compression?: ParquetCompression;
  now?: () => Date;
}

/** An autosave written. */
export interface SavedAutosave {
  path: string;
  rows: number;
  /** Journal bytes it covers. */
  covered: number;
}

export class AutosaveSeries {
  private readonly redo: ReadonlySet<string>;
  /** Digest of what this attempt leaves out; a snapshot that left out something else is rebuilt, not extended. */
  private readonly leftOut: string;
  private readonly namePattern: RegExp;

  private constructor(
    private readonly options: AutosaveSeriesOptions,
    /** The newest autosave and its directory, which the next one extends; null before the first. */
    private base: { state: SnapshotState; dir: string } | null,
  ) {
    this.redo = new Set(options.redo);
    this.leftOut = options.redo.length === 0 ? '' : createHash('sha256').update(`${options.attemptStart}\n${[...options.redo].sort().join('\n')}`).digest('hex');
    this.namePattern = autosaveNamePattern(options.runId);
  }

  /** Finds the run's newest autosave to extend, and clears temp directories a crash left mid-save. */
  static async open(options: AutosaveSeriesOptions): Promise<AutosaveSeries> {
    await mkdir(options.autosavesDir, { recursive: true });
    const names = await readdir(options.autosavesDir);
    const tempPrefix = `.autosave_${options.runId}_`;
    await Promise.all(
      names.filter((name) => name.startsWith(tempPrefix) && name.endsWith('.tmp')).map((name) => rm(join(options.autosavesDir, name), { recursive: true, force: true })),
    );
    for (const name of sortedSaves(names, autosaveNamePattern(options.runId)).reverse()) {
      const dir = join(options.autosavesDir, name);
      const state = await readSnapshotManifest(dir);
      if (state !== null && state.manifest.run_id === options.runId) return new AutosaveSeries(options, { state, dir });
    }
    return new AutosaveSeries(options, null);
  }

  /**
   * Writes the autosave of the journal's first `end` bytes (every line below `end` complete and synced); resolves
   * to it, or to null when nothing changed since the last one or there is no row yet.
   */
  async save(end: number): Promise<SavedAutosave | null> {
    const reader = await JournalReader.open(this.options.journal.path);
    try {
      const extending = this.base !== null && (await this.canExtend(this.base.state.manifest, reader, end)) ? this.base : null;
      if (extending !== null && extending.state.manifest.covered === end) return null;
      const temp = join(this.options.autosavesDir, `.autosave_${this.options.runId}_${randomBytes(6).toString('hex')}.tmp`);
      await mkdir(temp);
      try {
        const extended = extending && (await this.extend(reader, temp, extending.state, end));
        const next = extended ?? (await this.rebuild(reader, temp, end));
        const unchanged = extended !== null && extended.manifest.parts.length === extending!.state.manifest.parts.length;
        if (next.manifest.rows === 0 || unchanged) {
          // Nothing to show (yet): the lines read are passed over next time, the files stay as they are.
          if (unchanged) this.base = { state: next, dir: extending!.dir };
          await rm(temp, { recursive: true, force: true });
          return null;
        }
        await this.mergeTiers(reader, temp, next.manifest);
        if (extending !== null) await linkUnchanged(extending.dir, temp, next.manifest.parts);
        await writeFileAtomic(join(temp, SNAPSHOT_MANIFEST), `${JSON.stringify(next.manifest)}\n`);
        const path = await this.putInPlace(temp, next.manifest.rows);
        this.base = { state: next, dir: path };
        await this.prune();
        return { path, rows: next.manifest.rows, covered: next.manifest.covered };
      } catch (error) {
        await rm(temp, { recursive: true, force: true }).catch(() => undefined);
        throw error;
      }
    } finally {
      await reader.close();
    }
  }

  private async canExtend(manifest: SnapshotManifest, reader: JournalReader, end: number): Promise<boolean> {
    return (
      manifest.journal_id === this.options.journal.id &&
      manifest.left_out === this.leftOut &&
      manifest.covered <= end &&
      (await reader.isLineBoundary(manifest.covered))
    );
  }

  /** Whether a line's row belongs in this attempt's autosaves. */
  private keep(repeated: Readonly<Record<string, number>>): KeepLine {
    return (taskId, sampleIndex, start) => {
      const key = recordKey(taskId, sampleIndex);
      if (start < this.options.attemptStart && this.redo.has(key)) return false;
      const kept = repeated[key];
      return kept === undefined || kept === start;
    };
  }

  /**
   * The base plus one part with the rows of [covered, end); null when one of them is of a record the base already
   * holds (a failure redone since), which only a rebuild can leave out.
   */
  private async extend(reader: JournalReader, temp: string, base: SnapshotState, end: number): Promise<SnapshotState | null> {
    const { manifest } = base;
    const keys = RecordKeySet.fromRanges(base.keys.toRanges())!;
    const keep = this.keep(manifest.repeated);
    let stale = false;
    const rows = new JournalRows(reader, manifest.covered, end, (taskId, sampleIndex, start) => {
      if (!keep(taskId, sampleIndex, start)) return false;
      if (keys.has(taskId, sampleIndex)) stale = true;
      return true;
    });
    const file = partFileName(manifest.covered, end);
    const written = await writeJournalPart(join(temp, file), rows, Number.MAX_SAFE_INTEGER, this.options.compression);
    await rows.close();
    if (stale) {
      await rm(join(temp, file), { force: true });
      return null;
    }
    const parts = [...manifest.parts];
    if (written !== null) {
      parts.push({ file, from: manifest.covered, to: end, rows: written.rows });
      for (const [taskId, sampleIndex] of written.keys) keys.add(taskId, sampleIndex);
    }
    return { manifest: { ...manifest, covered: end, rows: manifest.rows + (written?.rows ?? 0), keys: keys.toRanges(), parts }, keys };
  }

  /** All of [0, end) again, in parts of the top tier: the first save of a retry-failed attempt, or after a change. */
  private async rebuild(reader: JournalReader, temp: string, end: number): Promise<SnapshotState> {
    const repeated = await repeatedRecords(reader, end);
    const manifest = { ...newManifest(this.options.runId, this.options.journal.id, this.leftOut), covered: end, repeated };
    const keys = new RecordKeySet();
    const rows = new JournalRows(reader, 0, end, this.keep(repeated));
    const written: Array<{ provisional: string; rows: number; lastEnd: number }> = [];
    try {
      for (;;) {
        const provisional = join(temp, `writing-${written.length}.parquet.tmp`);
        const part = await writeJournalPart(provisional, rows, REBUILT_PART_ROWS, this.options.compression);
        if (part === null) break;
        written.push({ provisional, rows: part.rows, lastEnd: part.lastEnd });
        for (const [taskId, sampleIndex] of part.keys) keys.add(taskId, sampleIndex);
      }
    } finally {
      await rows.close();
    }
    // Parts cover the journal without gaps; the last one takes the lines after its last row too.
    let from = 0;
    for (const [index, part] of written.entries()) {
      const to = index === written.length - 1 ? end : part.lastEnd;
      const file = partFileName(from, to);
      await rename(part.provisional, join(temp, file));
      manifest.parts.push({ file, from, to, rows: part.rows });
      manifest.rows += part.rows;
      from = to;
    }
    manifest.keys = keys.toRanges();
    return { manifest, keys };
  }

  /** Merges trailing parts tier by tier (see part-tiers.ts), re-reading their rows from the journal. */
  private async mergeTiers(reader: JournalReader, temp: string, manifest: SnapshotManifest): Promise<void> {
    for (let span = trailingMerge(manifest.parts); span !== null; span = trailingMerge(manifest.parts)) {
      const [first, last] = span;
      const merged = manifest.parts.slice(first, last + 1);
      const from = merged[0]!.from;
      const to = merged[merged.length - 1]!.to;
      const file = partFileName(from, to);
      const rows = new JournalRows(reader, from, to, this.keep(manifest.repeated));
      const written = await writeJournalPart(join(temp, file), rows, Number.MAX_SAFE_INTEGER, this.options.compression);
      await rows.close();
      // A part written by this very save is replaced in the temp directory; earlier ones are simply not linked.
      await Promise.all(merged.map((part) => rm(join(temp, part.file), { force: true })));
      const replacement: SnapshotPart[] = written === null ? [] : [{ file, from, to, rows: written.rows }];
      manifest.parts.splice(first, merged.length, ...replacement);
    }
    manifest.rows = manifest.parts.reduce((sum, part) => sum + part.rows, 0);
  }

  /** Renames the finished temp directory to the autosave's name; a name already taken gets `-1`, `-2`, … */
  private async putInPlace(temp: string, rows: number): Promise<string> {
    const { autosavesDir, runId } = this.options;
    await syncDirectory(temp);
    const stem = `autosave_${runId}_${formatTimestamp(this.options.now?.() ?? new Date())}_${rows}`;
    for (let n = 0; ; n++) {
      const path = join(autosavesDir, `${stem}${n === 0 ? '' : `-${n}`}.parquet`);
      if (await exists(path)) continue;
      await rename(temp, path);
      await syncDirectory(autosavesDir);
      return path;
    }
  }

  /** Deletes this run's autosaves beyond the newest `keepLast` (older versions' single files included). */
  private async prune(): Promise<void> {
    const { autosavesDir, keepLast } = this.options;
    const saves = sortedSaves(await readdir(autosavesDir), this.namePattern).map((name) => join(autosavesDir, name));
    const stale = saves.slice(0, Math.max(0, saves.length - keepLast)).filter((path) => path !== this.base?.dir);
    for (const path of stale) await rm(path, { recursive: true, force: true });
  }
}

/** `autosave_<run>_<YYYYMMDD_HHMMSS>_<rows>[-n].parquet`: the run's autosaves, this version's and older ones. */
function autosaveNamePattern(runId: string): RegExp {
  return new RegExp(`^autosave_${runId.replace(/[.]/g, '\\.')}_(\\d{8}_\\d{6})_(\\d+)(?:-(\\d+))?\\.parquet$`);
}

/** The names matching `pattern`, oldest first by (timestamp, rows, suffix). */
function sortedSaves(names: readonly string[], pattern: RegExp): string[] {
  return names
    .map((name) => ({ name, match: pattern.exec(name) }))
    .filter((save): save is { name: string; match: RegExpExecArray } => save.match !== null)
    .map(({ name, match }) => ({ name, stamp: match[1]!, rows: Number(match[2]), suffix: Number(match[3] ?? 0) }))
    .sort((a, b) => (a.stamp !== b.stamp ? (a.stamp < b.stamp ? -1 : 1) : a.rows - b.rows || a.suffix - b.suffix))
    .map((save) => save.name);
}

/** Records with more than one line in [0, end), and where the line to keep (the latest) starts. */
async function repeatedRecords(reader: JournalReader, end: number): Promise<Record<string, number>> {
  const repeated = new Set<string>();
  const latest = await indexLatestLines(reader, 0, end, (key) => repeated.add(key));
  return Object.fromEntries([...repeated].map((key) => [key, latest.latestStart(key)!]));
}

/** Links the parts the new autosave shares with the one it extends; copies where the filesystem has no hard links. */
async function linkUnchanged(from: string, to: string, parts: readonly SnapshotPart[]): Promise<void> {
  for (const part of parts) {
    const target = join(to, part.file);
    if (await exists(target)) continue;
    await link(join(from, part.file), target).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPERM' && error.code !== 'ENOTSUP' && error.code !== 'EXDEV' && error.code !== 'EMLINK') throw error;
      await copyFile(join(from, part.file), target);
    });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
