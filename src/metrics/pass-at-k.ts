/**
 * pass@k: the chance that at least one of k samples drawn from a problem's n samples is correct, estimated
 * without bias from the c correct ones (Chen et al., 2021, "Evaluating Large Language Models Trained on Code").
 */

/** The k values reported per problem; each only where the problem has at least k samples. */
export const PASS_AT_K_VALUES: readonly number[] = [1, 10, 100];

/**
 * `1 - C(n-c, k) / C(n, k)`, computed as `1 - prod_{i=n-c+1..n} (1 - k/i)` so that no binomial coefficient
 * (which overflows for n = 200) is ever formed.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(c) || !Number.isSafeInteger(k) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new RangeError(`passAtK: need integers with 0 <= c <= n and 1 <= k <= n, got n=${n}, c=${c}, k=${k}`);
  }
  if (n - c < k) return 1;
  let allWrong = 1;
  for (let i = n - c + 1; i <= n; i += 1) allWrong *= 1 - k / i;
  return 1 - allWrong;
}

/** One problem's samples and its pass@k for each k its sample count allows. */
export interface ProblemPassAtK {
  task_id: number;
  /** Samples drawn. */
  n: number;
  /** Samples judged correct. */
  c: number;
  /** pass@k by k, only for k <= n. */
  pass_at_k: Record<number, number>;
}

/** Samples and correct ones per problem, added one sample at a time (two numbers a problem, never the samples). */
export class PassAtKTally {
  private readonly tallies = new Map<number, { n: number; c: number }>();

  add(taskId: number, isCorrect: boolean): void {
    let tally = this.tallies.get(taskId);
    if (tally === undefined) this.tallies.set(taskId, (tally = { n: 0, c: 0 }));
    tally.n += 1;
    if (isCorrect) tally.c += 1;
  }

  /** Each problem's pass@k, sorted by task_id. */
  byProblem(ks: readonly number[] = PASS_AT_K_VALUES): ProblemPassAtK[] {
    return [...this.tallies.entries()]
      .sort(([a], [b]) => a - b)
      .map(([task_id, { n, c }]) => ({
        task_id,
        n,
        c,
        pass_at_k: Object.fromEntries(ks.filter((k) => k <= n).map((k) => [k, passAtK(n, c, k)])),
      }));
  }
}

/** Groups judged samples by problem and estimates each problem's pass@k; sorted by task_id. */
export function passAtKByProblem(
  samples: Iterable<{ task_id: number; is_correct: boolean }>,
  ks: readonly number[] = PASS_AT_K_VALUES,
): ProblemPassAtK[] {
  const tally = new PassAtKTally();
  for (const { task_id, is_correct } of samples) tally.add(task_id, is_correct);
  return tally.byProblem(ks);
}

/** The mean over problems of each k that every problem allows (the dataset-level pass@k). */
export function meanPassAtK(problems: readonly ProblemPassAtK[], ks: readonly number[] = PASS_AT_K_VALUES): Record<number, number> {
  const means: Record<number, number> = {};
  if (problems.length === 0) return means;
  for (const k of ks) {
    if (!problems.every((p) => p.n >= k)) continue;
    means[k] = problems.reduce((sum, p) => sum + p.pass_at_k[k]!, 0) / problems.length;
  }
  return means;
}
