/**
 * The paired tests and mean ± std against hand-checked examples: Student's
 * sleep data (R's `t.test` documentation), SciPy's documented Wilcoxon
 * example, exact null distributions small enough to enumerate by hand, and a
 * tied example worked through the normal approximation by hand.
 */
import { formatMeanStd, meanStd } from "../lib/stats/describe.ts";
import { pairedTTest } from "../lib/stats/ttest.ts";
import { wilcoxonSignedRank } from "../lib/stats/wilcoxon.ts";
import { pairedTests } from "../lib/stats/paired.ts";
import { perUserMetric } from "../lib/eval/metrics.ts";
import { assertAlmostEquals, assertEquals, assertThrows } from "./_assert.ts";

// Student's sleep data (Cushny and Peebles 1905; R's `sleep`): extra hours
// of sleep of ten patients under two drugs.
const G1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const G2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

Deno.test("pairedTTest: Student's sleep data, by hand and as R prints it", () => {
  // d = G1 - G2 = -1.2 -2.4 -1.3 -1.3 0 -1.0 -1.8 -0.8 -4.6 -1.4
  // mean(d) = -15.8 / 10 = -1.58
  // squared deviations from -1.58: .1444 .6724 .0784 .0784 2.4964 .3364
  //   .0484 .6084 9.1204 .0324 -> sum 13.616; var = 13.616 / 9
  // se = sqrt(13.616 / 9 / 10) = 0.388958; t = -1.58 / 0.388958 = -4.0621
  // R: "t = -4.0621, df = 9, p-value = 0.002833"
  const r = pairedTTest(G1, G2);
  assertAlmostEquals(r.meanDifference, -1.58, 1e-12);
  assertAlmostEquals(r.statistic, -1.58 / Math.sqrt(13.616 / 90), 1e-9);
  assertAlmostEquals(r.statistic, -4.0621, 5e-5);
  assertEquals(r.df, 9);
  assertAlmostEquals(r.pValue, 0.002833, 5e-7);
  // Swapping the samples flips t, not p.
  const s = pairedTTest(G2, G1);
  assertAlmostEquals(s.statistic, -r.statistic, 1e-12);
  assertAlmostEquals(s.pValue, r.pValue, 1e-15);
});

Deno.test("pairedTTest: a t of exactly 1 with df = 1 has p = 1/2 (the Cauchy case)", () => {
  // d = 0, 2: mean 1, sd = sqrt(2), se = 1 -> t = 1, df = 1; T_1 is the
  // standard Cauchy, P(|T| >= 1) = 1 - 2 atan(1) / pi = 1/2.
  const r = pairedTTest([1, 3], [1, 1]);
  assertAlmostEquals(r.statistic, 1, 1e-12);
  assertAlmostEquals(r.pValue, 0.5, 1e-12);
});

Deno.test("pairedTTest: equal differences and bad input", () => {
  assertEquals(pairedTTest([1, 2, 3], [1, 2, 3]).pValue, 1);
  const up = pairedTTest([2, 3, 4], [1, 2, 3]);
  assertEquals(up.pValue, 0);
  assertEquals(up.statistic, Infinity);
  assertThrows(() => pairedTTest([1, 2], [1]), RangeError, "one length");
  assertThrows(() => pairedTTest([1], [2]), RangeError, "at least 2");
});

Deno.test("wilcoxonSignedRank: SciPy's documented example (exact, n = 15)", () => {
  // scipy.stats.wilcoxon docs: d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48,
  // 49, 56, 60, -67, 75] gives statistic 24, p = 0.041259765625 (two-sided).
  // By hand: |d| ranks 1..15 in the listed order; the negatives are ranks
  // 10 and 14, so W- = 24, W+ = 120 - 24 = 96.
  const d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];
  const r = wilcoxonSignedRank(d, d.map(() => 0));
  assertEquals([r.rMinus, r.rPlus, r.statistic, r.n], [24, 96, 24, 15]);
  assertEquals(r.method, "exact");
  // 0.041259765625 * 2^15 = 1352 = 2 * 676 subsets of 1..15 sum to <= 24.
  assertEquals(r.pValue, 1352 / 32768);
  assertAlmostEquals(r.pValue, 0.041259765625, 1e-15);
});

Deno.test("wilcoxonSignedRank: exact p-values small enough to enumerate by hand", () => {
  // n = 3, all positive: W- = 0. Of the 8 sign patterns only "all positive"
  // has W- = 0 and only "all negative" has W+ = 0: p = 2 * 1/8 = 1/4.
  const three = wilcoxonSignedRank([1, 2, 3], [0, 0, 0]);
  assertEquals([three.statistic, three.pValue], [0, 0.25]);
  // n = 4, d = 1, -2, 3, 4: W- = 2. Subsets of {1,2,3,4} with sum <= 2:
  // {}, {1}, {2} -> 3 of 16; p = 2 * 3/16 = 3/8.
  const four = wilcoxonSignedRank([1, -2, 3, 4], [0, 0, 0, 0]);
  assertEquals([four.rMinus, four.rPlus], [2, 8]);
  assertEquals(four.pValue, 0.375);
  // Zero differences are dropped (zero_method "wilcox"): the same as n = 3.
  const withZero = wilcoxonSignedRank([1, 2, 3, 5], [0, 0, 0, 5]);
  assertEquals([withZero.n, withZero.pValue], [3, 0.25]);
  // No non-zero difference at all: nothing to test, p = 1.
  assertEquals(wilcoxonSignedRank([1, 2], [1, 2]).pValue, 1);
});

