/** Plain-text building blocks of the reports: no colour, safe to pipe. */

export function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(1)}%`;
}

/** "11" for the only sample of task 11, "11:2" for its third sample. */
export function taskLabel(record: { task_id: number; sample_index: number }): string {
  return record.sample_index === 0 ? String(record.task_id) : `${record.task_id}:${record.sample_index}`;
}

/** "20 per task" or "18–20 per task". */
export function samplesPerTask(summary: { minSamples: number; maxSamples: number }): string {
  const range = summary.minSamples === summary.maxSamples ? String(summary.maxSamples) : `${summary.minSamples}–${summary.maxSamples}`;
  return `${range} per task`;
}

/** Text on one line, cut to `max` characters. */
export function oneLine(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Indented, left-aligned columns; numbers are right-aligned. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  // '-' stands for a number not known (tokens/s of a backend that counts none).
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^(?:[\d.%]+|-)$/.test(row[column]!)));
  const format = (row: string[]) =>
    `  ${row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd()}`;
  return [format(header), ...rows.map(format)];
}

/** Task ids as wrapped, indented lines, so a list of hundreds stays readable. */
export function idList(ids: readonly number[], width = 100): string[] {
  if (ids.length === 0) return ['  none'];
  const lines: string[] = [];
  let line = ' ';
  for (const id of ids) {
    const next = `${line} ${id}`;
    if (next.length > width && line.trim() !== '') {
      lines.push(line);
      line = `  ${id}`;
    } else line = next;
  }
  return [...lines, line];
}

/** A p-value as a paper prints it: four decimals, or scientific below 0.0001. */
export function pValue(p: number): string {
  return p >= 1e-4 ? p.toFixed(4) : p.toExponential(1);
}

/** A difference of two rates in percentage points, signed. */
export function pointsDifference(from: number, to: number): string {
  const points = 100 * (to - from);
  return `${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pts`;
}
