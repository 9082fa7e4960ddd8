/**
 * Native matrix multiplication for the tfjs `wasm` backend: `BatchMatMul` and
 * `_FusedMatMul` call OpenBLAS's `cblas_sgemm` (opened by `openblas.ts`)
 * through Deno's FFI, reading and writing the tensors where the wasm backend
 * keeps them (its WebAssembly heap), without copies.
 *
 * What the native kernels do: any transpose flags (passed to BLAS as
 * `CblasTrans`, nothing is materialised), rank 2 and higher with batch
 * dimensions broadcast as in `tf.matMul` (one sgemm per batch; one sgemm for
 * the whole batch when the right operand has batch size 1 and the left one is
 * not transposed), and for `_FusedMatMul` a rank-1 bias (length N or 1) with
 * the `linear` activation. Everything else (non-float32 tensors, any other
 * activation, other bias shapes, empty tensors) goes to the kernel that was
 * registered before.
 *
 * Two tfjs 4.22 wasm bugs do not occur on the native path: `BatchMatMul` with
 * batch dims that broadcast both ways (`[2,1,m,k] x [1,3,k,n]`) computes only
 * `max(2, 3)` of the 6 products (the result's data is shorter than its
 * shape), and `_FusedMatMul` adds a bias wrongly when the batch is larger
 * than 1 (with more than one row) or the bias has length 1.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerKernelFixes } from "./kernel_fixes.ts";
import {
  FIXED,
  type KernelArgs,
  type KernelFunc,
  replaceKernel,
  sizeOf,
  type TensorInfo,
  type WasmBackendLike,
} from "./_kernel_util.ts";
import {
  CBLAS_NO_TRANS,
  CBLAS_ROW_MAJOR,
  CBLAS_TRANS,
  type NativeBlas,
  type RawSgemm,
  rawSgemm,
} from "./openblas.ts";

/** Marks a native kernel; its value is the kernel it replaced. */
const NATIVE = Symbol.for("seqssl.nativeMatMul");

interface NativeKernelFunc {
  (args: KernelArgs): TensorInfo | TensorInfo[];
  [NATIVE]: tf.KernelConfig;
  /** So that `registerKernelFixes` does not wrap these again. */
  [FIXED]: true;
}

/** Everything a native matmul needs, or undefined to delegate. */
interface Plan {
  m: number;
  n: number;
  k: number;
  ta: boolean;
  tb: boolean;
  outShape: number[];
  batch: number;
  /** Batch index of A and of B for each output batch (flat). */
  aIndex: (i: number) => number;
  bIndex: (i: number) => number;
  aBatch: number;
  bBatch: number;
}

/** Map a flat output batch index to an operand's, with size-1 dims broadcast. */
function batchMapper(
  outDims: number[],
  dims: readonly number[],
): (i: number) => number {
  const r = outDims.length;
  const padded = [...new Array(r - dims.length).fill(1), ...dims];
  const strides = new Array<number>(r);
  let s = 1;
  for (let j = r - 1; j >= 0; j--) {
    strides[j] = padded[j] === 1 ? 0 : s;
    s *= padded[j];
  }
  if (sizeOf(dims) === sizeOf(outDims)) return (i) => i;
  if (sizeOf(dims) === 1) return () => 0;
  return (i) => {
    let idx = 0;
    for (let j = r - 1; j >= 0; j--) {
      const d = outDims[j];
      idx += (i % d) * strides[j];
      i = Math.floor(i / d);
    }
    return idx;
  };
}

function plan(
  a: TensorInfo,
  b: TensorInfo,
  ta: boolean,
  tb: boolean,
): Plan | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
  const ar = a.shape.length, br = b.shape.length;
  if (ar < 2 || br < 2) return undefined;
  const m = ta ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = ta ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = tb ? b.shape[br - 1] : b.shape[br - 2];
  const n = tb ? b.shape[br - 2] : b.shape[br - 1];
  if (k !== kb) return undefined; // the previous kernel reports the error
  const aDims = a.shape.slice(0, -2), bDims = b.shape.slice(0, -2);
  let outDims: number[];
  try {
    outDims = tf.broadcast_util.assertAndGetBroadcastShape(aDims, bDims);
  } catch {
    return undefined;
  }
  const batch = sizeOf(outDims);
  if (batch === 0 || m === 0 || n === 0 || k === 0) return undefined;
  return {
    m,
    n,
    k,
    ta,
    tb,
    outShape: [...outDims, m, n],
    batch,
    aIndex: batchMapper(outDims, aDims),
    bIndex: batchMapper(outDims, bDims),
    aBatch: sizeOf(aDims),
    bBatch: sizeOf(bDims),
  };
}

