/**
 * Native matrix multiplication for the tfjs `wasm` backend: `BatchMatMul` and
 * `_FusedMatMul` call OpenBLAS's `cblas_sgemm` through Deno's FFI, reading
 * and writing the tensors where the wasm backend keeps them (its WebAssembly
 * heap), without copies.
 *
 * This is optional. It needs the `--allow-ffi` permission and an OpenBLAS
 * shared library (Debian/Ubuntu: `apt-get install libopenblas0-pthread`);
 * without either, {@linkcode loadNativeBlas} returns `undefined` and tfjs's
 * own kernels stay in place. The environment variable `SEQSSL_BLAS`, when
 * readable, names the library to load instead of the usual places, or turns
 * the feature off with `off`.
 *
 * What the native kernels do: any transpose flags (passed to BLAS as
 * `CblasTrans`, nothing is materialised), rank 2 and higher with batch
 * dimensions broadcast as in `tf.matMul` (one sgemm per batch; one sgemm for
 * the whole batch when the right operand has batch size 1 and the left one is
 * not transposed), and for `_FusedMatMul` a rank-1 bias (length N or 1) and
 * the `linear`, `relu`, `relu6`, `elu`, `sigmoid` and `leakyrelu` activations
 * (the last three by wasm's own kernels after the product). Everything else
 * (non-float32 tensors, PReLU, other bias shapes, empty tensors, and products
 * smaller than `minMacs`) goes to the kernel that was registered before.
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

type KernelFunc = tf.KernelFunc;
type TensorInfo = tf.TensorInfo;
type KernelArgs = Parameters<KernelFunc>[0];

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    // order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: {
    parameters: ["i32"],
    result: "void",
    optional: true,
  },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
} as const;

type BlasLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/** One `C = alpha * op(A) * op(B) + beta * C` in row-major order. */
export interface SgemmCall {
  /** Use `A^T`: A is stored `[k, m]` instead of `[m, k]`. */
  transA: boolean;
  /** Use `B^T`: B is stored `[n, k]` instead of `[k, n]`. */
  transB: boolean;
  /** Rows of `op(A)` and of C. */
  m: number;
  /** Columns of `op(B)` and of C. */
  n: number;
  /** Columns of `op(A)`, rows of `op(B)`. */
  k: number;
  /** A, starting at its first element. */
  a: Float32Array;
  /** Row stride of A as stored (`transA ? m : k` when dense). */
  lda: number;
  /** B, starting at its first element. */
  b: Float32Array;
  /** Row stride of B as stored (`transB ? k : n` when dense). */
  ldb: number;
  /** C, starting at its first element; written. */
  c: Float32Array;
  /** Row stride of C (`n` when dense). */
  ldc: number;
  /** Scale of the product; default 1. */
  alpha?: number;
  /** Scale of C's previous content; default 0 (C is overwritten). */
  beta?: number;
}

/** An OpenBLAS library opened through Deno's FFI. */
export interface NativeBlas {
  /** The path (or name) the library was opened from. */
  readonly path: string;
  /** `openblas_get_config()`, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH Haswell ...". */
  readonly config?: string;
  /** Run one row-major `cblas_sgemm`; the arrays' extents are checked. */
  sgemm(call: SgemmCall): void;
  /** OpenBLAS's thread count, when the library reports it. */
  threads(): number | undefined;
  /** Set OpenBLAS's thread count; false if the library cannot. */
  setThreads(n: number): boolean;
  /** Close the library. Unregister native kernels that use it first. */
  close(): void;
}

/** Options of {@linkcode loadNativeBlas}. */
export interface LoadNativeBlasOptions {
  /** Paths (or names for the dynamic loader) to try, in order. */
  paths?: string[];
}

