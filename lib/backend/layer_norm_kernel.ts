/**
 * Fused LayerNorm over the last axis on webgpu: one dispatch forward and
 * four backward, instead of the two dozen tfjs kernels of the composed op
 * (`layerNormOp` in `lib/nn/layers.ts`, which cpu and wasm keep).
 *
 * For rows `x` `[R, d]` (any leading shape), gain `g` and bias `b` `[d]`:
 *
 *   mean = sum_k x_k / d,   var = sum_k (x_k - mean)^2 / d,
 *   rstd = 1 / sqrt(var + eps),   xh = (x - mean) rstd,   y = g xh + b
 *
 * and with `dy`, `e = dy g`:
 *
 *   dx = rstd (e - mean_k(e) - xh mean_k(e xh)),
 *   dg = sum_rows dy xh,   db = sum_rows dy.
 *
 * Kernels: `SeqsslLayerNorm` (one invocation per row), and for the
 * gradient `SeqsslLayerNormStats` (per row: mean, rstd),
 * `SeqsslLayerNormGradX` (per row), `SeqsslLayerNormGradG` and
 * `SeqsslLayerNormGradB` (one workgroup per column, its invocations sharing
 * out the rows). Registered for webgpu only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type KernelArgs,
  PerElementProgram,
  registerWhereMissing,
  sizeOf,
  type TensorInfo,
  type WebGpuBackendLike,
  WorkgroupProgram,
} from "./_kernel_util.ts";
import {
  LAYER_NORM_COLUMN_THREADS,
  LAYER_NORM_GRAD_B_WGSL,
  LAYER_NORM_GRAD_G_WGSL,
  LAYER_NORM_GRAD_X_WGSL,
  LAYER_NORM_STATS_WGSL,
  LAYER_NORM_UNIFORMS,
  LAYER_NORM_WGSL,
} from "../../kernels/layer_norm.ts";
import type { Tensor } from "../util/tensor_types.ts";

interface Part {
  /** The tensors the shader reads, in binding order. */
  inputs: string[];
  wgsl: string;
  /** Per row (false) or one workgroup per column (true). */
  perColumn: boolean;
  /** The output's shape from x's. */
  shape: (x: number[]) => number[];
}

const PARTS: Record<string, Part> = {
  SeqsslLayerNorm: {
    inputs: ["x", "g", "b"],
    wgsl: LAYER_NORM_WGSL,
    perColumn: false,
    shape: (x) => x,
  },
  SeqsslLayerNormStats: {
    inputs: ["x"],
    wgsl: LAYER_NORM_STATS_WGSL,
    perColumn: false,
    shape: (x) => [sizeOf(x) / x[x.length - 1], 2],
  },
  SeqsslLayerNormGradX: {
    inputs: ["x", "g", "dy", "stats"],
    wgsl: LAYER_NORM_GRAD_X_WGSL,
    perColumn: false,
    shape: (x) => x,
  },
  SeqsslLayerNormGradG: {
    inputs: ["x", "dy", "stats"],
    wgsl: LAYER_NORM_GRAD_G_WGSL,
    perColumn: true,
    shape: (x) => [x[x.length - 1]],
  },
  SeqsslLayerNormGradB: {
    inputs: ["dy"],
    wgsl: LAYER_NORM_GRAD_B_WGSL,
    perColumn: true,
    shape: (x) => [x[x.length - 1]],
  },
};

function kernelOf(name: string): (args: KernelArgs) => TensorInfo {
  const part = PARTS[name];
  return (args: KernelArgs): TensorInfo => {
    const byName = args.inputs as Record<string, TensorInfo>;
    const { eps } = args.attrs as unknown as { eps: number };
    // dy has x's shape: GradB reads only dy
    const x = byName.x ?? byName.dy;
    const d = x.shape[x.shape.length - 1];
    const rows = sizeOf(x.shape) / d;
    const shape = part.shape(x.shape);
    const key = `seqssl_layer_norm_${name}`;
    const program = part.perColumn
      ? new WorkgroupProgram(
        shape,
        part.inputs,
        key,
        part.wgsl,
        LAYER_NORM_UNIFORMS,
        d,
        LAYER_NORM_COLUMN_THREADS,
      )
      : new PerElementProgram(
        shape,
        part.inputs,
        key,
        part.wgsl,
        LAYER_NORM_UNIFORMS,
        rows,
      );
    const backend = args.backend as unknown as WebGpuBackendLike;
    return backend.runWebGPUProgram(
      program,
      part.inputs.map((n) => byName[n]),
      "float32",
      [
        { type: "int32", data: [rows] },
        { type: "int32", data: [d] },
        { type: "float32", data: [eps] },
      ],
    );
  };
}

