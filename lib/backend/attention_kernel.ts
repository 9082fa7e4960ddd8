/**
 * Fused attention on webgpu: scores, additive mask, softmax, dropout and
 * values in one dispatch, and the gradient in four, instead of the dozens
 * of tfjs kernels of the composed path (`causalSelfAttention` in
 * `lib/nn/sasrec.ts`); nothing of size `[BH, Q, L]` is written.
 *
 * For queries `q` `[B, Q, d]`, keys and values `k`, `v` `[B, L, d]` as the
 * dense layers give them (head h of H is columns `h * dh .. h * dh + dh - 1`,
 * `d = H * dh`; the kernels read the heads in place, so no transpose splits
 * or merges them), the additive mask `M` `[B, 1, Q, L]` (or `[1, 1, Q, L]`),
 * `s = 1 / sqrt(dh)` and the counter-based dropout factor `K_qj` (0 or
 * `1 / (1 - rate)`, from `lib/backend/counter_dropout.ts`, element
 * `((b * H + h) * Q + q) * L + j`, the same index and seed as the composed
 * path's dropout of the `[B, H, Q, L]` probabilities, so both drop the same
 * elements), per batch entry and head:
 *
 *   Z = s q k^T + M,   P = softmax_rows(Z),   y = (P * K) v
 *
 * and with `dy` the gradient of `y`, `D_q = dy_q . y_q`:
 *
 *   dS = P * (K * (dy v^T) - D),   dq = s dS k,   dk = s dS^T q,
 *   dv = (P * K)^T dy.
 *
 * Forward (`SeqsslAttention`): one invocation per query row, an online
 * softmax over the keys. Backward: `SeqsslAttentionStats` (per query row:
 * the maximum of `Z`, the sum of `exp(Z - max)`, and `D`), then `SeqsslAttentionGradQ` (per query
 * row), `SeqsslAttentionGradK` and `SeqsslAttentionGradV` (per key row),
 * each recomputing the scores it needs. Registered for webgpu only; cpu and
 * wasm keep the composed ops.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type KernelArgs,
  PerElementProgram,
  registerWhereMissing,
  type TensorInfo,
  type WebGpuBackendLike,
} from "./_kernel_util.ts";
import { dropoutConstants, pcgHash } from "./counter_dropout.ts";
import {
  ATTENTION_UNIFORMS,
  attentionForwardWgsl,
  attentionGradKWgsl,
  attentionGradQWgsl,
  attentionGradVWgsl,
  attentionStatsWgsl,
} from "../../kernels/attention.ts";
import type { Tensor, Tensor3D } from "../util/tensor_types.ts";

interface Part {
  /** The tensors the shader reads, in binding order. */
  inputs: string[];
  /** The WGSL for a head size. */
  wgsl: (dh: number) => string;
  /** Invocations per query row (true) or per key row (false). */
  perQuery: boolean;
  /** The output's shape from q's and k's and the heads. */
  shape: (q: number[], k: number[], heads: number) => number[];
}

const PARTS: Record<string, Part> = {
  SeqsslAttention: {
    inputs: ["q", "k", "v", "mask"],
    wgsl: attentionForwardWgsl,
    perQuery: true,
    shape: (q) => q,
  },
  SeqsslAttentionStats: {
    inputs: ["q", "k", "mask", "dy", "ctx"],
    wgsl: attentionStatsWgsl,
    perQuery: true,
    shape: (q, _, heads) => [q[0] * heads, q[1], 3],
  },
  SeqsslAttentionGradQ: {
    inputs: ["q", "k", "v", "mask", "stats", "dy"],
    wgsl: attentionGradQWgsl,
    perQuery: true,
    shape: (q) => q,
  },
  SeqsslAttentionGradK: {
    inputs: ["q", "k", "v", "mask", "stats", "dy"],
    wgsl: attentionGradKWgsl,
    perQuery: false,
    shape: (_, k) => k,
  },
  SeqsslAttentionGradV: {
    inputs: ["q", "k", "mask", "stats", "dy"],
    wgsl: attentionGradVWgsl,
    perQuery: false,
    shape: (_, k) => k,
  },
};

/** How one attention runs: heads, dropout rate and seed. */
interface AttentionAttrs {
  heads: number;
  rate: number;
  seed: number;
}

function kernelOf(name: string): (args: KernelArgs) => TensorInfo {
  const part = PARTS[name];
  return (args: KernelArgs): TensorInfo => {
    const byName = args.inputs as Record<string, TensorInfo>;
    const { heads, rate, seed } = args.attrs as unknown as AttentionAttrs;
    const q = byName.q, k = byName.k, mask = byName.mask;
    const [B, Q, d] = q.shape;
    const L = k.shape[1];
    const dh = d / heads, BH = B * heads;
    const { threshold, scale } = dropoutConstants(rate);
    const backend = args.backend as unknown as WebGpuBackendLike;
    return backend.runWebGPUProgram(
      new PerElementProgram(
        part.shape(q.shape, k.shape, heads),
        part.inputs,
        `seqssl_attention_${name}_${dh}`,
        part.wgsl(dh),
        ATTENTION_UNIFORMS,
        part.perQuery ? BH * Q : BH * L,
      ),
      part.inputs.map((n) => byName[n]),
      "float32",
      [
        { type: "int32", data: [part.perQuery ? BH * Q : BH * L] },
        { type: "int32", data: [Q] },
        { type: "int32", data: [L] },
        { type: "int32", data: [heads] },
        { type: "int32", data: [mask.shape[0] === 1 ? 0 : Q * L] },
        { type: "float32", data: [1 / Math.sqrt(dh)] },
        { type: "uint32", data: [pcgHash(seed >>> 0)] },
        { type: "uint32", data: [threshold] },
        { type: "float32", data: [scale] },
      ],
    );
  };
}

