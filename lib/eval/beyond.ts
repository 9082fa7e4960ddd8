/**
 * Beyond-accuracy metrics of top-k recommendation lists, as RecBole defines
 * them (`recbole/evaluator/metrics.py`): ItemCoverage, AveragePopularity,
 * GiniIndex and TailPercentage. Each looks only at what was recommended, not
 * at whether it was right. Here `R_k(u)` is user u's top-k list (history
 * excluded), `U` the users, `I` the N real items, and `phi(i)` item i's
 * number of occurrences in the training sequences.
 *
 * @module
 */
import type { Metrics } from "./metrics.ts";
import type { ItemPopularity } from "./item_popularity.ts";

/** Top-k lists: `ids[u * width + j]` = user u's (j+1)-th item, 0 = empty slot. */
export interface TopLists {
  /** `[users * width]` 1-based item ids, best first; 0 pads a short list. */
  ids: Int32Array;
  /** Items kept per user (the largest k a metric may ask for). */
  width: number;
}

/** Options of {@linkcode beyondAccuracy}. */
export interface BeyondOptions {
  /** Cut-offs, each at most `top.width`. */
  ks: readonly number[];
  /** Rows of `top` to use (default: all). */
  users?: ArrayLike<number>;
}

/**
 * For every k, over the given users:
 * - `Coverage@k` = |union over u of R_k(u)| / |I| (RecBole's ItemCoverage;
 *   RecBole's |I| counts the padding id too, here it is the N real items);
 * - `AveragePopularity@k` = mean over u of (sum over i in R_k(u) of phi(i)) / k;
 * - `Gini@k` = sum_{i=1}^{N} (2i - N - 1) P_(i) / (N sum_i P_(i)), where P_(i)
 *   is how often the i-th least recommended item occurs in all the lists
 *   (items never recommended count 0; RecBole's GiniIndex);
 * - `TailPercentage@k` = mean over u of |R_k(u) ∩ T| / k, T the long-tail
 *   items (`ItemPopularity.isHead` = 0; RecBole's TailPercentage).
 * An empty slot (a user with fewer than k items left) counts as popularity 0
 * and not tail, and is no item for coverage and Gini. No users gives zeros.
 *
 * @example
 * ```ts
 * import { beyondAccuracy } from "./beyond.ts";
 * import { itemPopularity } from "./item_popularity.ts";
 * // 4 items, item 1 the only head item (counts 3, 1, 1, 0)
 * const pop = itemPopularity([Int32Array.of(1, 1, 1, 2, 3)], 4, { headFraction: 0.25 });
 * // two users, top-2 lists [1, 2] and [1, 3]
 * const m = beyondAccuracy({ ids: Int32Array.of(1, 2, 1, 3), width: 2 }, pop, { ks: [1, 2] });
 * if (m["Coverage@1"] !== 1 / 4 || m["Coverage@2"] !== 3 / 4) throw new Error();
 * if (m["AveragePopularity@2"] !== ((3 + 1) / 2 + (3 + 1) / 2) / 2) throw new Error();
 * if (m["TailPercentage@2"] !== 0.5) throw new Error();
 * // k = 1: counts sorted (0, 0, 0, 2): (2*4 - 5) * 2 / (4 * 2) = 3/4
 * if (m["Gini@1"] !== 0.75) throw new Error(String(m["Gini@1"]));
 * ```
 */
export function beyondAccuracy(
  top: TopLists,
  pop: ItemPopularity,
  opts: BeyondOptions,
): Metrics {
  const { ids, width } = top;
  const N = pop.numItems;
  const rows = opts.users ??
    Int32Array.from({ length: ids.length / width }, (_, u) => u);
  const n = rows.length;
  const out: Metrics = {};
  const times = new Float64Array(N + 1);
  for (const k of opts.ks) {
    if (!(Number.isInteger(k) && k >= 1 && k <= width)) {
      throw new RangeError(
        `beyondAccuracy: expected cut-offs in 1..${width}, found ${k}`,
      );
    }
    times.fill(0);
    let popSum = 0, tailSum = 0;
    for (let r = 0; r < n; r++) {
      const base = rows[r] * width;
      let p = 0, t = 0;
      for (let j = 0; j < k; j++) {
        const id = ids[base + j];
        if (id < 1 || id > N) continue;
        times[id]++;
        p += pop.counts[id];
        t += 1 - pop.isHead[id];
      }
      popSum += p / k;
      tailSum += t / k;
    }
    let covered = 0, total = 0;
    for (let i = 1; i <= N; i++) {
      if (times[i] > 0) covered++;
      total += times[i];
    }
    let gini = 0;
    if (total > 0) {
      const sorted = times.subarray(1).slice().sort();
      for (let i = 1; i <= N; i++) gini += (2 * i - N - 1) * sorted[i - 1];
      gini /= N * total;
    }
    out[`Coverage@${k}`] = N > 0 ? covered / N : 0;
    out[`AveragePopularity@${k}`] = n > 0 ? popSum / n : 0;
    out[`Gini@${k}`] = gini;
    out[`TailPercentage@${k}`] = n > 0 ? tailSum / n : 0;
  }
  return out;
}
