/**
 * Finding and opening OpenBLAS through Deno's FFI: the library behind the
 * native matmul kernels of `native_blas.ts`.
 *
 * This is optional. It needs the `--allow-ffi` permission and an OpenBLAS
 * shared library (Debian/Ubuntu: `apt-get install libopenblas0-pthread`);
 * without either, {@linkcode loadNativeBlas} returns `undefined`. The
 * environment variable `SEQSSL_BLAS`, when readable, names the library to
 * load instead of the usual places, or turns the feature off with `off`. A
 * library that opens is checked with a small product in every transpose
 * combination before it is returned.
 *
 * @module
 */
/** `CblasRowMajor`: the matrices' layout in every call here. */
export const CBLAS_ROW_MAJOR = 101;
/** `CblasNoTrans`: use the operand as stored. */
export const CBLAS_NO_TRANS = 111;
/** `CblasTrans`: use the operand's transpose. */
export const CBLAS_TRANS = 112;

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
  /** Run one row-major `cblas_sgemm`; the arrays' extents are checked. */
  sgemm(call: SgemmCall): void;
  /** OpenBLAS's thread count, when the library reports it. */
  threads(): number | undefined;
  /** Set OpenBLAS's thread count; false if the library cannot. */
  setThreads(n: number): boolean;
  /** Close the library. Unregister native kernels that use it first. */
  close(): void;
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

/**
 * `cblas_sgemm` itself, unchecked: order, transA, transB, M, N, K, alpha, A,
 * lda, B, ldb, beta, C, ldc.
 */
export type RawSgemm = BlasLibrary["symbols"]["cblas_sgemm"];

const RAW = new WeakMap<NativeBlas, RawSgemm>();

/**
 * The unchecked `cblas_sgemm` of an open library from
 * {@linkcode loadNativeBlas}, for kernels' inner loops; undefined once the
 * library is closed, or for an object that did not come from it.
 *
 * @example
 * ```ts
 * import { loadNativeBlas, rawSgemm } from "./openblas.ts";
 * const blas = loadNativeBlas();
 * if (blas) {
 *   if (rawSgemm(blas) === undefined) throw new Error("open: expected the symbol");
 *   blas.close();
 *   if (rawSgemm(blas) !== undefined) throw new Error("closed: expected none");
 * }
 * ```
 */
export function rawSgemm(blas: NativeBlas): RawSgemm | undefined {
  return RAW.get(blas);
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
  let closed = false;
  const blas: NativeBlas = {
    path,
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
 * import { loadNativeBlas } from "./openblas.ts";
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
export function loadNativeBlas(): NativeBlas | undefined {
  if (typeof Deno === "undefined" || typeof Deno.dlopen !== "function") {
    return undefined;
  }
  const override = envOverride();
  if (override !== undefined && /^(off|none|0|false)$/i.test(override)) {
    return undefined;
  }
  const candidates = override !== undefined ? [override] : defaultPaths();
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
