/**
 * Kernel fixes for tfjs 4.22 backends, registered with tfjs's kernel registry.
 *
 * - `UnsortedSegmentSum` (the gradient of `tf.gather`, i.e. of embedding
 *   lookups): the `wasm` backend has none, so training an embedding fails
 *   with "Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'".
 *   The kernel registered here is built on wasm's own `ScatterNd`, which sums
 *   duplicate ids. The `cpu` backend's shipped kernel runs one masked sum over
 *   the whole gradient per segment (O(segments x gradient) time and memory,
 *   gigabytes for a 12,000-item table); it is replaced by one linear pass.
 * - `BatchMatMul` and `_FusedMatMul` on `wasm`: with `transposeA` or
 *   `transposeB` set, tfjs's wasm kernel falls back to a loop about 10x slower
 *   than its no-transpose path, and backpropagation through a matmul always
 *   sets a transpose flag. The wrapped kernels first materialise the
 *   transposed operand with wasm's `Transpose` kernel, then call the original
 *   kernel without transpose flags.
 *
 * - `Identity` (`tf.clone`) and `Transpose` with a permutation that moves no
 *   data, on `wasm`: tfjs's wasm kernels copy the tensor; the kernels here
 *   share its memory (a reference count, as the cpu backend does), tensors
 *   being immutable. Recording a gradient tape clones every input an op
 *   saves for its backward pass, and the gradient of `tf.gather` transposes
 *   by the identity permutation: with a 10^6-item table that was 256 MiB per
 *   copy, six copies per step of the sampled softmax.
 *
 * Segment ids outside `[0, numSegments)` are dropped, as in TensorFlow.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import {
  type CpuBackendLike,
  isFixed,
  type KernelArgs,
  type KernelFunc,
  markFixed,
  replaceKernel,
  sizeOf,
  type TensorInfo,
  type WasmBackendLike,
} from "./_kernel_util.ts";

/** Output shape and flat sizes of a segment sum; validates the shapes. */
function segmentShapes(
  x: TensorInfo,
  segmentIds: TensorInfo,
  numSegments: number,
): { outShape: number[]; n: number; inner: number } {
  const idRank = segmentIds.shape.length;
  if (x.shape.length < 1 || idRank < 1 || idRank > x.shape.length) {
    throw new Error(
      `UnsortedSegmentSum: expected x of rank >= 1 and segmentIds of rank 1..rank(x), ` +
        `found x ${JSON.stringify(x.shape)} and segmentIds ${
          JSON.stringify(segmentIds.shape)
        }`,
    );
  }
  for (let i = 0; i < idRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(
        `UnsortedSegmentSum: expected segmentIds shape to be a prefix of x shape, ` +
          `found ${JSON.stringify(segmentIds.shape)} and ${
            JSON.stringify(x.shape)
          }`,
      );
    }
  }
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(
      `UnsortedSegmentSum: expected a non-negative integer numSegments, found ${numSegments}`,
    );
  }
  const innerShape = x.shape.slice(idRank);
  return {
    outShape: [numSegments, ...innerShape],
    n: sizeOf(segmentIds.shape),
    inner: sizeOf(innerShape),
  };
}

/** One linear pass: `out[ids[i]] += x[i]` row by row; drops ids out of range. */
function segmentSumInto(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  n: number,
  inner: number,
  numSegments: number,
  out: Float32Array | Int32Array,
): void {
  for (let i = 0; i < n; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner, xi = i * inner;
    for (let j = 0; j < inner; j++) out[o + j] += x[xi + j];
  }
}

function newArray(dtype: tf.DataType, size: number): Float32Array | Int32Array {
  return dtype === "int32" ? new Int32Array(size) : new Float32Array(size);
}

function cpuSegmentSum(original: KernelFunc | undefined): KernelFunc {
  return markFixed((args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x, segmentIds } = args.inputs as {
      x: TensorInfo;
      segmentIds: TensorInfo;
    };
    const numSegments = args.attrs?.numSegments as number;
    if (
      (x.dtype !== "float32" && x.dtype !== "int32") || original === undefined
    ) {
      if (original === undefined) {
        throw new Error(
          `UnsortedSegmentSum (cpu): expected float32 or int32 x, found ${x.dtype}`,
        );
      }
      return original(args);
    }
    const backend = args.backend as CpuBackendLike;
    const { outShape, n, inner } = segmentShapes(x, segmentIds, numSegments);
    const xv = backend.data.get(x.dataId).values as ArrayLike<number>;
    const idv = backend.data.get(segmentIds.dataId).values as ArrayLike<number>;
    const out = newArray(x.dtype, sizeOf(outShape));
    segmentSumInto(xv, idv, n, inner, numSegments, out);
    return backend.makeTensorInfo(outShape, x.dtype, out);
  });
}

