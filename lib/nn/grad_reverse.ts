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
 * `holdStopGradients()` is for finite-difference checks of losses with
 * detached parts: the gradient treats a stop-gradient's value as a
 * constant, so a loss evaluated at moved parameters must see the same
 * constant, not the value recomputed from the moved parameters.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../util/tensor_types.ts";

type CustomGradFn = Parameters<typeof tf.customGrad>[0];
type Unary = (x: Tensor) => Tensor;

const reverseCache = new Map<number, Unary>();

function scaledIdentity(factor: number): Unary {
  let op = reverseCache.get(factor);
  if (!op) {
    op = tf.customGrad(
      ((x: Tensor) => ({
        value: tf.clone(x),
        gradFunc: (dy: Tensor) =>
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
export function gradReverse<T extends Tensor>(x: T, scale = 1): T {
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
export function stopGradient<T extends Tensor>(x: T): T {
  if (held?.replaying) {
    const i = held.next++;
    const v = held.values[i];
    if (!v || v.shape.join() !== x.shape.join()) {
      throw new Error(
        `stopGradient (held): expected call ${
          i + 1
        } to detach a tensor of shape [${
          v?.shape ?? "none recorded"
        }], found [${x.shape}]`,
      );
    }
    return tf.clone(v) as T;
  }
  const y = scaledIdentity(0)(x) as T;
  if (held) held.values.push(tf.keep(tf.clone(y)));
  return y;
}

/** Stop-gradient values recorded by {@linkcode holdStopGradients}. */
export interface HeldStopGradients {
  /**
   * From now on, the i-th {@linkcode stopGradient} call returns the i-th
   * recorded value (whatever its input); call it before each evaluation.
   */
  replay(): void;
  /** Stop recording or replaying and free the recorded values. */
  release(): void;
}

let held: { values: Tensor[]; next: number; replaying: boolean } | null = null;

/**
 * Record the value of every {@linkcode stopGradient} call from now on, in
 * order, to replay them (`replay()`) when the same loss is evaluated again
 * at moved parameters: then the loss's detached parts are the constants its
 * gradient treats them as, and a finite difference of the loss can be
 * compared with the gradient. For tests; one hold at a time.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { holdStopGradients, stopGradient } from "./grad_reverse.ts";
 * // f(x) = x * stop(x): the gradient at 3 is stop(x) = 3, but f's own
 * // slope is 2x = 6; with the detached value held, the slope is 3 too.
 * const f = (x: number) => tf.mul(x, stopGradient(tf.scalar(x))).dataSync()[0];
 * const hold = holdStopGradients();
 * f(3); // records stop(x) = 3
 * hold.replay();
 * const up = f(3.5);
 * hold.replay();
 * const down = f(2.5);
 * hold.release();
 * if (Math.abs((up - down) - 3) > 1e-6) throw new Error(String(up - down));
 * if (Math.abs((f(3.5) - f(2.5)) - 6) > 1e-6) throw new Error(); // released
 * ```
 */
export function holdStopGradients(): HeldStopGradients {
  if (held) throw new Error("holdStopGradients: a hold is already active");
  const h = { values: [] as Tensor[], next: 0, replaying: false };
  held = h;
  return {
    replay: () => {
      h.replaying = true;
      h.next = 0;
    },
    release: () => {
      tf.dispose(h.values);
      h.values = [];
      if (held === h) held = null;
    },
  };
}
