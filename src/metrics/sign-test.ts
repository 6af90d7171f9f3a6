/**
 * The exact two-sided sign test: under the null hypothesis each of the `up + down` changed pairs is equally
 * likely to go either way, so the smaller count is Binomial(up + down, 1/2). On paired pass/fail verdicts
 * (one sample per task in each run) the changed pairs are the discordant ones and this is McNemar's exact test.
 *
 * p = min(1, 2 * P(X <= min(up, down))). Each binomial term is formed in log space, so the 2^-n that a
 * thousand tasks would need (below the smallest double) never appears.
 */
export function signTestPValue(up: number, down: number): number {
  if (!Number.isSafeInteger(up) || !Number.isSafeInteger(down) || up < 0 || down < 0) {
    throw new RangeError(`signTestPValue: need counts >= 0, got up=${up}, down=${down}`);
  }
  const n = up + down;
  const smaller = Math.min(up, down);
  const logHalfPowerN = -n * Math.LN2;
  let logBinomial = 0; // log C(n, 0)
  let tail = Math.exp(logHalfPowerN);
  for (let i = 1; i <= smaller; i += 1) {
    logBinomial += Math.log((n - i + 1) / i);
    tail += Math.exp(logBinomial + logHalfPowerN);
  }
  return Math.min(1, 2 * tail);
}
