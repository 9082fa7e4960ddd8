/**
 * Counter-based dropout: whether element `i` of a tensor is kept is a pure
 * function of a seed and `i`, the same on every backend, so the same seed
 * gives bit-identical masks on cpu, wasm and webgpu, and nothing random is
 * generated on the host or uploaded.
 *
 *   key     = pcg(seed)
 *   h(i)    = pcg(pcg(i) ^ key)                 (unsigned 32-bit arithmetic)
 *   keep(i) = h(i) >= threshold,  threshold = round(rate * 2^32)
 *   y_i     = keep(i) ? x_i * scale : 0,  scale = f32(1 / (1 - rate))
 *
 * `pcg` is the PCG-RXS-M-XS output permutation used as a hash (Jarzynski and
 * Olano, "Hash Functions for GPU Rendering", JCGT 2020): a bijection of the
 * 32-bit integers with only wrapping 32-bit multiplies, shifts and xors, so
 * JavaScript (`Math.imul`) and WGSL compute the same bits. `h` hashes the
 * index before mixing in the key, so two seeds' masks are not shifted copies
 * of each other. The decision is an integer comparison (no float rounding).
 *
 * The op is registered as the tfjs kernel `SeqsslDropout` for `cpu`, `wasm`
 * (a TypeScript loop over the tensor) and `webgpu` (a WGSL kernel); its
 * gradient is the same kernel on `dy` with the same seed (the mask is
 * recomputed, never stored).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type CpuBackendLike,
  type KernelArgs,
  PerElementProgram,
  registerWhereMissing,
  sizeOf,
  type TensorInfo,
  type WasmBackendLike,
  type WebGpuBackendLike,
} from "./_kernel_util.ts";
import {
  COUNTER_DROPOUT_UNIFORMS,
  COUNTER_DROPOUT_WGSL,
} from "../../kernels/counter_dropout.ts";

/**
 * The tfjs kernel name of counter-based dropout.
 */
const DROPOUT_KERNEL = "SeqsslDropout";

/**
 * The PCG-RXS-M-XS hash of a 32-bit unsigned integer (returns one).
 *
 * @example
 * ```ts
 * import { pcgHash } from "./counter_dropout.ts";
 * // 0 * 747796405 + 2891336453 = 0xAC564B05; shift 0xA + 4 = 14;
 * // (0xAC564B05 >>> 14 ^ 0xAC564B05) * 277803737 = 0x07BB2FFC (mod 2^32);
 * // 0x07BB2FFC >>> 22 ^ 0x07BB2FFC = 0x07BB2FE2
 * if (pcgHash(0) !== 0x07BB2FE2) throw new Error(pcgHash(0).toString(16));
 * ```
 */
export function pcgHash(v: number): number {
  const state = (Math.imul(v, 747796405) + 2891336453) >>> 0;
  const word =
    Math.imul((state >>> ((state >>> 28) + 4)) ^ state, 277803737) >>>
    0;
  return ((word >>> 22) ^ word) >>> 0;
}

/**
 * The 32-bit keep-or-drop hash of element `index` under `seed`.
 *
 * @example
 * ```ts
 * import { dropoutHash, pcgHash } from "./counter_dropout.ts";
 * if (dropoutHash(7, 3) !== pcgHash(pcgHash(3) ^ pcgHash(7))) throw new Error();
 * ```
 */
export function dropoutHash(seed: number, index: number): number {
  return pcgHash((pcgHash(index) ^ pcgHash(seed)) >>> 0);
}

/**
 * Integer threshold and f32 scale of a dropout rate in [0, 1).
 *
 * @example
 * ```ts
 * import { dropoutConstants } from "./counter_dropout.ts";
 * const c = dropoutConstants(0.25);
 * if (c.threshold !== 2 ** 30 || c.scale !== Math.fround(4 / 3)) throw new Error();
 * ```
 */
export function dropoutConstants(
  rate: number,
): { threshold: number; scale: number } {
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(
      `dropout: expected a rate in [0, 1), found ${rate}`,
    );
  }
  return {
    threshold: Math.min(0xffffffff, Math.round(rate * 2 ** 32)),
    scale: Math.fround(1 / (1 - rate)),
  };
}

/**
 * `y = x * mask` with the counter-based mask, written into `out` (a plain
 * TypeScript loop: the reference for every backend, and the cpu and wasm
 * kernels). `out` may be `x`.
 *
 * @example
 * ```ts
 * import { applyDropout } from "./counter_dropout.ts";
 * const y = applyDropout(new Float32Array(1000).fill(1), 0.25, 42, new Float32Array(1000));
 * const kept = y.filter((v) => v !== 0);
 * // about 750 kept, each scaled by 1 / 0.75
 * if (kept.length < 700 || kept.length > 800) throw new Error(String(kept.length));
 * if (Math.abs(kept[0] - 4 / 3) > 1e-6) throw new Error();
 * ```
 */
