/**
 * Private helpers of seqssl's tfjs kernels: the kernel types, the parts of
 * tfjs's cpu, wasm and webgpu backends that the kernels use, and the
 * registry plumbing (replace a kernel, mark it as seqssl's, register where
 * none is).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A tfjs kernel function. */
export type KernelFunc = tf.KernelFunc;
/** A tensor as kernels see it: shape, dtype and a data id. */
export type TensorInfo = tf.TensorInfo;
/** The one argument of a {@linkcode KernelFunc}: inputs, backend, attrs. */
export type KernelArgs = Parameters<KernelFunc>[0];

/** The parts of tfjs's `MathBackendCPU` the kernels use. */
export interface CpuBackendLike {
  /** The backend's tensor storage; `values` is the typed array. */
  data: { get(dataId: object): { values: unknown } };
  /** A new tensor holding `values`. */
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values: Float32Array | Int32Array,
  ): TensorInfo;
}

/** The parts of tfjs's `BackendWasm` the kernels use. */
export interface WasmBackendLike {
  /** The WebAssembly module; `HEAPU8` views its whole memory. */
  wasm: { HEAPU8: Uint8Array };
  /** Where each tensor lives in that memory. */
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  /** Free a tensor's memory. */
  disposeData(dataId: object, force?: boolean): boolean;
  /** A new tensor in wasm memory, filled with `values` when given. */
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: Float32Array | Int32Array,
  ): TensorInfo;
  /** A view of a tensor's data in wasm memory (valid until memory grows). */
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The part of tfjs's `WebGPUBackend` the kernels use. */
export interface WebGpuBackendLike {
  /** Run a WebGPU program (a tfjs `WebGPUProgram`) on `inputs`. */
  runWebGPUProgram(
    program: unknown,
    inputs: TensorInfo[],
    dtype: tf.DataType,
    uniforms: { type: string; data: number[] }[],
  ): TensorInfo;
}

/**
 * Marks kernel functions that are seqssl's, so that `registerKernelFixes`
 * neither wraps them twice nor wraps the native matmuls.
 */
export const FIXED: unique symbol = Symbol.for("seqssl.kernelFix");

/**
 * Mark `f` as seqssl's (see {@linkcode FIXED}) and return it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { isFixed, markFixed, replaceKernel } from "./_kernel_util.ts";
 * const kernelFunc = markFixed(() => ({ dataId: {}, shape: [], dtype: "float32" as const }));
 * if (isFixed("SeqsslExampleMark", "cpu")) throw new Error("nothing registered yet");
 * replaceKernel({ kernelName: "SeqsslExampleMark", backendName: "cpu", kernelFunc });
 * if (!isFixed("SeqsslExampleMark", "cpu")) throw new Error("expected the mark");
 * tf.unregisterKernel("SeqsslExampleMark", "cpu");
 * ```
 */
export function markFixed<F extends KernelFunc>(f: F): F {
  (f as unknown as Record<symbol, boolean>)[FIXED] = true;
  return f;
}

/**
 * Whether the kernel registered for `kernelName` on `backendName` is seqssl's.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs";
 * import { isFixed } from "./_kernel_util.ts";
 * if (isFixed("Add", "cpu")) throw new Error("tfjs's own Add is not marked");
 * ```
 */
export function isFixed(kernelName: string, backendName: string): boolean {
  const k = tf.getKernel(kernelName, backendName) as
    | tf.KernelConfig
    | undefined;
  return k !== undefined &&
    (k.kernelFunc as unknown as Record<symbol, boolean>)[FIXED] === true;
}

/**
 * Register `config`, unregistering the kernel it replaces first.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { replaceKernel } from "./_kernel_util.ts";
 * const info = { dataId: {}, shape: [], dtype: "float32" as const };
 * const first = () => info, second = () => info;
 * replaceKernel({ kernelName: "SeqsslExampleReplace", backendName: "cpu", kernelFunc: first });
 * replaceKernel({ kernelName: "SeqsslExampleReplace", backendName: "cpu", kernelFunc: second });
 * if (tf.getKernel("SeqsslExampleReplace", "cpu").kernelFunc !== second) throw new Error();
 * tf.unregisterKernel("SeqsslExampleReplace", "cpu");
 * ```
 */
export function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName) !== undefined) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/**
 * Register `kernelName` on each backend listed that has none yet.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerWhereMissing } from "./_kernel_util.ts";
 * const info = { dataId: {}, shape: [], dtype: "float32" as const };
 * const first = () => info, second = () => info;
 * registerWhereMissing("SeqsslExampleMissing", [["cpu", first]]);
 * registerWhereMissing("SeqsslExampleMissing", [["cpu", second], ["wasm", second]]);
 * if (tf.getKernel("SeqsslExampleMissing", "cpu").kernelFunc !== first) throw new Error();
 * if (tf.getKernel("SeqsslExampleMissing", "wasm").kernelFunc !== second) throw new Error();
 * ```
 */
