/**
 * Full ranking over a large item table without a `[users, items]` score
 * matrix: the table is scored in column blocks of at most `maxCells / batch`
 * items, and each block is folded into per-user counts (a target's rank)
 * or a bounded top-k, so memory is O(batch x block + batch x k) whatever
 * the number of items.
 *
 * Same semantics as {@linkcode ranksFromScores} and
 * {@linkcode topKFromScores} (history excluded, a repeated id once, a
 * target in its own history never a hit, NaN last, ties to the lower id).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "../util/tensor_types.ts";
import type { SeqInput } from "../nn/encoder.ts";
import { readFloats } from "../backend/heap_view.ts";

/** What streaming needs from a model (a `Scorer`). */
export interface StreamScorer {
  /** User representations `[B, d]`. */
  represent(input: SeqInput): Tensor2D;
  /** Item representations `[numItems, d]`, row j = item j + 1. */
  items(): Tensor2D;
}

/**
 * Score cells (users x items) per block by default: 2^24 floats, 64 MB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_CELLS } from "./stream.ts";
 * if (DEFAULT_MAX_CELLS !== 16777216) throw new Error();
 * ```
 */
export const DEFAULT_MAX_CELLS = 1 << 24;

/**
 * Items per block for `batchSize` users: all of them when `batchSize x
 * numItems` fits in `maxCells`, else `floor(maxCells / batchSize)` (at
 * least 1).
 *
 * @example
 * ```ts
 * import { blockItems } from "./stream.ts";
 * if (blockItems(512, 12101) !== 12101) throw new Error();
 * if (blockItems(512, 1_000_000) !== 32768) throw new Error();
 * ```
 */
export function blockItems(
  batchSize: number,
  numItems: number,
  maxCells = DEFAULT_MAX_CELLS,
): number {
  return Math.max(1, Math.min(numItems, Math.floor(maxCells / batchSize)));
}

/** One block of the item table: items `start + 1 .. start + width`. */
export interface ItemBlock {
  /** 0-based row of the block's first item (its id is start + 1). */
  start: number;
  /** Items in the block. */
  width: number;
  /** Their representations, transposed: `[d, width]`. */
  itemsT: Tensor2D;
}

/**
 * The item table as transposed column blocks `[d, width]`, made once and
 * reused for every batch of users; `dispose` frees them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { itemBlocks } from "./stream.ts";
 * const b = itemBlocks(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), 2);
 * if (b.blocks.length !== 2 || b.blocks[1].start !== 2) throw new Error();
 * if (b.blocks[1].itemsT.shape.join() !== "2,1") throw new Error();
 * b.dispose();
 * ```
 */
export function itemBlocks(
  items: Tensor2D,
  width: number,
): { blocks: ItemBlock[]; dispose(): void } {
  const [N, d] = items.shape;
  const blocks: ItemBlock[] = [];
  // One transpose, then column slices: a slice of rows is contiguous, and
  // tfjs-wasm copies the whole table to cut a contiguous slice out of it
  // (31 copies of a 10^6-item table), while a column slice is one strided
  // copy of the block.
  const all = tf.transpose(items) as Tensor2D;
  for (let a = 0; a < N; a += width) {
    const w = Math.min(width, N - a);
    blocks.push({
      start: a,
      width: w,
      itemsT: w === N ? all : tf.slice(all, [0, a], [d, w]),
    });
  }
  if (blocks.length !== 1) all.dispose();
  return {
    blocks,
    dispose: () => blocks.forEach((b) => b.itemsT.dispose()),
  };
}

/** The distinct ids of `h` within 1..numItems, ascending. */
function distinctIds(h: Int32Array, numItems: number): Int32Array {
  const s = Int32Array.from(h).sort();
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] >= 1 && s[i] <= numItems && (n === 0 || s[i] !== s[n - 1])) {
      s[n++] = s[i];
    }
  }
  return s.slice(0, n);
}

function contains(sorted: Int32Array, x: number): boolean {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (sorted[m] < x) lo = m + 1;
    else hi = m;
  }
  return lo < sorted.length && sorted[lo] === x;
}

/**
 * Ranks of one batch's targets (items scored strictly above the target,
 * history excluded), streaming the item blocks. The target's score comes
 * from the same kind of product as the blocks' (`represent x targets^T`,
 * its diagonal), and the target's own column is never counted.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { itemBlocks, streamRanks } from "./stream.ts";
 * // user (1, 0); items 1..4 score .9 .2 .5 .7; item 1 is history, target 3
 * const items = tf.tensor2d([[.9, 0], [.2, 0], [.5, 0], [.7, 0]]);
 * const blocks = itemBlocks(items, 3);
 * const r = await streamRanks(tf.tensor2d([[1, 0]]), items, blocks.blocks,
 *   [Int32Array.of(1)], Int32Array.of(3));
 * if (r[0] !== 1) throw new Error(String(r[0])); // only item 4 is above
 * ```
 */
