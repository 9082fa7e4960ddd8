/**
 * InfoNCE over the 2N views of a batch (SimCLR's NT-Xent, as CL4SRec, SRMA
 * and MCLRec use it): for each of the 2N views, the other view of the same
 * sequence is the positive and the other 2N - 2 views are negatives.
 *
 *   L = -1/(2N) sum_i log( exp(s(i, p(i)) / t) / sum_{j != i} exp(s(i, j) / t) )
 *
 * with s the dot product or cosine similarity and t the temperature.
 * Optional extra negatives (e.g. S4Rec's non-assigned prototypes) join every
 * row's denominator, each row with its own mask.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor2D } from "../util/tensor_types.ts";
import { logSumExpRows } from "./rec.ts";
import { normalize } from "../nn/layers.ts";
import { identityMask } from "./_masks.ts";

export { normalize };

/** Options of {@linkcode infoNCE}. */
export interface InfoNCEOptions {
  /** Temperature t (default 1, as in SRMA's code). */
  temperature?: number;
  /** "dot" (default) or "cosine" (L2-normalised views). */
  similarity?: "dot" | "cosine";
  /**
   * Extra negatives `[M, d]` compared with every view (same similarity).
   */
  extraNegatives?: Tensor2D;
  /**
   * Which extra negatives each of the 2N rows may use: `[2N, M]`, 1 = use,
   * 0 = leave out (e.g. a view's own assigned prototype). Default: all.
   */
  extraMask?: Tensor2D;
}

const NEG = -1e9;

/**
 * InfoNCE between two batches of views `z1`, `z2` (`[N, d]` each, row i of
 * both from the same sequence).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { infoNCE } from "./infonce.ts";
 * const z = tf.tensor2d([[1, 0], [0, 1]]);
 * // identical views, far apart from each other: a small loss
 * const loss = infoNCE(z.mul(5), z.mul(5)).dataSync()[0];
 * if (!(loss < 0.01)) throw new Error(String(loss));
 * ```
 */
export function infoNCE(
  z1: Tensor2D,
  z2: Tensor2D,
  opts: InfoNCEOptions = {},
): Scalar {
  const t = opts.temperature ?? 1;
  return tf.tidy(() => {
    const n = z1.shape[0];
    let z = tf.concat([z1, z2], 0); // [2N, d]
    let extra = opts.extraNegatives;
    if (opts.similarity === "cosine") {
      z = normalize(z);
      if (extra) extra = normalize(extra);
    }
    let logits = tf.div(tf.matMul(z, z, false, true), t); // [2N, 2N]
    // A view is not its own negative.
    logits = tf.add(logits, tf.mul(identityMask(2 * n), NEG));
    const pos = tf.div(
      tf.sum(
        tf.mul(
          z,
          tf.concat([z.slice([n, 0], [n, -1]), z.slice([0, 0], [n, -1])], 0),
        ),
        1,
      ),
      t,
    );
    if (extra) {
      let el = tf.div(tf.matMul(z, extra, false, true), t); // [2N, M]
      if (opts.extraMask) {
        el = tf.add(el, tf.mul(tf.sub(1, opts.extraMask), NEG));
      }
      logits = tf.concat([logits, el], 1);
    }
    return tf.mean(
      tf.sub(logSumExpRows(logits as Tensor2D), pos),
    ) as Scalar;
  });
}