export function registerWhereMissing(
  kernelName: string,
  kernels: [backendName: string, kernelFunc: KernelFunc][],
): void {
  for (const [backendName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, backendName) === undefined) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

/**
 * Number of elements of a tensor of this shape.
 *
 * @example
 * ```ts
 * import { sizeOf } from "./_kernel_util.ts";
 * if (sizeOf([2, 3, 4]) !== 24 || sizeOf([]) !== 1 || sizeOf([5, 0]) !== 0) throw new Error();
 * ```
 */
export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}

/**
 * A tfjs WebGPU program with one output element per invocation, in
 * workgroups of 128: the shape of seqssl's element-wise kernels (dropout,
 * the attention mask, Adam). `variableNames` are the inputs the shader reads
 * (WebGPU's automatic layout has no binding for an unread buffer). With
 * `invocations`, that many invocations run instead (a kernel that writes a
 * whole row per invocation, such as the fused attention's).
 *
 * @example
 * ```ts
 * import { PerElementProgram } from "./_kernel_util.ts";
 * const p = new PerElementProgram([3, 100], ["x"], "k", "fn main() {}", "rate : f32,");
 * if (p.dispatch[0] !== 3 || p.dispatchLayout.x.join() !== "0,1") throw new Error();
 * if (p.getUserCode() !== "fn main() {}") throw new Error();
 * const rows = new PerElementProgram([300, 8], ["x"], "k", "fn main() {}", "", 300);
 * if (rows.dispatch[0] !== 3) throw new Error();
 * ```
 */
export class PerElementProgram {
  /** The shader's inputs, in binding order. */
  variableNames: string[];
  /** The output's shape. */
  outputShape: number[];
  /** tfjs's cache key of the compiled shader. */
  shaderKey: string;
  /** Every output dimension on the x axis. */
  dispatchLayout: { x: number[] };
  /** Workgroups: ceil(invocations / 128). */
  dispatch: [number, number, number];
  /** 128 invocations per workgroup. */
  workgroupSize: [number, number, number] = [128, 1, 1];
  /** tfjs passes the output's size as a uniform. */
  size = true;
  /** The shader's own uniforms. */
  uniforms: string;
  #wgsl: string;
  /** A program for `shape` running `wgsl`. */
  constructor(
    shape: number[],
    variableNames: string[],
    shaderKey: string,
    wgsl: string,
    uniforms: string,
    invocations: number = sizeOf(shape),
  ) {
    this.outputShape = shape;
    this.variableNames = variableNames;
    this.shaderKey = shaderKey;
    this.uniforms = uniforms;
    this.#wgsl = wgsl;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(invocations / 128), 1, 1];
  }
  /** The WGSL of the program's main function. */
  getUserCode(): string {
    return this.#wgsl;
  }
}

/**
 * A tfjs WebGPU program of `groups` workgroups of `threads` invocations,
 * for shaders that share work inside a workgroup (workgroup memory and
 * barriers, reading tfjs's `workgroupId` and `localId`): the tiled
 * cross-entropy's. `variableNames` as for {@linkcode PerElementProgram}.
 * At most 65,535 workgroups (one dispatch dimension).
 *
 * @example
 * ```ts
 * import { WorkgroupProgram } from "./_kernel_util.ts";
 * const p = new WorkgroupProgram([10], ["x"], "k", "fn main() {}", "", 3, 64);
 * if (p.dispatch.join() !== "3,1,1" || p.workgroupSize[0] !== 64) throw new Error();
 * let msg = "";
 * try { new WorkgroupProgram([1], ["x"], "k", "", "", 70000, 64); } catch (e) { msg = String(e); }
 * if (!msg.includes("70000 workgroups")) throw new Error(msg);
 * ```
 */
export class WorkgroupProgram {
  /** The shader's inputs, in binding order. */
  variableNames: string[];
  /** The output's shape. */
  outputShape: number[];
  /** tfjs's cache key of the compiled shader. */
  shaderKey: string;
  /** Every output dimension on the x axis. */
  dispatchLayout: { x: number[] };
  /** Workgroups, on x. */
  dispatch: [number, number, number];
  /** Invocations per workgroup, on x. */
  workgroupSize: [number, number, number];
  /** tfjs passes the output's size as a uniform. */
  size = true;
  /** The shader's own uniforms. */
  uniforms: string;
  #wgsl: string;
  /** A program for `shape` running `wgsl` in `groups` x `threads`. */
  constructor(
    shape: number[],
    variableNames: string[],
    shaderKey: string,
    wgsl: string,
    uniforms: string,
    groups: number,
    threads: number,
  ) {
    if (groups > 65535) {
      throw new Error(
        `${shaderKey}: ${groups} workgroups, more than one dispatch dimension holds (65535)`,
      );
    }
    this.outputShape = shape;
    this.variableNames = variableNames;
    this.shaderKey = shaderKey;
    this.uniforms = uniforms;
    this.#wgsl = wgsl;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [groups, 1, 1];
    this.workgroupSize = [threads, 1, 1];
  }
  /** The WGSL of the program's main function. */
  getUserCode(): string {
    return this.#wgsl;
  }
}
