/**
 * Compares the rates of two workloads as interleaved repetitions (A B, B A, A B, ...: the order alternates so a
 * drift in machine load hits both sides alike) and reports the median of the per-pair ratios with their min-max:
 * one busy moment on a shared machine moves one pair, not the result.
 */

/** A measured workload: runs once and returns how much it did (tokens, records). */
export type Workload = () => Promise<number>;

export interface PairedRates {
  a: number;
  b: number;
  ratio: number;
  min: number;
  max: number;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** Pairs per comparison: $ONNX_BENCH_REPS, default 7. */
export function repetitions(): number {
  const reps = Number(process.env['ONNX_BENCH_REPS'] ?? 7);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`ONNX_BENCH_REPS must be a positive integer, got ${process.env['ONNX_BENCH_REPS']}`);
  return reps;
}

/** Rates (work per second) of `a` and `b` over `reps` interleaved pairs: the median rates and the median pair ratio a/b. */
export async function compare(a: Workload, b: Workload, reps: number): Promise<PairedRates> {
  const rate = async (work: Workload): Promise<number> => {
    const start = performance.now();
    const done = await work();
    return done / ((performance.now() - start) / 1000);
  };
  const aRates: number[] = [];
  const bRates: number[] = [];
  for (let pair = 0; pair < reps; pair++) {
    if (pair % 2 === 0) {
      aRates.push(await rate(a));
      bRates.push(await rate(b));
    } else {
      bRates.push(await rate(b));
      aRates.push(await rate(a));
    }
  }
  const ratios = aRates.map((r, i) => r / (bRates[i] as number));
  return { a: median(aRates), b: median(bRates), ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** A markdown table row: what was measured, both rates, the median ratio, its range, the target. */
export function tableRow(measure: string, result: PairedRates, unit: string, target: string): string[] {
  return [
    measure,
    `${result.a.toFixed(0)} vs ${result.b.toFixed(0)} ${unit}`,
    `${result.ratio.toFixed(2)}x`,
    `${result.min.toFixed(2)}–${result.max.toFixed(2)}x`,
    target,
  ];
}
