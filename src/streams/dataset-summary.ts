/**
 * What the extended metadata says about a dataset's rows (counts, statistics, pass@k, MBPP+ labels, flaky tasks),
 * summed up as the rows stream past on their way to the files: numbers and keys only, so the summary of a
 * 200,000-row dataset never holds its rows.
 */
import { DatasetLabelsTally, type DatasetLabels } from '../metrics/dataset-labels.js';
import { meanPassAtK, PassAtKTally, type ProblemPassAtK } from '../metrics/pass-at-k.js';
import { RunStatisticsTally, type RunContext, type RunStatistics } from '../monitor/run-statistics.js';
import type { GenerationResult } from '../records.js';

/** The dataset's counts, as the metadata's `counts` gives them. */
export interface DatasetCounts {
  total_records: number;
  judged: number;
  correct: number;
  wrong: number;
  failed: number;
  pass_rate: number;
}

/** With a flaky check (`--flaky-check K`): the records whose verdicts differed between hash seeds, by task. */
export interface FlakySummary {
  hash_seeds: number[];
  records_checked: number;
  flaky_records: number;
  flaky_tasks: Array<{ task_id: number; sample_indices: number[] }>;
}

/** pass@k of the dataset and of each problem. */
export interface PassAtKSummary {
  pass_at_k: Record<number, number>;
  pass_at_k_by_problem: ProblemPassAtK[];
}

/** One MBPP+ label over the dataset: records it calls correct, their share of all records, pass@k with several samples. */
export type LabelSummary = { correct: number; pass_rate: number } & Partial<PassAtKSummary>;

/** One label's correct records, and its samples and correct ones per problem. */
class LabelTally {
  correct = 0;
  private readonly passAtK = new PassAtKTally();

  add(taskId: number, isCorrect: boolean): void {
    if (isCorrect) this.correct += 1;
    this.passAtK.add(taskId, isCorrect);
  }

  passAtKSummary(): PassAtKSummary {
    const perProblem = this.passAtK.byProblem();
    return { pass_at_k: meanPassAtK(perProblem), pass_at_k_by_problem: perProblem };
  }
}

export class DatasetSummary {
  private records = 0;
  private judged = 0;
  private readonly statistics = new RunStatisticsTally();
  private readonly headline = new LabelTally();
  private readonly base = new LabelTally();
  private readonly plus = new LabelTally();
  private readonly labelKinds = new DatasetLabelsTally();
  private flakySeeds: number[] | null = null;
  private flakyChecked = 0;
  private readonly flakyByTask = new Map<number, number[]>();

  /** Adds rows of the dataset, each record once. */
  add(rows: readonly GenerationResult[]): void {
    for (const row of rows) {
      this.records += 1;
      const judged = row.status === 'ok';
      if (judged) this.judged += 1;
      this.statistics.add(row);
      this.headline.add(row.task_id, judged && row.is_correct);
      // `=== true`: failed records have null MBPP+ labels, and rows journaled before those columns lack them.
      this.base.add(row.task_id, judged && row.is_correct_base === true);
      this.plus.add(row.task_id, judged && row.is_correct_plus === true);
      this.labelKinds.add({ hasAsserts: row.test_list.length > 0, isCorrectPlus: row.is_correct_plus });
      // `?? null`: rows journaled before the flaky columns existed lack them.
      if ((row.flaky ?? null) !== null) {
        this.flakySeeds ??= (row.flaky_check ?? []).map((outcome) => outcome.hash_seed);
        this.flakyChecked += 1;
        if (row.flaky) this.flakyByTask.set(row.task_id, [...(this.flakyByTask.get(row.task_id) ?? []), row.sample_index]);
      }
    }
  }

  counts(): DatasetCounts {
    return {
      total_records: this.records,
      judged: this.judged,
      correct: this.headline.correct,
      wrong: this.judged - this.headline.correct,
      failed: this.records - this.judged,
      pass_rate: this.passRate(this.headline),
    };
  }

  /** Which labels the dataset carries (what `is_correct` is). */
  labels(): DatasetLabels {
    return this.labelKinds.labels();
  }

  /** The MBPP+ base and plus labels, with pass@k when asked (several samples a problem); null without MBPP+ records. */
  mbppPlus(withPassAtK: boolean): { base: LabelSummary; plus: LabelSummary } | null {
    if (!this.labelKinds.hasPlus()) return null;
    const summary = (label: LabelTally): LabelSummary => ({
      correct: label.correct,
      pass_rate: this.passRate(label),
      ...(withPassAtK ? label.passAtKSummary() : {}),
    });
    return { base: summary(this.base), plus: summary(this.plus) };
  }

  private passRate(label: LabelTally): number {
    return this.records === 0 ? 0 : label.correct / this.records;
  }

  runStatistics(context: RunContext): RunStatistics {
    return this.statistics.statistics(context);
  }

  /** pass@k of the dataset and of each problem (the headline label). */
  passAtKByProblem(): PassAtKSummary {
    return this.headline.passAtKSummary();
  }

  /** null when no record had a flaky check. */
  flaky(): FlakySummary | null {
    if (this.flakySeeds === null) return null;
    return {
      hash_seeds: this.flakySeeds,
      records_checked: this.flakyChecked,
      flaky_records: [...this.flakyByTask.values()].reduce((sum, samples) => sum + samples.length, 0),
      flaky_tasks: [...this.flakyByTask]
        .sort(([a], [b]) => a - b)
        .map(([task_id, samples]) => ({ task_id, sample_indices: [...samples].sort((a, b) => a - b) })),
    };
  }
}
