/**
 * A variant against a baseline over users and seeds: per-user metric values
 * paired by (seed, user), the mean difference, a paired t-test and a
 * Wilcoxon signed-rank test.
 *
 * @module
 */
import { pairedTTest, type TTestResult } from "./ttest.ts";
import { type WilcoxonResult, wilcoxonSignedRank } from "./wilcoxon.ts";

/** What {@linkcode pairedTests} finds. */
export interface PairedTests {
  /** Pairs (users x seeds). */
  n: number;
  /** Mean of variant - baseline over the pairs. */
  meanDifference: number;
  /** Paired t-test. */
  tTest: TTestResult;
  /** Wilcoxon signed-rank test. */
  wilcoxon: WilcoxonResult;
}

/**
 * Test `variant` against `baseline`, where `variant[s][u]` is user u's
 * metric value under seed s: the pairs are (variant[s][u], baseline[s][u])
 * over every seed and user. Seeds must match one to one and hold the same
 * users (same data and split); `what` names the comparison in errors.
 *
 * @example
 * ```ts
 * import { pairedTests } from "./paired.ts";
 * // two seeds of three users: the variant is ahead by 0.1 for every user but one
 * const r = pairedTests(
 *   [Float64Array.of(0.5, 0.2, 0.1), Float64Array.of(0.4, 0.3, 0.2)],
 *   [Float64Array.of(0.4, 0.1, 0.1), Float64Array.of(0.3, 0.2, 0.1)],
 * );
 * if (r.n !== 6 || Math.abs(r.meanDifference - 0.5 / 6) > 1e-12) throw new Error();
 * if (r.wilcoxon.n !== 5) throw new Error(); // the tie (0.1, 0.1) is dropped
 * ```
 */
export function pairedTests(
  variant: ArrayLike<number>[],
  baseline: ArrayLike<number>[],
  what = "pairedTests",
): PairedTests {
  if (variant.length !== baseline.length || variant.length === 0) {
    throw new RangeError(
      `${what}: expected the same seeds for variant and baseline, found ${variant.length} and ${baseline.length}`,
    );
  }
  let total = 0;
  variant.forEach((v, s) => {
    if (v.length !== baseline[s].length) {
      throw new RangeError(
        `${what}: seed ${
          s + 1
        }: expected the same users, found ${v.length} and ${
          baseline[s].length
        }`,
      );
    }
    total += v.length;
  });
  const a = new Float64Array(total), b = new Float64Array(total);
  let o = 0;
  variant.forEach((v, s) => {
    a.set(Array.from(v), o);
    b.set(Array.from(baseline[s]), o);
    o += v.length;
  });
  const tTest = pairedTTest(a, b);
  return {
    n: total,
    meanDifference: tTest.meanDifference,
    tTest,
    wilcoxon: wilcoxonSignedRank(a, b),
  };
}
