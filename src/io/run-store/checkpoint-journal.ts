/**
 * The append-only journal of finished records: the run's source of truth. `append` resolves only after the
 * line is on disk (fdatasync), so a finished record survives any crash after that point. `appendAll` writes
 * several lines with one write and one sync, and appends that arrive while a write is in flight share the
 * next one (group commit).
 */
import { open, type FileHandle, writeFile } from 'node:fs/promises';
import { decodeJournalLine, encodeJournalLine } from './journal-line.js';
import { readRange, scanLines } from './journal-scan.js';

const NEWLINE = 0x0a;

/** A stretch of the journal that failed its check, and where a copy of its bytes was kept. */
export interface JournalDamage {
  /** `torn-tail`: the end of the file after the last good line (cut off); `corrupt-line`: a bad line between good ones (skipped). */
  kind: 'torn-tail' | 'corrupt-line';
  offset: number;
  length: number;
  /** Copy of the damaged bytes, kept for inspection. */
  savedTo: string;
}

export interface JournalRecovery {
  /** Good lines read. */
  lines: number;
  damage: JournalDamage[];
}

/** Called for each good line, with the byte offset just past it. */
export type JournalEntryVisitor = (entry: unknown, endOffset: number) => void;

interface PendingAppend {
  lines: Buffer[];
  /** The offset just past each line. */
  resolve: (endOffsets: number[]) => void;
  reject: (error: unknown) => void;
}

/** A filesystem-safe timestamp for names of kept copies. */
export function fileStamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

export class CheckpointJournal {
  private pending: PendingAppend[] = [];
  private flushing = false;
  /** Set when a failed write could not be undone: the file's end is unknown, so no more appends. */
  private broken: Error | null = null;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private byteSize: number,
  ) {}

  /** Opens (creating if missing) the journal at `path`. Call `recover` before appending. */
  static async open(path: string): Promise<CheckpointJournal> {
    const handle = await open(path, 'a+');
    const { size } = await handle.stat();
    return new CheckpointJournal(path, handle, size);
  }

  /** Bytes of good lines on disk (after recovery, the file's size). */
  get size(): number {
    return this.byteSize;
  }

  /** Whether `offset` is the start of a line: where a checkpoint may say it stopped. */
  async isLineBoundary(offset: number): Promise<boolean> {
    if (offset === 0) return true;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.byteSize) return false;
    const byte = Buffer.alloc(1);
    const { bytesRead } = await this.handle.read(byte, 0, 1, offset - 1);
    return bytesRead === 1 && byte[0] === NEWLINE;
  }

  /**
   * Reads every line from `fromOffset`, visiting the good ones. Damage after the last good line (a write
   * torn by a crash) is copied aside and cut off, so appends continue from a clean end; bad lines between
   * good ones are copied aside and skipped. Never throws on damage, only on I/O errors.
   */
  async recover(fromOffset: number, visit: JournalEntryVisitor, now: () => Date = () => new Date()): Promise<JournalRecovery> {
    const bad: Array<{ start: number; end: number }> = [];
    let goodEnd = fromOffset;
    let lines = 0;
    await scanLines(this.handle, fromOffset, this.byteSize, (line, start, end, terminated) => {
      const entry = terminated ? decodeJournalLine(line) : null;
      if (entry === null) {
        bad.push({ start, end });
        return;
      }
      lines += 1;
      goodEnd = end;
      visit(entry, end);
    });
    const damage: JournalDamage[] = [];
    const stamp = fileStamp(now());
    const corrupt = bad.filter((range) => range.end <= goodEnd);
    if (corrupt.length > 0) {
      const savedTo = `${this.path}.corrupt-${stamp}.bin`;
      const copies = await Promise.all(corrupt.map((range) => readRange(this.handle, range.start, range.end)));
      await writeFile(savedTo, Buffer.concat(copies));
      for (const range of corrupt) {
        damage.push({ kind: 'corrupt-line', offset: range.start, length: range.end - range.start, savedTo });
      }
    }
    if (goodEnd < this.byteSize) {
      const savedTo = `${this.path}.torn-${stamp}.bin`;
      await writeFile(savedTo, await readRange(this.handle, goodEnd, this.byteSize));
      damage.push({ kind: 'torn-tail', offset: goodEnd, length: this.byteSize - goodEnd, savedTo });
      await this.handle.truncate(goodEnd);
      await this.handle.datasync();
      this.byteSize = goodEnd;
    }
    return { lines, damage };
  }

  /** Visits every good line from the start, skipping bad ones (as `recover` reported them). */
  async read(visit: JournalEntryVisitor): Promise<void> {
    await scanLines(this.handle, 0, this.byteSize, (line, _start, end, terminated) => {
      const entry = terminated ? decodeJournalLine(line) : null;
      if (entry !== null) visit(entry, end);
    });
  }

  /** Writes one entry as a line and resolves, with the offset just past it, once it is on disk. */
  async append(entry: unknown): Promise<number> {
    const [end] = await this.appendAll([entry]);
    return end!;
  }

  /**
   * Writes entries as lines, in order, and resolves with the offset just past each once all are on disk: one
   * write and one sync for all of them (and for whatever else is waiting), however many there are.
   */
  appendAll(entries: readonly unknown[]): Promise<number[]> {
    if (this.broken) return Promise.reject(this.broken);
    const lines = entries.map(encodeJournalLine);
    return new Promise<number[]>((resolve, reject) => {
      this.pending.push({ lines, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Waits for appends in flight, then closes the file. */
  async close(): Promise<void> {
    while (this.flushing) await new Promise<void>((resolve) => setImmediate(resolve));
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      const bytes = Buffer.concat(batch.flatMap((item) => item.lines));
      try {
        if (this.broken) throw this.broken;
        let written = 0;
        while (written < bytes.length) {
          const result = await this.handle.write(bytes, written, bytes.length - written);
          written += result.bytesWritten;
        }
        await this.handle.datasync();
      } catch (error) {
        await this.undoPartialWrite(error);
        // Named, so a full disk says which file it stopped (the system's message names only the call).
        const cause = error as NodeJS.ErrnoException;
        const failure = error === this.broken ? error : Object.assign(new Error(`cannot write the journal ${this.path}: ${cause.message}`, { cause }), { code: cause.code });
        for (const item of batch) item.reject(failure);
        continue;
      }
      let end = this.byteSize;
      for (const item of batch) {
        item.resolve(item.lines.map((line) => (end += line.length)));
      }
      this.byteSize = end;
    }
    this.flushing = false;
  }

  /** Cuts a failed write's partial bytes off, so the next append starts on a line boundary. */
  private async undoPartialWrite(cause: unknown): Promise<void> {
    if (this.broken) return;
    try {
      await this.handle.truncate(this.byteSize);
    } catch {
      this.broken = new Error(`journal ${this.path}: a write failed and could not be undone; reopen the run to recover`, {
        cause,
      });
    }
  }
}
