/**
 * Full-ranking metrics from ranks. A rank is the number of items scored
 * strictly higher than the target (0 = top). With one target per user,
 * RecBole's definitions reduce to: HR@k = 1 if rank < k; NDCG@k =
 * 1 / log2(rank + 2) if rank < k (the ideal DCG is 1); MRR@k = 1 / (rank + 1)
 * if rank < k (the reciprocal position of the first relevant item); each 0
 * otherwise and averaged over users. Beside them, the beyond-accuracy
 * metrics of the top-k lists (`beyond.ts`) for all, head and tail users, and
 * accuracy split by the target's popularity.
 *
 * @module
 */
import { beyondAccuracy, type TopLists } from "./beyond.ts";
import type { ItemPopularity } from "./item_popularity.ts";

/**
 * Cut-offs reported everywhere.
 *
 * @example
 * ```ts
 * import { DEFAULT_KS } from "./metrics.ts";
 * if (DEFAULT_KS.join() !== "5,10,20") throw new Error(DEFAULT_KS.join());
 * ```
 */
export const DEFAULT_KS: readonly number[] = [5, 10, 20];

/** `{"HR@5": .., "NDCG@5": .., "MRR@5": .., ...}` */
export type Metrics = Record<string, number>;

/**
 * HR@k, NDCG@k and MRR@k averaged over the given ranks (optionally a subset).
 *
 * @example
 * ```ts
 * import { metricsFromRanks } from "./metrics.ts";
 * const m = metricsFromRanks(new Int32Array([0, 3, 30]), { ks: [5] });
 * // HR@5 = 2/3; NDCG@5 = (1 + 1/log2(5)) / 3; MRR@5 = (1 + 1/4) / 3
 * if (Math.abs(m["HR@5"] - 2 / 3) > 1e-12) throw new Error();
 * if (Math.abs(m["MRR@5"] - 1.25 / 3) > 1e-12) throw new Error();
 * ```
 */
export function metricsFromRanks(
  ranks: Int32Array,
  opts: { ks?: readonly number[]; users?: ArrayLike<number> } = {},
): Metrics {
  const ks = opts.ks ?? DEFAULT_KS;
  const idx = opts.users;
  const n = idx ? idx.length : ranks.length;
  const out: Metrics = {};
  for (const k of ks) {
    let hr = 0, ndcg = 0, mrr = 0;
    for (let i = 0; i < n; i++) {
      const r = ranks[idx ? idx[i] : i];
      if (r < k) {
        hr += 1;
        ndcg += 1 / Math.log2(r + 2);
        mrr += 1 / (r + 1);
      }
    }
    out[`HR@${k}`] = n > 0 ? hr / n : 0;
    out[`NDCG@${k}`] = n > 0 ? ndcg / n : 0;
    out[`MRR@${k}`] = n > 0 ? mrr / n : 0;
  }
  return out;
}

/**
 * Metrics for all users and for head and tail users separately, and
 * accuracy for the users whose target is a head item or a tail item.
 */
export interface GroupedMetrics {
  /** All users. */
  all: Metrics;
  /** Head users (longest training sequences). */
  head: Metrics;
  /** Tail users. */
  tail: Metrics;
  /**
   * Users whose target is a head item (among the 20% most frequent in
   * training): HR, NDCG, MRR only. Absent in results written before it existed.
   */
  headItem?: Metrics;
  /** Users whose target is a long-tail item: HR, NDCG, MRR only. */
  tailItem?: Metrics;
}

/** Options of {@linkcode groupedMetrics}. */
export interface GroupedOptions {
  /** Cut-offs (default 5, 10, 20). */
  ks?: readonly number[];
  /**
   * Each user's top-k list (row u = user u, width >= the largest k): adds
   * the beyond-accuracy metrics (`beyondAccuracy`) to all, head and tail.
   * Needs `items`.
   */
  top?: TopLists;
  /** Item popularity in training; needed by `top` and `targets`. */
  items?: ItemPopularity;
  /**
   * Each user's target item: adds `headItem` and `tailItem` (accuracy by
   * the target's popularity). Needs `items`.
   */
  targets?: ArrayLike<number>;
}

/**
 * Metrics for all, head and tail users (and, given the top-k lists, targets
 * and item popularity, the beyond-accuracy metrics and the split by the
 * target's popularity).
 *
 * @example
 * ```ts
 * import { groupedMetrics } from "./metrics.ts";
 * import { itemPopularity } from "./item_popularity.ts";
 * const g = groupedMetrics(new Int32Array([0, 50]), new Uint8Array([1, 0]), { ks: [10] });
 * if (g.head["HR@10"] !== 1 || g.tail["HR@10"] !== 0) throw new Error();
 * // item 1 is the head item; user 0's target (rank 0) is item 1, user 1's is item 2
 * const items = itemPopularity([Int32Array.of(1, 1, 2)], 2, { headFraction: 0.5 });
 * const h = groupedMetrics(new Int32Array([0, 50]), new Uint8Array([1, 0]), { ks: [1], items, targets: [1, 2] });
 * if (h.headItem!["HR@1"] !== 1 || h.tailItem!["HR@1"] !== 0) throw new Error();
 * ```
 */
export function groupedMetrics(
  ranks: Int32Array,
  isHead: Uint8Array,
  opts: GroupedOptions = {},
): GroupedMetrics {
  const ks = opts.ks ?? DEFAULT_KS;
  const head: number[] = [], tail: number[] = [];
  for (let u = 0; u < ranks.length; u++) (isHead[u] ? head : tail).push(u);
  const group = (users?: number[]): Metrics => {
    const m = metricsFromRanks(ranks, { ks, users });
    if (opts.top) {
      if (!opts.items) {
        throw new Error("groupedMetrics: expected 'items' with 'top'");
      }
      Object.assign(m, beyondAccuracy(opts.top, opts.items, { ks, users }));
    }
    return m;
  };
  const out: GroupedMetrics = {
    all: group(),
    head: group(head),
    tail: group(tail),
  };
  if (opts.targets) {
    if (!opts.items) {
      throw new Error("groupedMetrics: expected 'items' with 'targets'");
    }
    const hi: number[] = [], ti: number[] = [];
    for (let u = 0; u < ranks.length; u++) {
      (opts.items.isHead[opts.targets[u]] ? hi : ti).push(u);
    }
    out.headItem = metricsFromRanks(ranks, { ks, users: hi });
    out.tailItem = metricsFromRanks(ranks, { ks, users: ti });
  }
  return out;
}

/**
 * One accuracy metric per user from the ranks (`"HR@k"`, `"NDCG@k"` or
 * `"MRR@k"`): the values whose mean `metricsFromRanks` reports, for paired
 * tests over users.
 *
 * @example
 * ```ts
 * import { perUserMetric } from "./metrics.ts";
 * const v = perUserMetric(Int32Array.of(0, 3, 30), "MRR@10");
 * if (v.join() !== "1,0.25,0") throw new Error(v.join());
 * ```
 */
export function perUserMetric(ranks: Int32Array, name: string): Float64Array {
  const m = /^(HR|NDCG|MRR)@(\d+)$/.exec(name);
  if (!m) {
    throw new RangeError(
      `perUserMetric: expected HR@k, NDCG@k or MRR@k, found '${name}'`,
    );
  }
  const k = Number(m[2]);
  const gain = m[1] === "HR"
    ? () => 1
    : m[1] === "NDCG"
    ? (r: number) => 1 / Math.log2(r + 2)
    : (r: number) => 1 / (r + 1);
  return Float64Array.from(ranks, (r) => (r >= 0 && r < k ? gain(r) : 0));
}