/** Where OpenBLAS usually lives, for this OS and CPU. */
function defaultPaths(): string[] {
  const { os, arch } = Deno.build;
  if (os === "linux") {
    const multiarch = arch === "aarch64"
      ? "aarch64-linux-gnu"
      : "x86_64-linux-gnu";
    const dir = `/usr/lib/${multiarch}`;
    return [
      // Debian/Ubuntu: an alternatives link to the pthread or openmp build.
      `${dir}/libopenblas.so.0`,
      `${dir}/openblas-pthread/libopenblas.so.0`,
      `${dir}/openblas-openmp/libopenblas.so.0`,
      // Fedora, Arch, and anything on the loader's search path.
      "/usr/lib64/libopenblas.so.0",
      "/usr/lib/libopenblas.so.0",
      "libopenblas.so.0",
    ];
  }
  if (os === "darwin") {
    return [
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
      "/usr/local/opt/openblas/lib/libopenblas.dylib",
    ];
  }
  if (os === "windows") return ["libopenblas.dll"];
  return [];
}

function granted(desc: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/** `SEQSSL_BLAS`, if the env permission for it is granted (never prompts). */
function envOverride(): string | undefined {
  if (!granted({ name: "env", variable: "SEQSSL_BLAS" })) return undefined;
  const v = Deno.env.get("SEQSSL_BLAS")?.trim();
  return v === undefined || v === "" ? undefined : v;
}

function isAbsolute(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path);
}

function ffiGranted(path: string): boolean {
  return isAbsolute(path)
    ? granted({ name: "ffi", path })
    : granted({ name: "ffi" });
}

function checkExtent(
  what: string,
  arr: Float32Array,
  rows: number,
  cols: number,
  ld: number,
): void {
  if (ld < Math.max(1, cols)) {
    throw new Error(
      `sgemm: expected ld${what} >= ${Math.max(1, cols)}, found ${ld}`,
    );
  }
  const need = rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
  if (arr.length < need) {
    throw new Error(
      `sgemm: expected ${what} to hold at least ${need} floats ` +
        `(${rows} rows of ${cols}, stride ${ld}), found ${arr.length}`,
    );
  }
}

function wrap(lib: BlasLibrary, path: string): NativeBlas {
  const s = lib.symbols;
  const sgemm = (call: SgemmCall): void => {
    const { transA, transB, m, n, k, a, lda, b, ldb, c, ldc } = call;
    checkExtent("A", a, transA ? k : m, transA ? m : k, lda);
    checkExtent("B", b, transB ? n : k, transB ? k : n, ldb);
    checkExtent("C", c, m, n, ldc);
    s.cblas_sgemm(
      CBLAS_ROW_MAJOR,
      transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
      transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
      m,
      n,
      k,
      call.alpha ?? 1,
      a,
      lda,
      b,
      ldb,
      call.beta ?? 0,
      c,
      ldc,
    );
  };
  let config: string | undefined;
  if (s.openblas_get_config !== null) {
    const p = s.openblas_get_config();
    if (p !== null) config = Deno.UnsafePointerView.getCString(p);
  }
  let closed = false;
  const blas: NativeBlas = {
    path,
    config,
    sgemm,
    threads: () =>
      s.openblas_get_num_threads === null
        ? undefined
        : s.openblas_get_num_threads(),
    setThreads: (n: number): boolean => {
      if (s.openblas_set_num_threads === null) return false;
      if (!Number.isInteger(n) || n < 1) {
        throw new Error(
          `setThreads: expected a positive integer, found ${n}`,
        );
      }
      s.openblas_set_num_threads(n);
      return true;
    },
    close: (): void => {
      if (closed) return;
      closed = true;
      RAW.delete(blas);
      lib.close();
    },
  };
  RAW.set(blas, s.cblas_sgemm);
  return blas;
}

type RawSgemm = BlasLibrary["symbols"]["cblas_sgemm"];
/** The unchecked symbol, for the kernels' inner loop. */
const RAW = new WeakMap<NativeBlas, RawSgemm>();

