/**
 * A stack of K extra feed-forward layers after an encoder, for SRMA's layer
 * dropping: each layer is `x = LayerNorm(x + Dropout(W2 GELU(W1 x)))`
 * (d -> 4d -> d), and a view runs only the layers it keeps.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../util/tensor_types.ts";
import type { Params } from "./params.ts";
import { ffnSublayer, initDense, initLayerNorm } from "./layers.ts";
import type { Rng } from "../util/rng.ts";

/**
 * Add K feed-forward layers named `${prefix}.${k}.*` to `params`.
 *
 * @example
 * ```ts
 * import { initFfnStack } from "./ffn_stack.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p = {};
 * initFfnStack(p, "drop", { layers: 2, hidden: 8 }, makeRng(0));
 * if (!("drop.1.ffn2.w" in p)) throw new Error();
 * ```
 */
export function initFfnStack(
  params: Params,
  prefix: string,
  opts: { layers: number; hidden: number },
  rng: Rng,
): void {
  const d = opts.hidden;
  for (let k = 0; k < opts.layers; k++) {
    initDense(params, `${prefix}.${k}.ffn1`, d, 4 * d, rng);
    initDense(params, `${prefix}.${k}.ffn2`, 4 * d, d, rng);
    initLayerNorm(params, `${prefix}.${k}.ln`, d);
  }
}

/**
 * Run the layers listed in `keep` (in order) on `x` (`[..., d]`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { ffnStack, initFfnStack } from "./ffn_stack.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p = {};
 * initFfnStack(p, "drop", { layers: 2, hidden: 4 }, makeRng(0));
 * const y = ffnStack(p, "drop", tf.ones([2, 3, 4]), { keep: [1] });
 * if (y.shape.join() !== "2,3,4") throw new Error();
 * ```
 */
export function ffnStack(
  params: Params,
  prefix: string,
  x: Tensor,
  opts: { keep: readonly number[]; rate?: number; rng?: Rng },
): Tensor {
  return tf.tidy(() => {
    let h = x;
    for (const k of opts.keep) {
      h = ffnSublayer(params, h, {
        ffn1: `${prefix}.${k}.ffn1`,
        ffn2: `${prefix}.${k}.ffn2`,
        ln: `${prefix}.${k}.ln`,
        rate: opts.rate,
        rng: opts.rng,
      });
    }
    return h;
  });
}

/**
 * Which of K layers a view keeps when M are dropped: K - M distinct indices
 * in increasing order, drawn from `rng`.
 *
 * @example
 * ```ts
 * import { keptLayers } from "./ffn_stack.ts";
 * import { makeRng } from "../util/rng.ts";
 * const keep = keptLayers(4, 1, makeRng(0));
 * if (keep.length !== 3) throw new Error();
 * ```
 */
export function keptLayers(k: number, m: number, rng: Rng): number[] {
  if (
    !(Number.isInteger(k) && Number.isInteger(m) && m >= 0 &&
      (m < k || k === 0 && m === 0))
  ) {
    throw new RangeError(
      `layer dropping: expected integers 0 <= M < K, found K=${k}, M=${m}`,
    );
  }
  const idx = Array.from({ length: k }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(k - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(m).sort((a, b) => a - b);
}
