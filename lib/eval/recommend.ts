/**
 * Top-k recommendations after each user's whole sequence, history excluded.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { evalBatches } from "../data/batch.ts";
import type { Scorer } from "./evaluate.ts";
import { topKFromScores } from "./rank.ts";

/**
 * For every sequence, the `k` best items (1-based ids, best first) that are
 * not in it, and their scores: `[numUsers * k]` each.
 *
 * @example
 * ```ts ignore
 * const { ids } = await recommend(model.scorer, dataset.sequences, { k: 20, maxLen: 50, numItems: N });
 * ```
 */
export async function recommend(
  scorer: Scorer,
  sequences: Int32Array[],
  opts: { k: number; maxLen: number; numItems: number; batchSize?: number },
): Promise<{ ids: Int32Array; scores: Float32Array }> {
  const { k, numItems } = opts;
  const U = sequences.length;
  const ids = new Int32Array(U * k);
  const scores = new Float32Array(U * k);
  const order = Int32Array.from({ length: U }, (_, i) => i)
    .sort((a, b) => sequences[a].length - sequences[b].length || a - b);
  const itemsT = tf.tidy(() => tf.transpose(scorer.items()));
  try {
    for (
      const batch of evalBatches(sequences, order, {
        batchSize: opts.batchSize ?? 512,
        maxLen: opts.maxLen,
      })
    ) {
      const s = tf.tidy(() => tf.matMul(scorer.represent(batch), itemsT));
      const vals = (await s.data()) as Float32Array;
      s.dispose();
      const top = topKFromScores(
        vals,
        numItems,
        Array.from(batch.users, (u) => sequences[u]),
        k,
      );
      batch.users.forEach((u, i) => {
        ids.set(top.ids.subarray(i * k, (i + 1) * k), u * k);
        scores.set(top.scores.subarray(i * k, (i + 1) * k), u * k);
      });
    }
  } finally {
    itemsT.dispose();
  }
  return { ids, scores };
}
