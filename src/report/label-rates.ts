/**
 * The rate of each label an MBPP+ dataset carries: the headline `is_correct` beside MBPP+'s `is_correct_base` and
 * `is_correct_plus`, each with its pass@k. A record that failed after retries is correct on none.
 */
import { DatasetLabelsTally, type DatasetLabels } from '../metrics/dataset-labels.js';
import type { ReportRow } from './report-rows.js';
import { percent } from './text-format.js';
import { correctOn, passAtKValues, taskTallies, type LabelColumn, type PassAtKValue } from './task-samples.js';

export interface LabelRate {
  column: LabelColumn;
  /** What the label judges, for the reader. */
  judges: string;
  passed: number;
  /** passed / records. */
  passRate: number;
  /** Each k of 1, 10, 100 that every task has samples for (pass@1 is the pass rate again with one sample a task). */
  passAtK: PassAtKValue[];
}

export interface LabelRates {
  labels: DatasetLabels;
  /** The headline, then base, then plus. */
  rates: LabelRate[];
}

const JUDGES: Record<LabelColumn, string> = {
  is_correct: 'the original asserts',
  is_correct_base: 'MBPP+ base inputs',
  is_correct_plus: 'MBPP+ base and plus inputs',
};

/** null for a dataset without MBPP+ labels: its pass rate and pass@k say it all. */
export function labelRates(rows: readonly ReportRow[]): LabelRates | null {
  const kinds = new DatasetLabelsTally();
  // A dataset without `test_list` (the original pipeline's) has asserts on every record.
  for (const row of rows) kinds.add({ hasAsserts: row.has_asserts ?? true, isCorrectPlus: row.is_correct_plus });
  if (!kinds.hasPlus()) return null;
  const labels = kinds.labels();
  const rate = (column: LabelColumn): LabelRate => {
    const passed = rows.filter(correctOn(column)).length;
    return {
      column,
      judges: column === 'is_correct' && labels === 'mbpp+' ? `${JUDGES.is_correct_plus} (is_correct_plus)` : JUDGES[column],
      passed,
      passRate: rows.length > 0 ? passed / rows.length : 0,
      passAtK: passAtKValues(taskTallies(rows, column)),
    };
  };
  return { labels, rates: [rate('is_correct'), rate('is_correct_base'), rate('is_correct_plus')] };
}

/** One sentence on what `is_correct` is beside the MBPP+ labels. */
export function describeLabels(labels: LabelRates): string {
  return labels.labels === 'mbpp+'
    ? 'MBPP+ without the original asserts: is_correct is is_correct_plus (base then plus inputs)'
    : 'is_correct judges the original asserts; MBPP+ base and plus labels beside it';
}

/** The labels as both renderings tabulate them; pass@k columns only where tasks have several samples. */
export function labelTable(labels: LabelRates, withPassAtK: boolean): { header: string[]; rows: string[][] } {
  const ks = withPassAtK ? labels.rates[0]!.passAtK.map((p) => p.k) : [];
  const at = (rate: LabelRate, k: number) => rate.passAtK.find((p) => p.k === k)?.value;
  return {
    header: ['label', 'judges', 'passed', 'pass rate', ...ks.map((k) => `pass@${k}`)],
    rows: labels.rates.map((rate) => [
      rate.column,
      rate.judges,
      String(rate.passed),
      percent(rate.passRate),
      ...ks.map((k) => percent(at(rate, k)!)),
    ]),
  };
}