function wasmSegmentSum(): KernelFunc {
  return markFixed((args: KernelArgs): TensorInfo => {
    const { x, segmentIds } = args.inputs as {
      x: TensorInfo;
      segmentIds: TensorInfo;
    };
    const numSegments = args.attrs?.numSegments as number;
    if (x.dtype !== "float32" && x.dtype !== "int32") {
      throw new Error(
        `UnsortedSegmentSum (wasm): expected float32 or int32 x, found ${x.dtype}`,
      );
    }
    if (segmentIds.dtype !== "int32") {
      throw new Error(
        `UnsortedSegmentSum (wasm): expected int32 segmentIds, found ${segmentIds.dtype}`,
      );
    }
    const backend = args.backend as WasmBackendLike;
    const { outShape, n, inner } = segmentShapes(x, segmentIds, numSegments);
    const outSize = sizeOf(outShape);
    const ids = backend.typedArrayFromHeap(segmentIds);
    let inRange = true;
    for (let i = 0; i < n; i++) {
      if (ids[i] < 0 || ids[i] >= numSegments) {
        inRange = false;
        break;
      }
    }
    if (!inRange || n === 0 || inner === 0) {
      // Rare: ScatterNd would write out of bounds, or there is nothing to
      // scatter (ScatterNd leaves its output uninitialised then).
      const out = newArray(x.dtype, outSize);
      segmentSumInto(
        backend.typedArrayFromHeap(x),
        ids,
        n,
        inner,
        numSegments,
        out,
      );
      return backend.makeOutput(outShape, x.dtype, undefined, out);
    }
    const reshape = tf.getKernel("Reshape", "wasm").kernelFunc;
    const scatterNd = tf.getKernel("ScatterNd", "wasm").kernelFunc;
    const indices = reshape({
      inputs: { x: segmentIds },
      backend: args.backend,
      attrs: { shape: [n, 1] },
    }) as TensorInfo;
    const updates = reshape({
      inputs: { x },
      backend: args.backend,
      attrs: { shape: [n, inner] },
    }) as TensorInfo;
    const flat = scatterNd({
      inputs: { indices, updates },
      backend: args.backend,
      attrs: { shape: [numSegments, inner] },
    }) as TensorInfo;
    const out = reshape({
      inputs: { x: flat },
      backend: args.backend,
      attrs: { shape: outShape },
    }) as TensorInfo;
    backend.disposeData(indices.dataId);
    backend.disposeData(updates.dataId);
    backend.disposeData(flat.dataId);
    return out;
  });
}

/** The wasm backend's reference count, which sharing kernels raise. */
interface SharingBackend {
  incRef(dataId: object): void;
}

/** `x` itself under `shape`: its memory shared, not copied. */
function share(
  backend: object,
  x: TensorInfo,
  shape: readonly number[],
): TensorInfo {
  (backend as SharingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...shape], dtype: x.dtype };
}

/** Identity on wasm sharing the input's memory (strings: the original). */
function wasmSharedIdentity(original: KernelFunc): KernelFunc {
  return markFixed((args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === "string") return original(args);
    return share(args.backend, x, x.shape);
  });
}

/**
 * Whether permuting `shape` by `perm` leaves the data in place: the
 * dimensions larger than 1 keep their order.
 */
function permMovesNothing(
  shape: readonly number[],
  perm: readonly number[],
): boolean {
  let last = -1;
  for (const axis of perm) {
    if (shape[axis] === 1) continue;
    if (axis < last) return false;
    last = axis;
  }
  return true;
}

/** Transpose on wasm: a permutation that moves no data shares the input. */
function wasmSharedNoOpTranspose(original: KernelFunc): KernelFunc {
  return markFixed((args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const perm = args.attrs?.perm as number[] | undefined;
    if (
      x.dtype === "string" || perm === undefined ||
      perm.length !== x.shape.length || !permMovesNothing(x.shape, perm)
    ) {
      return original(args);
    }
    return share(args.backend, x, perm.map((a) => x.shape[a]));
  });
}

