/**
 * Online clustering against K prototypes (SwAV; S4Rec Eq. 3-7): a soft
 * assignment p = softmax(s / tau1) of each embedding over the prototypes,
 * equal-partition targets q from Sinkhorn-Knopp inside the mini-batch
 * (without gradient), and L_clust = -mean_b sum_k q_bk log p_bk.
 *
 * Scores are cosine similarities s_bk = <z_b / |z_b|, mu_k / |mu_k|>, as in
 * SwAV, whose features and prototypes are unit vectors: they are bounded by
 * 1, so exp(s / epsilon) with epsilon = 0.05 stays within float32 and the
 * temperatures mean the same thing for any encoder scale. The prototypes
 * may be stored at any norm; only their directions are used.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor2D } from "../util/tensor_types.ts";
import { normalize } from "../losses/infonce.ts";
import { logSumExpRows } from "../losses/rec.ts";
import { sinkhorn, type SinkhornOptions } from "./sinkhorn.ts";
import { stopGradient } from "../nn/grad_reverse.ts";

/**
 * Cosine similarities `[B, K]` of embeddings `z` `[B, d]` and prototypes
 * `[K, d]` (both L2-normalised first).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { cosineScores } from "./online.ts";
 * const s = cosineScores(tf.tensor2d([[2, 0]]), tf.tensor2d([[1, 0], [0, 3]]));
 * if (s.dataSync().join() !== "1,0") throw new Error();
 * ```
 */
export function cosineScores(
  z: Tensor2D,
  prototypes: Tensor2D,
): Tensor2D {
  return tf.tidy(() =>
    tf.matMul(normalize(z), normalize(prototypes), false, true)
  );
}

/** Options of {@linkcode clusterCrossEntropy}. */
export interface ClusterCrossEntropyOptions {
  /** Temperature tau1 of the soft assignment. Default 0.1 (SwAV). */
  temperature?: number;
}

/**
 * -mean_b sum_k q_bk log softmax(scores_b / tau1)_k: the cross-entropy of
 * the soft assignment against targets `q` (rows summing to 1, no gradient
 * taken through them).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clusterCrossEntropy } from "./online.ts";
 * const l = clusterCrossEntropy(tf.tensor2d([[0, 0]]), tf.tensor2d([[1, 0]]));
 * if (Math.abs(l.dataSync()[0] - Math.log(2)) > 1e-6) throw new Error();
 * ```
 */
export function clusterCrossEntropy(
  scores: Tensor2D,
  targets: Tensor2D,
  opts: ClusterCrossEntropyOptions = {},
): Scalar {
  const t = opts.temperature ?? 0.1;
  if (!(typeof t === "number" && t > 0 && isFinite(t))) {
    throw new RangeError(
      `clusterCrossEntropy: expected a positive temperature, found ${t}`,
    );
  }
  return tf.tidy(() => {
    const logits = tf.div(scores, t) as Tensor2D;
    // sum_k q_k (lse - logit_k) = lse - sum_k q_k logit_k for rows of q summing to 1
    const lse = logSumExpRows(logits);
    const qSum = tf.sum(targets, 1);
    return tf.mean(
      tf.sub(tf.mul(lse, qSum), tf.sum(tf.mul(targets, logits), 1)),
    ) as Scalar;
  });
}

/** Options of {@linkcode onlineClustering}. */
export interface OnlineClusteringOptions extends SinkhornOptions {
  /** Temperature tau1 of the soft assignment. Default 0.1 (SwAV). */
  temperature?: number;
}

/** What {@linkcode onlineClustering} gives. */
export interface OnlineClusteringOutput {
  /** L_clust (differentiable w.r.t. the embeddings and the prototypes). */
  loss: Scalar;
  /** Targets q = B * Q `[B, K]`, rows summing to 1, no gradient. */
  codes: Tensor2D;
}

/**
 * The online clustering layer: cosine scores of `z` `[B, d]` against
 * `prototypes` `[K, d]`, Sinkhorn targets from the scores (no gradient) and
 * the clustering loss.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { onlineClustering } from "./online.ts";
 * const z = tf.tensor2d([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]);
 * const mu = tf.tensor2d([[1, 0], [0, 1]]);
 * const { loss, codes } = onlineClustering(z, mu, { iterations: 10 });
 * // each prototype takes half the batch: rows 0, 1 -> 0 and rows 2, 3 -> 1
 * if (tf.argMax(codes, 1).dataSync().join() !== "0,0,1,1") throw new Error();
 * if (!(loss.dataSync()[0] > 0)) throw new Error();
 * ```
 */
export function onlineClustering(
  z: Tensor2D,
  prototypes: Tensor2D,
  opts: OnlineClusteringOptions = {},
): OnlineClusteringOutput {
  const scores = cosineScores(z, prototypes);
  // Sinkhorn's targets have no gradient anyway; going through stopGradient
  // marks them as detached, so a finite-difference check can hold them.
  const detached = stopGradient(scores);
  const q = sinkhorn(detached, {
    epsilon: opts.epsilon,
    iterations: opts.iterations,
  });
  detached.dispose();
  const codes = tf.tidy(() => tf.mul(q, z.shape[0]) as Tensor2D);
  q.dispose();
  const loss = clusterCrossEntropy(scores, codes, {
    temperature: opts.temperature,
  });
  scores.dispose();
  return { loss, codes };
}