export async function streamRanks(
  reps: Tensor2D,
  items: Tensor2D,
  blocks: ItemBlock[],
  histories: ArrayLike<Int32Array>,
  targets: Int32Array,
): Promise<Int32Array> {
  const B = targets.length;
  const N = items.shape[0];
  const t = await targetScores(reps, items, targets);
  const hist = Array.from(
    { length: B },
    (_, r) => distinctIds(histories[r], N),
  );
  const count = new Int32Array(B);
  for (const blk of blocks) {
    const sT = tf.tidy(() => tf.matMul(reps, blk.itemsT));
    const s = await readFloats(sT); // a heap view on wasm: used at once
    const w = blk.width, a = blk.start;
    for (let r = 0; r < B; r++) {
      const tr = t[r];
      if (Number.isNaN(tr)) continue;
      const base = r * w;
      let c = 0;
      for (let j = 0; j < w; j++) if (s[base + j] > tr) c++;
      const tgt = targets[r] - 1 - a;
      if (tgt >= 0 && tgt < w && s[base + tgt] > tr) c--;
      // History items (other than the target) in this block, once each.
      const h = hist[r];
      for (let i = 0; i < h.length; i++) {
        const j = h[i] - 1 - a;
        if (j >= 0 && j < w && h[i] !== targets[r] && s[base + j] > tr) c--;
      }
      count[r] += c;
    }
    sT.dispose();
  }
  const out = new Int32Array(B);
  for (let r = 0; r < B; r++) {
    const excluded = hist[r].length;
    out[r] = Number.isNaN(t[r]) || contains(hist[r], targets[r])
      ? N - excluded
      : count[r];
  }
  return out;
}

/**
 * {@linkcode streamRanks} and the top-k ids of one batch in one product and
 * one pass per item block: the same ranks, and the same top-k ids as
 * `ranksAndTopK` over the whole score row (history excluded, ties to the
 * lower id, NaN never in the top-k, 0 pads a short list). Per row, once
 * its top-k buffer is full, an item scored no higher than both the target
 * and the k-th best is settled by one comparison; only the few above
 * either are counted or inserted.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { itemBlocks, streamRanksAndTopK } from "./stream.ts";
 * // user (1, 0); items 1..4 score .9 .2 .5 .7; item 1 is history, target 3
 * const items = tf.tensor2d([[.9, 0], [.2, 0], [.5, 0], [.7, 0]]);
 * const blocks = itemBlocks(items, 3);
 * const r = await streamRanksAndTopK(tf.tensor2d([[1, 0]]), items, blocks.blocks,
 *   [Int32Array.of(1)], Int32Array.of(3), 2);
 * // only item 4 is above the target; the best two are items 4 and 3
 * if (r.ranks[0] !== 1 || r.ids.join() !== "4,3") throw new Error();
 * ```
 */
export async function streamRanksAndTopK(
  reps: Tensor2D,
  items: Tensor2D,
  blocks: ItemBlock[],
  histories: ArrayLike<Int32Array>,
  targets: Int32Array,
  k: number,
): Promise<{ ranks: Int32Array; ids: Int32Array }> {
  const B = targets.length;
  const N = items.shape[0];
  const t = await targetScores(reps, items, targets);
  const hist = Array.from(
    { length: B },
    (_, r) => distinctIds(histories[r], N),
  );
  const count = new Int32Array(B);
  const filled = new Int32Array(B);
  const vals = new Float64Array(B * k);
  const ids = new Int32Array(B * k);
  const excluded = new Uint8Array(N + 2);
  for (const blk of blocks) {
    const sT = tf.tidy(() => tf.matMul(reps, blk.itemsT));
    // On wasm a view of the heap: read before any other tensor is made.
    const s = await readFloats(sT);
    const w = blk.width, a = blk.start;
    for (let r = 0; r < B; r++) {
      const tr = t[r], tgtId = targets[r], h = hist[r];
      for (let i = 0; i < h.length; i++) excluded[h[i]] = 1;
      const base = r * w;
      // A row's own view: V8 keeps these loops tight (indexing the whole
      // block's view ran several times slower).
      const row = s.subarray(base, base + w);
      let c = countAbove(row, tr);
      filled[r] = foldTopK(
        row,
        a + 1,
        excluded,
        vals,
        ids,
        r * k,
        k,
        filled[r],
      );
      // The target's own column, and history items (once each), were
      // counted if above the target: take them out.
      const tgt = tgtId - 1 - a;
      if (tgt >= 0 && tgt < w && row[tgt] > tr) c--;
      for (let i = 0; i < h.length; i++) {
        excluded[h[i]] = 0;
        const jj = h[i] - 1 - a;
        if (jj >= 0 && jj < w && h[i] !== tgtId && row[jj] > tr) c--;
      }
      count[r] += c;
    }
    sT.dispose();
  }
  const ranks = new Int32Array(B);
  for (let r = 0; r < B; r++) {
    ranks[r] = Number.isNaN(t[r]) || contains(hist[r], targets[r])
      ? N - hist[r].length
      : count[r];
  }
  return { ranks, ids };
}