/** Allocate the output, then run the product into it on the wasm heap. */
function runNative(
  raw: RawSgemm,
  backend: WasmBackendLike,
  a: TensorInfo,
  b: TensorInfo,
  p: Plan,
  init?: (c: Float32Array) => void,
): TensorInfo {
  const out = backend.makeOutput(p.outShape, "float32");
  // Views only now: allocating the output may have grown (and detached) the
  // wasm memory buffer.
  const buffer = backend.wasm.HEAPU8.buffer;
  const offA = backend.dataIdMap.get(a.dataId)!.memoryOffset;
  const offB = backend.dataIdMap.get(b.dataId)!.memoryOffset;
  const offC = backend.dataIdMap.get(out.dataId)!.memoryOffset;
  const { m, n, k, ta, tb, batch } = p;
  const sizeA = m * k, sizeB = k * n, sizeC = m * n;
  const lda = ta ? m : k, ldb = tb ? k : n;
  const opA = ta ? CBLAS_TRANS : CBLAS_NO_TRANS;
  const opB = tb ? CBLAS_TRANS : CBLAS_NO_TRANS;
  const c = new Float32Array(buffer, offC, batch * sizeC);
  let beta = 0;
  if (init !== undefined) {
    init(c);
    beta = 1;
  }
  if (batch === 1 || (p.bBatch === 1 && !ta && p.aBatch === batch)) {
    // One sgemm: A's batches stacked as rows of one [batch*m, k] matrix.
    raw(
      CBLAS_ROW_MAJOR,
      opA,
      opB,
      batch * m,
      n,
      k,
      1,
      new Float32Array(buffer, offA, batch * sizeA),
      lda,
      new Float32Array(buffer, offB, sizeB),
      ldb,
      beta,
      c,
      n,
    );
    return out;
  }
  for (let i = 0; i < batch; i++) {
    raw(
      CBLAS_ROW_MAJOR,
      opA,
      opB,
      m,
      n,
      k,
      1,
      new Float32Array(buffer, offA + 4 * sizeA * p.aIndex(i), sizeA),
      lda,
      new Float32Array(buffer, offB + 4 * sizeB * p.bIndex(i), sizeB),
      ldb,
      beta,
      new Float32Array(buffer, offC + 4 * sizeC * i, sizeC),
      n,
    );
  }
  return out;
}

function nativeBatchMatMul(raw: RawSgemm, previous: KernelFunc): KernelFunc {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = args.attrs ?? {};
    const p = plan(a, b, attrs.transposeA === true, attrs.transposeB === true);
    if (p === undefined) return previous(args);
    return runNative(raw, args.backend as unknown as WasmBackendLike, a, b, p);
  };
}

/** Fill `c` with copies of the rank-1 `bias` (length n or 1) as its rows. */
function fillBias(
  backend: WasmBackendLike,
  bias: TensorInfo,
  c: Float32Array,
): void {
  // Read the bias only now: c was allocated, so the heap view is current.
  const len = sizeOf(bias.shape);
  const off = backend.dataIdMap.get(bias.dataId)!.memoryOffset;
  const bv = new Float32Array(backend.wasm.HEAPU8.buffer, off, len);
  if (len === 1) {
    c.fill(bv[0]);
    return;
  }
  c.set(bv, 0);
  let filled = len;
  while (filled < c.length) {
    const step = Math.min(filled, c.length - filled);
    c.copyWithin(filled, 0, step);
    filled += step;
  }
}

function nativeFusedMatMul(raw: RawSgemm, previous: KernelFunc): KernelFunc {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: TensorInfo;
      b: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    const attrs = args.attrs ?? {};
    const activation = (attrs.activation ?? "linear") as string;
    if (preluActivationWeights != null || activation !== "linear") {
      return previous(args);
    }
    const p = plan(a, b, attrs.transposeA === true, attrs.transposeB === true);
    if (p === undefined) return previous(args);
    if (
      bias != null &&
      (bias.dtype !== "float32" || bias.shape.length !== 1 ||
        (bias.shape[0] !== p.n && bias.shape[0] !== 1))
    ) {
      return previous(args);
    }
    const backend = args.backend as unknown as WasmBackendLike;
    const init = bias == null
      ? undefined
      : (c: Float32Array) => fillBias(backend, bias, c);
    return runNative(raw, backend, a, b, p, init);
  };
}

