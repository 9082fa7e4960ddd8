/**
 * Parameters: a flat map from a dotted name to a tfjs variable, initialised
 * from seqssl's own seeded generator so the same seed gives the same weights
 * on every backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Variable } from "../util/tensor_types.ts";
import type { Rng } from "../util/rng.ts";

/** Named trainable (or frozen) tensors of a model. */
export type Params = Record<string, Variable>;

/**
 * Samples of N(0, std^2) from `rng` (Box-Muller).
 *
 * @example
 * ```ts
 * import { normalArray } from "./params.ts";
 * import { makeRng } from "../util/rng.ts";
 * const w = normalArray(10000, 0.02, makeRng(0));
 * const mean = w.reduce((a, b) => a + b, 0) / w.length;
 * const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
 * // 10,000 draws: the mean within 3 standard errors of 0, the std within 3%
 * if (Math.abs(mean) > 0.0006 || Math.abs(std - 0.02) > 0.0006) throw new Error(`${mean} ${std}`);
 * if (normalArray(10000, 0.02, makeRng(0)).join() !== w.join()) throw new Error("not seeded");
 * ```
 */
export function normalArray(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rng.next(); // (0, 1]
    const u2 = rng.next();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * A variable of the given shape, N(0, std^2) from `rng`.
 *
 * @example
 * ```ts
 * import { normalVar } from "./params.ts";
 * import { makeRng } from "../util/rng.ts";
 * const v = normalVar([3, 4], 0.02, makeRng(0), "w");
 * if (v.size !== 12) throw new Error();
 * v.dispose();
 * ```
 */
export function normalVar(
  shape: number[],
  std: number,
  rng: Rng,
  name: string,
): Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  return ownVariable(tf.tensor(normalArray(n, std, rng), shape), name);
}

/**
 * A variable filled with a constant (zeros for biases, ones for LayerNorm gains).
 *
 * @example
 * ```ts
 * import { constVar } from "./params.ts";
 * const b = constVar([4], 0, "b");
 * if (b.dataSync()[0] !== 0) throw new Error();
 * b.dispose();
 * ```
 */
export function constVar(
  shape: number[],
  value: number,
  name: string,
): Variable {
  return ownVariable(tf.fill(shape, value), name);
}

/**
 * A trainable variable holding `init`, which is released: the variable is
 * then the only holder of the values (a leftover `init` kept a copy of each
 * table alive once the first update replaced the variable's, and an update
 * in place must not write where another tensor reads).
 */
function ownVariable(init: tf.Tensor, name: string): Variable {
  const v = tf.variable(init, true, uniq(name));
  init.dispose();
  return v;
}

let counter = 0;
// tfjs variable names must be unique per engine; keep ours readable.
function uniq(name: string): string {
  return `${name}#${counter++}`;
}

/**
 * Dispose every variable of a parameter map.
 *
 * @example
 * ```ts
 * import { constVar, disposeParams } from "./params.ts";
 * const b = constVar([2], 0, "b");
 * disposeParams({ b });
 * if (!b.isDisposed) throw new Error("expected b disposed");
 * ```
 */
export function disposeParams(params: Params): void {
  for (const v of Object.values(params)) v.dispose();
}
