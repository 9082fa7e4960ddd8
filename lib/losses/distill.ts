/**
 * Distillation over the embedding dimensions (S4Rec's cluster-aware
 * self-distillation, Eq. 11-12): teacher and student vectors `[B, d]` are
 * each turned into a distribution over their d dimensions by a softmax at
 * temperature t, and the loss is the mean over rows of
 *
 *   KL(e_t || e_s) = sum_i e_t,i (log e_t,i - log e_s,i),
 *   e_t = softmax(teacher / t), e_s = softmax(student / t).
 *
 * The loss is differentiable in both arguments; a caller that wants a fixed
 * teacher passes it through `stopGradient` (`lib/nn/grad_reverse.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor2D } from "../util/tensor_types.ts";

/** Options of {@linkcode distillKL}. */
export interface DistillOptions {
  /** Softmax temperature t (tau3). Default 1. */
  temperature?: number;
}

/**
 * Mean over rows of KL(softmax(teacher / t) || softmax(student / t)), the
 * softmax taken over the last (embedding) axis.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { distillKL } from "./distill.ts";
 * const t = tf.tensor2d([[1, 0]]), s = tf.tensor2d([[0, 0]]);
 * // e_t = (e/(1+e), 1/(1+e)), e_s = (1/2, 1/2)
 * const p = Math.E / (1 + Math.E);
 * const hand = p * Math.log(2 * p) + (1 - p) * Math.log(2 * (1 - p));
 * if (Math.abs(distillKL(t, s).dataSync()[0] - hand) > 1e-6) throw new Error();
 * ```
 */
export function distillKL(
  teacher: Tensor2D,
  student: Tensor2D,
  opts: DistillOptions = {},
): Scalar {
  const t = opts.temperature ?? 1;
  if (!(typeof t === "number" && t > 0 && isFinite(t))) {
    throw new RangeError(
      `distillKL: expected a positive temperature, found ${t}`,
    );
  }
  if (teacher.shape.join() !== student.shape.join()) {
    throw new RangeError(
      `distillKL: expected teacher and student of one shape, found [${teacher.shape}] and [${student.shape}]`,
    );
  }
  return tf.tidy(() => {
    const logT = tf.logSoftmax(tf.div(teacher, t));
    const logS = tf.logSoftmax(tf.div(student, t));
    return tf.mean(
      tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, logS)), 1),
    ) as Scalar;
  });
}
