/**
 * The paired t-test (Student's t on the differences of paired values), with
 * the t distribution's CDF from `@stdlib/stats-base-dists-t-cdf`.
 *
 * @module
 */
import tCdf from "@stdlib/stats-base-dists-t-cdf";

/** The outcome of {@linkcode pairedTTest}. */
export interface TTestResult {
  /** t = mean(d) / (sd(d) / sqrt(n)), d = a - b. */
  statistic: number;
  /** Degrees of freedom, n - 1. */
  df: number;
  /** Two-sided p-value, 2 P(T_df >= |t|). */
  pValue: number;
  /** mean(a - b). */
  meanDifference: number;
  /** Number of pairs. */
  n: number;
}

/**
 * Paired t-test of `a` against `b` (two-sided): is the mean of `a[i] - b[i]`
 * different from 0? When every difference is equal, the spread is 0: then
 * t = 0 and p = 1 if they are all 0, else t = ±Infinity and p = 0.
 *
 * @example R's `t.test(extra ~ group, data = sleep, paired = TRUE)` (Student's sleep data): t = -4.0621, df = 9, p = 0.002833
 * ```ts
 * import { pairedTTest } from "./ttest.ts";
 * const g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
 * const g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
 * const r = pairedTTest(g1, g2);
 * if (r.df !== 9 || Math.abs(r.statistic + 4.0621) > 1e-4) throw new Error(String(r.statistic));
 * if (Math.abs(r.pValue - 0.002833) > 1e-6) throw new Error(String(r.pValue));
 * ```
 */
export function pairedTTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): TTestResult {
  if (a.length !== b.length) {
    throw new RangeError(
      `pairedTTest: expected samples of one length, found ${a.length} and ${b.length}`,
    );
  }
  const n = a.length;
  if (n < 2) {
    throw new RangeError(`pairedTTest: expected at least 2 pairs, found ${n}`);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i] - b[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (a[i] - b[i] - mean) ** 2;
  const se = Math.sqrt(ss / (n - 1) / n);
  const df = n - 1;
  if (se === 0) {
    return {
      statistic: mean === 0 ? 0 : Math.sign(mean) * Infinity,
      df,
      pValue: mean === 0 ? 1 : 0,
      meanDifference: mean,
      n,
    };
  }
  const t = mean / se;
  return {
    statistic: t,
    df,
    pValue: Math.min(1, 2 * tCdf(-Math.abs(t), df)),
    meanDifference: mean,
    n,
  };
}
