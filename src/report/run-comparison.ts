/**
 * Two runs side by side on the tasks they share, as a paper compares a baseline model with a steered one:
 * pass rate and pass@k of each, tasks gained and lost, agreement, and a paired significance test.
 */
import { InputError } from '../errors.js';
import type { ProblemPassAtK } from '../metrics/pass-at-k.js';
import { signTestPValue } from '../metrics/sign-test.js';
import { limitationsOf, modelsOf } from './dataset-report.js';
import type { OptionalColumn, ReportDataset } from './report-rows.js';
import { labelRates, type LabelRates } from './label-rates.js';
import { flakyTasks, passAtKValues, taskTallies, type FlakyTask, type LabelColumn, type PassAtKValue } from './task-samples.js';

/** One run, restricted to the shared tasks. */
export interface RunSummary {
  source: string;
  models: string[];
  /** Tasks only this run has: left out of the comparison. */
  onlyHere: number;
  records: number;
  passed: number;
  passRate: number;
  minSamples: number;
  maxSamples: number;
  passAtK: PassAtKValue[];
  /** null where no flaky check ran. */
  flakyTasks: FlakyTask[] | null;
  /** What this run's file lacks that the comparison would use. */
  limitations: string[];
  /** The headline beside MBPP+'s base and plus labels; null for a run without MBPP+ labels. */
  labels: LabelRates | null;
}

/** Samples (n) and correct samples (c) of one task in each run. */
export interface TaskChange {
  task_id: number;
  a: { n: number; c: number };
  b: { n: number; c: number };
}

export interface PairedTest {
  /** McNemar's exact test where both runs have one sample per task, else the sign test on per-task pass rates. */
  name: string;
  /** Tasks whose pass rate is higher in B, lower in B, the same. */
  better: number;
  worse: number;
  ties: number;
  /** Two-sided exact p-value. */
  pValue: number;
}

/** A rate of each run; null where that run has too few samples per task for it (pass@10 of one sample). */
export interface ComparedRate {
  label: string;
  a: number | null;
  b: number | null;
  /** Drawn in the chart too: every rate but MBPP+'s pass@k, which would crowd it. */
  charted: boolean;
}

export interface RunComparison {
  a: RunSummary;
  b: RunSummary;
  sharedTasks: number;
  /**
   * The pass rate, then pass@k where either run has more than one sample per task; then the same of MBPP+'s base and
   * plus labels where either run has them.
   */
  rates: ComparedRate[];
  /** Whether both runs have exactly one sample of every shared task. */
  singleSample: boolean;
  /** A task is solved when more than half of its samples pass (with one sample: when it passes). */
  bothSolved: number;
  neitherSolved: number;
  /** Solved in B, not in A; by task_id. */
  gained: TaskChange[];
  /** Solved in A, not in B; by task_id. */
  lost: TaskChange[];
  /** Share of shared tasks that both runs solve or both fail. */
  agreement: number;
  test: PairedTest;
}

export const MCNEMAR = "McNemar's exact test";
export const SIGN_TEST = 'sign test on per-task pass rates';

/** The optional columns a comparison reads. */
const COMPARED_COLUMNS: ReadonlySet<OptionalColumn> = new Set(['sample_index', 'model', 'status']);

