/**
 * Arrow tables to and from Parquet through parquet-wasm (the Rust `parquet` crate): Arrow IPC crosses into
 * WebAssembly, which writes standard Parquet (UTF8 strings, 3-level LIST columns) that pyarrow, pandas,
 * DuckDB and hyparquet read.
 */
import { readFile } from 'node:fs/promises';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import * as parquetWasm from 'parquet-wasm';
import { InputError } from '../errors.js';
import { writeFileAtomic, type AtomicWriteOptions } from './atomic-file.js';

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

/** Encodes `table` as a Parquet file's bytes. */
export function tableToParquet(table: Table, options: ParquetWriteOptions = {}): Uint8Array {
  const properties = new parquetWasm.WriterPropertiesBuilder()
    .setCompression(codecs[options.compression ?? 'snappy'])
    .setCreatedBy('mbpp-stream')
    .build();
  // writeParquet takes ownership of (and frees) both the wasm table and the properties.
  return parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(tableToIPC(table, 'stream')), properties);
}

/** Decodes a Parquet file's bytes; `source` (a file name) prefixes the error for bytes that are not Parquet. */
export function parquetToTable(bytes: Uint8Array, source: string): Table {
  try {
    return tableFromIPC(parquetWasm.readParquet(bytes).intoIPCStream());
  } catch (error) {
    throw new InputError(`${source}: not a readable Parquet file (${(error as Error).message})`);
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