/** Transpose the last two dimensions with wasm's Transpose kernel. */
function transposeLastTwo(x: TensorInfo, backend: object): TensorInfo {
  const rank = x.shape.length;
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  const transpose = tf.getKernel("Transpose", "wasm").kernelFunc;
  return transpose({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
}

function wasmNoTransposeMatMul(original: KernelFunc): KernelFunc {
  return markFixed((args: KernelArgs): TensorInfo | TensorInfo[] => {
    const attrs = args.attrs ?? {};
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const ta = attrs.transposeA === true, tb = attrs.transposeB === true;
    if (
      (!ta && !tb) || a.dtype !== "float32" || b.dtype !== "float32" ||
      a.shape.length < 2 || b.shape.length < 2
    ) {
      return original(args);
    }
    const backend = args.backend as WasmBackendLike;
    const a2 = ta ? transposeLastTwo(a, backend) : a;
    const b2 = tb ? transposeLastTwo(b, backend) : b;
    try {
      return original({
        inputs: { ...args.inputs, a: a2, b: b2 },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      if (ta) backend.disposeData(a2.dataId);
      if (tb) backend.disposeData(b2.dataId);
    }
  });
}

/**
 * `Sum` over a leading run of axes (0..k-1) of a float32 tensor: column sums
 * of the `[outer, inner]` view, one pass over memory in row order. tfjs-wasm
 * transposes such inputs first, which made the bias and LayerNorm gradients
 * (sums over every token) 15% of a BCE training step. Other reductions go to
 * the original kernel.
 */
function wasmLeadingSum(original: KernelFunc): KernelFunc {
  return markFixed((args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const rank = x.shape.length;
    const attrs = args.attrs ?? {};
    const raw = attrs.axis as number | number[] | null | undefined;
    const axes = (raw === null || raw === undefined
      ? Array.from({ length: rank }, (_, i) =>
        i)
      : typeof raw === "number"
      ? [raw]
      : [...raw]).map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank &&
      axes.every((a, i) => a === i);
    if (x.dtype !== "float32" || !leading) return original(args);
    const k = axes.length;
    const outer = sizeOf(x.shape.slice(0, k));
    const inner = sizeOf(x.shape.slice(k));
    const backend = args.backend as WasmBackendLike;
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    const acc = new Float64Array(inner);
    for (let i = 0; i < outer; i++) {
      const base = i * inner;
      for (let j = 0; j < inner; j++) acc[j] += xv[base + j];
    }
    const outShape = attrs.keepDims === true
      ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)]
      : x.shape.slice(k);
    return backend.makeOutput(
      outShape,
      "float32",
      undefined,
      Float32Array.from(acc),
    );
  });
}

/**
 * `GatherV2` of whole rows (axis 0, no batch dimensions, int32 indices in
 * range): one typed-array copy per row straight into the output's heap
 * memory. tfjs-wasm's kernel moved about 100 MB/s (an embedding lookup of a
 * 12,800-position batch took 18 ms); this is a memory copy. Anything else
 * (other axes, out-of-range indices) goes to the original kernel.
 */
function wasmGatherRows(original: KernelFunc): KernelFunc {
  return markFixed((args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x, indices } = args.inputs as {
      x: TensorInfo;
      indices: TensorInfo;
    };
    const attrs = args.attrs ?? {};
    const rank = x.shape.length;
    const rawAxis = (attrs.axis as number | undefined) ?? 0;
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    if (
      axis !== 0 || ((attrs.batchDims as number | undefined) ?? 0) !== 0 ||
      rank < 1 || indices.dtype !== "int32" ||
      (x.dtype !== "float32" && x.dtype !== "int32")
    ) {
      return original(args);
    }
    const backend = args.backend as WasmBackendLike;
    const rows = x.shape[0];
    const inner = sizeOf(x.shape.slice(1));
    const idx0 = backend.typedArrayFromHeap(indices) as Int32Array;
    const n = idx0.length;
    for (let i = 0; i < n; i++) {
      if (idx0[i] < 0 || idx0[i] >= rows) return original(args);
    }
    const out = backend.makeOutput(
      [...indices.shape, ...x.shape.slice(1)],
      x.dtype,
    );
    // Views only now: allocating the output may have grown the heap.
    const xv = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const idx = backend.typedArrayFromHeap(indices) as Int32Array;
    const ov = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
    for (let i = 0; i < n; i++) {
      const r = idx[i] * inner;
      ov.set(xv.subarray(r, r + inner), i * inner);
    }
    return out;
  });
}

let registered = false;

/**
 * Register seqssl's kernel fixes with tfjs (idempotent; call before or after
 * `tf.setBackend`): `UnsortedSegmentSum` for `wasm` (new) and `cpu` (a linear
 * replacement), `BatchMatMul` / `_FusedMatMul` for `wasm` wrapped so that
 * transpose flags take the fast no-transpose path, `Sum` for `wasm` with a
 * one-pass path for sums over leading axes, `GatherV2` for `wasm` with a
 * row-copy path, and `Identity` and data-preserving `Transpose` for `wasm`
 * sharing their input's memory.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerKernelFixes } from "./kernel_fixes.ts";
 * registerKernelFixes();
 * await tf.setBackend("cpu");
 * const table = tf.variable(tf.ones([5, 2]));
 * const grad = tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d([1, 1, 3], "int32")).sum());
 * const g = grad(table);
 * // row 1 is gathered twice and row 3 once; the others not at all
 * if ((await g.data()).join() !== "0,0,2,2,0,0,1,1,0,0") throw new Error();
 * ```
 */
export function registerKernelFixes(): void {
  if (registered) return;
  registered = true;
  registerReduceGradients();
  if (!isFixed("UnsortedSegmentSum", "cpu")) {
    const original = tf.getKernel("UnsortedSegmentSum", "cpu") as
      | tf.KernelConfig
      | undefined;
    replaceKernel({
      kernelName: "UnsortedSegmentSum",
      backendName: "cpu",
      kernelFunc: cpuSegmentSum(original?.kernelFunc),
    });
  }
  if (!isFixed("UnsortedSegmentSum", "wasm")) {
    replaceKernel({
      kernelName: "UnsortedSegmentSum",
      backendName: "wasm",
      kernelFunc: wasmSegmentSum(),
    });
  }
  const gather = tf.getKernel("GatherV2", "wasm") as
    | tf.KernelConfig
    | undefined;
  if (gather !== undefined && !isFixed("GatherV2", "wasm")) {
    replaceKernel({ ...gather, kernelFunc: wasmGatherRows(gather.kernelFunc) });
  }
  for (
    const [name, wrap] of [
      ["Identity", wasmSharedIdentity],
      ["Transpose", wasmSharedNoOpTranspose],
    ] as const
  ) {
    const original = tf.getKernel(name, "wasm") as tf.KernelConfig | undefined;
    if (original === undefined || isFixed(name, "wasm")) continue;
    replaceKernel({ ...original, kernelFunc: wrap(original.kernelFunc) });
  }
  const sum = tf.getKernel("Sum", "wasm") as tf.KernelConfig | undefined;
  if (sum !== undefined && !isFixed("Sum", "wasm")) {
    replaceKernel({ ...sum, kernelFunc: wasmLeadingSum(sum.kernelFunc) });
  }
  for (const name of ["BatchMatMul", "_FusedMatMul"]) {
    const original = tf.getKernel(name, "wasm") as tf.KernelConfig | undefined;
    if (original === undefined || isFixed(name, "wasm")) continue;
    replaceKernel({
      ...original,
      kernelFunc: wasmNoTransposeMatMul(original.kernelFunc),
    });
  }
}

/**
 * The gradients of `Sum` and `Mean` broadcast `dy` to the input's shape on
 * the backend (`tf.broadcastTo`, a device kernel) instead of multiplying it
 * by `tf.ones(x.shape)`, which tfjs builds on the host and uploads: on
 * webgpu that was one activation-sized upload per reduction per step (BCE's
 * `[positions, d]` dot products, InfoNCE's positive pairs). The values are
 * the same bits (`dy * 1 = dy`; Mean then divides by the reduced size as
 * before).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerKernelFixes } from "./kernel_fixes.ts";
 * registerKernelFixes();
 * await tf.setBackend("cpu");
 * const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
 * const w = tf.tensor1d([1, 10]);
 * const gs = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.sum(x, 1), w)))(x);
 * if ((await gs.data()).join() !== "1,1,1,10,10,10") throw new Error();
 * const gm = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.mean(x, 1), w)))(x);
 * const want = [1, 1, 1, 10, 10, 10].map((v) => Math.fround(v / 3));
 * if ((await gm.data()).join() !== want.join()) throw new Error();
 * ```
 */
function registerReduceGradients(): void {
  const expanded = (dy: tf.Tensor, x: tf.Tensor, axis: unknown) => {
    const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
    const shape = x.shape.slice();
    for (const a of axes) shape[a] = 1;
    return { axes, dy: tf.broadcastTo(tf.reshape(dy, shape), x.shape) };
  };
  tf.registerGradient({
    kernelName: "Sum",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return { x: () => expanded(dy as tf.Tensor, x, attrs.axis).dy };
    },
  });
  tf.registerGradient({
    kernelName: "Mean",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return {
        x: () => {
          const e = expanded(dy as tf.Tensor, x, attrs.axis);
          const size = e.axes.reduce((n, a) => n * x.shape[a], 1);
          return tf.div(e.dy, size);
        },
      };
    },
  });
}
