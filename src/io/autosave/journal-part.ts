/**
 * One autosave part: the rows of a stretch of the journal, in journal order, written as Parquet a row group at a
 * time, so a part of any size is written holding one row group.
 */
import type { Table } from 'apache-arrow';
import type { GenerationResult } from '../../records.js';
import { writeParquetStream, type ParquetCompression } from '../parquet-file.js';
import { resultsToTable } from '../result-table.js';
import type { JournalEntry, JournalReader } from '../run-store/journal-reader.js';
import { asJournalOutcome } from '../run-store/run-progress.js';

/** Rows per row group of a part. */
const PART_ROW_GROUP_ROWS = 1000;

/** Whether the row of a line goes into the autosave. */
export type KeepLine = (taskId: number, sampleIndex: number, start: number) => boolean;

/** A kept row and where its line lies. */
interface KeptRow {
  row: GenerationResult;
  start: number;
  end: number;
}

/** The kept rows of [from, to) of a journal, one at a time, read a chunk ahead. */
export class JournalRows {
  private readonly entries: AsyncGenerator<JournalEntry[]>;
  private buffered: JournalEntry[] = [];
  private next = 0;

  constructor(reader: JournalReader, from: number, to: number, private readonly keep: KeepLine) {
    this.entries = reader.entries(from, to);
  }

  /** The next kept row; null past the end. Lines that are not results are passed over. */
  async take(): Promise<KeptRow | null> {
    for (;;) {
      while (this.next < this.buffered.length) {
        const { entry, start, end } = this.buffered[this.next++]!;
        const outcome = asJournalOutcome(entry);
        if (outcome && this.keep(outcome.task_id, outcome.sample_index, start)) return { row: entry as GenerationResult, start, end };
      }
      const more = await this.entries.next();
      if (more.done) return null;
      this.buffered = more.value;
      this.next = 0;
    }
  }

  async close(): Promise<void> {
    await this.entries.return(undefined);
  }
}

/** What a written part holds. */
export interface WrittenPart {
  rows: number;
  /** Journal offset just past its last row's line. */
  lastEnd: number;
  /** Its records, as (task_id, sample_index). */
  keys: Array<[number, number]>;
}

/**
 * Writes up to `maxRows` rows taken from `rows` to `path`; null (and no file) when there is none left. The rows
 * taken past `maxRows` are not consumed: the next part starts with them.
 */
export async function writeJournalPart(
  path: string,
  rows: JournalRows,
  maxRows: number,
  compression?: ParquetCompression,
): Promise<WrittenPart | null> {
  const first = await rows.take();
  if (first === null) return null;
  const written: WrittenPart = { rows: 0, lastEnd: first.end, keys: [] };
  let pending: KeptRow | null = first;
  async function* tables(): AsyncGenerator<Table> {
    let group: GenerationResult[] = [];
    while (pending !== null) {
      group.push(pending.row);
      written.rows += 1;
      written.lastEnd = pending.end;
      written.keys.push([pending.row.task_id, pending.row.sample_index]);
      pending = written.rows < maxRows ? await rows.take() : null;
      if (group.length === PART_ROW_GROUP_ROWS || pending === null) {
        yield resultsToTable(group);
        group = [];
      }
    }
  }
  await writeParquetStream(path, tables(), { compression, rowGroupRows: PART_ROW_GROUP_ROWS, overwrite: false });
  return written;
}
