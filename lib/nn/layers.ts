/**
 * Small pure layers used by the encoders: dense, LayerNorm, GELU, dropout.
 * Each takes its weights from a {@linkcode Params} map by name.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Tensor2D } from "../util/tensor_types.ts";
import type { Params } from "./params.ts";
import { constVar, normalVar } from "./params.ts";
import type { Rng } from "../util/rng.ts";
import { counterDropout } from "../backend/counter_dropout.ts";
import {
  fusedLayerNorm,
  fusedLayerNormAvailable,
} from "../backend/layer_norm_kernel.ts";
import { fusedGelu, fusedGeluAvailable } from "../backend/gelu_kernel.ts";

/**
 * Add a dense layer's weights `${name}.w` [inDim, outDim] ~ N(0, std^2) and
 * `${name}.b` = 0 to `params`.
 *
 * @example
 * ```ts
 * import { initDense } from "./layers.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p: Record<string, import("@tensorflow/tfjs").Variable> = {};
 * initDense(p, "fc", 4, 2, makeRng(0));
 * if (p["fc.w"].shape.join() !== "4,2" || p["fc.b"].dataSync().join() !== "0,0") {
 *   throw new Error(Object.keys(p).join());
 * }
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
 * y = x W + b over the last axis of x (any rank). On webgpu one fused
 * matmul-with-bias dispatch.
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
export function dense(params: Params, name: string, x: Tensor): Tensor {
  const w = params[`${name}.w`];
  const b = params[`${name}.b`];
  const inDim = x.shape[x.shape.length - 1];
  const lead = x.shape.slice(0, -1) as number[];
  const x2 = tf.reshape(x, [-1, inDim]) as Tensor2D;
  // webgpu: the bias rides in the matmul's dispatch (tfjs's fused matmul,
  // whose gradient is the same two matmuls and bias sum); cpu and wasm
  // keep the two ops.
  const y = tf.getBackend() === "webgpu"
    ? tf.fused.matMul({ a: x2, b: w as Tensor2D, bias: b })
    : tf.add(tf.matMul(x2, w), b);
  return tf.reshape(y, [...lead, w.shape[1] as number]);
}

/**
 * Add LayerNorm weights `${name}.g` = 1 and `${name}.b` = 0.
 *
 * @example
 * ```ts
 * import { initLayerNorm } from "./layers.ts";
 * const p: Record<string, import("@tensorflow/tfjs").Variable> = {};
 * initLayerNorm(p, "ln", 3);
 * if (p["ln.g"].dataSync().join() !== "1,1,1" || p["ln.b"].dataSync().join() !== "0,0,0") {
 *   throw new Error();
 * }
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
  x: Tensor,
  eps = 1e-12,
): Tensor {
  return layerNormOp(x, params[`${name}.g`], params[`${name}.b`], eps);
}

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

// Each op below is a tfjs custom-gradient op: only the tensors its backward
// pass needs are kept on the gradient tape (tfjs keeps every intermediate of
// a composite op otherwise), which cuts a training step's memory severalfold.

const layerNormCache = new Map<
  number,
  (x: Tensor, g: Tensor, b: Tensor) => Tensor
>();

/**
 * LayerNorm over the last axis as one op with a hand-written gradient:
 * y = g * xhat + b, xhat = (x - mean) * rstd; backward
 * dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * g.
 * On webgpu the same maths runs as fused kernels
 * (`lib/backend/layer_norm_kernel.ts`); cpu and wasm run the tfjs ops.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { layerNormOp } from "./layers.ts";
 * const y = layerNormOp(tf.tensor2d([[1, 3]]), tf.ones([2]), tf.zeros([2]));
 * if (Math.abs(y.dataSync()[1] - 1) > 1e-4) throw new Error();
 * ```
 */
