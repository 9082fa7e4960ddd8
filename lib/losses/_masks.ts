/**
 * Private helper: the constant masks of a batch's 2N views, built once per
 * backend and size and kept, so a training step does not rebuild them on the
 * host and upload them (on webgpu, `tf.eye(2N)` was a [2N, 2N] upload per
 * step).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "../util/tensor_types.ts";

/** Kept masks per backend instance (a re-created backend gets a new cache). */
const caches = new WeakMap<object, Map<string, Tensor2D>>();

function cached(key: string, make: () => Tensor2D): Tensor2D {
  const backend = tf.backend() as object;
  let cache = caches.get(backend);
  if (!cache) caches.set(backend, cache = new Map());
  let t = cache.get(key);
  if (!t || t.isDisposed) {
    t = tf.keep(tf.tidy(make));
    cache.set(key, t);
  }
  return t;
}

/**
 * The identity matrix `[n, n]` (float32), kept: do not dispose it.
 *
 * @example
 * ```ts
 * import { identityMask } from "./_masks.ts";
 * const a = identityMask(3);
 * if (a.arraySync()[1].join() !== "0,1,0" || identityMask(3) !== a) throw new Error();
 * ```
 */
export function identityMask(n: number): Tensor2D {
  return cached(`eye:${n}`, () => tf.eye(n) as Tensor2D);
}

/**
 * For the 2n views of n sequences (view 1 of each, then view 2 of each):
 * `pos[i][j]` = 1 where j is i's other view, `neg[i][j]` = 1 where j is
 * neither i nor its other view. Kept: do not dispose them.
 *
 * @example
 * ```ts
 * import { viewPairMasks } from "./_masks.ts";
 * const { pos, neg } = viewPairMasks(2);
 * if (pos.arraySync()[0].join() !== "0,0,1,0") throw new Error();
 * if (neg.arraySync()[0].join() !== "0,1,0,1") throw new Error();
 * ```
 */
export function viewPairMasks(n: number): { pos: Tensor2D; neg: Tensor2D } {
  const pos = cached(`pos:${n}`, () => {
    const eye = tf.eye(n), zero = tf.zeros([n, n]);
    return tf.concat(
      [tf.concat([zero, eye], 1), tf.concat([eye, zero], 1)],
      0,
    ) as Tensor2D;
  });
  const neg = cached(
    `neg:${n}`,
    () => tf.sub(tf.sub(1, tf.eye(2 * n)), pos) as Tensor2D,
  );
  return { pos, neg };
}
