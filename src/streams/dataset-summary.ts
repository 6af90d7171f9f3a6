/**
 * What the extended metadata says about a dataset's rows (counts, statistics, pass@k, flaky tasks), summed up as
 * the rows stream past on their way to the files: numbers and keys only, so the summary of a 200,000-row dataset
 * never holds its rows.
 */
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

export class DatasetSummary {
  private records = 0;
  private judged = 0;
  private correct = 0;
  private readonly statistics = new RunStatisticsTally();
  private readonly passAtK = new PassAtKTally();
  private flakySeeds: number[] | null = null;
  private flakyChecked = 0;
  private readonly flakyByTask = new Map<number, number[]>();

  /** Adds rows of the dataset, each record once. */
  add(rows: readonly GenerationResult[]): void {
    for (const row of rows) {
      this.records += 1;
      if (row.status === 'ok') {
        this.judged += 1;
        if (row.is_correct) this.correct += 1;
      }
      this.statistics.add(row);
      this.passAtK.add(row.task_id, row.status === 'ok' && row.is_correct);
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
      correct: this.correct,
      wrong: this.judged - this.correct,
      failed: this.records - this.judged,
      pass_rate: this.records === 0 ? 0 : this.correct / this.records,
    };
  }

  runStatistics(context: RunContext): RunStatistics {
    return this.statistics.statistics(context);
  }

  /** pass@k of the dataset and of each problem. */
  passAtKByProblem(): { pass_at_k: Record<number, number>; pass_at_k_by_problem: ProblemPassAtK[] } {
    const perProblem = this.passAtK.byProblem();
    return { pass_at_k: meanPassAtK(perProblem), pass_at_k_by_problem: perProblem };
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
