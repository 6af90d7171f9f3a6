/**
 * Writes a finished run's dataset: the Parquet, its JSON twin and the extended metadata, each atomically and
 * none over an existing file. The rows stream through in batches (one Parquet row group, one stretch of the JSON
 * each), so a 200,000-row dataset is written holding one batch, never the whole of it. The metadata goes last and
 * lists the other two, so a metadata file on disk means the dataset it names is complete; when a write fails, the
 * files already put in place are taken away again.
 */
import { rm, type FileHandle } from 'node:fs/promises';
import type { Table } from 'apache-arrow';
import type { GenerationResult } from '../records.js';
import { writeAtomically, writeFileAtomic, writeFully } from './atomic-file.js';
import type { DatasetPaths, OutputLayout } from './output-layout.js';
import { writeParquetStream, type ParquetWriteOptions } from './parquet-file.js';
import { resultsToTable, toDatasetRow } from './result-table.js';

/** What was written: the three paths and the row count (also recorded as `files` in the metadata). */
export interface WrittenDataset extends DatasetPaths {
  rows: number;
}

/** Rows per Parquet row group: what the writer holds at once, whatever the batches' size. */
export const DATASET_ROW_GROUP_ROWS = 2000;

/** The dataset's rows in order, a batch at a time. */
export type RowBatches = AsyncIterable<readonly GenerationResult[]> | Iterable<readonly GenerationResult[]>;

/**
 * Writes the rows of `batches` to the layout's dataset paths. `metadata` is the caller's (counts, failed records,
 * config, statistics), asked for once every row has been written, so it can be summed up from the batches as they
 * pass; a `files` key is added with the paths and the row count.
 *
 * The JSON twin is one JSON array with one row per line: `json.load` and `pandas.read_json` read it as before, and
 * a reader can also take it a line at a time (`report` does).
 */
export async function writeDataset(
  layout: OutputLayout,
  batches: RowBatches,
  metadata: () => Record<string, unknown>,
  options: ParquetWriteOptions = {},
): Promise<WrittenDataset> {
  const paths = layout.dataset;
  let rows = 0;
  await layout.ensureDirectory(layout.datasetsDir);
  const placed: string[] = [];
  try {
    await writeAtomically(
      paths.json,
      async (json) => {
        await writeFully(json, Buffer.from('['));
        async function* tables(): AsyncGenerator<Table> {
          for await (const batch of batches) {
            if (batch.length === 0) continue;
            await writeJsonRows(json, batch, rows === 0);
            rows += batch.length;
            yield resultsToTable(batch);
          }
          // A file with no row group still needs the schema.
          if (rows === 0) yield resultsToTable([]);
        }
        await writeParquetStream(paths.parquet, tables(), { ...options, rowGroupRows: DATASET_ROW_GROUP_ROWS, overwrite: false });
        placed.push(paths.parquet);
        await writeFully(json, Buffer.from('\n]\n'));
      },
      { overwrite: false },
    );
    placed.push(paths.json);
    const written: WrittenDataset = { ...paths, rows };
    await writeFileAtomic(paths.metadata, `${JSON.stringify({ ...metadata(), files: written }, null, 2)}\n`, { overwrite: false });
    return written;
  } catch (error) {
    await Promise.all(placed.map((path) => rm(path, { force: true }).catch(() => undefined)));
    throw error;
  }
}

/** One row per line, in schema order, with the separating commas. */
async function writeJsonRows(handle: FileHandle, batch: readonly GenerationResult[], first: boolean): Promise<void> {
  const lines = batch.map((row) => JSON.stringify(toDatasetRow(row)));
  await writeFully(handle, Buffer.from(`${first ? '\n' : ',\n'}${lines.join(',\n')}`, 'utf8'));
}
