/**
 * Writes a finished run's dataset: the Parquet, its JSON twin and the extended metadata, each atomically and
 * none over an existing file. The metadata goes last and lists the other two, so a metadata file on disk
 * means the dataset it names is complete.
 */
import type { GenerationResult } from '../records.js';
import { writeFileAtomic } from './atomic-file.js';
import type { DatasetPaths, OutputLayout } from './output-layout.js';
import { writeParquetFile, type ParquetWriteOptions } from './parquet-file.js';
import { resultsToTable, toDatasetRow } from './result-table.js';

/** What was written: the three paths and the row count (also recorded as `files` in the metadata). */
export interface WrittenDataset extends DatasetPaths {
  rows: number;
}

/**
 * Writes `rows` to the layout's dataset paths. `metadata` is the caller's (counts, failed records, config,
 * timing stats); a `files` key is added with the paths and the row count.
 */
export async function writeDataset(
  layout: OutputLayout,
  rows: readonly GenerationResult[],
  metadata: Record<string, unknown>,
  options: ParquetWriteOptions = {},
): Promise<WrittenDataset> {
  const written: WrittenDataset = { ...layout.dataset, rows: rows.length };
  await layout.ensureDirectory(layout.datasetsDir);
  await writeParquetFile(written.parquet, resultsToTable(rows), { ...options, overwrite: false });
  await writeFileAtomic(written.json, toJson(rows.map(toDatasetRow)), { overwrite: false });
  await writeFileAtomic(written.metadata, toJson({ ...metadata, files: written }), { overwrite: false });
  return written;
}

/** Indented JSON with a final newline; rows carry multi-line code, so one line per field keeps diffs readable. */
function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
