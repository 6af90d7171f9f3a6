/**
 * A dataset file as cells by column name, whatever wrote it: this tool's Parquet or JSON twin, or the original
 * Python pipeline's (pandas: Int64 columns, a JSON array of row objects). The format is told by content
 * (Parquet's `PAR1` magic), not by the file name.
 */
import { readFile } from 'node:fs/promises';
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

/** Reads `file`; a missing file, or one that is neither Parquet nor a JSON array of objects, is an `InputError`. */
export async function readDatasetTable(file: string): Promise<DatasetTable> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new InputError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (bytes.subarray(0, 4).toString('latin1') === PARQUET_MAGIC) return arrowTable(parquetToTable(bytes, file), file);
  return jsonTable(bytes.toString('utf8'), file);
}

function arrowTable(table: Table, file: string): DatasetTable {
  return {
    file,
    columns: new Set(table.schema.fields.map((field) => field.name)),
    rowCount: table.numRows,
    cell: (column, row) => plain(table.getChild(column)?.get(row)),
  };
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

function jsonTable(text: string, file: string): DatasetTable {
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
    if (typeof row === 'object' && row !== null && !Array.isArray(row)) return row as Record<string, unknown>;
    throw new InputError(`${file}: row ${index}: expected a JSON object, got ${Array.isArray(row) ? 'an array' : String(row)}`);
  });
  return {
    file,
    // The first row names the columns; a later row without one of them is caught as a missing cell.
    columns: new Set(Object.keys(rows[0] ?? {})),
    rowCount: rows.length,
    cell: (column, row) => rows[row]?.[column],
  };
}