/** A 2x3 by 3x2 product in every transpose combination: guards against ABI mismatches. */
function selfTest(blas: NativeBlas): boolean {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]); // [2,3]
  const at = new Float32Array([1, 4, 2, 5, 3, 6]); // [3,2] = a^T
  const b = new Float32Array([7, 8, 9, 10, 11, 12]); // [3,2]
  const bt = new Float32Array([7, 9, 11, 8, 10, 12]); // [2,3] = b^T
  const want = [58, 64, 139, 154];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const c = new Float32Array(4).fill(NaN);
      blas.sgemm({
        transA: ta,
        transB: tb,
        m: 2,
        n: 2,
        k: 3,
        a: ta ? at : a,
        lda: ta ? 2 : 3,
        b: tb ? bt : b,
        ldb: tb ? 3 : 2,
        c,
        ldc: 2,
      });
      if (c.some((v, i) => v !== want[i])) return false;
    }
  }
  return true;
}

/**
 * Open OpenBLAS through Deno's FFI. Returns `undefined`, without prompting or
 * printing, when `--allow-ffi` is not granted, when `SEQSSL_BLAS=off`, or
 * when no candidate opens, lacks `cblas_sgemm` or computes a wrong product.
 *
 * @example
 * ```ts
 * import { loadNativeBlas } from "./native_blas.ts";
 * const blas = loadNativeBlas();
 * if (blas) {
 *   const c = new Float32Array(1);
 *   blas.sgemm({
 *     transA: false, transB: false, m: 1, n: 1, k: 2,
 *     a: new Float32Array([1, 2]), lda: 2,
 *     b: new Float32Array([3, 4]), ldb: 1,
 *     c, ldc: 1,
 *   });
 *   if (c[0] !== 11) throw new Error(`expected 11, found ${c[0]}`);
 *   blas.close();
 * }
 * ```
 */
export function loadNativeBlas(
  opts: LoadNativeBlasOptions = {},
): NativeBlas | undefined {
  if (typeof Deno === "undefined" || typeof Deno.dlopen !== "function") {
    return undefined;
  }
  const override = envOverride();
  if (override !== undefined && /^(off|none|0|false)$/i.test(override)) {
    return undefined;
  }
  const candidates = override !== undefined
    ? [override]
    : opts.paths ?? defaultPaths();
  for (const path of candidates) {
    if (!ffiGranted(path)) continue;
    let lib: BlasLibrary;
    try {
      lib = Deno.dlopen(path, SYMBOLS);
    } catch {
      continue;
    }
    const blas = wrap(lib, path);
    let ok = false;
    try {
      ok = selfTest(blas);
    } catch {
      ok = false;
    }
    if (ok) return blas;
    blas.close();
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Kernels

/** The parts of tfjs's `BackendWasm` the native kernels use. */
interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

/**
 * Products with fewer multiply-adds than this stay on wasm by default. Zero:
 * measured here, the native path was never slower, even for a 2x2 by 2x2
 * product (3.6 us against wasm's 7 us; both are dominated by tfjs overhead).
 */
export const DEFAULT_MIN_NATIVE_MACS = 0;

/** Options of {@linkcode registerNativeMatMul}. */
export interface NativeMatMulOptions {
  /**
   * Matmuls with fewer multiply-adds (batch x M x N x K) than this run on
   * the previous (wasm) kernel. Default {@linkcode DEFAULT_MIN_NATIVE_MACS}.
   */
  minMacs?: number;
}

const NATIVE = Symbol.for("seqssl.nativeMatMul");
/** Same marker as kernel_fixes.ts uses, so it does not wrap these again. */
const FIXED = Symbol.for("seqssl.kernelFix");

interface NativeKernelFunc {
  (args: KernelArgs): TensorInfo | TensorInfo[];
  [NATIVE]: tf.KernelConfig;
  [FIXED]: true;
}

function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
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
  minMacs: number,
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
  if (batch * m * n * k < minMacs) return undefined;
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

function nativeBatchMatMul(
  raw: RawSgemm,
  previous: KernelFunc,
  minMacs: number,
): KernelFunc {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = args.attrs ?? {};
    const p = plan(
      a,
      b,
      attrs.transposeA === true,
      attrs.transposeB === true,
      minMacs,
    );
    if (p === undefined) return previous(args);
    return runNative(raw, args.backend as unknown as WasmBackendLike, a, b, p);
  };
}

/** Activations applied by a wasm unary kernel after the native product. */
const UNARY_ACTIVATIONS: Record<string, string> = {
  elu: "Elu",
  sigmoid: "Sigmoid",
  leakyrelu: "LeakyRelu",
};

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

function clampInPlace(c: Float32Array, hi: number): void {
  for (let i = 0; i < c.length; i++) {
    const v = c[i];
    if (v < 0) c[i] = 0;
    else if (v > hi) c[i] = hi;
  }
}

function nativeFusedMatMul(
  raw: RawSgemm,
  previous: KernelFunc,
  minMacs: number,
): KernelFunc {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { a, b, bias, preluActivationWeights } = args.inputs as {
      a: TensorInfo;
      b: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    const attrs = args.attrs ?? {};
    const activation = (attrs.activation ?? "linear") as string;
    const unary = UNARY_ACTIVATIONS[activation];
    if (
      preluActivationWeights != null ||
      (activation !== "linear" && activation !== "relu" &&
        activation !== "relu6" && unary === undefined)
    ) {
      return previous(args);
    }
    const p = plan(
      a,
      b,
      attrs.transposeA === true,
      attrs.transposeB === true,
      minMacs,
    );
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
    const out = runNative(raw, backend, a, b, p, init);
    if (activation === "relu" || activation === "relu6") {
      const off = backend.dataIdMap.get(out.dataId)!.memoryOffset;
      const size = sizeOf(out.shape);
      const c = new Float32Array(backend.wasm.HEAPU8.buffer, off, size);
      clampInPlace(c, activation === "relu6" ? 6 : Infinity);
    } else if (unary !== undefined) {
      const y = tf.getKernel(unary, "wasm").kernelFunc({
        inputs: { x: out },
        backend: args.backend,
        attrs: { alpha: (attrs.leakyreluAlpha as number | undefined) ?? 0.2 },
      }) as TensorInfo;
      (args.backend as unknown as {
        disposeData(dataId: object): boolean;
      }).disposeData(out.dataId);
      return y;
    }
    return out;
  };
}

const KERNELS = ["BatchMatMul", "_FusedMatMul"] as const;

function currentNative(name: string): tf.KernelConfig | undefined {
  const k = tf.getKernel(name, "wasm") as tf.KernelConfig | undefined;
  if (k === undefined) return undefined;
  return (k.kernelFunc as unknown as Partial<NativeKernelFunc>)[NATIVE];
}

function replaceKernel(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName) !== undefined) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
}