export function layerNormOp(
  x: Tensor,
  g: Tensor,
  b: Tensor,
  eps = 1e-12,
): Tensor {
  // webgpu: the fused kernels (lib/backend/layer_norm_kernel.ts), the same
  // maths in one dispatch forward and four backward.
  if (fusedLayerNormAvailable()) return fusedLayerNorm(x, g, b, eps);
  let op = layerNormCache.get(eps);
  if (!op) {
    op = tf.customGrad(
      ((x: Tensor, g: Tensor, b: Tensor, save: tf.GradSaveFunc) => {
        const axis = x.shape.length - 1;
        const [mean, rstd] = tf.tidy(() => {
          const { mean, variance } = tf.moments(x, axis, true);
          return [mean, tf.rsqrt(tf.add(variance, eps))];
        });
        const value = tf.tidy(() =>
          tf.add(tf.mul(tf.mul(tf.sub(x, mean), rstd), g), b)
        );
        save([x, g, mean, rstd]);
        return {
          value,
          gradFunc: (dy: Tensor, saved: Tensor[]) => {
            const [xs, gs, m, r] = saved;
            const ax = xs.shape.length - 1;
            const rows = Array.from({ length: ax }, (_, i) => i);
            const xhat = tf.mul(tf.sub(xs, m), r);
            const dxhat = tf.mul(dy, gs);
            const dx = tf.mul(
              r,
              tf.sub(
                tf.sub(dxhat, tf.mean(dxhat, ax, true)),
                tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), ax, true)),
              ),
            );
            return [dx, tf.sum(tf.mul(dy, xhat), rows), tf.sum(dy, rows)];
          },
        };
      }) as unknown as CustomGradFn,
    ) as unknown as (
      x: Tensor,
      g: Tensor,
      b: Tensor,
    ) => Tensor;
    layerNormCache.set(eps, op);
  }
  return op(x, g, b);
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
export function gelu(x: Tensor): Tensor {
  // webgpu: two fused kernels (lib/backend/gelu_kernel.ts), the same maths
  return fusedGeluAvailable() ? fusedGelu(x) : geluOp(x);
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

const geluOp = tf.customGrad(
  ((x: Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: tf.tidy(() =>
        tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))
      ),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs] = saved;
        // d/dx [x Phi(x)] = Phi(x) + x phi(x)
        const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(xs, Math.SQRT1_2))));
        const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(tf.square(xs), -0.5)));
        return tf.mul(dy, tf.add(cdf, tf.mul(xs, pdf)));
      },
    };
  }) as unknown as CustomGradFn,
) as unknown as (x: Tensor) => Tensor;

/**
 * Inverted dropout, identity when `rate` is 0 or `rng` is undefined
 * (evaluation). The mask is the counter-based one of
 * `lib/backend/counter_dropout.ts` under a seed drawn from `rng` (one draw
 * per call, so a checkpointed `rng` resumes the same masks): computed where
 * `x` is (a WGSL kernel on webgpu, the same function in TypeScript on cpu
 * and wasm), bit-identical on every backend, never uploaded; the gradient
 * recomputes it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dropout } from "./layers.ts";
 * import { makeRng } from "../util/rng.ts";
 * await tf.setBackend("cpu");
 * const y = dropout(tf.ones([1000]), 0.5, makeRng(0)).dataSync();
 * // kept values are scaled by 1 / (1 - rate); about half are kept
 * if (!y.every((v) => v === 0 || v === 2)) throw new Error();
 * const kept = y.filter((v) => v === 2).length;
 * if (kept < 450 || kept > 550) throw new Error(String(kept));
 * // the same generator state gives the same mask
 * if (dropout(tf.ones([1000]), 0.5, makeRng(0)).dataSync().join() !== y.join()) {
 *   throw new Error();
 * }
 * ```
 */
export function dropout(x: Tensor, rate: number, rng?: Rng): Tensor {
  if (!rng || rate <= 0) return x;
  return counterDropout(x, rate, rng.seed());
}

/**
 * Rows scaled to unit L2 norm (a zero row stays zero).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { normalize } from "./layers.ts";
 * const v = normalize(tf.tensor2d([[3, 4]])).dataSync();
 * if (Math.abs(v[0] - 0.6) > 1e-6) throw new Error();
 * ```
 */
export function normalize(x: Tensor2D): Tensor2D {
  return tf.tidy(() =>
    tf.div(
      x,
      tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12),
    ) as Tensor2D
  );
}

/**
 * The post-LN feed-forward sublayer of a Transformer block:
 * `LayerNorm(x + Dropout(W2 GELU(W1 x)))` with weights `${ffn1}`, `${ffn2}`
 * (dense) and `${ln}` (LayerNorm) in `params`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ffnSublayer, initDense, initLayerNorm } from "./layers.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p = {};
 * initDense(p, "f1", 4, 16, makeRng(0));
 * initDense(p, "f2", 16, 4, makeRng(1));
 * initLayerNorm(p, "ln", 4);
 * const y = ffnSublayer(p, tf.ones([2, 4]), { ffn1: "f1", ffn2: "f2", ln: "ln" });
 * if (y.shape.join() !== "2,4") throw new Error();
 * ```
 */
export function ffnSublayer(
  params: Params,
  x: Tensor,
  opts: { ffn1: string; ffn2: string; ln: string; rate?: number; rng?: Rng },
): Tensor {
  const f = dense(params, opts.ffn2, gelu(dense(params, opts.ffn1, x)));
  return layerNorm(
    params,
    opts.ln,
    tf.add(x, dropout(f, opts.rate ?? 0, opts.rng)),
  );
}