/** Compares run `b` against run `a`; an `InputError` when they share no task. */
export function compareRuns(a: ReportDataset, b: ReportDataset): RunComparison {
  const tasksOf = (dataset: ReportDataset) => new Set(dataset.rows.map((row) => row.task_id));
  const tasksA = tasksOf(a);
  const tasksB = tasksOf(b);
  const shared = new Set([...tasksA].filter((task) => tasksB.has(task)));
  if (shared.size === 0) throw new InputError(`${a.source} and ${b.source} share no task_id: nothing to compare`);
  const talliesA = taskTallies(a.rows.filter((row) => shared.has(row.task_id)));
  const talliesB = new Map(taskTallies(b.rows.filter((row) => shared.has(row.task_id))).map((t) => [t.task_id, t]));
  const changes: TaskChange[] = talliesA.map((ta) => {
    const tb = talliesB.get(ta.task_id)!;
    return { task_id: ta.task_id, a: { n: ta.n, c: ta.c }, b: { n: tb.n, c: tb.c } };
  });
  const solved = ({ n, c }: { n: number; c: number }) => 2 * c > n;
  const gained = changes.filter((t) => !solved(t.a) && solved(t.b));
  const lost = changes.filter((t) => solved(t.a) && !solved(t.b));
  const bothSolved = changes.filter((t) => solved(t.a) && solved(t.b)).length;
  // c_B/n_B against c_A/n_A, cross-multiplied so equal rates compare equal.
  const rateOrder = (t: TaskChange) => Math.sign(t.b.c * t.a.n - t.a.c * t.b.n);
  const better = changes.filter((t) => rateOrder(t) > 0).length;
  const worse = changes.filter((t) => rateOrder(t) < 0).length;
  const singleSample = changes.every((t) => t.a.n === 1 && t.b.n === 1);
  const runA = summarise(a, shared, tasksA.size - shared.size, talliesA);
  const runB = summarise(b, shared, tasksB.size - shared.size, [...talliesB.values()]);
  return {
    a: runA,
    b: runB,
    sharedTasks: shared.size,
    rates: comparedRates(runA, runB),
    singleSample,
    bothSolved,
    neitherSolved: changes.length - bothSolved - gained.length - lost.length,
    gained,
    lost,
    agreement: (changes.length - gained.length - lost.length) / changes.length,
    test: {
      name: singleSample ? MCNEMAR : SIGN_TEST,
      better,
      worse,
      ties: changes.length - better - worse,
      pValue: signTestPValue(better, worse),
    },
  };
}

function comparedRates(a: RunSummary, b: RunSummary): ComparedRate[] {
  // With one sample per task in both runs, pass@1 is the pass rate again.
  const withPassAtK = !(a.maxSamples === 1 && b.maxSamples === 1);
  const ratesOf = (name: string, of: (run: RunSummary) => { passRate: number; passAtK: PassAtKValue[] } | null, charted: boolean) => {
    const [inA, inB] = [of(a), of(b)];
    const ks = withPassAtK ? [...new Set([...(inA?.passAtK ?? []), ...(inB?.passAtK ?? [])].map((p) => p.k))].sort((x, y) => x - y) : [];
    const at = (rates: typeof inA, k: number) => rates?.passAtK.find((p) => p.k === k)?.value ?? null;
    return [
      { label: `${name}pass rate`, a: inA?.passRate ?? null, b: inB?.passRate ?? null, charted: true },
      ...ks.map((k) => ({ label: `${name}pass@${k}`, a: at(inA, k), b: at(inB, k), charted })),
    ];
  };
  const headline = ratesOf('', (run) => run, true);
  if (a.labels === null && b.labels === null) return headline;
  const label = (column: LabelColumn) => (run: RunSummary) => run.labels?.rates.find((rate) => rate.column === column) ?? null;
  return [...headline, ...ratesOf('base ', label('is_correct_base'), false), ...ratesOf('plus ', label('is_correct_plus'), false)];
}

function summarise(dataset: ReportDataset, shared: ReadonlySet<number>, onlyHere: number, tallies: readonly ProblemPassAtK[]): RunSummary {
  const rows = dataset.rows.filter((row) => shared.has(row.task_id));
  const passed = rows.filter((row) => row.status === 'ok' && row.is_correct).length;
  const counts = tallies.map((t) => t.n);
  return {
    source: dataset.source,
    models: modelsOf(rows),
    onlyHere,
    records: rows.length,
    passed,
    passRate: passed / rows.length,
    minSamples: Math.min(...counts),
    maxSamples: Math.max(...counts),
    passAtK: passAtKValues(tallies),
    flakyTasks: flakyTasks(rows),
    limitations: limitationsOf(dataset.absent.filter((column) => COMPARED_COLUMNS.has(column))),
    labels: labelRates(rows),
  };
}
