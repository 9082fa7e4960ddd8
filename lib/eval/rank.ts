/**
 * Ranking from a block of scores on the CPU: history exclusion, the target's
 * rank, and top-k.
 *
 * @module
 */

/**
 * For each row of `scores` (`[rows, numItems]`, column j = item j + 1): the
 * number of items, other than the excluded history, scored strictly higher
 * than the target. A target that is itself in the history is excluded like
 * any history item (it can never be a hit): its rank is then the number of
 * items left. A NaN target score ranks last. Same semantics as the WebGPU
 * kernel (`GpuRanker`).
 *
 * @example
 * ```ts
 * import { ranksFromScores } from "./rank.ts";
 * // items 1..4; target 3 (score .5); item 1 (score .9) is history
 * const r = ranksFromScores(new Float32Array([.9, .2, .5, .7]), 4, [new Int32Array([1])], new Int32Array([3]));
 * if (r[0] !== 1) throw new Error();
 * ```
 */
export function ranksFromScores(
  scores: Float32Array | Float64Array,
  numItems: number,
  histories: ArrayLike<Int32Array>,
  targets: ArrayLike<number>,
): Int32Array {
  const rows = targets.length;
  const out = new Int32Array(rows);
  const seen = new Uint8Array(numItems + 1);
  for (let r = 0; r < rows; r++) {
    const base = r * numItems;
    const target = targets[r];
    const t = scores[base + target - 1];
    let count = 0;
    if (!Number.isNaN(t)) {
      for (let j = 0; j < numItems; j++) if (scores[base + j] > t) count++;
    }
    // Remove the history items that were counted; a repeated id counts once.
    const h = histories[r];
    let excluded = 0;
    let targetExcluded = Number.isNaN(t);
    for (let i = 0; i < h.length; i++) {
      const id = h[i];
      if (id < 1 || id > numItems || seen[id]) continue;
      seen[id] = 1;
      excluded++;
      if (id === target) targetExcluded = true;
      else if (scores[base + id - 1] > t) count--;
    }
    for (let i = 0; i < h.length; i++) {
      if (h[i] >= 1 && h[i] <= numItems) seen[h[i]] = 0;
    }
    out[r] = targetExcluded ? numItems - excluded : count;
  }
  return out;
}

/**
 * Top-k item ids (1-based) and scores per row, history excluded; ties go to
 * the lower item id.
 *
 * @example
 * ```ts
 * import { topKFromScores } from "./rank.ts";
 * const { ids } = topKFromScores(new Float32Array([.9, .2, .5, .7]), 4, [new Int32Array([1])], 2);
 * if (ids.join() !== "4,3") throw new Error();
 * ```
 */
export function topKFromScores(
  scores: Float32Array,
  numItems: number,
  histories: ArrayLike<Int32Array>,
  k: number,
): { ids: Int32Array; scores: Float32Array } {
  const rows = histories.length;
  const ids = new Int32Array(rows * k);
  const vals = new Float32Array(rows * k).fill(-Infinity);
  const excluded = new Uint8Array(numItems + 1);
  for (let r = 0; r < rows; r++) {
    const base = r * numItems;
    const h = histories[r];
    for (let i = 0; i < h.length; i++) excluded[h[i]] = 1;
    // Insertion into a small sorted buffer: k is small (<= 100).
    let n = 0;
    const o = r * k;
    for (let j = 0; j < numItems; j++) {
      if (excluded[j + 1]) continue;
      const s = scores[base + j];
      if (n === k && !(s > vals[o + k - 1])) continue;
      let p = n < k ? n++ : k - 1;
      while (p > 0 && s > vals[o + p - 1]) {
        vals[o + p] = vals[o + p - 1];
        ids[o + p] = ids[o + p - 1];
        p--;
      }
      vals[o + p] = s;
      ids[o + p] = j + 1;
    }
    for (let i = 0; i < h.length; i++) excluded[h[i]] = 0;
  }
  return { ids, scores: vals };
}
