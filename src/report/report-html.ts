import type { DatasetReport } from './dataset-report.js';
import { escapeHtml } from './html-escape.js';
import { percent, taskLabel } from './report-text.js';
import { barChartSvg, histogramBins, histogramSvg } from './svg-charts.js';

const HISTOGRAM_BINS = 20;

/**
 * The report as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched), so it can
 * be mailed or attached to a paper's supplementary material and still open years later.
 */
export function renderReportHtml(report: DatasetReport): string {
  const splitChart = barChartSvg(
    report.bySplit.map((s) => ({ label: s.split, fraction: s.passRate, caption: `${percent(s.passRate)} (${s.passed}/${s.records})` })),
    'Pass rate by split',
  );
  const timeChart = histogramSvg(histogramBins(report.recordSeconds, HISTOGRAM_BINS), 'Time per record', 's');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mbpp-stream report: ${escapeHtml(report.source)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.headline { font-size: 1.25rem; }
figure { margin: 1rem 0; }
</style>
</head>
<body>
<h1>MBPP dataset report</h1>
<p>${escapeHtml(report.source)} &middot; model: ${escapeHtml(report.models.join(', ') || '(none)')}</p>
<p class="headline"><strong>${percent(report.passRate)}</strong> passed: ${report.passed} of ${report.records} records;
${report.wrong} wrong, ${report.failed} failed after retries.</p>
<h2>Pass rate by split</h2>
<figure>${splitChart}</figure>
${htmlTable(['split', 'records', 'passed', 'pass rate'], report.bySplit.map((s) => [s.split, s.records, s.passed, percent(s.passRate)]))}
<h2>Time per record</h2>
<figure>${timeChart}</figure>
<h2>Why records did not pass</h2>
<p>By the error type of each record's first failing test.</p>
${htmlTable(['error type', 'records'], report.errorTypes.map((e) => [e.errorType, e.records]))}
<h2>Slowest records</h2>
${htmlTable(
  ['task', 'split', 'seconds', 'generation', 'execution'],
  report.slowest.map((r) => [taskLabel(r), r.split, r.seconds.toFixed(2), r.generation_time.toFixed(2), r.execution_time.toFixed(2)]),
)}
<h2>Failed records (${report.failedRecords.length})</h2>
${htmlTable(['task', 'split', 'attempts', 'error'], report.failedRecords.map((r) => [taskLabel(r), r.split, r.attempts, r.error]))}
</body>
</html>
`;
}

function htmlTable(header: string[], rows: (string | number)[][]): string {
  if (rows.length === 0) return '<p>none</p>';
  const head = header.map((title) => `<th>${escapeHtml(title)}</th>`).join('');
  const body = rows
    .map((row) => `<tr>${row.map((cell) => (typeof cell === 'number' ? `<td class="n">${cell}</td>` : `<td>${escapeHtml(cell)}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
