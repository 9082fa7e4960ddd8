/**
 * Item popularity on the training sequences, and the head/tail split of the
 * items that the popularity metrics (`TailPercentage@k`) and the
 * accuracy-by-target-popularity groups use.
 *
 * @module
 */

/** How popular each item is in training, and which items are head items. */
export interface ItemPopularity {
  /** Number of real items N; ids are 1..N. */
  numItems: number;
  /** `counts[i]` = occurrences of item i in the training sequences (`[N + 1]`, index 0 unused). */
  counts: Float64Array;
  /** `isHead[i]` = 1 when item i is among the most popular (`[N + 1]`, index 0 is 0). */
  isHead: Uint8Array;
}

/** Options of {@linkcode itemPopularity}. */
export interface ItemPopularityOptions {
  /**
   * Share of items that are head items: the `ceil(headFraction * N)` most
   * frequent in training. The rest are the long tail.
   * @default {0.2}
   */
  headFraction?: number;
}

/**
 * Count every item in the training sequences and split the items into head
 * and tail. The tail is RecBole's (`TailPercentage`, `tail_ratio` = 1 -
 * headFraction): items in ascending order of (count, id), the first
 * `N - ceil(headFraction * N)` of them; so among equally frequent items the
 * lower ids are tail. Unlike RecBole, items that never occur in training are
 * counted (with count 0) and are tail items; RecBole's counter does not list
 * them at all.
 *
 * @example
 * ```ts
 * import { itemPopularity } from "./item_popularity.ts";
 * // items 1..5 with counts 3, 1, 0, 2, 1: head (ceil(0.4 * 5) = 2) = items 1 and 4
 * const pop = itemPopularity([Int32Array.of(1, 1, 4), Int32Array.of(2, 1, 4, 5)], 5, { headFraction: 0.4 });
 * if (Array.from(pop.counts).join() !== "0,3,1,0,2,1") throw new Error(String(pop.counts));
 * if (Array.from(pop.isHead).join() !== "0,1,0,0,1,0") throw new Error(String(pop.isHead));
 * ```
 */
export function itemPopularity(
  train: ArrayLike<Int32Array>,
  numItems: number,
  opts: ItemPopularityOptions = {},
): ItemPopularity {
  const h = opts.headFraction ?? 0.2;
  if (!(h >= 0 && h <= 1)) {
    throw new RangeError(
      `itemPopularity: expected headFraction in [0, 1], found ${h}`,
    );
  }
  const counts = new Float64Array(numItems + 1);
  for (let u = 0; u < train.length; u++) {
    const s = train[u];
    for (let i = 0; i < s.length; i++) {
      const id = s[i];
      if (id >= 1 && id <= numItems) counts[id]++;
    }
  }
  // Same rounding as the user head labels (`headLabels`): ceil(0.2 * 15) = 3.
  const numHead = Math.min(
    numItems,
    Math.max(0, Math.ceil(h * numItems - 1e-9)),
  );
  const order = Int32Array.from({ length: numItems }, (_, j) => j + 1);
  order.sort((a, b) => counts[b] - counts[a] || b - a);
  const isHead = new Uint8Array(numItems + 1);
  for (let i = 0; i < numHead; i++) isHead[order[i]] = 1;
  return { numItems, counts, isHead };
}
