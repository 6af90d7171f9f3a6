import type { DatasetReport } from './dataset-report.js';
import { escapeHtml } from './html-escape.js';
import { describeLabels, labelTable, type LabelRates } from './label-rates.js';
import { htmlList, htmlPage, htmlTable } from './html-page.js';
import { barChartSvg, countBarsSvg, histogramBins, histogramSvg } from './svg-charts.js';
import type { FlakyTask, SampleSummary } from './task-samples.js';
import { latencyTable, throughputTables } from './run-figures.js';
import { percent, samplesPerTask, taskLabel } from './text-format.js';

const HISTOGRAM_BINS = 20;

/** The report of one dataset as a self-contained HTML page with inline SVG charts. */
export function renderReportHtml(report: DatasetReport): string {
  const withSplit = report.bySplit !== null;
  const split = (r: { split: string | null }) => (withSplit ? [r.split ?? ''] : []);
  const timeChart = histogramSvg(histogramBins(report.recordSeconds, HISTOGRAM_BINS), 'Time per record', 's');
  return htmlPage(
    `mbpp-stream report: ${report.source}`,
    `<h1>MBPP dataset report</h1>
<p>${escapeHtml(report.source)} &middot; model: ${escapeHtml(report.models.join(', ') || '(not recorded)')}</p>
<p class="headline"><strong>${percent(report.passRate)}</strong> passed: ${report.passed} of ${report.records} records;
${report.wrong} wrong, ${report.failed} failed after retries.</p>
${report.labels ? labelsHtml(report.labels, report.records, report.samples !== null) : ''}
${limitationsHtml(report.limitations)}
${report.bySplit ? splitHtml(report.bySplit) : ''}
${report.samples ? samplesHtml(report.samples) : ''}
<h2>Time per record</h2>
<figure>${timeChart}</figure>
${runHtml(report)}
${
  report.errorTypes
    ? `<h2>Why records did not pass</h2>
<p>By the error type of each record's first failing test.</p>
${htmlTable(['error type', 'records'], report.errorTypes.map((e) => [e.errorType, e.records]))}`
    : ''
}
${report.flakyTasks ? flakyHtml(report.flakyTasks) : ''}
<h2>Slowest records</h2>
${htmlTable(
  ['task', ...(withSplit ? ['split'] : []), 'seconds', 'generation', 'execution'],
  report.slowest.map((r) => [taskLabel(r), ...split(r), r.seconds.toFixed(2), r.generation_time.toFixed(2), r.execution_time.toFixed(2)]),
)}
<h2>Failed records (${report.failedRecords.length})</h2>
${htmlTable(['task', ...(withSplit ? ['split'] : []), 'attempts', 'error'], report.failedRecords.map((r) => [taskLabel(r), ...split(r), r.attempts, r.error]))}`,
  );
}

/** Per-record latency, and the run's throughput where the metadata beside the dataset records it. */
function runHtml(report: DatasetReport): string {
  const latency = latencyTable(report.latency);
  const latencyHtml = `<p>Seconds per record (latency; records overlap, so see throughput for the rate).</p>\n${htmlTable(latency.header, latency.rows)}`;
  if (report.run === null) return latencyHtml;
  const { run, sessions } = throughputTables(report.run.throughput);
  return `${latencyHtml}
<h2>Throughput</h2>
<p>Over wall time, the run's last attempt (from ${escapeHtml(report.run.source)}).</p>
${htmlTable(run.header, run.rows)}
${sessions.rows.length > 0 ? htmlTable(sessions.header, sessions.rows) : ''}`;
}

/** The headline beside MBPP+'s base and plus labels: a bar each, and their pass@k. */
function labelsHtml(labels: LabelRates, records: number, withPassAtK: boolean): string {
  const chart = barChartSvg(
    labels.rates.map((r) => ({ label: r.column, fraction: r.passRate, caption: `${percent(r.passRate)} (${r.passed}/${records})` })),
    'Pass rate by label',
  );
  const { header, rows } = labelTable(labels, withPassAtK);
  return `<h2>Labels: the headline, MBPP+ base and plus</h2>
<p>${escapeHtml(describeLabels(labels))}.</p>
<figure>${chart}</figure>
${htmlTable(header, rows)}`;
}

export function limitationsHtml(limitations: readonly string[]): string {
  if (limitations.length === 0) return '';
  return `<p class="note">Not shown: this dataset lacks columns the report reads (the original pipeline wrote fewer).</p>\n${htmlList(limitations)}`;
}

function splitHtml(bySplit: NonNullable<DatasetReport['bySplit']>): string {
  const chart = barChartSvg(
    bySplit.map((s) => ({ label: s.split, fraction: s.passRate, caption: `${percent(s.passRate)} (${s.passed}/${s.records})` })),
    'Pass rate by split',
  );
  return `<h2>Pass rate by split</h2>
<figure>${chart}</figure>
${htmlTable(['split', 'records', 'passed', 'pass rate'], bySplit.map((s) => [s.split, s.records, s.passed, percent(s.passRate)]))}`;
}

function samplesHtml(samples: SampleSummary): string {
  const chart = countBarsSvg(
    samples.tasksByCorrect.map((tasks, correct) => ({ label: String(correct), count: tasks })),
    'Tasks by number of correct samples',
  );
  return `<h2>pass@k</h2>
<p>${samplesPerTask(samples)}, ${samples.tasks} tasks. Unbiased estimator of Chen et al. (2021), mean over tasks; k up to the fewest samples a task has.</p>
${htmlTable(['k', 'pass@k'], samples.passAtK.map((p) => [p.k, percent(p.value)]))}
<h2>Tasks by number of correct samples</h2>
<figure>${chart}</figure>`;
}

/** `where` qualifies the heading, e.g. " in A". */
export function flakyHtml(tasks: readonly FlakyTask[], where = ''): string {
  return `<h2>Flaky tasks${escapeHtml(where)} (${tasks.length})</h2>
<p>A sample's verdict changed when re-run under other hash seeds.</p>
${htmlTable(['task', 'flaky samples', 'samples'], tasks.map((t) => [String(t.task_id), t.flakySamples, t.samples]))}`;
}
