/**
 * Gradient-scaling identities: the gradient reversal layer (GRL, Ganin and
 * Lempitsky 2015) and stop-gradient.
 *
 * - `gradReverse(x, scale)`: forward y = x; backward dx = -scale * dy. Put
 *   between an encoder and an adversarial classifier, the classifier
 *   descends its loss while the encoder ascends it (S4Rec's head/tail
 *   adversary).
 * - `stopGradient(x)`: forward y = x; backward dx = 0 (a target that must
 *   not be trained through, e.g. a distillation teacher). tfjs has no such
 *   op of its own.
 *
 * Both are tfjs custom-gradient ops; nothing but the (empty) inputs of the
 * backward pass is kept on the tape.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];
type Unary = (x: tf.Tensor) => tf.Tensor;

const reverseCache = new Map<number, Unary>();

function scaledIdentity(factor: number): Unary {
  let op = reverseCache.get(factor);
  if (!op) {
    op = tf.customGrad(
      ((x: tf.Tensor) => ({
        value: tf.clone(x),
        gradFunc: (dy: tf.Tensor) =>
          factor === 0 ? tf.zerosLike(dy) : tf.mul(dy, factor),
      })) as unknown as CustomGradFn,
    ) as unknown as Unary;
    reverseCache.set(factor, op);
  }
  return op;
}

/**
 * Gradient reversal: the identity forward; the gradient times `-scale`
 * backward (default scale 1).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gradReverse } from "./grad_reverse.ts";
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(gradReverse(x, 0.5))));
 * // d/dx sum(x^2) = 2x, reversed and halved: -x
 * const v = g(tf.tensor1d([1, -2])).dataSync();
 * if (v[0] !== -1 || v[1] !== 2) throw new Error(String(v));
 * ```
 */
export function gradReverse<T extends tf.Tensor>(x: T, scale = 1): T {
  if (!(typeof scale === "number" && isFinite(scale) && scale >= 0)) {
    throw new RangeError(
      `gradReverse: expected a non-negative finite scale, found ${scale}`,
    );
  }
  return scaledIdentity(-scale)(x) as T;
}

/**
 * Stop-gradient: the identity forward, a zero gradient backward.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { stopGradient } from "./grad_reverse.ts";
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(x, stopGradient(x))));
 * // only the first factor is differentiated: d/dx = stop(x) = x
 * const v = g(tf.tensor1d([3])).dataSync();
 * if (v[0] !== 3) throw new Error(String(v));
 * ```
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return scaledIdentity(0)(x) as T;
}