let registered = false;

/**
 * Register the fused attention's kernels for webgpu (idempotent) and say
 * whether the current backend has them: true on webgpu, false on any other
 * backend (whose attention stays the composed ops).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedAttentionAvailable } from "./attention_kernel.ts";
 * await tf.setBackend("cpu");
 * if (fusedAttentionAvailable()) throw new Error("webgpu only");
 * ```
 */
export function fusedAttentionAvailable(): boolean {
  if (!registered) {
    registered = true;
    for (const name of Object.keys(PARTS)) {
      registerWhereMissing(name, [["webgpu", kernelOf(name)]]);
    }
  }
  const b = tf.getBackend();
  return Object.keys(PARTS).every((n) => tf.getKernel(n, b) !== undefined);
}

/** Options of {@linkcode fusedAttention}. */
export interface FusedAttentionOptions {
  /** Heads, side by side in the last axis (a divisor of d). */
  heads: number;
  /** Dropout on the attention probabilities, in [0, 1) (default 0). */
  rate?: number;
  /** The counter-based dropout's seed (used when `rate` > 0). */
  seed?: number;
}

/**
 * Multi-head `(softmax(q k^T / sqrt(dh) + mask) * dropout) v` with the
 * fused kernels (see the module doc), differentiable in `q`, `k` and `v`
 * (the mask is a constant); q `[B, Q, d]`, k and v `[B, L, d]` (heads side
 * by side: `dh = d / heads`), mask `[B, 1, Q, L]` or `[1, 1, Q, L]`; returns
 * `[B, Q, d]`, the heads side by side again. Only on a backend where
 * {@linkcode fusedAttentionAvailable} is true.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedAttention, fusedAttentionAvailable } from "./attention_kernel.ts";
 * import { initBackend, probeWebGpu } from "./init.ts";
 * if (await probeWebGpu()) {
 *   await initBackend("webgpu");
 *   if (!fusedAttentionAvailable()) throw new Error();
 *   // one query, two keys with equal scores: the output is the mean value
 *   const q = tf.zeros([1, 1, 2]) as tf.Tensor3D;
 *   const k = tf.ones([1, 2, 2]) as tf.Tensor3D;
 *   const v = tf.tensor3d([[[1, 2], [3, 6]]]);
 *   const y = await fusedAttention(q, k, v, tf.zeros([1, 1, 1, 2]), { heads: 1 }).data();
 *   if (Math.abs(y[0] - 2) > 1e-6 || Math.abs(y[1] - 4) > 1e-6) throw new Error();
 * }
 * ```
 */
export function fusedAttention(
  q: Tensor3D,
  k: Tensor3D,
  v: Tensor3D,
  mask: tf.Tensor4D,
  opts: FusedAttentionOptions,
): Tensor3D {
  if (!fusedAttentionAvailable()) {
    throw new Error(
      `fusedAttention: no fused kernels on backend '${tf.getBackend()}' (webgpu only)`,
    );
  }
  const [B, Q, d] = q.shape;
  const L = k.shape[1];
  const H = opts.heads;
  if (
    !(Number.isInteger(H) && H >= 1 && d % H === 0) ||
    k.shape.join() !== `${B},${L},${d}` || v.shape.join() !== k.shape.join()
  ) {
    throw new Error(
      `fusedAttention: expected q [B, Q, d], k and v [B, L, d] with d divisible by ${H} heads, found q [${q.shape}], k [${k.shape}], v [${v.shape}]`,
    );
  }
  if (
    mask.shape[1] !== 1 || mask.shape[2] !== Q || mask.shape[3] !== L ||
    (mask.shape[0] !== B && mask.shape[0] !== 1)
  ) {
    throw new Error(
      `fusedAttention: expected a mask [${B} or 1, 1, ${Q}, ${L}], found [${mask.shape}]`,
    );
  }
  const rate = opts.rate ?? 0;
  dropoutConstants(rate);
  const attrs = {
    heads: H,
    rate,
    seed: (opts.seed ?? 0) >>> 0,
  } as unknown as tf.NamedAttrMap;
  const run = (name: string, inputs: Record<string, Tensor>) =>
    tf.engine().runKernel(name, inputs, attrs) as Tensor3D;
  const op = tf.customGrad(
    ((qi: Tensor3D, ki: Tensor3D, vi: Tensor3D, save: tf.GradSaveFunc) => {
      const value = run("SeqsslAttention", { q: qi, k: ki, v: vi, mask });
      save([qi, ki, vi, mask, value]);
      return {
        value,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [qs, ks, vs, ms, ctx] = saved;
          return tf.tidy(() => {
            const common = { q: qs, k: ks, mask: ms, dy };
            const stats = run("SeqsslAttentionStats", { ...common, ctx });
            const grad = { ...common, v: vs, stats };
            return [
              run("SeqsslAttentionGradQ", grad),
              run("SeqsslAttentionGradK", grad),
              run("SeqsslAttentionGradV", { ...common, stats }),
            ];
          });
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  ) as unknown as (q: Tensor3D, k: Tensor3D, v: Tensor3D) => Tensor3D;
  return op(q, k, v);
}