const KERNELS = ["BatchMatMul", "_FusedMatMul"] as const;

function currentNative(name: string): tf.KernelConfig | undefined {
  const k = tf.getKernel(name, "wasm") as tf.KernelConfig | undefined;
  if (k === undefined) return undefined;
  return (k.kernelFunc as unknown as Partial<NativeKernelFunc>)[NATIVE];
}

/**
 * Replace the `wasm` backend's `BatchMatMul` and `_FusedMatMul` kernels with
 * ones that call `blas` (see the module notes for what they cover; the rest
 * goes to the kernel registered before, which gets seqssl's kernel fixes
 * first). Calling it again swaps in the new `blas`. Returns false if the
 * wasm backend's kernels are not registered.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadNativeBlas } from "./openblas.ts";
 * import { registerNativeMatMul, unregisterNativeMatMul } from "./native_blas.ts";
 * await tf.setBackend("wasm");
 * const blas = loadNativeBlas();
 * if (blas && registerNativeMatMul(blas)) {
 *   // [2, 3] of 1 times the transpose of [4, 3] of 2: 3 * 1 * 2 everywhere
 *   const c = tf.matMul(tf.ones([2, 3]), tf.fill([4, 3], 2), false, true);
 *   const got = Array.from(await c.data());
 *   if (c.shape.join() !== "2,4" || got.some((v) => v !== 6)) {
 *     throw new Error(`expected [2, 4] of 6, found ${c.shape} ${got}`);
 *   }
 *   unregisterNativeMatMul();
 *   blas.close();
 * }
 * ```
 */
export function registerNativeMatMul(blas: NativeBlas): boolean {
  const raw = rawSgemm(blas);
  if (raw === undefined) {
    throw new Error(
      "registerNativeMatMul: expected an open NativeBlas from loadNativeBlas, found a closed or foreign one",
    );
  }
  registerKernelFixes();
  const previous: tf.KernelConfig[] = [];
  for (const name of KERNELS) {
    const k = currentNative(name) ??
      (tf.getKernel(name, "wasm") as tf.KernelConfig | undefined);
    if (k === undefined) return false;
    previous.push(k);
  }
  for (const prev of previous) {
    const make = prev.kernelName === "BatchMatMul"
      ? nativeBatchMatMul
      : nativeFusedMatMul;
    const f = make(raw, prev.kernelFunc) as NativeKernelFunc;
    f[NATIVE] = prev;
    f[FIXED] = true;
    replaceKernel({ ...prev, kernelFunc: f });
  }
  return true;
}

/**
 * Put back the kernels that {@linkcode registerNativeMatMul} replaced.
 * Returns false if native kernels were not registered.
 *
 * @example
 * ```ts
 * import { unregisterNativeMatMul } from "./native_blas.ts";
 * if (unregisterNativeMatMul() !== false) {
 *   throw new Error("expected false: nothing was registered");
 * }
 * ```
 */
export function unregisterNativeMatMul(): boolean {
  let any = false;
  for (const name of KERNELS) {
    const prev = currentNative(name);
    if (prev === undefined) continue;
    replaceKernel(prev);
    any = true;
  }
  return any;
}

/**
 * Whether the `wasm` backend's matmul kernels are the native ones now.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadNativeBlas } from "./openblas.ts";
 * import {
 *   nativeMatMulActive,
 *   registerNativeMatMul,
 *   unregisterNativeMatMul,
 * } from "./native_blas.ts";
 * await tf.setBackend("wasm");
 * if (nativeMatMulActive()) throw new Error("expected tfjs's kernels first");
 * const blas = loadNativeBlas();
 * if (blas && registerNativeMatMul(blas)) {
 *   if (!nativeMatMulActive()) throw new Error("expected the native kernels");
 *   unregisterNativeMatMul();
 *   if (nativeMatMulActive()) throw new Error("expected tfjs's kernels again");
 *   blas.close();
 * }
 * ```
 */
export function nativeMatMulActive(): boolean {
  return KERNELS.every((name) => currentNative(name) !== undefined);
}