/**
 * Replace the `wasm` backend's `BatchMatMul` and `_FusedMatMul` kernels with
 * ones that call `blas` (see the module notes for what they cover; the rest
 * goes to the kernel registered before, which gets seqssl's kernel fixes
 * first). Calling it again swaps in the new `blas` and options. Returns
 * false if the wasm backend's kernels are not registered.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   loadNativeBlas,
 *   registerNativeMatMul,
 *   unregisterNativeMatMul,
 * } from "./native_blas.ts";
 * await tf.setBackend("wasm");
 * const blas = loadNativeBlas();
 * if (blas && registerNativeMatMul(blas)) {
 *   const c = tf.matMul(tf.ones([2, 3]), tf.ones([4, 3]), false, true);
 *   console.log(await c.data()); // 3 everywhere
 *   unregisterNativeMatMul();
 *   blas.close();
 * }
 * ```
 */
export function registerNativeMatMul(
  blas: NativeBlas,
  opts: NativeMatMulOptions = {},
): boolean {
  const raw = RAW.get(blas);
  if (raw === undefined) {
    throw new Error(
      "registerNativeMatMul: expected an open NativeBlas from loadNativeBlas, found a closed or foreign one",
    );
  }
  const minMacs = opts.minMacs ?? DEFAULT_MIN_NATIVE_MACS;
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
    const f = make(raw, prev.kernelFunc, minMacs) as NativeKernelFunc;
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
 * unregisterNativeMatMul(); // false: nothing was registered
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
 * import { nativeMatMulActive } from "./native_blas.ts";
 * console.log(nativeMatMulActive());
 * ```
 */
export function nativeMatMulActive(): boolean {
  return KERNELS.every((name) => currentNative(name) !== undefined);
}
