/**
 * Arrow tables to and from Parquet through parquet-wasm (the Rust `parquet` crate): Arrow IPC crosses into
 * WebAssembly, which writes standard Parquet (UTF8 strings, 3-level LIST columns) that pyarrow, pandas,
 * DuckDB and hyparquet read.
 */
import { readFile } from 'node:fs/promises';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import * as parquetWasm from 'parquet-wasm';
import { InputError } from '../errors.js';
import { writeAtomically, writeFileAtomic, writeFully, type AtomicWriteOptions } from './atomic-file.js';

/**
 * `snappy` (default) is what pandas writes and what every reader decodes without extras (hyparquet needs a
 * plug-in for zstd); `zstd` makes smaller files for pyarrow/pandas/DuckDB.
 */
export type ParquetCompression = 'snappy' | 'zstd' | 'uncompressed';

export const parquetCompressions: readonly ParquetCompression[] = ['snappy', 'zstd', 'uncompressed'];

export interface ParquetWriteOptions {
  compression?: ParquetCompression;
}

const codecs: Record<ParquetCompression, parquetWasm.Compression> = {
  snappy: parquetWasm.Compression.SNAPPY,
  zstd: parquetWasm.Compression.ZSTD,
  uncompressed: parquetWasm.Compression.UNCOMPRESSED,
};

function writerProperties(options: ParquetWriteOptions, rowGroupRows?: number): parquetWasm.WriterProperties {
  let builder = new parquetWasm.WriterPropertiesBuilder().setCompression(codecs[options.compression ?? 'snappy']).setCreatedBy('mbpp-stream');
  if (rowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(rowGroupRows);
  return builder.build();
}

/** Encodes `table` as a Parquet file's bytes. */
export function tableToParquet(table: Table, options: ParquetWriteOptions = {}): Uint8Array {
  // writeParquet takes ownership of (and frees) both the wasm table and the properties.
  return parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(tableToIPC(table, 'stream')), writerProperties(options));
}

/**
 * Decodes a Parquet file's bytes; `source` (a file name) prefixes the error for bytes that are not Parquet. With
 * `columns`, only those of them the file has are decoded (a report of 200,000 rows need not hold their code); with
 * `rows`, only that stretch of rows.
 */
export function parquetToTable(bytes: Uint8Array, source: string, columns?: readonly string[], rows?: { offset: number; limit: number }): Table {
  try {
    const options = { ...(columns ? { columns: columnsIn(bytes, columns) } : {}), ...rows };
    return tableFromIPC(parquetWasm.readParquet(bytes, options).intoIPCStream());
  } catch (error) {
    throw new InputError(`${source}: not a readable Parquet file (${(error as Error).message})`);
  }
}

/** The ones of `columns` that the file's schema has. */
function columnsIn(bytes: Uint8Array, columns: readonly string[]): string[] {
  const schema = parquetWasm.readSchema(bytes);
  const has = (column: string): boolean => {
    try {
      return schema.indexOf(column) >= 0;
    } catch {
      // parquet-wasm throws for a name the schema lacks.
      return false;
    }
  };
  try {
    return columns.filter(has);
  } finally {
    schema.free();
  }
}

/** Writes `table` to `path` as Parquet, atomically. */
export async function writeParquetFile(
  path: string,
  table: Table,
  options: ParquetWriteOptions & AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, tableToParquet(table, options), options);
}

/** Reads the Parquet file at `path`; a missing or unreadable file is an `InputError` naming it. */
export async function readParquetFile(path: string): Promise<Table> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parquetToTable(bytes, path);
}

/**
 * Writes `tables` to `path` as one Parquet file, atomically, holding one table at a time: each becomes a row group
 * (split at `rowGroupRows`), written out before the next is asked for. Every table must have the same schema, and
 * there must be at least one (an empty one makes a file with the schema and no rows).
 */
export async function writeParquetStream(
  path: string,
  tables: AsyncIterable<Table>,
  options: ParquetWriteOptions & AtomicWriteOptions & { rowGroupRows: number },
): Promise<void> {
  // parquet-wasm's stream ends a file normally when its input fails (or reports a casting error): whether every
  // table was read, or what failed, is kept here, so a file cut short is never put in place.
  let upstream: { done: true } | { error: unknown } | undefined;
  async function* wasmBatches(): AsyncGenerator<parquetWasm.RecordBatch> {
    try {
      for await (const table of tables) {
        const wasmTable = parquetWasm.Table.fromIPCStream(tableToIPC(table, 'stream'));
        // The batches share the table's arrays (reference counted); freeing the table now keeps wasm memory flat.
        const batches = wasmTable.recordBatches();
        wasmTable.free();
        yield* batches;
      }
      upstream = { done: true };
    } catch (error) {
      upstream = { error };
      throw error;
    }
  }
  await writeAtomically(
    path,
    async (handle) => {
      try {
        const bytes = await parquetWasm.transformParquetStream(ReadableStream.from(wasmBatches()), writerProperties(options, options.rowGroupRows));
        // Leaving the loop early (a failed write) cancels the stream, which stops pulling tables.
        for await (const chunk of bytes as unknown as AsyncIterable<Uint8Array>) await writeFully(handle, chunk);
      } catch (error) {
        throw upstream !== undefined && 'error' in upstream ? upstream.error : error;
      }
      if (upstream === undefined) throw new Error(`${path}: the Parquet stream ended before its rows did`);
      if ('error' in upstream) throw upstream.error;
    },
    options,
  );
}
