import type { DatasetReport } from './dataset-report.js';

/** The report as plain text for the terminal: aligned tables, no colour, safe to pipe. */
export function renderReportText(report: DatasetReport): string {
  const lines: string[] = [
    `dataset: ${report.source}`,
    `model: ${report.models.join(', ') || '(none)'}`,
    `records: ${report.records}  passed: ${report.passed} (${percent(report.passRate)})  wrong: ${report.wrong}  ` +
      `failed after retries: ${report.failed}`,
    '',
    'pass rate by split',
    ...table(
      ['split', 'records', 'passed', 'pass rate'],
      report.bySplit.map((s) => [s.split, String(s.records), String(s.passed), percent(s.passRate)]),
    ),
    '',
    'why records did not pass (first failing test)',
    ...(report.errorTypes.length
      ? table(['error type', 'records'], report.errorTypes.map((e) => [e.errorType, String(e.records)]))
      : ['  every record passed']),
    '',
    `slowest ${report.slowest.length} records (generation + execution)`,
    ...table(
      ['task', 'split', 'seconds', 'generation', 'execution'],
      report.slowest.map((r) => [
        taskLabel(r), r.split, r.seconds.toFixed(2), r.generation_time.toFixed(2), r.execution_time.toFixed(2),
      ]),
    ),
    '',
    `failed records (${report.failedRecords.length})`,
    ...(report.failedRecords.length
      ? table(
          ['task', 'split', 'attempts', 'error'],
          report.failedRecords.map((r) => [taskLabel(r), r.split, String(r.attempts), oneLine(r.error)]),
        )
      : ['  none']),
  ];
  return `${lines.join('\n')}\n`;
}

export function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(1)}%`;
}

/** "11" for the only sample of task 11, "11:2" for its third sample. */
export function taskLabel(record: { task_id: number; sample_index: number }): string {
  return record.sample_index === 0 ? String(record.task_id) : `${record.task_id}:${record.sample_index}`;
}

function oneLine(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Indented, left-aligned columns; numbers are right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^[\d.%]+$/.test(row[column]!)));
  const format = (row: string[]) =>
    `  ${row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd()}`;
  return [format(header), ...rows.map(format)];
}
