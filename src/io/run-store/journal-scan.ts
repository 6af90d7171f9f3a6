/**
 * Splitting a stretch of a journal file into lines, for the journal itself (recovery, reads) and for readers that
 * open it on their own (the final dataset, the autosave thread).
 */
import type { FileHandle } from 'node:fs/promises';

const NEWLINE = 0x0a;
const READ_CHUNK = 1 << 20;

/** One line of a journal file: its bytes (no newline), where it starts and ends (past the newline). */
export interface JournalFileLine {
  bytes: Buffer;
  start: number;
  end: number;
  /** False for a final stretch without a newline: its write never finished, even if its bytes happen to check out. */
  terminated: boolean;
}

/** Called for each line with its bytes (no newline), where it starts and ends (past the newline), and whether it has one. */
export type LineVisitor = (line: Buffer, start: number, end: number, terminated: boolean) => void;

/**
 * The lines of [from, to) of `handle`, read 1 MiB at a time and handed over a read's worth at a time, so a reader
 * can do async work between them without holding the file. A line's bytes are valid until the next batch.
 */
export async function* readLines(handle: FileHandle, from: number, to: number): AsyncGenerator<JournalFileLine[]> {
  let carry: Buffer = Buffer.alloc(0);
  let carryStart = from;
  let position = from;
  const chunk = Buffer.alloc(READ_CHUNK);
  while (position < to) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(READ_CHUNK, to - position), position);
    if (bytesRead === 0) break;
    position += bytesRead;
    const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    const lines: JournalFileLine[] = [];
    let lineStart = 0;
    for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, lineStart)) {
      lines.push({ bytes: data.subarray(lineStart, newline), start: carryStart + lineStart, end: carryStart + newline + 1, terminated: true });
      lineStart = newline + 1;
    }
    // Copied: the next read reuses `chunk`.
    carry = Buffer.from(data.subarray(lineStart));
    carryStart += lineStart;
    if (lines.length > 0) yield lines;
  }
  if (carry.length > 0) yield [{ bytes: carry, start: carryStart, end: carryStart + carry.length, terminated: false }];
}

/** Visits every line of [from, to) of `handle` (see `readLines`). */
export async function scanLines(handle: FileHandle, from: number, to: number, visit: LineVisitor): Promise<void> {
  for await (const lines of readLines(handle, from, to)) {
    for (const line of lines) visit(line.bytes, line.start, line.end, line.terminated);
  }
}

/** The bytes of [start, end) of `handle` (fewer if the file is shorter). */
export async function readRange(handle: FileHandle, start: number, end: number): Promise<Buffer> {
  const buffer = Buffer.alloc(end - start);
  let read = 0;
  while (read < buffer.length) {
    const result = await handle.read(buffer, read, buffer.length - read, start + read);
    if (result.bytesRead === 0) break;
    read += result.bytesRead;
  }
  return buffer.subarray(0, read);
}
