import { InputError } from '../errors.js';
import { AtomicWriteError, writeFileAtomic } from '../io/atomic-file.js';
import { readParquetFile } from '../io/parquet-file.js';
import { tableToResults } from '../io/result-table.js';
import { buildDatasetReport } from '../report/dataset-report.js';
import { renderReportHtml } from '../report/report-html.js';
import { renderReportText } from '../report/report-text.js';

/** `mbpp-stream report <dataset.parquet> [--html FILE]`. */
export interface ReportArgs {
  /** The dataset Parquet file a build wrote. */
  dataset: string;
  /** Also write a self-contained HTML page here. */
  html?: string;
  /** Where the text report goes; stdout unless a test captures it. */
  out?: { write(text: string): unknown };
}

/**
 * Prints the text report of a dataset and, with `--html`, writes the HTML page. A missing or unreadable
 * dataset, or an HTML path that cannot be written, is an `InputError` naming the file.
 */
export async function runReport(args: ReportArgs): Promise<number> {
  const rows = tableToResults(await readParquetFile(args.dataset), args.dataset);
  if (rows.length === 0) throw new InputError(`${args.dataset}: the dataset has no records`);
  const report = buildDatasetReport(rows, args.dataset);
  (args.out ?? process.stdout).write(renderReportText(report));
  if (args.html !== undefined) {
    try {
      await writeFileAtomic(args.html, renderReportHtml(report));
    } catch (error) {
      if (error instanceof AtomicWriteError) throw new InputError(`--html ${args.html}: ${error.message}`);
      throw error;
    }
    (args.out ?? process.stdout).write(`html report: ${args.html}\n`);
  }
  return 0;
}
