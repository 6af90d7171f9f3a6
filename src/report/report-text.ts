import type { DatasetReport } from './dataset-report.js';
import { describeLabels, labelTable, type LabelRates } from './label-rates.js';
import type { FlakyTask, SampleSummary } from './task-samples.js';
import { latencyTable, throughputTables } from './run-figures.js';
import { oneLine, percent, samplesPerTask, table, taskLabel } from './text-format.js';

/** The report as plain text for the terminal: aligned tables, no colour, safe to pipe. */
export function renderReportText(report: DatasetReport): string {
  const withSplit = report.bySplit !== null;
  const lines: string[] = [
    `dataset: ${report.source}`,
    `model: ${report.models.join(', ') || '(not recorded)'}`,
    `records: ${report.records}  passed: ${report.passed} (${percent(report.passRate)})  wrong: ${report.wrong}  ` +
      `failed after retries: ${report.failed}`,
    ...(report.labels ? labelLines(report.labels, report.samples !== null) : []),
    ...limitationLines(report.limitations),
    ...(report.bySplit
      ? [
          '',
          'pass rate by split',
          ...table(
            ['split', 'records', 'passed', 'pass rate'],
            report.bySplit.map((s) => [s.split, String(s.records), String(s.passed), percent(s.passRate)]),
          ),
        ]
      : []),
    ...(report.samples ? sampleLines(report.samples) : []),
    ...(report.errorTypes
      ? [
          '',
          'why records did not pass (first failing test)',
          ...(report.errorTypes.length
            ? table(['error type', 'records'], report.errorTypes.map((e) => [e.errorType, String(e.records)]))
            : ['  every record passed']),
        ]
      : []),
    ...(report.flakyTasks ? flakyLines(report.flakyTasks) : []),
    ...runLines(report),
    '',
    `slowest ${report.slowest.length} records (generation + execution)`,
    ...table(
      ['task', ...(withSplit ? ['split'] : []), 'seconds', 'generation', 'execution'],
      report.slowest.map((r) => [
        taskLabel(r), ...(withSplit ? [r.split ?? ''] : []), r.seconds.toFixed(2), r.generation_time.toFixed(2), r.execution_time.toFixed(2),
      ]),
    ),
    '',
    `failed records (${report.failedRecords.length})`,
    ...(report.failedRecords.length
      ? table(
          ['task', ...(withSplit ? ['split'] : []), 'attempts', 'error'],
          report.failedRecords.map((r) => [taskLabel(r), ...(withSplit ? [r.split ?? ''] : []), String(r.attempts), oneLine(r.error)]),
        )
      : ['  none']),
  ];
  return `${lines.join('\n')}\n`;
}

/** Per-record latency, and the run's throughput where the metadata beside the dataset records it. */
function runLines(report: DatasetReport): string[] {
  const latency = latencyTable(report.latency);
  const lines = ['', 'seconds per record (latency; records overlap, so see throughput for the rate)', ...table(latency.header, latency.rows)];
  if (report.run === null) return lines;
  const { run, sessions } = throughputTables(report.run.throughput);
  return [
    ...lines,
    '',
    `throughput over wall time (the run's last attempt, from ${report.run.source})`,
    ...table(run.header, run.rows),
    ...(sessions.rows.length > 0 ? ['', ...table(sessions.header, sessions.rows)] : []),
  ];
}

/** The headline beside MBPP+'s base and plus labels. */
function labelLines(labels: LabelRates, withPassAtK: boolean): string[] {
  const { header, rows } = labelTable(labels, withPassAtK);
  return ['', `labels: ${describeLabels(labels)}`, ...table(header, rows)];
}

export function limitationLines(limitations: readonly string[]): string[] {
  if (limitations.length === 0) return [];
  return ['', 'not shown: this dataset lacks columns the report reads (the original pipeline wrote fewer)', ...limitations.map((l) => `  ${l}`)];
}

function sampleLines(samples: SampleSummary): string[] {
  return [
    '',
    `samples: ${samplesPerTask(samples)}, ${samples.tasks} tasks`,
    'pass@k (unbiased estimator of Chen et al. 2021, mean over tasks; k up to the fewest samples a task has)',
    ...table(['k', 'pass@k'], samples.passAtK.map((p) => [String(p.k), percent(p.value)])),
    '',
    'tasks by number of correct samples',
    ...table(['correct', 'tasks'], samples.tasksByCorrect.map((tasks, correct) => [String(correct), String(tasks)])),
  ];
}

/** `where` qualifies the heading, e.g. " in A". */
export function flakyLines(tasks: readonly FlakyTask[], where = ''): string[] {
  return [
    '',
    `flaky tasks${where} (${tasks.length}): a sample's verdict changed when re-run under other hash seeds`,
    ...(tasks.length
      ? table(['task', 'flaky samples', 'samples'], tasks.map((t) => [String(t.task_id), String(t.flakySamples), String(t.samples)]))
      : ['  none']),
  ];
}
