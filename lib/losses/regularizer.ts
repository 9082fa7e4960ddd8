/**
 * MCLRec's contrastive regulariser R (`mclrec.txt` Eq. 11-13).
 *
 * Scores: the 2N x 2N similarity matrix of the stacked views `[z1; z2]`
 * (the same matrix InfoNCE uses: `s(i, j) / t`). Row i's positive is the
 * other view of the same sequence; its negatives are the 2N - 2 other views
 * (a view is neither its own positive nor its own negative). With
 * pos_i = s(i, p(i)) and m_i = max_{j neg} s(i, j):
 *
 *   o_min_i = min(pos_i, m_i),  o_max_i = max(pos_i, m_i)
 *   R = mean_i relu(pos_i - o_min_i) + mean_{i, j neg} relu(o_max_i - s(i, j))
 *
 * Minimising R pulls each positive down to the hardest negative when it is
 * above it, and pulls every negative up to the row's upper margin: it keeps
 * the augmenters from producing views that are trivially easy to tell apart.
 *
 * Reading of the paper vs the reference code (QinHsiu/MCLRec,
 * `meta_contrast_rl_1`):
 * - Eq. 12 writes `min(sigma+)` and `max(sigma-)` over the score sets, which
 *   reads as two batch-wide scalars; the code takes them per row (its
 *   positive set has one score per row). Default `margins: "row"` follows
 *   the code (and the project's protocol); `"batch"` is the literal Eq. 12.
 * - The paper says "inner product"; the code divides the scores by the
 *   InfoNCE temperature. Since relu, min and max commute with a positive
 *   scale, R(s / t) = R(s) / t: the temperature only rescales gamma.
 * - Eq. 11 applies R to (z1, z2) only; the code sums it over (h1, z2),
 *   (h2, z1) and (z1, z2) and multiplies by 0.1. The recipe decides which
 *   pairs it passes here.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor, Tensor2D } from "../util/tensor_types.ts";
import { normalize } from "./infonce.ts";
import { viewPairMasks } from "./_masks.ts";

/** Options of {@linkcode contrastiveRegularizer}. */
export interface RegularizerOptions {
  /** Scores are divided by this (default 1: the paper's plain inner product). */
  temperature?: number;
  /** "dot" (default) or "cosine" (L2-normalised views). */
  similarity?: "dot" | "cosine";
  /**
   * "row" (default): o_min, o_max per row (the reference code).
   * "batch": from the smallest positive and the largest negative of the
   * whole batch (Eq. 12 read literally).
   */
  margins?: "row" | "batch";
}

const NEG = -1e9;

/**
 * R (Eq. 11-13) for two batches of views `z1`, `z2` (`[N, d]` each, row i of
 * both from the same sequence). Zero when N < 2 (no negatives).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { contrastiveRegularizer } from "./regularizer.ts";
 * // Orthogonal sequences, identical views: every positive (1) is above the
 * // hardest negative (0), so R = (1 - 0) + mean(1 - negatives) = 1 + 1.
 * const z = tf.tensor2d([[1, 0], [0, 1]]);
 * const r = contrastiveRegularizer(z, z).dataSync()[0];
 * if (Math.abs(r - 2) > 1e-6) throw new Error(String(r));
 * ```
 */
export function contrastiveRegularizer(
  z1: Tensor2D,
  z2: Tensor2D,
  opts: RegularizerOptions = {},
): Scalar {
  const t = opts.temperature ?? 1;
  const n = z1.shape[0];
  if (z2.shape[0] !== n) {
    throw new RangeError(
      `contrastiveRegularizer: expected views with the same rows, found ${n} and ${
        z2.shape[0]
      }`,
    );
  }
  if (n < 2) return tf.scalar(0);
  return tf.tidy(() => {
    let z = tf.concat([z1, z2], 0); // [2N, d]
    if (opts.similarity === "cosine") z = normalize(z);
    const scores = tf.div(tf.matMul(z, z, false, true), t); // [2N, 2N]
    const swapped = tf.concat([
      tf.slice(z, [n, 0], [n, -1]),
      tf.slice(z, [0, 0], [n, -1]),
    ], 0);
    const pos = tf.div(tf.sum(tf.mul(z, swapped), 1), t); // [2N]
    // 1 where j is a negative of row i: neither i itself nor its other view.
    const negMask = viewPairMasks(n).neg;
    const maxNeg = tf.max(
      tf.add(tf.mul(scores, negMask), tf.mul(tf.sub(1, negMask), NEG)),
      1,
    ); // [2N]
    let oMin: Tensor, oMax: Tensor;
    if (opts.margins === "batch") {
      const minPos = tf.min(pos), maxNegAll = tf.max(maxNeg);
      oMin = tf.minimum(minPos, maxNegAll);
      oMax = tf.maximum(minPos, maxNegAll);
    } else {
      oMin = tf.minimum(pos, maxNeg);
      oMax = tf.maximum(pos, maxNeg);
    }
    const posTerm = tf.mean(tf.relu(tf.sub(pos, oMin)));
    const negCount = 2 * n * (2 * n - 2);
    const rowMax = opts.margins === "batch" ? oMax : tf.expandDims(oMax, 1);
    const negTerm = tf.div(
      tf.sum(tf.mul(tf.relu(tf.sub(rowMax, scores)), negMask)),
      negCount,
    );
    return tf.add(posTerm, negTerm) as Scalar;
  });
}
