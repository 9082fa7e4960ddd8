/**
 * The Wilcoxon signed-rank test of paired values, as SciPy's
 * `scipy.stats.wilcoxon` computes it by default (zero differences dropped,
 * `zero_method="wilcox"`; no continuity correction; two-sided): the exact
 * distribution when at most 50 non-zero differences remain and no two
 * absolute differences tie, else the normal approximation with the tie
 * correction of the variance. The normal CDF is
 * `@stdlib/stats-base-dists-normal-cdf`; the exact distribution is counted
 * here (the number of subsets of 1..n with each rank sum).
 *
 * @module
 */
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";

/** The outcome of {@linkcode wilcoxonSignedRank}. */
export interface WilcoxonResult {
  /** min(W+, W-): the smaller of the rank sums of positive and negative differences. */
  statistic: number;
  /** Two-sided p-value. */
  pValue: number;
  /** Rank sum of the positive differences a - b. */
  rPlus: number;
  /** Rank sum of the negative differences. */
  rMinus: number;
  /** Non-zero differences (the pairs the test uses). */
  n: number;
  /** "exact" or "normal" (with the z statistic). */
  method: "exact" | "normal";
  /** The normal approximation's z (method "normal" only). */
  z?: number;
}

/** Largest n for the exact distribution (SciPy's threshold). */
const EXACT_MAX = 50;

/**
 * Number of subsets of {1..n} for each sum 0..n(n+1)/2 (the null
 * distribution of W+ times 2^n).
 */
function signedRankCounts(n: number): Float64Array {
  const max = (n * (n + 1)) / 2;
  const c = new Float64Array(max + 1);
  c[0] = 1;
  for (let r = 1; r <= n; r++) {
    for (let s = (r * (r + 1)) / 2; s >= r; s--) c[s] += c[s - r];
  }
  return c;
}

/**
 * Wilcoxon signed-rank test of `a` against `b` (two-sided): are the
 * differences `a[i] - b[i]` symmetric about 0? No non-zero difference gives
 * p = 1.
 *
 * @example SciPy's documentation example (Darwin's Zea mays differences, from Fisher): statistic 24, p = 0.041259765625
 * ```ts
 * import { wilcoxonSignedRank } from "./wilcoxon.ts";
 * const d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];
 * const r = wilcoxonSignedRank(d, d.map(() => 0));
 * if (r.statistic !== 24 || r.method !== "exact") throw new Error();
 * if (Math.abs(r.pValue - 0.041259765625) > 1e-12) throw new Error(String(r.pValue));
 * ```
 */
export function wilcoxonSignedRank(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): WilcoxonResult {
  if (a.length !== b.length) {
    throw new RangeError(
      `wilcoxonSignedRank: expected samples of one length, found ${a.length} and ${b.length}`,
    );
  }
  const d: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i] - b[i];
    if (Number.isNaN(x)) {
      throw new RangeError(`wilcoxonSignedRank: pair ${i} is not a number`);
    }
    if (x !== 0) d.push(x);
  }
  const n = d.length;
  if (n === 0) {
    return {
      statistic: 0,
      pValue: 1,
      rPlus: 0,
      rMinus: 0,
      n: 0,
      method: "exact",
    };
  }
  // Ranks of |d|, ties sharing their average rank.
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) =>
    Math.abs(d[i]) - Math.abs(d[j])
  );
  let rPlus = 0, rMinus = 0, tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && Math.abs(d[order[j + 1]]) === Math.abs(d[order[i]])) {
      j++;
    }
    const rank = (i + j) / 2 + 1;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let m = i; m <= j; m++) {
      if (d[order[m]] > 0) rPlus += rank;
      else rMinus += rank;
    }
    i = j + 1;
  }
  const statistic = Math.min(rPlus, rMinus);
  if (n <= EXACT_MAX && tieTerm === 0) {
    const counts = signedRankCounts(n);
    let below = 0;
    for (let s = 0; s <= statistic; s++) below += counts[s];
    return {
      statistic,
      pValue: Math.min(1, (2 * below) / 2 ** n),
      rPlus,
      rMinus,
      n,
      method: "exact",
    };
  }
  const mean = (n * (n + 1)) / 4;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieTerm / 48;
  const z = (statistic - mean) / Math.sqrt(variance);
  return {
    statistic,
    pValue: Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1)),
    rPlus,
    rMinus,
    n,
    method: "normal",
    z,
  };
}
