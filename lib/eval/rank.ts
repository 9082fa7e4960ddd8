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

/**
 * {@linkcode ranksFromScores} and {@linkcode topKFromScores} in one pass over
 * each row of scores: the same ranks and the same top-k ids (history
 * excluded, ties to the lower id, 0 pads a short list; a NaN score is
 * never in the top-k, as in the WebGPU kernel). One pass costs little more
 * than the ranks alone: an item is only compared with the current k-th best.
 *
 * @example
 * ```ts
 * import { ranksAndTopK } from "./rank.ts";
 * // items 1..4; target 3 (score .5); item 1 (score .9) is history
 * const r = ranksAndTopK(new Float32Array([.9, .2, .5, .7]), 4, [new Int32Array([1])], [3], 2);
 * if (r.ranks[0] !== 1 || r.ids.join() !== "4,3") throw new Error();
 * ```
 */
export function ranksAndTopK(
  scores: Float32Array | Float64Array,
  numItems: number,
  histories: ArrayLike<Int32Array>,
  targets: ArrayLike<number>,
  k: number,
): { ranks: Int32Array; ids: Int32Array } {
  const rows = targets.length;
  const ranks = new Int32Array(rows);
  const ids = new Int32Array(rows * k);
  const vals = new Float64Array(k);
  const seen = new Uint8Array(numItems + 1);
  for (let r = 0; r < rows; r++) {
    const base = r * numItems;
    const target = targets[r];
    const t = scores[base + target - 1];
    const h = histories[r];
    let excluded = 0;
    let targetExcluded = Number.isNaN(t);
    for (let i = 0; i < h.length; i++) {
      const id = h[i];
      if (id < 1 || id > numItems || seen[id]) continue;
      seen[id] = 1;
      excluded++;
      if (id === target) targetExcluded = true;
    }
    // Scan: count scores above the target (history included, removed
    // below) and keep the k best non-history items in a sorted buffer; once
    // it is full, an item is compared only with its last (k-th) entry.
    const o = r * k;
    let count = 0, n = 0, start = 0;
    for (; start < numItems && n < k; start++) {
      const s = scores[base + start];
      count += s > t ? 1 : 0;
      if (Number.isNaN(s) || seen[start + 1]) continue;
      insertSorted(vals, ids, o, n++, s, start + 1);
    }
    let kth = n === k ? vals[k - 1] : -Infinity;
    // Most items score below both the target and the k-th best: one
    // comparison with the lower of the two settles them.
    let lo = Number.isNaN(t) ? kth : Math.min(t, kth);
    for (let j = start; j < numItems; j++) {
      const s = scores[base + j];
      if (s <= lo) continue;
      if (s > t) count++;
      if (!(s > kth) || seen[j + 1]) continue;
      kth = insertSorted(vals, ids, o, k - 1, s, j + 1);
      lo = Number.isNaN(t) ? kth : Math.min(t, kth);
    }
    for (let i = 0; i < h.length; i++) {
      const id = h[i];
      if (id < 1 || id > numItems || !seen[id]) continue;
      seen[id] = 0;
      if (id !== target && scores[base + id - 1] > t) count--;
    }
    ranks[r] = targetExcluded ? numItems - excluded : count;
  }
  return { ranks, ids };
}

/**
 * Put (s, id) into the sorted buffer `vals` / `ids[o..]` at slot `last` or
 * above (ties stay below earlier, lower ids); returns the buffer's new last
 * value.
 */
function insertSorted(
  vals: Float64Array,
  ids: Int32Array,
  o: number,
  last: number,
  s: number,
  id: number,
): number {
  let p = last;
  while (p > 0 && s > vals[p - 1]) {
    vals[p] = vals[p - 1];
    ids[o + p] = ids[o + p - 1];
    p--;
  }
  vals[p] = s;
  ids[o + p] = id;
  return vals[vals.length - 1];
}
