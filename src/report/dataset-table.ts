/**
 * A dataset file as cells by column name, whatever wrote it: this tool's Parquet or JSON twin, or the original
 * Python pipeline's (pandas: Int64 columns, a JSON array of row objects). The format is told by content
 * (Parquet's `PAR1` magic), not by the file name. Only the columns asked for are kept, and this tool's JSON twin
 * (one row per line of its array) is read a line at a time, so a 200,000-row dataset is never one giant string.
 */
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Vector, type Table } from 'apache-arrow';
import { InputError } from '../errors.js';
import { parquetToTable } from '../io/parquet-file.js';

export interface DatasetTable {
  file: string;
  columns: ReadonlySet<string>;
  rowCount: number;
  /** The cell as plain data: numbers (Int64 ones too), strings, booleans, null, arrays, objects. */
  cell(column: string, row: number): unknown;
}

const PARQUET_MAGIC = 'PAR1';

/**
 * Reads `file`, keeping only `columns` (all when not given); a missing file, or one that is neither Parquet nor a
 * JSON array of objects, is an `InputError`.
 */
export async function readDatasetTable(file: string, columns?: readonly string[]): Promise<DatasetTable> {
  let magic: string;
  try {
    const handle = await open(file, 'r');
    try {
      const head = Buffer.alloc(4);
      const { bytesRead } = await handle.read(head, 0, 4, 0);
      magic = head.subarray(0, bytesRead).toString('latin1');
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new InputError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const keep = columns ? new Set(columns) : undefined;
  if (magic === PARQUET_MAGIC) return parquetTable(await readFile(file), file, columns);
  return (await jsonLinesTable(file, keep)) ?? jsonTable(await readFile(file, 'utf8'), file, keep);
}

/** Rows of Parquet decoded at a time: only one such stretch is ever held as Arrow data. */
const PARQUET_CHUNK_ROWS = 20_000;

/** A Parquet file's rows as plain data, decoded a stretch at a time (Arrow's cell access is slow and its copies large). */
function parquetTable(bytes: Uint8Array, file: string, columns: readonly string[] | undefined): DatasetTable {
  const rows: Record<string, unknown>[] = [];
  let names: string[] | undefined;
  for (let offset = 0; ; offset += PARQUET_CHUNK_ROWS) {
    const table: Table = parquetToTable(bytes, file, columns, { offset, limit: PARQUET_CHUNK_ROWS });
    names ??= table.schema.fields.map((field) => field.name);
    const vectors = names.map((name) => table.getChild(name));
    for (let row = 0; row < table.numRows; row++) {
      rows.push(Object.fromEntries(names.map((name, column) => [name, plain(vectors[column]?.get(row))])));
    }
    if (table.numRows < PARQUET_CHUNK_ROWS) break;
  }
  return { file, columns: new Set(names), rowCount: rows.length, cell: (column, row) => rows[row]?.[column] };
}

/** Arrow values as JSON would give them, so one validator serves both formats. */
function plain(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Vector) return Array.from(value, plain);
  if (typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    const fields = (value as { toJSON(): Record<string, unknown> }).toJSON();
    return Object.fromEntries(Object.entries(fields).map(([key, field]) => [key, plain(field)]));
  }
  return value;
}

/**
 * This tool's JSON twin, read a line at a time: `[`, then one row object per line (each but the last followed by a
 * comma), then `]`. null when the file is laid out otherwise (pandas writes one line, older twins were indented):
 * the caller then parses it whole.
 */
async function jsonLinesTable(file: string, keep: ReadonlySet<string> | undefined): Promise<DatasetTable | null> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  const rows: Record<string, unknown>[] = [];
  let state: 'start' | 'rows' | 'end' = 'start';
  try {
    for await (const raw of lines) {
      const line = (state === 'start' ? raw.replace(/^\uFEFF/, '') : raw).trim();
      if (state === 'start') {
        if (line !== '[') return null;
        state = 'rows';
      } else if (state === 'rows' && line === ']') {
        state = 'end';
      } else if (state === 'rows') {
        const row = parsedRow(line.endsWith(',') ? line.slice(0, -1) : line);
        if (row === null) return null;
        rows.push(keep ? projected(row, keep) : row);
      } else if (line !== '') {
        return null;
      }
    }
  } finally {
    lines.close();
  }
  return state === 'end' ? rowTable(rows, file) : null;
}

function parsedRow(text: string): Record<string, unknown> | null {
  if (!text.startsWith('{')) return null;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function projected(row: Record<string, unknown>, keep: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([column]) => keep.has(column)));
}

function jsonTable(text: string, file: string, keep: ReadonlySet<string> | undefined): DatasetTable {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new InputError(`${file}: neither Parquet nor JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(value)) {
    throw new InputError(
      `${file}: expected a JSON array of row objects (pandas: DataFrame.to_json(orient="records")), got ${value === null ? 'null' : typeof value}`,
    );
  }
  const rows = value.map((row: unknown, index) => {
    if (typeof row === 'object' && row !== null && !Array.isArray(row)) return keep ? projected(row as Record<string, unknown>, keep) : (row as Record<string, unknown>);
    throw new InputError(`${file}: row ${index}: expected a JSON object, got ${Array.isArray(row) ? 'an array' : String(row)}`);
  });
  return rowTable(rows, file);
}

function rowTable(rows: readonly Record<string, unknown>[], file: string): DatasetTable {
  return {
    file,
    // The first row names the columns; a later row without one of them is caught as a missing cell.
    columns: new Set(Object.keys(rows[0] ?? {})),
    rowCount: rows.length,
    cell: (column, row) => rows[row]?.[column],
  };
}
