/**
 * Fused full-softmax cross-entropy over the item table on webgpu: the
 * `[R, N]` logits never exist beyond one chunk of rows.
 *
 * For hidden states `H` `[R, d]`, the item table `E` `[N + 2, d]` (row 0
 * padding, rows 1..N the items, row N + 1 the mask token: only items are
 * scored, as in `fullSoftmaxCE`) and targets `t` `[R]` (0 = padding row,
 * ignored), with `z_rj = H_r . E_j` and `P_rj = exp(z_rj - lse_r)`:
 *
 *   loss_r = lse_r - z_r,t_r,   lse_r = log sum_{j=1..N} exp(z_rj)
 *   loss   = sum_r loss_r / count       (count = rows with t_r != 0)
 *   G      = (P - onehot(t)) * dy / count   (0 at padding rows, columns
 *                                            0 and N + 1)
 *   dH = G E,   dE = G^T H
 *
 * Forward: the tfjs kernel `SeqsslSoftmaxCERows`: one workgroup per tile
 * of 4 rows, whose 64 invocations share out the items, each keeping an
 * online log-sum-exp per row, merged by a tree reduction in workgroup
 * memory (nothing of size `R x N` is written; each item row read serves 4
 * rows). Backward, per chunk of rows: the chunk's logits by
 * one matmul, the tile `G` by the kernel `SeqsslSoftmaxCEGrad`, then two
 * matmuls. Both kernels are registered for webgpu only; cpu and wasm keep
 * the composed ops of `lib/losses/rec.ts`.
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
  WorkgroupProgram,
} from "./_kernel_util.ts";
import {
  SOFTMAX_CE_GRAD_UNIFORMS,
  SOFTMAX_CE_GRAD_WGSL,
  SOFTMAX_CE_ROWS_UNIFORMS,
  SOFTMAX_CE_ROWS_WGSL,
  SOFTMAX_CE_TILE_ROWS,
  SOFTMAX_CE_TILE_THREADS,
} from "../../kernels/softmax_ce.ts";
import type { Scalar, Tensor, Tensor2D } from "../util/tensor_types.ts";

/** The tfjs kernel name of the per-row loss. */
export const SOFTMAX_CE_ROWS_KERNEL = "SeqsslSoftmaxCERows";
/** The tfjs kernel name of one gradient tile. */
export const SOFTMAX_CE_GRAD_KERNEL = "SeqsslSoftmaxCEGrad";

function rowsKernel(args: KernelArgs): TensorInfo {
  const { hid, emb, tgt } = args.inputs as Record<string, TensorInfo>;
  const backend = args.backend as unknown as WebGpuBackendLike;
  return backend.runWebGPUProgram(
    new WorkgroupProgram(
      [hid.shape[0]],
      ["hid", "emb", "tgt"],
      "seqssl_softmax_ce_rows_tiled",
      SOFTMAX_CE_ROWS_WGSL,
      SOFTMAX_CE_ROWS_UNIFORMS,
      Math.ceil(hid.shape[0] / SOFTMAX_CE_TILE_ROWS),
      SOFTMAX_CE_TILE_THREADS,
    ),
    [hid, emb, tgt],
    "float32",
    [
      { type: "int32", data: [hid.shape[1]] },
      { type: "int32", data: [emb.shape[0] - 2] },
    ],
  );
}

function gradKernel(args: KernelArgs): TensorInfo {
  const { logits, rowLoss, tgt, gscale } = args.inputs as Record<
    string,
    TensorInfo
  >;
  const backend = args.backend as unknown as WebGpuBackendLike;
  return backend.runWebGPUProgram(
    new PerElementProgram(
      logits.shape,
      ["logits", "rowLoss", "tgt", "gscale"],
      "seqssl_softmax_ce_grad",
      SOFTMAX_CE_GRAD_WGSL,
      SOFTMAX_CE_GRAD_UNIFORMS,
    ),
    [logits, rowLoss, tgt, gscale],
    "float32",
    [
      { type: "int32", data: [logits.shape[1]] },
      { type: "int32", data: [logits.shape[1] - 2] },
    ],
  );
}

let registered = false;

/**
 * Register the fused cross-entropy's kernels for webgpu (idempotent) and
 * say whether the current backend has them: true on webgpu, false on any
 * other backend (whose CE stays the composed ops).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedSoftmaxCEAvailable } from "./softmax_ce_kernel.ts";
 * await tf.setBackend("cpu");
 * if (fusedSoftmaxCEAvailable()) throw new Error("webgpu only");
 * ```
 */
