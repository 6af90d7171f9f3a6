/** Per-task views of a dataset's samples: pass@k, how many samples solve each task, and flaky tasks. */
import { meanPassAtK, passAtKByProblem, type ProblemPassAtK } from '../metrics/pass-at-k.js';
import type { ReportRow } from './report-rows.js';

export interface PassAtKValue {
  k: number;
  /** 0..1, the mean over tasks of the unbiased estimate. */
  value: number;
}

/** What the samples of a multi-sample dataset say beyond its pass rate. */
export interface SampleSummary {
  tasks: number;
  minSamples: number;
  maxSamples: number;
  /** Each k of 1, 10, 100 that every task has samples for. */
  passAtK: PassAtKValue[];
  /** `tasksByCorrect[c]`: how many tasks exactly c samples solve, for c = 0..maxSamples. */
  tasksByCorrect: number[];
}

export interface FlakyTask {
  task_id: number;
  /** Samples whose verdict changed when re-run under other hash seeds. */
  flakySamples: number;
  samples: number;
}

/** A label's column: the headline, or MBPP+'s base or plus. */
export type LabelColumn = 'is_correct' | 'is_correct_base' | 'is_correct_plus';

/** Whether a row passes on a label: a record that failed after retries passes on none. */
export function correctOn(column: LabelColumn): (row: ReportRow) => boolean {
  return (row) => row.status === 'ok' && row[column] === true;
}

/** Samples (n) and correct samples (c) per task, by task_id, on the label `column` (the headline by default). */
export function taskTallies(rows: readonly ReportRow[], column: LabelColumn = 'is_correct'): ProblemPassAtK[] {
  const correct = correctOn(column);
  return passAtKByProblem(rows.map((row) => ({ task_id: row.task_id, is_correct: correct(row) })));
}

export function passAtKValues(tallies: readonly ProblemPassAtK[]): PassAtKValue[] {
  return Object.entries(meanPassAtK(tallies)).map(([k, value]) => ({ k: Number(k), value }));
}

/** null when every task has one sample: then pass@1 is the pass rate and there is nothing more to say. */
export function summariseSamples(tallies: readonly ProblemPassAtK[]): SampleSummary | null {
  const counts = tallies.map((t) => t.n);
  const maxSamples = Math.max(0, ...counts);
  if (maxSamples <= 1) return null;
  const tasksByCorrect = new Array<number>(maxSamples + 1).fill(0);
  for (const tally of tallies) tasksByCorrect[tally.c]! += 1;
  return { tasks: tallies.length, minSamples: Math.min(...counts), maxSamples, passAtK: passAtKValues(tallies), tasksByCorrect };
}

/** The tasks with a flaky sample, by task_id; null when no flaky check ran on any record. */
export function flakyTasks(rows: readonly ReportRow[]): FlakyTask[] | null {
  if (!rows.some((row) => row.flaky !== null && row.flaky !== undefined)) return null;
  const byTask = new Map<number, FlakyTask>();
  for (const row of rows) {
    const task = byTask.get(row.task_id) ?? { task_id: row.task_id, flakySamples: 0, samples: 0 };
    task.samples += 1;
    if (row.flaky === true) task.flakySamples += 1;
    byTask.set(row.task_id, task);
  }
  return [...byTask.values()].filter((task) => task.flakySamples > 0).sort((a, b) => a.task_id - b.task_id);
}
