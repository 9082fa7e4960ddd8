/**
 * SASRec's additive attention mask built where the ids already are: the
 * tfjs kernel `SeqsslAttentionMask` maps left-padded ids `[B, L]` (int32)
 * to a bias `[B, 1, Q, L]` for the last `Q` query positions:
 *
 *   bias[b, 0, q, j] = 0     if j <= i and ids[b, j] != 0   (i = L - Q + q)
 *                      -1e9  otherwise
 *
 * (causal, padded keys masked; a large negative rather than -Infinity, so a
 * fully padded query row gives a uniform softmax instead of NaN). On webgpu
 * it is one WGSL dispatch reading the ids already on the device: nothing of
 * size B·L·L is built on the host or uploaded. On cpu and wasm it is the
 * same loop in TypeScript, writing the backend's output directly.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type CpuBackendLike,
  type KernelArgs,
  PerElementProgram,
  registerWhereMissing,
  type TensorInfo,
  type WasmBackendLike,
  type WebGpuBackendLike,
} from "./_kernel_util.ts";
import {
  ATTENTION_MASK_UNIFORMS,
  ATTENTION_MASK_WGSL,
} from "../../kernels/attention_mask.ts";

/** The tfjs kernel name of the attention mask. */
const ATTENTION_MASK_KERNEL = "SeqsslAttentionMask";

/** The masked bias, as float32 (the host loop's `Float32Array` value). */
export const MASK_NEG = -1e9;

/**
 * The mask of `ids` ([B, L], row-major) for the last `queries` positions,
 * written into `out` ([B, 1, queries, L]): the reference of every backend.
 *
 * @example
 * ```ts
 * import { attentionMaskInto, MASK_NEG } from "./attention_mask.ts";
 * const m = attentionMaskInto(new Int32Array([0, 5, 6]), 1, 3, 3, new Float32Array(9));
 * // query 2 sees keys 1 and 2, not the padding at 0; query 0 sees nothing
 * const N = Math.fround(MASK_NEG);
 * if (m.join() !== [N, N, N, N, 0, N, N, 0, 0].join()) throw new Error(m.join());
 * ```
 */
export function attentionMaskInto(
  ids: ArrayLike<number>,
  batchSize: number,
  seqLen: number,
  queries: number,
  out: Float32Array,
): Float32Array {
  const L = seqLen, Q = queries, first = L - Q;
  for (let b = 0; b < batchSize; b++) {
    const row = b * L;
    for (let q = 0; q < Q; q++) {
      const i = first + q;
      const base = (b * Q + q) * L;
      for (let j = 0; j < L; j++) {
        out[base + j] = j <= i && ids[row + j] !== 0 ? 0 : MASK_NEG;
      }
    }
  }
  return out;
}

function parts(
  args: KernelArgs,
): { ids: TensorInfo; B: number; L: number; Q: number } {
  const ids = (args.inputs as { ids: TensorInfo }).ids;
  if (ids.dtype !== "int32" || ids.shape.length !== 2) {
    throw new Error(
      `${ATTENTION_MASK_KERNEL}: expected int32 ids [B, L], found ${ids.dtype} [${ids.shape}]`,
    );
  }
  const [B, L] = ids.shape;
  const Q = (args.attrs as unknown as { queries: number }).queries;
  if (!Number.isInteger(Q) || Q < 1 || Q > L) {
    throw new Error(
      `${ATTENTION_MASK_KERNEL}: expected queries in 1..${L}, found ${Q}`,
    );
  }
  return { ids, B, L, Q };
}

function cpuKernel(args: KernelArgs): TensorInfo {
  const { ids, B, L, Q } = parts(args);
  const backend = args.backend as unknown as CpuBackendLike;
  const out = attentionMaskInto(
    backend.data.get(ids.dataId).values as Int32Array,
    B,
    L,
    Q,
    new Float32Array(B * Q * L),
  );
  return backend.makeTensorInfo([B, 1, Q, L], "float32", out);
}

function wasmKernel(args: KernelArgs): TensorInfo {
  const { ids, B, L, Q } = parts(args);
  const backend = args.backend as unknown as WasmBackendLike;
  const out = backend.makeOutput([B, 1, Q, L], "float32");
  attentionMaskInto(
    backend.typedArrayFromHeap(ids) as Int32Array,
    B,
    L,
    Q,
    backend.typedArrayFromHeap(out) as Float32Array,
  );
  return out;
}

function webgpuKernel(args: KernelArgs): TensorInfo {
  const { ids, B, L, Q } = parts(args);
  const backend = args.backend as unknown as WebGpuBackendLike;
  return backend.runWebGPUProgram(
    new PerElementProgram(
      [B, 1, Q, L],
      ["ids"],
      "seqssl_attention_mask",
      ATTENTION_MASK_WGSL,
      ATTENTION_MASK_UNIFORMS,
    ),
    [ids],
    "float32",
    [{ type: "int32", data: [L] }, { type: "int32", data: [Q] }],
  );
}

let registered = false;

/**
 * Register `SeqsslAttentionMask` for cpu, wasm and webgpu (idempotent; it
 * has no gradient: ids are not differentiable).
 */
function registerAttentionMask(): void {
  if (registered) return;
  registered = true;
  registerWhereMissing(ATTENTION_MASK_KERNEL, [
    ["cpu", cpuKernel],
    ["wasm", wasmKernel],
    ["webgpu", webgpuKernel],
  ]);
}

/**
 * The additive attention bias `[B, 1, queries, L]` of left-padded ids
 * `[B, L]` (an int32 tensor, on the device already), for the last `queries`
 * positions (default all `L`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { attentionMaskOf } from "./attention_mask.ts";
 * await tf.setBackend("cpu");
 * const m = attentionMaskOf(tf.tensor2d([[0, 5, 6]], [1, 3], "int32"), 1);
 * // the last query sees keys 1 and 2
 * if (m.shape.join() !== "1,1,1,3" || m.dataSync()[0] >= 0 || m.dataSync()[2] !== 0) {
 *   throw new Error();
 * }
 * ```
 */
export function attentionMaskOf(
  ids: tf.Tensor2D,
  queries: number = ids.shape[1],
): tf.Tensor4D {
  registerAttentionMask();
  return tf.engine().runKernel(
    ATTENTION_MASK_KERNEL,
    { ids },
    { queries } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}
