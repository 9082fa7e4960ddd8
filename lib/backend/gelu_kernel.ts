/**
 * Fused GELU on webgpu: `x Phi(x)` in one dispatch and its gradient
 * `dy (Phi(x) + x phi(x))` in one, instead of the 5 and 11 tfjs kernels of
 * the composed op (`gelu` in `lib/nn/layers.ts`, which cpu and wasm keep).
 * erf is the approximation tfjs's webgpu `erf` uses (see
 * `kernels/gelu.ts`). Kernels `SeqsslGelu` and `SeqsslGeluGrad`, registered
 * for webgpu only.
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
import { GELU_GRAD_WGSL, GELU_WGSL } from "../../kernels/gelu.ts";
import type { Tensor } from "../util/tensor_types.ts";

function kernel(
  inputs: string[],
  key: string,
  wgsl: string,
): (args: KernelArgs) => TensorInfo {
  return (args: KernelArgs): TensorInfo => {
    const byName = args.inputs as Record<string, TensorInfo>;
    const x = byName.x;
    const backend = args.backend as unknown as WebGpuBackendLike;
    return backend.runWebGPUProgram(
      new PerElementProgram(x.shape, inputs, key, wgsl, ""),
      inputs.map((n) => byName[n]),
      "float32",
      [],
    );
  };
}

let registered = false;

/**
 * Register the fused GELU's kernels for webgpu (idempotent) and say whether
 * the current backend has them: true on webgpu only.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedGeluAvailable } from "./gelu_kernel.ts";
 * await tf.setBackend("cpu");
 * if (fusedGeluAvailable()) throw new Error("webgpu only");
 * ```
 */
export function fusedGeluAvailable(): boolean {
  if (!registered) {
    registered = true;
    registerWhereMissing("SeqsslGelu", [[
      "webgpu",
      kernel(["x"], "seqssl_gelu", GELU_WGSL),
    ]]);
    registerWhereMissing("SeqsslGeluGrad", [[
      "webgpu",
      kernel(["x", "dy"], "seqssl_gelu_grad", GELU_GRAD_WGSL),
    ]]);
  }
  const b = tf.getBackend();
  return tf.getKernel("SeqsslGelu", b) !== undefined &&
    tf.getKernel("SeqsslGeluGrad", b) !== undefined;
}

/**
 * GELU (erf form) of `x` with the fused kernels, differentiable. Only on a
 * backend where {@linkcode fusedGeluAvailable} is true.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedGelu, fusedGeluAvailable } from "./gelu_kernel.ts";
 * import { initBackend, probeWebGpu } from "./init.ts";
 * if (await probeWebGpu()) {
 *   await initBackend("webgpu");
 *   if (!fusedGeluAvailable()) throw new Error();
 *   // GELU(0) = 0, GELU(1) = Phi(1) = 0.841345
 *   const y = await fusedGelu(tf.tensor1d([0, 1])).data();
 *   if (y[0] !== 0 || Math.abs(y[1] - 0.841345) > 1e-5) throw new Error();
 * }
 * ```
 */
export function fusedGelu(x: Tensor): Tensor {
  if (!fusedGeluAvailable()) {
    throw new Error(
      `fusedGelu: no fused kernels on backend '${tf.getBackend()}' (webgpu only)`,
    );
  }
  const op = tf.customGrad(
    ((xi: Tensor, save: tf.GradSaveFunc) => {
      save([xi]);
      return {
        value: tf.engine().runKernel("SeqsslGelu", { x: xi }) as Tensor,
        gradFunc: (dy: Tensor, saved: Tensor[]) =>
          tf.engine().runKernel("SeqsslGeluGrad", {
            x: saved[0],
            dy,
          }) as Tensor,
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  ) as unknown as (x: Tensor) => Tensor;
  return op(x);
}