export function applyDropout(
  x: ArrayLike<number>,
  rate: number,
  seed: number,
  out: Float32Array,
): Float32Array {
  const { threshold, scale } = dropoutConstants(rate);
  const key = pcgHash(seed >>> 0);
  const n = x.length;
  const hi = indexHashes(n);
  for (let i = 0; i < n; i++) {
    // pcgHash(hi[i] ^ key), inlined: this loop is the wasm and cpu kernel.
    const s = (Math.imul(hi[i] ^ key, 747796405) + 2891336453) >>> 0;
    const w = Math.imul((s >>> ((s >>> 28) + 4)) ^ s, 277803737) >>> 0;
    out[i] = ((w >>> 22) ^ w) >>> 0 >= threshold ? x[i] * scale : 0;
  }
  return out;
}

// pcgHash(i) for i < length, shared by every call: the seed-independent
// half of the element hash (4 bytes per element of the largest tensor).
let indexTable = new Uint32Array(0);

function indexHashes(n: number): Uint32Array {
  if (indexTable.length < n) {
    const t = new Uint32Array(Math.max(n, 2 * indexTable.length));
    t.set(indexTable);
    for (let i = indexTable.length; i < t.length; i++) t[i] = pcgHash(i);
    indexTable = t;
  }
  return indexTable;
}

interface DropoutAttrs {
  rate: number;
  seed: number;
}

function attrsOf(args: KernelArgs): DropoutAttrs {
  const a = args.attrs as unknown as DropoutAttrs;
  return { rate: a.rate, seed: a.seed >>> 0 };
}

function xOf(args: KernelArgs): TensorInfo {
  const x = (args.inputs as { x: TensorInfo }).x;
  if (x.dtype !== "float32") {
    throw new Error(`${DROPOUT_KERNEL}: expected float32 x, found ${x.dtype}`);
  }
  return x;
}

function cpuKernel(args: KernelArgs): TensorInfo {
  const x = xOf(args);
  const { rate, seed } = attrsOf(args);
  const backend = args.backend as unknown as CpuBackendLike;
  const xv = backend.data.get(x.dataId).values as Float32Array;
  const out = applyDropout(xv, rate, seed, new Float32Array(sizeOf(x.shape)));
  return backend.makeTensorInfo(x.shape, "float32", out);
}

function wasmKernel(args: KernelArgs): TensorInfo {
  const x = xOf(args);
  const { rate, seed } = attrsOf(args);
  const backend = args.backend as unknown as WasmBackendLike;
  const out = backend.makeOutput(x.shape, "float32");
  applyDropout(
    backend.typedArrayFromHeap(x) as Float32Array,
    rate,
    seed,
    backend.typedArrayFromHeap(out) as Float32Array,
  );
  return out;
}

function webgpuKernel(args: KernelArgs): TensorInfo {
  const x = xOf(args);
  const { rate, seed } = attrsOf(args);
  const { threshold, scale } = dropoutConstants(rate);
  const backend = args.backend as unknown as WebGpuBackendLike;
  return backend.runWebGPUProgram(
    new PerElementProgram(
      x.shape,
      ["x"],
      "seqssl_counter_dropout",
      COUNTER_DROPOUT_WGSL,
      COUNTER_DROPOUT_UNIFORMS,
    ),
    [x],
    "float32",
    [
      { type: "uint32", data: [pcgHash(seed)] },
      { type: "uint32", data: [threshold] },
      { type: "float32", data: [scale] },
    ],
  );
}

let registered = false;

/**
 * Register `SeqsslDropout` for cpu, wasm and webgpu and its gradient
 * (idempotent).
 */
function registerCounterDropout(): void {
  if (registered) return;
  registered = true;
  registerWhereMissing(DROPOUT_KERNEL, [
    ["cpu", cpuKernel],
    ["wasm", wasmKernel],
    ["webgpu", webgpuKernel],
  ]);
  if (tf.getGradient(DROPOUT_KERNEL) === undefined) {
    tf.registerGradient({
      kernelName: DROPOUT_KERNEL,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved, attrs) => ({
        // d(x * mask)/dx = mask: the same op with the same seed on dy.
        x: () =>
          tf.engine().runKernel(
            DROPOUT_KERNEL,
            { x: dy as tf.Tensor },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
      }),
    });
  }
}

/**
 * Inverted dropout of `x` with the counter-based mask of `seed` (any
 * integer; used as unsigned 32-bit): the same values on every backend.
 * Rate 0 returns `x` itself.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { counterDropout } from "./counter_dropout.ts";
 * await tf.setBackend("cpu");
 * const x = tf.ones([4, 8]);
 * const a = counterDropout(x, 0.5, 9).dataSync();
 * const b = counterDropout(x, 0.5, 9).dataSync();
 * const c = counterDropout(x, 0.5, 10).dataSync();
 * if (a.join() !== b.join() || a.join() === c.join()) throw new Error();
 * if (!a.every((v) => v === 0 || v === 2)) throw new Error();
 * ```
 */
export function counterDropout(
  x: tf.Tensor,
  rate: number,
  seed: number,
): tf.Tensor {
  dropoutConstants(rate);
  if (rate === 0) return x;
  registerCounterDropout();
  return tf.engine().runKernel(
    DROPOUT_KERNEL,
    { x },
    { rate, seed: seed >>> 0 } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor;
}
