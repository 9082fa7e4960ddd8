/**
 * A learnable model augmenter (MCLRec, `mclrec.txt` Eq. 5): an MLP
 * d -> d/2 -> d/4 -> d with GELU between the layers and an L2-normalised
 * output, applied to a sequence embedding `[B, d]` to give a model-augmented
 * view. At d = 64 this is the paper's 64 -> 32 -> 16 -> 64.
 *
 * Initialisation: weights N(0, 1 / (3 * fanIn)), biases 0. This matches the
 * variance of PyTorch's default `nn.Linear` initialisation (uniform in
 * +-1/sqrt(fanIn)), which the reference code's augmenters get because they
 * live outside the model whose weights are re-drawn N(0, 0.02).
 *
 * @module
 */
import type { Tensor2D } from "../util/tensor_types.ts";
import type { Params } from "./params.ts";
import { dense, gelu, initDense } from "./layers.ts";
import { normalize } from "./layers.ts";
import type { Rng } from "../util/rng.ts";

/** Options of {@linkcode initAugmenterMlp}. */
export interface AugmenterMlpInit {
  /** Input and output width d (the sequence embedding's width). */
  dim: number;
  /** Generator of the initial weights. */
  rng: Rng;
}

/** Options of {@linkcode augmenterMlp}. */
export interface AugmenterMlpOptions {
  /** Prefix of the augmenter's parameters (as given to `initAugmenterMlp`). */
  name: string;
}

/**
 * Layer widths of the augmenter for embedding width `dim`:
 * `[d, d/2, d/4, d]` (halves rounded down, at least 1).
 *
 * @example
 * ```ts
 * import { augmenterWidths } from "./augmenter_mlp.ts";
 * if (augmenterWidths(64).join() !== "64,32,16,64") throw new Error();
 * if (augmenterWidths(6).join() !== "6,3,1,6") throw new Error();
 * ```
 */
export function augmenterWidths(dim: number): number[] {
  if (!Number.isInteger(dim) || dim < 1) {
    throw new RangeError(
      `augmenterWidths: expected a positive integer width, found ${dim}`,
    );
  }
  return [
    dim,
    Math.max(1, Math.floor(dim / 2)),
    Math.max(1, Math.floor(dim / 4)),
    dim,
  ];
}

/**
 * Add an augmenter's three dense layers `${name}.fc1`, `.fc2`, `.fc3` to
 * `params`.
 *
 * @example
 * ```ts
 * import { initAugmenterMlp } from "./augmenter_mlp.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p = {};
 * initAugmenterMlp(p, "aug1", { dim: 64, rng: makeRng(0) });
 * if (Object.keys(p).length !== 6) throw new Error();
 * ```
 */
export function initAugmenterMlp(
  params: Params,
  name: string,
  opts: AugmenterMlpInit,
): void {
  const w = augmenterWidths(opts.dim);
  for (let i = 0; i < 3; i++) {
    initDense(
      params,
      `${name}.fc${i + 1}`,
      w[i],
      w[i + 1],
      opts.rng,
      1 / Math.sqrt(3 * w[i]),
    );
  }
}

/**
 * The augmented view `normalize(fc3(gelu(fc2(gelu(fc1(x))))))` of `x`
 * `[B, d]`; every row of the result has unit L2 norm.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { augmenterMlp, initAugmenterMlp } from "./augmenter_mlp.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p = {};
 * initAugmenterMlp(p, "aug", { dim: 8, rng: makeRng(0) });
 * const z = augmenterMlp(p, tf.randomNormal([3, 8]) as tf.Tensor2D, { name: "aug" });
 * const norms = tf.norm(z, 2, 1).dataSync();
 * if (norms.some((n) => Math.abs(n - 1) > 1e-5)) throw new Error();
 * ```
 */
export function augmenterMlp(
  params: Params,
  x: Tensor2D,
  opts: AugmenterMlpOptions,
): Tensor2D {
  const n = opts.name;
  const a = gelu(dense(params, `${n}.fc1`, x));
  const b = gelu(dense(params, `${n}.fc2`, a));
  return normalize(dense(params, `${n}.fc3`, b) as Tensor2D);
}
