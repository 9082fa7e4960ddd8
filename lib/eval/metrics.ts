/**
 * Full-ranking metrics from ranks. A rank is the number of items scored
 * strictly higher than the target (0 = top). HR@k = 1 if rank < k;
 * NDCG@k = 1 / log2(rank + 2) if rank < k, else 0; both averaged over users.
 *
 * @module
 */

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

/** `{"HR@5": .., "NDCG@5": .., ...}` */
export type Metrics = Record<string, number>;

/**
 * HR@k and NDCG@k averaged over the given ranks (optionally a subset).
 *
 * @example
 * ```ts
 * import { metricsFromRanks } from "./metrics.ts";
 * const m = metricsFromRanks(new Int32Array([0, 3, 30]), { ks: [5] });
 * // HR@5 = 2/3; NDCG@5 = (1 + 1/log2(5)) / 3
 * if (Math.abs(m["HR@5"] - 2 / 3) > 1e-12) throw new Error();
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
    let hr = 0, ndcg = 0;
    for (let i = 0; i < n; i++) {
      const r = ranks[idx ? idx[i] : i];
      if (r < k) {
        hr += 1;
        ndcg += 1 / Math.log2(r + 2);
      }
    }
    out[`HR@${k}`] = n > 0 ? hr / n : 0;
    out[`NDCG@${k}`] = n > 0 ? ndcg / n : 0;
  }
  return out;
}

/** Metrics for all users and for head and tail users separately. */
export interface GroupedMetrics {
  /** All users. */
  all: Metrics;
  /** Head users (longest training sequences). */
  head: Metrics;
  /** Tail users. */
  tail: Metrics;
}

/**
 * Metrics for all, head and tail users.
 *
 * @example
 * ```ts
 * import { groupedMetrics } from "./metrics.ts";
 * const g = groupedMetrics(new Int32Array([0, 50]), new Uint8Array([1, 0]), { ks: [10] });
 * if (g.head["HR@10"] !== 1 || g.tail["HR@10"] !== 0) throw new Error();
 * ```
 */
export function groupedMetrics(
  ranks: Int32Array,
  isHead: Uint8Array,
  opts: { ks?: readonly number[] } = {},
): GroupedMetrics {
  const head: number[] = [], tail: number[] = [];
  for (let u = 0; u < ranks.length; u++) (isHead[u] ? head : tail).push(u);
  return {
    all: metricsFromRanks(ranks, opts),
    head: metricsFromRanks(ranks, { ...opts, users: head }),
    tail: metricsFromRanks(ranks, { ...opts, users: tail }),
  };
}
