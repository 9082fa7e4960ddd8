/**
 * Top-k recommendations after each user's whole sequence, history excluded.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { evalBatches } from "../data/batch.ts";
import type { Scorer } from "./evaluate.ts";
import { topKFromScores } from "./rank.ts";
import {
  blockItems,
  DEFAULT_MAX_CELLS,
  itemBlocks,
  streamTopK,
} from "./stream.ts";

/**
 * For every sequence, the `k` best items (1-based ids, best first) that are
 * not in it (any item with `repeatable`), and their scores: `[numUsers * k]`
 * each. Where fewer than k items are left, the rest are id 0, score
 * -Infinity. A large item table is streamed in blocks (`maxCells`, as in
 * `evaluate`), holding O(batch x k) results.
 *
 * @example
 * ```ts ignore
 * const { ids } = await recommend(model.scorer, dataset.sequences, { k: 20, maxLen: 50, numItems: N });
 * ```
 */
export async function recommend(
  scorer: Scorer,
  sequences: Int32Array[],
  opts: {
    k: number;
    maxLen: number;
    numItems: number;
    batchSize?: number;
    repeatable?: boolean;
    maxCells?: number;
  },
): Promise<{ ids: Int32Array; scores: Float32Array }> {
  const { k, numItems } = opts;
  const U = sequences.length;
  const ids = new Int32Array(U * k);
  const scores = new Float32Array(U * k);
  const order = Int32Array.from({ length: U }, (_, i) => i)
    .sort((a, b) => sequences[a].length - sequences[b].length || a - b);
  const bs = opts.batchSize ?? 512;
  const width = blockItems(bs, numItems, opts.maxCells ?? DEFAULT_MAX_CELLS);
  const none = new Int32Array(0);
  const histories = (users: Int32Array) =>
    Array.from(users, (u) => opts.repeatable ? none : sequences[u]);
  const items = scorer.items();
  const blocks = width < numItems ? itemBlocks(items, width) : undefined;
  const itemsT = blocks ? undefined : tf.tidy(() => tf.transpose(items));
  try {
    for (
      const batch of evalBatches(sequences, order, {
        batchSize: bs,
        maxLen: opts.maxLen,
      })
    ) {
      let top: { ids: Int32Array; scores: Float32Array };
      if (blocks) {
        const reps = scorer.represent(batch);
        try {
          top = await streamTopK(
            reps,
            blocks.blocks,
            histories(batch.users),
            k,
          );
        } finally {
          reps.dispose();
        }
      } else {
        const s = tf.tidy(() => tf.matMul(scorer.represent(batch), itemsT!));
        const vals = (await s.data()) as Float32Array;
        s.dispose();
        top = topKFromScores(vals, numItems, histories(batch.users), k);
      }
      batch.users.forEach((u, i) => {
        ids.set(top.ids.subarray(i * k, (i + 1) * k), u * k);
        scores.set(top.scores.subarray(i * k, (i + 1) * k), u * k);
      });
    }
  } finally {
    itemsT?.dispose();
    blocks?.dispose();
    items.dispose();
  }
  return { ids, scores };
}
