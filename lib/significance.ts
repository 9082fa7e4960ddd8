/**
 * Paired tests of every variant against a baseline from finished runs'
 * per-user test ranks (`test_ranks.json` beside each `best.ckpt`): per-user
 * metric values, paired over users and seeds (a variant's seed s against
 * the baseline's seed s, same data and split), a paired t-test and a
 * Wilcoxon signed-rank test.
 *
 * @module
 */
import { perUserMetric } from "./eval/metrics.ts";
import { pairedTests } from "./stats/paired.ts";
import { readTestRanks } from "./training/test_ranks.ts";

/** Where one run's ranks are. */
export interface RankSource {
  /** Variant name. */
  variant: string;
  /** Seed. */
  seed: number;
  /** The run's folder (holding `test_ranks.json`). */
  dir: string;
}

/** A paired test of one variant against the baseline on one metric. */
export interface SignificanceRow {
  /** Variant tested. */
  variant: string;
  /** Metric (per user: HR@k, NDCG@k or MRR@k). */
  metric: string;
  /** Pairs (users x seeds). */
  n: number;
  /** Mean of variant - baseline over the pairs. */
  meanDifference: number;
  /** Paired t statistic. */
  t: number;
  /** Paired t-test p-value (two-sided). */
  tP: number;
  /** Wilcoxon signed-rank statistic min(W+, W-). */
  wilcoxonW: number;
  /** Wilcoxon signed-rank p-value (two-sided). */
  wilcoxonP: number;
}

/** Default metrics tested. */
export const TESTED_METRICS: readonly string[] = ["NDCG@20", "HR@20"];

/**
 * Test every variant but `baseline` against it on each metric. Every seed
 * of a variant must also be a seed of the baseline; `ranks` reads a run's
 * ranks (default: its `test_ranks.json`).
 *
 * @example
 * ```ts
 * import { significance } from "./significance.ts";
 * // baseline ranks 0, 9, 30 and variant ranks 0, 0, 30 (one seed): the
 * // variant wins user 1 only, by 1 - 1/log2(11) in NDCG@20
 * const fake = new Map([["a", Int32Array.of(0, 9, 30)], ["b", Int32Array.of(0, 0, 30)]]);
 * const rows = await significance(
 *   [{ variant: "a", seed: 1, dir: "a" }, { variant: "b", seed: 1, dir: "b" }],
 *   "a",
 *   { metrics: ["NDCG@20"], ranks: async (s) => fake.get(s.dir)! },
 * );
 * if (rows.length !== 1 || rows[0].variant !== "b" || rows[0].n !== 3) throw new Error();
 * if (Math.abs(rows[0].meanDifference - (1 - 1 / Math.log2(11)) / 3) > 1e-12) throw new Error();
 * ```
 */
export async function significance(
  runs: RankSource[],
  baseline: string,
  opts: {
    metrics?: readonly string[];
    ranks?: (s: RankSource) => Promise<Int32Array>;
  } = {},
): Promise<SignificanceRow[]> {
  const read = opts.ranks ??
    (async (s: RankSource) => (await readTestRanks(s.dir)).ranks);
  const variants = [...new Set(runs.map((r) => r.variant))];
  if (!variants.includes(baseline)) {
    throw new Error(
      `--baseline: expected a variant from ${
        variants.map((v) => `'${v}'`).join(", ")
      }, found '${baseline}'`,
    );
  }
  const base = new Map<number, Int32Array>();
  for (const r of runs.filter((x) => x.variant === baseline)) {
    base.set(r.seed, await read(r));
  }
  const out: SignificanceRow[] = [];
  for (const v of variants) {
    if (v === baseline) continue;
    const mine = runs.filter((r) => r.variant === v);
    const missing = mine.filter((r) => !base.has(r.seed)).map((r) => r.seed);
    if (missing.length > 0) {
      throw new Error(
        `significance: variant '${v}' has seeds ${
          missing.join(", ")
        } that baseline '${baseline}' lacks (it has ${
          [...base.keys()].join(", ") || "none"
        })`,
      );
    }
    const ranks = await Promise.all(mine.map(read));
    for (const metric of opts.metrics ?? TESTED_METRICS) {
      const res = pairedTests(
        ranks.map((r) => perUserMetric(r, metric)),
        mine.map((r) => perUserMetric(base.get(r.seed)!, metric)),
        `significance of '${v}' against '${baseline}'`,
      );
      out.push({
        variant: v,
        metric,
        n: res.n,
        meanDifference: res.meanDifference,
        t: res.tTest.statistic,
        tP: res.tTest.pValue,
        wilcoxonW: res.wilcoxon.statistic,
        wilcoxonP: res.wilcoxon.pValue,
      });
    }
  }
  return out;
}
