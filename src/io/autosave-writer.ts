/**
 * The `AutosaveSink` over the run directory: every call writes a partial dataset of the rows finished so far
 * to `autosaves/autosave_<run>_<timestamp>_<count>.parquet` (atomically, so a crash mid-save leaves the
 * previous autosaves readable) and then deletes all but the newest `keepLast` of this run's autosaves.
 * Other runs' autosaves in the same directory are never touched.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { AutosaveSink } from '../operators/stores.js';
import type { GenerationResult } from '../records.js';
import { formatTimestamp, type OutputLayout } from './output-layout.js';
import { writeParquetFile, type ParquetCompression } from './parquet-file.js';
import { resultsToTable } from './result-table.js';

export interface AutosaveWriterOptions {
  layout: OutputLayout;
  /** The run's id, part of every file name; letters, digits, `.`, `-` and `_` only. */
  runId: string;
  /** The rows finished so far (the journal's content), read at each autosave. */
  rows: () => readonly GenerationResult[] | Promise<readonly GenerationResult[]>;
  /** How many of this run's autosaves to keep (`autosave_keep_last`). Default 3. */
  keepLast?: number;
  compression?: ParquetCompression;
  /** Clock for the file name's timestamp; tests pin it. */
  now?: () => Date;
}

export class AutosaveWriter implements AutosaveSink {
  private readonly keepLast: number;
  private readonly namePattern: RegExp;
  /** Autosaves run one at a time, so pruning never races a write of the same run. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: AutosaveWriterOptions) {
    if (!/^[A-Za-z0-9._-]+$/.test(options.runId)) {
      throw new InputError(`run id "${options.runId}": only letters, digits, ".", "-" and "_" may name autosave files`);
    }
    this.keepLast = options.keepLast ?? 3;
    if (!Number.isInteger(this.keepLast) || this.keepLast < 1) {
      throw new InputError(`autosave_keep_last: expected an integer >= 1, got ${this.keepLast}`);
    }
    const run = options.runId.replace(/[.]/g, '\\.');
    this.namePattern = new RegExp(`^autosave_${run}_(\\d{8}_\\d{6})_(\\d+)\\.parquet$`);
  }

  /** Writes the autosave for `count` finished records; resolves once older ones are pruned. */
  autosave(count: number): Promise<void> {
    const next = this.queue.then(() => this.write(count));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(count: number): Promise<void> {
    const { layout, runId, compression } = this.options;
    const dir = await layout.ensureDirectory(layout.autosavesDir);
    const stamp = formatTimestamp(this.options.now?.() ?? new Date());
    const path = join(dir, `autosave_${runId}_${stamp}_${count}.parquet`);
    await writeParquetFile(path, resultsToTable(await this.options.rows()), { compression });
    await this.prune(dir);
  }

  /** Deletes this run's autosaves beyond the newest `keepLast`, newest by (timestamp, count). */
  private async prune(dir: string): Promise<void> {
    const saves = (await readdir(dir))
      .map((name) => ({ name, match: this.namePattern.exec(name) }))
      .filter((save): save is { name: string; match: RegExpExecArray } => save.match !== null)
      .map(({ name, match }) => ({ name, stamp: match[1] ?? '', count: Number(match[2]) }))
      .sort((a, b) => (a.stamp === b.stamp ? a.count - b.count : a.stamp < b.stamp ? -1 : 1));
    for (const old of saves.slice(0, -this.keepLast)) {
      await rm(join(dir, old.name), { force: true });
    }
  }
}
