/**
 * Mean and sample standard deviation, for results over seeds.
 *
 * @module
 */

/** Mean and spread of a few numbers (e.g. one metric over seeds). */
export interface MeanStd {
  /** Arithmetic mean. */
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator; 0 for one value). */
  std: number;
  /** How many values. */
  n: number;
}

/**
 * Mean and sample standard deviation of `xs`.
 *
 * @example
 * ```ts
 * import { meanStd } from "./describe.ts";
 * const s = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
 * // mean 5; squared deviations sum to 32; 32 / 7
 * if (s.mean !== 5 || Math.abs(s.std - Math.sqrt(32 / 7)) > 1e-12) throw new Error();
 * ```
 */
export function meanStd(xs: ArrayLike<number>): MeanStd {
  const n = xs.length;
  if (n === 0) throw new RangeError("meanStd: expected values, found none");
  let sum = 0;
  for (let i = 0; i < n; i++) sum += xs[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, n };
}

/**
 * `mean ± std` with `digits` decimals (just the mean for one value).
 *
 * @example
 * ```ts
 * import { formatMeanStd } from "./describe.ts";
 * if (formatMeanStd({ mean: 0.12345, std: 0.0021, n: 3 }) !== "0.1235 ± 0.0021") throw new Error();
 * if (formatMeanStd({ mean: 0.5, std: 0, n: 1 }, 2) !== "0.50") throw new Error();
 * ```
 */
export function formatMeanStd(s: MeanStd, digits = 4): string {
  return s.n > 1
    ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`
    : s.mean.toFixed(digits);
}
