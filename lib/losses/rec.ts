/**
 * Next-item (recommendation) losses over the real positions of a batch.
 * Scores use the tied item table `E[1..numItems]`; padding (row 0) and the
 * mask token (row numItems + 1) are never scored.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Flat indices of the positions whose target is a real item. */
export function realPositions(targets: Int32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== 0) n++;
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== 0) out[k++] = i;
  return out;
}

/**
 * Row-wise log-sum-exp `[R, N] -> [R]` with a hand-written gradient
 * (`dy * softmax(x)`). tfjs's own `logSumExp` differentiates through `max`,
 * whose gradient builds an `Equal` mask over the whole score matrix: on wasm
 * that was a third of a SASRec training step.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { logSumExpRows } from "./rec.ts";
 * const v = logSumExpRows(tf.tensor2d([[0, 0]])).dataSync()[0];
 * if (Math.abs(v - Math.log(2)) > 1e-6) throw new Error();
 * ```
 */
export const logSumExpRows: (x: tf.Tensor2D) => tf.Tensor1D = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((x: tf.Tensor2D, save: (t: tf.Tensor[]) => void): any => {
    const value = tf.tidy(() => {
      const m = tf.max(x, 1, true);
      return tf.add(
        tf.reshape(m, [-1]),
        tf.log(tf.sum(tf.exp(tf.sub(x, m)), 1)),
      );
    });
    save([x, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, v] = saved;
        return tf.mul(
          tf.expandDims(dy, 1),
          tf.exp(tf.sub(xs, tf.expandDims(v, 1))),
        );
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0],
) as unknown as (x: tf.Tensor2D) => tf.Tensor1D;

/**
 * Full-softmax cross-entropy at every real position: mean over positions of
 * `logsumexp_j(h . E_j) - h . E_target`, j over items 1..numItems.
 *
 * @param hidden encoder output `[B, L, d]`
 * @param itemEmb the item table `[numItems + 2, d]`
 * @param targets next-item ids `[B * L]`, 0 where there is none
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fullSoftmaxCE } from "./rec.ts";
 * const emb = tf.randomNormal([5, 4]) as tf.Tensor2D; // 3 items + pad + mask
 * const loss = fullSoftmaxCE(tf.randomNormal([1, 2, 4]), emb, new Int32Array([0, 2]));
 * if (!(loss.dataSync()[0] > 0)) throw new Error();
 * ```
 */
export function fullSoftmaxCE(
  hidden: tf.Tensor3D,
  itemEmb: tf.Tensor2D,
  targets: Int32Array,
): tf.Scalar {
  return tf.tidy(() => {
    const d = hidden.shape[2];
    const pos = realPositions(targets);
    if (pos.length === 0) return tf.scalar(0);
    const h = tf.gather(tf.reshape(hidden, [-1, d]), tf.tensor1d(pos, "int32"));
    const numItems = itemEmb.shape[0] - 2;
    const items = tf.slice(itemEmb, [1, 0], [numItems, d]);
    const logits = tf.matMul(h, items, false, true);
    const lse = logSumExpRows(logits as tf.Tensor2D);
    const tgtIds = tf.tensor1d(pos.map((i) => targets[i]), "int32");
    const tgt = tf.sum(tf.mul(h, tf.gather(itemEmb, tgtIds)), 1);
    return tf.mean(tf.sub(lse, tgt)) as tf.Scalar;
  });
}

/**
 * Binary cross-entropy with one sampled negative per real position:
 * mean of `-log sigmoid(h . E_pos) - log(1 - sigmoid(h . E_neg))`.
 *
 * @param negatives negative item ids aligned with `targets` (ignored where the
 * target is 0); see `sampleNegatives`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { bceOneNegative } from "./rec.ts";
 * const emb = tf.randomNormal([5, 4]) as tf.Tensor2D;
 * const loss = bceOneNegative(
 *   tf.randomNormal([1, 2, 4]), emb, new Int32Array([0, 2]), new Int32Array([0, 3]),
 * );
 * if (!(loss.dataSync()[0] > 0)) throw new Error();
 * ```
 */
export function bceOneNegative(
  hidden: tf.Tensor3D,
  itemEmb: tf.Tensor2D,
  targets: Int32Array,
  negatives: Int32Array,
): tf.Scalar {
  return tf.tidy(() => {
    const d = hidden.shape[2];
    const pos = realPositions(targets);
    if (pos.length === 0) return tf.scalar(0);
    const h = tf.gather(tf.reshape(hidden, [-1, d]), tf.tensor1d(pos, "int32"));
    const p = tf.sum(
      tf.mul(
        h,
        tf.gather(itemEmb, tf.tensor1d(pos.map((i) => targets[i]), "int32")),
      ),
      1,
    );
    const n = tf.sum(
      tf.mul(
        h,
        tf.gather(itemEmb, tf.tensor1d(pos.map((i) => negatives[i]), "int32")),
      ),
      1,
    );
    // -log sigmoid(p) = softplus(-p); -log(1 - sigmoid(n)) = softplus(n)
    return tf.mean(tf.add(tf.softplus(tf.neg(p)), tf.softplus(n))) as tf.Scalar;
  });
}

/**
 * The last real position's output `[B, d]` (padding is on the left, so it is
 * the last column): the sequence embedding of MCLRec, DuoRec and CL4SRec.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { lastPosition } from "./rec.ts";
 * const z = lastPosition(tf.ones([2, 3, 4]) as tf.Tensor3D);
 * if (z.shape.join() !== "2,4") throw new Error();
 * ```
 */
export function lastPosition(hidden: tf.Tensor3D): tf.Tensor2D {
  const [B, L, d] = hidden.shape;
  return tf.reshape(tf.slice(hidden, [0, L - 1, 0], [B, 1, d]), [B, d]);
}

/**
 * All positions flattened to `[B, maxLen * d]`, left-padded with zeros up to
 * `maxLen` columns (SRMA's code uses this 3,200-wide vector at d = 64).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { flattenPositions } from "./rec.ts";
 * const z = flattenPositions(tf.ones([2, 3, 4]) as tf.Tensor3D, 5);
 * if (z.shape.join() !== "2,20") throw new Error();
 * ```
 */
export function flattenPositions(
  hidden: tf.Tensor3D,
  maxLen: number,
): tf.Tensor2D {
  const [B, L, d] = hidden.shape;
  const padded = L < maxLen
    ? tf.pad(hidden, [[0, 0], [maxLen - L, 0], [0, 0]])
    : hidden;
  return tf.reshape(padded, [B, maxLen * d]);
}
