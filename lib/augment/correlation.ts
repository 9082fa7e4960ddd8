/**
 * Item-to-item correlation from co-occurrence in the training sequences
 * (ItemCF-style), the source of CoSeRec's insert and substitute.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import { ConfigError } from "../util/errors.ts";
import { checkKeys } from "./_util.ts";

/** The top similar items of every item; built by {@linkcode itemCorrelation}. */
export interface ItemCorrelation {
  /** Number of real items; ids are 1..numItems. */
  readonly numItems: number;
  /** Most neighbours kept per item. */
  readonly topK: number;
  /**
   * The up to `topK` items most similar to `item`, most similar first (ties
   * by lower id); empty for an item that never co-occurs with another. A
   * fresh copy.
   */
  similar(item: number): Int32Array;
  /** The similarity scores aligned with {@linkcode ItemCorrelation.similar}. */
  scores(item: number): Float64Array;
  /**
   * One item correlated with `item`: uniform over `similar(item)`; for an
   * item without neighbours, uniform over all items other than `item` (or
   * `item` itself when it is the only item). Exactly one draw of `rng`.
   */
  sample(item: number, rng: Rng): number;
}

/** Options of {@linkcode itemCorrelation}. */
export interface ItemCorrelationOptions {
  /** Neighbours kept per item. Default 10. */
  topK?: number;
  /** Two items co-occur when at most `window` positions apart. Default 1. */
  window?: number;
}

function checkPositiveInt(key: string, x: number): void {
  if (!Number.isInteger(x) || x < 1) {
    throw new ConfigError(key, "a positive integer", String(x));
  }
}

/**
 * Item-to-item similarity from the training sequences. Two distinct items
 * `a`, `b` co-occur each time they are at most `window` positions apart in a
 * sequence; with `C(a, b)` that count and `f(a)` the number of occurrences
 * of `a`, the similarity is the cosine-normalised count (as in ItemCF)
 *
 *     sim(a, b) = C(a, b) / sqrt(f(a) * f(b)),
 *
 * and each item keeps its `topK` most similar items (ties by lower id;
 * ranking is done in exact integer arithmetic, so ties are exact). Pass ONLY
 * the training split (`SplitDataset.train`): validation and test targets
 * must not leak into augmentation. Costs O(actions * window) time plus a
 * sort of each item's neighbours; Beauty-sized data (200k actions) builds in
 * well under a second.
 *
 * Throws a `RangeError` naming the sequence and position of an id outside
 * 1..numItems, and a `ConfigError` for bad options.
 *
 * @example
 * ```ts
 * import { itemCorrelation } from "./correlation.ts";
 * import { makeRng } from "../util/rng.ts";
 * const corr = itemCorrelation([Int32Array.of(1, 2, 3), Int32Array.of(1, 2)], 4);
 * // C(2,1) = 2, f = [_, 2, 2, 1]: sim(2,1) = 2/2 = 1 > sim(2,3) = 1/sqrt(2)
 * if (corr.similar(2).join() !== "1,3") throw new Error();
 * if (corr.similar(4).length !== 0) throw new Error(); // never seen
 * const x = corr.sample(4, makeRng(0)); // a random other item
 * if (x < 1 || x > 3) throw new Error();
 * ```
 */
export function itemCorrelation(
  train: Int32Array[],
  numItems: number,
  opts: ItemCorrelationOptions = {},
): ItemCorrelation {
  checkKeys("itemCorrelation", opts, ["topK", "window"]);
  const topK = opts.topK ?? 10;
  const window = opts.window ?? 1;
  checkPositiveInt("itemCorrelation.topK", topK);
  checkPositiveInt("itemCorrelation.window", window);
  checkPositiveInt("itemCorrelation.numItems", numItems);
  const V = numItems;

  // Pass 1: occurrences and co-occurrence degree of every item.
  const freq = new Float64Array(V + 1);
  const offset = new Int32Array(V + 2);
  for (let u = 0; u < train.length; u++) {
    const s = train[u];
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const a = s[i];
      if (!(a >= 1 && a <= V)) {
        throw new RangeError(
          `train[${u}][${i}]: expected an item id in 1..${V}, found ${a}`,
        );
      }
      freq[a]++;
      const end = Math.min(n, i + window + 1);
      for (let j = i + 1; j < end; j++) {
        const b = s[j];
        if (b !== a && b >= 1 && b <= V) {
          offset[a + 1]++;
          offset[b + 1]++;
        }
      }
    }
  }
  for (let a = 1; a <= V + 1; a++) offset[a] += offset[a - 1];

  // Pass 2: the co-occurring items of each item, as a CSR adjacency list.
  const adj = new Int32Array(offset[V + 1]);
  const fill = offset.slice(0, V + 1);
  for (const s of train) {
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const a = s[i];
      const end = Math.min(n, i + window + 1);
      for (let j = i + 1; j < end; j++) {
        const b = s[j];
        if (b !== a) {
          adj[fill[a]++] = b;
          adj[fill[b]++] = a;
        }
      }
    }
  }

  // Per item: count each neighbour, rank, keep the top K.
  const top = new Int32Array((V + 1) * topK);
  const topScore = new Float64Array((V + 1) * topK);
  const count = new Int32Array(V + 1);
  const nbrs: number[] = [];
  const cnts: number[] = [];
  const order: number[] = [];
  for (let a = 1; a <= V; a++) {
    const seg = adj.subarray(offset[a], offset[a + 1]);
    if (seg.length === 0) continue;
    seg.sort();
    nbrs.length = 0;
    cnts.length = 0;
    for (let i = 0; i < seg.length;) {
      const b = seg[i];
      let j = i + 1;
      while (j < seg.length && seg[j] === b) j++;
      nbrs.push(b);
      cnts.push(j - i);
      i = j;
    }
    order.length = 0;
    for (let i = 0; i < nbrs.length; i++) order.push(i);
    // sim(a,x) > sim(a,y)  <=>  C(a,x)^2 f(y) > C(a,y)^2 f(x)   (f(a) cancels)
    order.sort((x, y) => {
      const d = cnts[y] * cnts[y] * freq[nbrs[x]] -
        cnts[x] * cnts[x] * freq[nbrs[y]];
      return d !== 0 ? d : nbrs[x] - nbrs[y];
    });
    const k = Math.min(topK, order.length);
    count[a] = k;
    for (let r = 0; r < k; r++) {
      const i = order[r];
      top[a * topK + r] = nbrs[i];
      topScore[a * topK + r] = cnts[i] / Math.sqrt(freq[a] * freq[nbrs[i]]);
    }
  }

  const checkItem = (item: number): void => {
    if (!Number.isInteger(item) || item < 1 || item > V) {
      throw new RangeError(
        `expected an item id in 1..${V}, found ${item}`,
      );
    }
  };
  return {
    numItems: V,
    topK,
    similar(item: number): Int32Array {
      checkItem(item);
      return top.slice(item * topK, item * topK + count[item]);
    },
    scores(item: number): Float64Array {
      checkItem(item);
      return topScore.slice(item * topK, item * topK + count[item]);
    },
    sample(item: number, rng: Rng): number {
      checkItem(item);
      const k = count[item];
      if (k > 0) return top[item * topK + rng.int(k)];
      if (V === 1) {
        rng.next();
        return item;
      }
      const r = 1 + rng.int(V - 1);
      return r >= item ? r + 1 : r;
    },
  };
}