Deno.test("wilcoxonSignedRank: ties use the normal approximation with the tie correction (by hand)", () => {
  // d = 1, -2, 2, 3, 0, 4: the 0 is dropped, n = 5; |d| = 1 2 2 3 4 gets
  // ranks 1, 2.5, 2.5, 4, 5. W+ = 1 + 2.5 + 4 + 5 = 12.5, W- = 2.5.
  // mean = 5*6/4 = 7.5; var = 5*6*11/24 - (2^3 - 2)/48 = 13.75 - 0.125
  // = 13.625; z = (2.5 - 7.5) / sqrt(13.625) = -1.354571;
  // p = 2 Phi(-1.354571) = 0.17556 (tables: Phi(1.35) = .91149,
  // Phi(1.36) = .91309, interpolated .91222).
  const r = wilcoxonSignedRank([1, -2, 2, 3, 0, 4], [0, 0, 0, 0, 0, 0]);
  assertEquals([r.rPlus, r.rMinus, r.n], [12.5, 2.5, 5]);
  assertEquals(r.method, "normal");
  assertAlmostEquals(r.z!, -5 / Math.sqrt(13.625), 1e-12);
  assertAlmostEquals(r.pValue, 0.17556, 2e-4);
});

Deno.test("wilcoxonSignedRank: many pairs (n > 50) use the normal approximation", () => {
  // d = 1..60 all positive: W- = 0, mean = 60*61/4 = 915,
  // var = 60*61*121/24 = 18452.5, z = -915 / sqrt(18452.5) = -6.7359
  const d = Array.from({ length: 60 }, (_, i) => i + 1);
  const r = wilcoxonSignedRank(d, d.map(() => 0));
  assertEquals(r.method, "normal");
  assertAlmostEquals(r.z!, -915 / Math.sqrt(18452.5), 1e-12);
  assertEquals(r.pValue < 1e-10, true);
  assertThrows(() => wilcoxonSignedRank([1], [1, 2]), RangeError);
  assertThrows(() => wilcoxonSignedRank([NaN], [1]), RangeError, "pair 0");
});

Deno.test("meanStd and formatMeanStd", () => {
  // 0.10, 0.12, 0.14: mean 0.12, sd = sqrt((.0004 + 0 + .0004) / 2) = 0.02
  const s = meanStd([0.1, 0.12, 0.14]);
  assertAlmostEquals(s.mean, 0.12, 1e-15);
  assertAlmostEquals(s.std, 0.02, 1e-15);
  assertEquals(formatMeanStd(s), "0.1200 ± 0.0200");
  assertEquals(meanStd([3]).std, 0);
  assertThrows(() => meanStd([]), RangeError);
});

Deno.test("pairedTests: pairs by (seed, user) across seeds; per-user values from ranks", () => {
  // Seed 1 holds the sleep data's first five patients, seed 2 the other
  // five: pooled, the pairs are the sleep data, so t and p are R's.
  const r = pairedTests(
    [G1.slice(0, 5), G1.slice(5)],
    [G2.slice(0, 5), G2.slice(5)],
  );
  assertEquals(r.n, 10);
  assertAlmostEquals(r.tTest.statistic, -4.0621, 5e-5);
  assertAlmostEquals(r.meanDifference, -1.58, 1e-12);
  // Wilcoxon on the sleep data: 9 non-zero differences; |d| sorted
  // .8 1.0 1.2 1.3 1.3 1.4 1.8 2.4 4.6, all negative: W+ = 0, with one tie
  // (1.3, 1.3) -> the normal approximation, z = -22.5 / sqrt(71.25 - 6/48)
  // (R's wilcox.test, with its continuity correction of 1/2, prints V = 0,
  // p = 0.009091 = 2 Phi(-22 / sqrt(71.125)); SciPy's default has none)
  assertEquals([r.wilcoxon.rPlus, r.wilcoxon.rMinus], [0, 45]);
  assertAlmostEquals(r.wilcoxon.z!, -22.5 / Math.sqrt(71.125), 1e-12);
  assertThrows(
    () => pairedTests([[1, 2]], [[1, 2], [3, 4]], "cmp"),
    RangeError,
    "same seeds",
  );
  assertThrows(() => pairedTests([[1, 2]], [[1]], "cmp"), RangeError, "seed 1");
  // NDCG@5 per user from ranks 0, 2, 7: 1, 1/log2(4) = 0.5, 0
  assertEquals(
    Array.from(perUserMetric(Int32Array.of(0, 2, 7), "NDCG@5")),
    [1, 0.5, 0],
  );
  assertThrows(() => perUserMetric(Int32Array.of(0), "Gini@5"), RangeError);
});
