import { InputError } from '../errors.js';
import { AtomicWriteError, writeFileAtomic } from '../io/atomic-file.js';
import { renderComparisonHtml } from '../report/comparison-html.js';
import { renderComparisonText } from '../report/comparison-text.js';
import { buildDatasetReport } from '../report/dataset-report.js';
import { renderReportHtml } from '../report/report-html.js';
import { readReportDataset, type ReportDataset } from '../report/report-rows.js';
import { renderReportText } from '../report/report-text.js';
import { compareRuns } from '../report/run-comparison.js';

/** `mbpp-stream report <A> [B] [--html FILE]`. */
export interface ReportArgs {
  /** One dataset (Parquet or its JSON twin, this tool's or the original pipeline's) to report, or two to compare. */
  datasets: string[];
  /** Also write a self-contained HTML page here. */
  html?: string;
  /** Where the text report goes; stdout unless a test captures it. */
  out?: { write(text: string): unknown };
}

/**
 * Prints the text report of one dataset, or the comparison of two, and with `--html` writes the HTML page.
 * A missing or unreadable dataset, or an HTML path that cannot be written, is an `InputError` naming the file.
 */
export async function runReport(args: ReportArgs): Promise<number> {
  if (args.datasets.length < 1 || args.datasets.length > 2) {
    throw new InputError(`report takes one dataset, or two to compare; got ${args.datasets.length}`);
  }
  const [a, b] = await Promise.all(args.datasets.map(readReportDataset));
  const rendered = b === undefined ? reportOf(a!) : comparisonOf(a!, b);
  const out = args.out ?? process.stdout;
  // `report … | head` closes the pipe early: the rest of the text is not wanted, the HTML page still is.
  if (out === process.stdout) process.stdout.on('error', ignoreBrokenPipe);
  out.write(rendered.text);
  if (args.html !== undefined) {
    try {
      await writeFileAtomic(args.html, rendered.html());
    } catch (error) {
      if (error instanceof AtomicWriteError) throw new InputError(`--html ${args.html}: ${error.message}`);
      throw error;
    }
    out.write(`html report: ${args.html}\n`);
  }
  return 0;
}

interface Rendered {
  text: string;
  /** Rendered only when asked for. */
  html(): string;
}

function reportOf(dataset: ReportDataset): Rendered {
  const report = buildDatasetReport(dataset);
  return { text: renderReportText(report), html: () => renderReportHtml(report) };
}

function comparisonOf(a: ReportDataset, b: ReportDataset): Rendered {
  const comparison = compareRuns(a, b);
  return { text: renderComparisonText(comparison), html: () => renderComparisonHtml(comparison) };
}

function ignoreBrokenPipe(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') throw error;
}
