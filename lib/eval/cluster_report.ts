/**
 * How a model's clusters (intents) look on the training sequences: cluster
 * sizes, the per-cluster head rate (share of head sequences in each
 * non-empty cluster; S4Rec's Figure 3) as quartiles, and, on synthetic data,
 * how well the clusters recover the planted intents (normalised mutual
 * information, with the NMI of the same clusters shuffled across users as
 * the chance level).
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import { makeRng, shuffle } from "../util/rng.ts";

/** Something that puts sequences into clusters (e.g. an S4Rec model's `clusters`). */
export interface ClusterSource {
  /** Number of clusters K; cluster ids are 0..K-1. */
  numClusters: number;
  /** The cluster of each sequence (training inputs, oldest item first). */
  cluster(seqs: Int32Array[]): Int32Array | Promise<Int32Array>;
}

/** Five-number summary: min, quartiles, max (linear interpolation). */
export interface Quartiles {
  /** Smallest value. */
  min: number;
  /** 25th percentile. */
  q1: number;
  /** Median. */
  median: number;
  /** 75th percentile. */
  q3: number;
  /** Largest value. */
  max: number;
}

/** What {@linkcode clusterReport} measures. */
export interface ClusterReport {
  /** K. */
  numClusters: number;
  /** Clusters with at least one sequence. */
  nonEmpty: number;
  /** Sequences per cluster (length K). */
  clusterSizes: number[];
  /**
   * Head sequences per cluster (length K): the head rate of cluster c is
   * `clusterHeads[c] / clusterSizes[c]`. Absent in older results.
   */
  clusterHeads?: number[];
  /** Quartiles of the head rate over the non-empty clusters. */
  headRateQuartiles: Quartiles;
  /** Share of head sequences overall (the head rate of a perfectly mixed cluster). */
  headRateOverall: number;
  /** NMI (arithmetic normalisation) of clusters vs planted intents (synthetic data only). */
  nmi?: number;
  /** NMI of the same cluster sizes shuffled across users: the chance level. */
  nmiShuffled?: number;
}

/**
 * Normalised mutual information 2 I(A; B) / (H(A) + H(B)) of two labelings
 * (natural logs; 1 when both are constant and equal partitions).
 *
 * @example
 * ```ts
 * import { nmi } from "./cluster_report.ts";
 * const a = Int32Array.from([0, 0, 1, 1]);
 * if (Math.abs(nmi(a, Int32Array.from([5, 5, 3, 3])) - 1) > 1e-12) throw new Error();
 * if (Math.abs(nmi(a, Int32Array.from([0, 1, 0, 1]))) > 1e-12) throw new Error();
 * ```
 */