export function fusedSoftmaxCEAvailable(): boolean {
  if (!registered) {
    registered = true;
    registerWhereMissing(SOFTMAX_CE_ROWS_KERNEL, [["webgpu", rowsKernel]]);
    registerWhereMissing(SOFTMAX_CE_GRAD_KERNEL, [["webgpu", gradKernel]]);
  }
  const b = tf.getBackend();
  return tf.getKernel(SOFTMAX_CE_ROWS_KERNEL, b) !== undefined &&
    tf.getKernel(SOFTMAX_CE_GRAD_KERNEL, b) !== undefined;
}

/**
 * Mean full-softmax cross-entropy of the rows of `hidden` `[R, d]` whose
 * target is not 0, over the items 1..N of `itemEmb` `[N + 2, d]`, with the
 * fused kernels (see the module doc); differentiable in both inputs. Only
 * on a backend where {@linkcode fusedSoftmaxCEAvailable} is true. The
 * backward pass holds `chunk x (N + 2)` floats of logits at a time
 * (`chunk` defaults to all rows).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedSoftmaxCE, fusedSoftmaxCEAvailable } from "./softmax_ce_kernel.ts";
 * import { initBackend, probeWebGpu } from "./init.ts";
 * if (await probeWebGpu()) {
 *   await initBackend("webgpu");
 *   if (!fusedSoftmaxCEAvailable()) throw new Error();
 *   // two items with equal logits: loss = log 2
 *   const l = fusedSoftmaxCE(tf.zeros([1, 2]), tf.ones([4, 2]), Int32Array.of(1));
 *   if (Math.abs((await l.data())[0] - Math.log(2)) > 1e-6) throw new Error();
 * }
 * ```
 */
export function fusedSoftmaxCE(
  hidden: Tensor2D,
  itemEmb: Tensor2D,
  targets: Int32Array,
  opts: { chunk?: number } = {},
): Scalar {
  if (!fusedSoftmaxCEAvailable()) {
    throw new Error(
      `fusedSoftmaxCE: no fused kernels on backend '${tf.getBackend()}' (webgpu only)`,
    );
  }
  const R = hidden.shape[0];
  if (targets.length !== R) {
    throw new Error(
      `fusedSoftmaxCE: expected ${R} targets, found ${targets.length}`,
    );
  }
  let count = 0;
  for (let i = 0; i < R; i++) if (targets[i] !== 0) count++;
  if (count === 0) return tf.scalar(0);
  const chunk = Math.max(1, Math.min(R, opts.chunk ?? R));
  const spans: [number, number][] = [];
  for (let a = 0; a < R; a += chunk) spans.push([a, Math.min(R, a + chunk)]);
  const op = tf.customGrad(
    ((h: Tensor2D, emb: Tensor2D, save: tf.GradSaveFunc) => {
      const tgt = tf.tensor1d(targets, "int32");
      const rows = tf.engine().runKernel(SOFTMAX_CE_ROWS_KERNEL, {
        hid: h,
        emb,
        tgt,
      }) as tf.Tensor;
      const value = tf.tidy(() => tf.div(tf.sum(rows), count));
      save([h, emb, rows, tgt]);
      return {
        value,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [hs, es, rl, tg] = saved;
          const gscale = tf.reshape(tf.div(dy, count), [1]);
          const dh: Tensor[] = [];
          let dE: Tensor | undefined;
          for (const [a, b] of spans) {
            const [dhc, dec] = tf.tidy(() => {
              const whole = a === 0 && b === R;
              const hc = whole ? hs : tf.slice(hs, [a, 0], [b - a, -1]);
              const g = tf.engine().runKernel(SOFTMAX_CE_GRAD_KERNEL, {
                logits: tf.matMul(hc, es, false, true),
                rowLoss: whole ? rl : tf.slice(rl, [a], [b - a]),
                tgt: whole ? tg : tf.slice(tg, [a], [b - a]),
                gscale,
              }) as tf.Tensor2D;
              return [tf.matMul(g, es), tf.matMul(g, hc, true, false)];
            });
            dh.push(dhc);
            if (dE === undefined) dE = dec;
            else {
              const next = tf.add(dE, dec);
              dE.dispose();
              dec.dispose();
              dE = next;
            }
          }
          gscale.dispose();
          return [dh.length === 1 ? dh[0] : tf.concat(dh), dE as Tensor];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  ) as unknown as (h: Tensor2D, emb: Tensor2D) => Scalar;
  return op(hidden, itemEmb);
}
