/**
 * Small pure layers used by the encoders: dense, LayerNorm, GELU, dropout.
 * Each takes its weights from a {@linkcode Params} map by name.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "./params.ts";
import { constVar, normalVar } from "./params.ts";
import type { Rng } from "../util/rng.ts";

/**
 * Add a dense layer's weights `${name}.w` [inDim, outDim] ~ N(0, std^2) and
 * `${name}.b` = 0 to `params`.
 *
 * @example
 * ```ts
 * import { initDense } from "./layers.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p = {};
 * initDense(p, "fc", 4, 2, makeRng(0));
 * ```
 */
export function initDense(
  params: Params,
  name: string,
  inDim: number,
  outDim: number,
  rng: Rng,
  std = 0.02,
): void {
  params[`${name}.w`] = normalVar([inDim, outDim], std, rng, `${name}.w`);
  params[`${name}.b`] = constVar([outDim], 0, `${name}.b`);
}

/**
 * y = x W + b over the last axis of x (any rank).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dense, initDense } from "./layers.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p = {};
 * initDense(p, "fc", 4, 2, makeRng(0));
 * const y = dense(p, "fc", tf.ones([3, 5, 4]));
 * if (y.shape.join() !== "3,5,2") throw new Error();
 * ```
 */
export function dense(params: Params, name: string, x: tf.Tensor): tf.Tensor {
  const w = params[`${name}.w`];
  const b = params[`${name}.b`];
  const inDim = x.shape[x.shape.length - 1];
  const lead = x.shape.slice(0, -1) as number[];
  const y = tf.add(tf.matMul(tf.reshape(x, [-1, inDim]), w), b);
  return tf.reshape(y, [...lead, w.shape[1] as number]);
}

/**
 * Add LayerNorm weights `${name}.g` = 1 and `${name}.b` = 0.
 *
 * @example
 * ```ts
 * import { initLayerNorm } from "./layers.ts";
 * const p = {};
 * initLayerNorm(p, "ln", 8);
 * ```
 */
export function initLayerNorm(params: Params, name: string, dim: number): void {
  params[`${name}.g`] = constVar([dim], 1, `${name}.g`);
  params[`${name}.b`] = constVar([dim], 0, `${name}.b`);
}

/**
 * LayerNorm over the last axis: g * (x - mean) / sqrt(var + eps) + b.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initLayerNorm, layerNorm } from "./layers.ts";
 * const p = {};
 * initLayerNorm(p, "ln", 2);
 * const y = layerNorm(p, "ln", tf.tensor2d([[1, 3]]));
 * if (Math.abs(y.dataSync()[0] + 1) > 1e-4) throw new Error();
 * ```
 */
export function layerNorm(
  params: Params,
  name: string,
  x: tf.Tensor,
  eps = 1e-12,
): tf.Tensor {
  const axis = x.shape.length - 1;
  const { mean, variance } = tf.moments(x, axis, true);
  const xn = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(xn, params[`${name}.g`]), params[`${name}.b`]);
}

/**
 * GELU with the exact erf form: 0.5 x (1 + erf(x / sqrt 2)).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gelu } from "./layers.ts";
 * const y = gelu(tf.tensor1d([0, 1])).dataSync();
 * if (Math.abs(y[1] - 0.8413) > 1e-3) throw new Error();
 * ```
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/**
 * Inverted dropout with a seed drawn from `rng`; identity when `rate` is 0 or
 * `rng` is undefined (evaluation).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dropout } from "./layers.ts";
 * import { makeRng } from "../util/rng.ts";
 * const y = dropout(tf.ones([100]), 0.5, makeRng(0));
 * if (y.shape[0] !== 100) throw new Error();
 * ```
 */
export function dropout(x: tf.Tensor, rate: number, rng?: Rng): tf.Tensor {
  if (!rng || rate <= 0) return x;
  return tf.dropout(x, rate, undefined, rng.seed());
}