let registered = false;

/**
 * Register the fused LayerNorm's kernels for webgpu (idempotent) and say
 * whether the current backend has them: true on webgpu, false on any other
 * backend (whose LayerNorm stays the composed op).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedLayerNormAvailable } from "./layer_norm_kernel.ts";
 * await tf.setBackend("cpu");
 * if (fusedLayerNormAvailable()) throw new Error("webgpu only");
 * ```
 */
export function fusedLayerNormAvailable(): boolean {
  if (!registered) {
    registered = true;
    for (const name of Object.keys(PARTS)) {
      registerWhereMissing(name, [["webgpu", kernelOf(name)]]);
    }
  }
  const b = tf.getBackend();
  return Object.keys(PARTS).every((n) => tf.getKernel(n, b) !== undefined);
}

/**
 * LayerNorm of `x` over its last axis, `g (x - mean) / sqrt(var + eps) + b`
 * with `g` and `b` of the last axis' size, with the fused kernels (see the
 * module doc); differentiable in all three. Only on a backend where
 * {@linkcode fusedLayerNormAvailable} is true.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedLayerNorm, fusedLayerNormAvailable } from "./layer_norm_kernel.ts";
 * import { initBackend, probeWebGpu } from "./init.ts";
 * if (await probeWebGpu()) {
 *   await initBackend("webgpu");
 *   if (!fusedLayerNormAvailable()) throw new Error();
 *   // [1, 3]: mean 2, variance 1 -> [-1, 1], then * 2 + 0.5
 *   const y = await fusedLayerNorm(tf.tensor2d([[1, 3]]), tf.fill([2], 2), tf.fill([2], 0.5)).data();
 *   if (Math.abs(y[0] + 1.5) > 1e-5 || Math.abs(y[1] - 2.5) > 1e-5) throw new Error();
 * }
 * ```
 */
export function fusedLayerNorm(
  x: Tensor,
  g: Tensor,
  b: Tensor,
  eps = 1e-12,
): Tensor {
  if (!fusedLayerNormAvailable()) {
    throw new Error(
      `fusedLayerNorm: no fused kernels on backend '${tf.getBackend()}' (webgpu only)`,
    );
  }
  const d = x.shape[x.shape.length - 1];
  if (g.shape.join() !== `${d}` || b.shape.join() !== `${d}`) {
    throw new Error(
      `fusedLayerNorm: expected g and b [${d}] for x [${x.shape}], found [${g.shape}] and [${b.shape}]`,
    );
  }
  const attrs = { eps } as unknown as tf.NamedAttrMap;
  const run = (name: string, inputs: Record<string, Tensor>) =>
    tf.engine().runKernel(name, inputs, attrs) as Tensor;
  const op = tf.customGrad(
    ((xi: Tensor, gi: Tensor, bi: Tensor, save: tf.GradSaveFunc) => {
      save([xi, gi]);
      return {
        value: run("SeqsslLayerNorm", { x: xi, g: gi, b: bi }),
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [xs, gs] = saved;
          return tf.tidy(() => {
            const stats = run("SeqsslLayerNormStats", { x: xs });
            return [
              run("SeqsslLayerNormGradX", { x: xs, g: gs, dy, stats }),
              run("SeqsslLayerNormGradG", { x: xs, dy, stats }),
              run("SeqsslLayerNormGradB", { dy }),
            ];
          });
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  ) as unknown as (x: Tensor, g: Tensor, b: Tensor) => Tensor;
  return op(x, g, b);
}
