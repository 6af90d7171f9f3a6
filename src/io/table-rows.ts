/**
 * Reads a JSONL file or Parquet data (one file, or a directory of `*.parquet` parts as Hugging Face lays them out)
 * into plain rows, each tagged with where it came from, so that validators can name the file and line or row at
 * fault. Format is decided by content (Parquet's `PAR1` magic), not by the file extension.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tableFromIPC, Vector } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { InputError } from '../errors.js';

export type TableFormat = 'jsonl' | 'parquet';

/** One row and where it came from. */
export interface LocatedRow {
  file: string;
  /** `line 12` (JSONL) or `row 3` (Parquet), both 1-based. */
  position: string;
  value: unknown;
}

/** `data.jsonl, line 12`: the prefix of every error about a row. */
export function rowLocation(row: LocatedRow): string {
  return `${row.file}, ${row.position}`;
}

export interface TableFile {
  path: string;
  format: TableFormat;
  rows: LocatedRow[];
  /** sha256 of the file's bytes; for a directory, of its parts' names and digests. */
  sha256: string;
}

const PARQUET_MAGIC = 'PAR1';

/** Whether the bytes start as a Parquet file does. */
export function hasParquetMagic(bytes: Buffer): boolean {
  return bytes.subarray(0, 4).toString('latin1') === PARQUET_MAGIC;
}

/** `what` names the flag or role of the file in error messages (e.g. `--dataset`, `--generations`). */
export async function readTableFile(path: string, what: string): Promise<TableFile> {
  const info = await statOrInputError(path, what);
  if (info.isDirectory()) return readParquetDirectory(path, what);
  const bytes = await readFile(path);
  const sha256 = sha256Hex(bytes);
  if (hasParquetMagic(bytes)) {
    return { path, format: 'parquet', rows: parquetRows(bytes, path), sha256 };
  }
  return { path, format: 'jsonl', rows: jsonlRows(bytes.toString('utf8'), path), sha256 };
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The digest `readTableFile` reports for `path`, without parsing it: for locating data before loading it.
 * A missing or unreadable path is an `InputError` naming `what`.
 */
export async function contentDigest(path: string, what: string): Promise<string> {
  const info = await statOrInputError(path, what);
  if (!info.isDirectory()) return sha256Hex(await readFile(path));
  return partsDigest(await readParquetParts(path, what));
}

async function statOrInputError(path: string, what: string) {
  return stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`${what} ${path}: cannot read (${error.code ?? error.message})`);
  });
}

interface ParquetPart {
  file: string;
  bytes: Buffer;
}

async function readParquetParts(dir: string, what: string): Promise<ParquetPart[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.parquet')).sort();
  if (names.length === 0) {
    throw new InputError(
      `${what} ${dir}: directory has no .parquet files (for the Hugging Face layout pass the config folder, e.g. ${join(dir, 'full')})`,
    );
  }
  return Promise.all(
    names.map(async (name) => {
      const file = join(dir, name);
      const bytes = await readFile(file);
      if (!hasParquetMagic(bytes)) {
        throw new InputError(`${what} ${file}: not a Parquet file (no PAR1 header)`);
      }
      return { file, bytes };
    }),
  );
}

/** A directory's identity: its parts' names and contents, so renaming or changing any part changes it. */
function partsDigest(parts: readonly ParquetPart[]): string {
  return sha256Hex(parts.map((part) => `${basename(part.file)} ${sha256Hex(part.bytes)}\n`).join(''));
}

async function readParquetDirectory(dir: string, what: string): Promise<TableFile> {
  const parts = await readParquetParts(dir, what);
  const rows = parts.flatMap((part) => parquetRows(part.bytes, part.file));
  return { path: dir, format: 'parquet', rows, sha256: partsDigest(parts) };
}

/** A JSONL file's non-blank lines with their 1-based numbers; a BOM and CRLF line ends are dropped. */
export function jsonlLines(text: string): { line: string; number: number }[] {
  return text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .map((raw, index) => ({ line: raw.endsWith('\r') ? raw.slice(0, -1) : raw, number: index + 1 }))
    .filter(({ line }) => line.trim() !== '');
}

function jsonlRows(text: string, file: string): LocatedRow[] {
  const rows: LocatedRow[] = [];
  jsonlLines(text).forEach(({ line, number }) => {
    const position = `line ${number}`;
    const where = `${file}, ${position}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InputError(`${where}: malformed JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputError(`${where}: expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
    }
    rows.push({ file, position, value });
  });
  return rows;
}

function parquetRows(bytes: Uint8Array, file: string): LocatedRow[] {
  let ipc: Uint8Array;
  try {
    ipc = readParquet(bytes).intoIPCStream();
  } catch (error) {
    throw new InputError(`${file}: unreadable Parquet (${String(error)})`);
  }
  const table = tableFromIPC(ipc);
  const names = table.schema.fields.map((field) => field.name);
  const columns = names.map((name) => table.getChild(name));
  const rows: LocatedRow[] = [];
  for (let index = 0; index < table.numRows; index++) {
    const value: Record<string, unknown> = {};
    names.forEach((name, column) => {
      value[name] = plainValue(columns[column]?.get(index));
    });
    rows.push({ file, position: `row ${index + 1}`, value });
  }
  return rows;
}

/** Arrow cells as JSON would give them: lists as arrays, int64 as numbers when exact, structs as objects. */
function plainValue(cell: unknown): unknown {
  if (cell === null || cell === undefined) return null;
  if (typeof cell === 'bigint') {
    return cell >= BigInt(Number.MIN_SAFE_INTEGER) && cell <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(cell) : cell;
  }
  if (cell instanceof Vector) return Array.from(cell, plainValue);
  if (typeof cell === 'object' && 'toJSON' in cell && typeof cell.toJSON === 'function') {
    const object = cell.toJSON() as Record<string, unknown>;
    return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, plainValue(inner)]));
  }
  return cell;
}
