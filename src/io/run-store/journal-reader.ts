/**
 * Read-only access to a run's journal, for readers beside the one that appends to it: the final dataset and the
 * autosave thread. They read only lines already on disk (below the size the journal reported after its sync), so
 * they never see a line being written.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { decodeJournalLine } from './journal-line.js';
import { readLines, readRange } from './journal-scan.js';

/** A good journal line, decoded, with where it starts and ends (past its newline). */
export interface JournalEntry {
  entry: unknown;
  start: number;
  end: number;
}

/** Where a line lies in the journal. */
export interface LineSpan {
  start: number;
  end: number;
}

const NEWLINE = 0x0a;

/** Lines read in one go when they lie next to each other. */
const MAX_COALESCED_BYTES = 1 << 20;

export class JournalReader {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string): Promise<JournalReader> {
    return new JournalReader(path, await open(path, 'r'));
  }

  /** Whether `offset` is the start of a line (or the end of the file's last line). */
  async isLineBoundary(offset: number): Promise<boolean> {
    if (offset === 0) return true;
    if (!Number.isSafeInteger(offset) || offset < 0) return false;
    const byte = await readRange(this.handle, offset - 1, offset);
    return byte.length === 1 && byte[0] === NEWLINE;
  }

  /**
   * The good lines of [from, to), decoded, a read's worth at a time; lines that fail their check are skipped, as
   * the run store's recovery does.
   */
  async *entries(from: number, to: number): AsyncGenerator<JournalEntry[]> {
    for await (const lines of readLines(this.handle, from, to)) {
      const entries: JournalEntry[] = [];
      for (const line of lines) {
        const entry = line.terminated ? decodeJournalLine(line.bytes) : null;
        if (entry !== null) entries.push({ entry, start: line.start, end: line.end });
      }
      if (entries.length > 0) yield entries;
    }
  }

  /**
   * The entries of the given lines, in the order given. Lines next to each other in the file are read together.
   * A span that is not a good line (the file changed under the reader) is an error naming the journal and offset.
   */
  async entriesAt(spans: readonly LineSpan[]): Promise<unknown[]> {
    const order = spans.map((_, index) => index).sort((a, b) => spans[a]!.start - spans[b]!.start);
    const entries = new Array<unknown>(spans.length);
    let group = 0;
    while (group < order.length) {
      let last = group;
      const first = spans[order[group]!]!;
      while (
        last + 1 < order.length &&
        spans[order[last + 1]!]!.start === spans[order[last]!]!.end &&
        spans[order[last + 1]!]!.end - first.start <= MAX_COALESCED_BYTES
      ) {
        last += 1;
      }
      const bytes = await readRange(this.handle, first.start, spans[order[last]!]!.end);
      for (let i = group; i <= last; i++) {
        const span = spans[order[i]!]!;
        // The line without its newline.
        const entry = decodeJournalLine(bytes.subarray(span.start - first.start, span.end - first.start - 1));
        if (entry === null) throw new Error(`journal ${this.path}: the line at offset ${span.start} no longer checks out`);
        entries[order[i]!] = entry;
      }
      group = last + 1;
    }
    return entries;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