export function nmi(a: Int32Array, b: Int32Array): number {
  if (a.length !== b.length) {
    throw new RangeError(
      `nmi: expected labelings of one length, found ${a.length} and ${b.length}`,
    );
  }
  const n = a.length;
  if (n === 0) throw new RangeError("nmi: expected labels, found none");
  const ca = new Map<number, number>(), cb = new Map<number, number>();
  const joint = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    ca.set(a[i], (ca.get(a[i]) ?? 0) + 1);
    cb.set(b[i], (cb.get(b[i]) ?? 0) + 1);
    const key = `${a[i]},${b[i]}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  const h = (m: Map<number, number>) => {
    let s = 0;
    for (const c of m.values()) s -= (c / n) * Math.log(c / n);
    return s;
  };
  const ha = h(ca), hb = h(cb);
  if (ha === 0 && hb === 0) return 1;
  let mi = 0;
  for (const [key, c] of joint) {
    const [x, y] = key.split(",").map(Number);
    mi += (c / n) * Math.log((c * n) / (ca.get(x)! * cb.get(y)!));
  }
  return Math.max(0, (2 * mi) / (ha + hb));
}

/**
 * Min, quartiles and max of `xs` (linear interpolation between order
 * statistics, numpy's default).
 *
 * @example
 * ```ts
 * import { quartiles } from "./cluster_report.ts";
 * const q = quartiles([4, 1, 3, 2, 5]);
 * if (q.median !== 3 || q.q1 !== 2 || q.q3 !== 4) throw new Error(JSON.stringify(q));
 * ```
 */
export function quartiles(xs: number[]): Quartiles {
  if (xs.length === 0) {
    throw new RangeError("quartiles: expected values, found none");
  }
  const s = [...xs].sort((x, y) => x - y);
  const at = (p: number) => {
    const pos = p * (s.length - 1);
    const lo = Math.floor(pos), hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  return {
    min: s[0],
    q1: at(0.25),
    median: at(0.5),
    q3: at(0.75),
    max: s[s.length - 1],
  };
}

/**
 * Whether `model` exposes clusters (an S4Rec model does, as `clusters`).
 *
 * @example
 * ```ts
 * import { hasClusters } from "./cluster_report.ts";
 * if (hasClusters({})) throw new Error();
 * ```
 */
export function hasClusters(
  model: unknown,
): model is { clusters: ClusterSource } {
  const c = (model as { clusters?: Partial<ClusterSource> } | null)?.clusters;
  return typeof c?.cluster === "function" &&
    typeof c?.numClusters === "number";
}

/** Options of {@linkcode clusterReport}. */
export interface ClusterReportOptions {
  /** Seed of the shuffle that gives the chance-level NMI. Default 0. */
  seed?: number;
}

/**
 * Cluster every training sequence of `split` with `source` and measure the
 * clusters (see {@linkcode ClusterReport}).
 *
 * @example
 * ```ts
 * import { clusterReport } from "./cluster_report.ts";
 * import { leaveOneOut } from "../data/split.ts";
 * import { synthetic } from "../data/synthetic.ts";
 * const split = leaveOneOut(synthetic({ numUsers: 100 }), { maxLen: 20 });
 * // clusters = the planted intents themselves: NMI 1
 * const report = await clusterReport({ numClusters: 8, cluster: () => split.intents! }, split);
 * if (Math.abs(report.nmi! - 1) > 1e-9) throw new Error();
 * // every head sequence is in exactly one cluster
 * const heads = report.clusterHeads!.reduce((a, b) => a + b, 0);
 * if (heads !== split.isHead.reduce((a, b) => a + b, 0)) throw new Error();
 * ```
 */
export async function clusterReport(
  source: ClusterSource,
  split: SplitDataset,
  opts: ClusterReportOptions = {},
): Promise<ClusterReport> {
  const K = source.numClusters;
  const assign = await source.cluster(split.train);
  if (assign.length !== split.train.length) {
    throw new RangeError(
      `clusterReport: expected ${split.train.length} cluster ids, found ${assign.length}`,
    );
  }
  const sizes = new Array<number>(K).fill(0);
  const heads = new Array<number>(K).fill(0);
  let headTotal = 0;
  for (let u = 0; u < assign.length; u++) {
    const c = assign[u];
    if (!(Number.isInteger(c) && c >= 0 && c < K)) {
      throw new RangeError(
        `clusterReport: expected cluster ids in 0..${
          K - 1
        }, found ${c} (user ${u})`,
      );
    }
    sizes[c]++;
    heads[c] += split.isHead[u];
    headTotal += split.isHead[u];
  }
  const rates: number[] = [];
  for (let c = 0; c < K; c++) if (sizes[c] > 0) rates.push(heads[c] / sizes[c]);
  const report: ClusterReport = {
    numClusters: K,
    nonEmpty: rates.length,
    clusterSizes: sizes,
    clusterHeads: heads,
    headRateQuartiles: quartiles(rates),
    headRateOverall: headTotal / assign.length,
  };
  if (split.intents) {
    report.nmi = nmi(assign, split.intents);
    const shuffled = shuffle(Array.from(assign), makeRng(opts.seed ?? 0));
    report.nmiShuffled = nmi(Int32Array.from(shuffled), split.intents);
  }
  return report;
}