/** Items of `row` scored strictly above `t` (a NaN score counts nowhere). */
function countAbove(row: Float32Array, t: number): number {
  let c = 0;
  for (let j = 0; j < row.length; j++) c += +(row[j] > t);
  return c;
}

/**
 * Fold `row` (ids `first`, `first + 1`, ...) into the sorted top-k buffer
 * at `o` holding `n` entries, skipping `excluded` ids and NaN; returns the
 * new count. Once the buffer is full, an item is compared with its k-th
 * entry only.
 */
function foldTopK(
  row: Float32Array,
  first: number,
  excluded: Uint8Array,
  vals: Float64Array,
  ids: Int32Array,
  o: number,
  k: number,
  n: number,
): number {
  let j = 0;
  for (; j < row.length && n < k; j++) {
    const v = row[j];
    if (v !== v || excluded[first + j]) continue;
    insertAt(vals, ids, o, n++, v, first + j);
  }
  let kth = n === k ? vals[o + k - 1] : -Infinity;
  for (; j < row.length; j++) {
    const v = row[j];
    if (!(v > kth) || excluded[first + j]) continue;
    insertAt(vals, ids, o, k - 1, v, first + j);
    kth = vals[o + k - 1];
  }
  return n;
}

/** Put (v, id) at slot `p` or above of row buffer `o` (ties stay below). */
function insertAt(
  vals: Float64Array,
  ids: Int32Array,
  o: number,
  p: number,
  v: number,
  id: number,
): void {
  while (p > 0 && v > vals[o + p - 1]) {
    vals[o + p] = vals[o + p - 1];
    ids[o + p] = ids[o + p - 1];
    p--;
  }
  vals[o + p] = v;
  ids[o + p] = id;
}

/**
 * Each target's score by the same kind of product as the blocks'
 * (`represent x targets^T`, its diagonal).
 */
async function targetScores(
  reps: Tensor2D,
  items: Tensor2D,
  targets: Int32Array,
): Promise<Float32Array> {
  const B = targets.length;
  const tT = tf.tidy(() => {
    const sel = tf.transpose(
      tf.gather(
        items,
        tf.tensor1d(Int32Array.from(targets, (t) => t - 1), "int32"),
      ),
    );
    return tf.matMul(reps, sel) as Tensor2D;
  });
  const tBlock = (await tT.data()) as Float32Array;
  tT.dispose();
  return Float32Array.from({ length: B }, (_, r) => tBlock[r * B + r]);
}

/**
 * Top-k ids (1-based) and scores of one batch, history excluded, streaming
 * the item blocks through a bounded sorted buffer per user: O(B x k).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { itemBlocks, streamTopK } from "./stream.ts";
 * const items = tf.tensor2d([[.9], [.2], [.5], [.7]]);
 * const { ids } = await streamTopK(tf.tensor2d([[1]]), itemBlocks(items, 3).blocks,
 *   [Int32Array.of(1)], 2);
 * if (ids.join() !== "4,3") throw new Error(ids.join());
 * ```
 */
export async function streamTopK(
  reps: Tensor2D,
  blocks: ItemBlock[],
  histories: ArrayLike<Int32Array>,
  k: number,
): Promise<{ ids: Int32Array; scores: Float32Array }> {
  const B = histories.length;
  const ids = new Int32Array(B * k);
  const vals = new Float32Array(B * k).fill(-Infinity);
  const filled = new Int32Array(B);
  const N = blocks.reduce((n, b) => n + b.width, 0);
  const excluded = new Uint8Array(N + 2);
  for (const blk of blocks) {
    const sT = tf.tidy(() => tf.matMul(reps, blk.itemsT));
    const s = await readFloats(sT); // a heap view on wasm: used at once
    const w = blk.width, a = blk.start;
    for (let r = 0; r < B; r++) {
      const h = histories[r];
      for (let i = 0; i < h.length; i++) {
        if (h[i] >= 0 && h[i] <= N) excluded[h[i]] = 1;
      }
      // Insertion into the sorted buffer, as topKFromScores (ties keep the
      // lower id, which was seen first).
      let n = filled[r];
      const o = r * k, base = r * w;
      for (let j = 0; j < w; j++) {
        if (excluded[a + j + 1]) continue;
        const v = s[base + j];
        if (n === k && !(v > vals[o + k - 1])) continue;
        let p = n < k ? n++ : k - 1;
        while (p > 0 && v > vals[o + p - 1]) {
          vals[o + p] = vals[o + p - 1];
          ids[o + p] = ids[o + p - 1];
          p--;
        }
        vals[o + p] = v;
        ids[o + p] = a + j + 1;
      }
      filled[r] = n;
      for (let i = 0; i < h.length; i++) {
        if (h[i] >= 0 && h[i] <= N) excluded[h[i]] = 0;
      }
    }
    sT.dispose();
  }
  return { ids, scores: vals };
}
