/**
 * Counting what crosses between the host and a compute backend: tfjs kernel
 * calls, tensors written from host arrays and read back, and on WebGPU the
 * device's own traffic (compute dispatches, queue submits, bytes written
 * into device buffers, buffers mapped for reading, which are the points
 * where the host waits for the device).
 *
 * The counters wrap methods of the WebGPU prototypes (`GPUQueue`,
 * `GPUComputePassEncoder`, `GPUBuffer`, `GPUDevice`) and of the active
 * tfjs engine and backend, so they see tfjs's own kernels and seqssl's
 * WGSL kernels alike. Install once; read with {@linkcode snapshotCounters}
 * and subtract two snapshots with {@linkcode counterDelta}.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Cumulative counts since {@linkcode installCounters}. */
export interface Counters {
  /** tfjs kernels run (every backend; forward and gradient ops alike). */
  kernels: number;
  /** Bytes of tensors created from host arrays (`tf.tensor` and co.). */
  hostWriteBytes: number;
  /** Tensors created from host arrays. */
  hostWrites: number;
  /** Largest single host write, bytes. */
  maxHostWrite: number;
  /** Bytes of tensor values read back to the host (`data`, `dataSync`). */
  hostReadBytes: number;
  /** Tensor read-backs (each one waits for the backend: a sync point). */
  hostReads: number;
  /** WebGPU compute dispatches. */
  dispatches: number;
  /** WebGPU queue submits. */
  submits: number;
  /**
   * Bytes written into WebGPU data buffers: `queue.writeBuffer` into
   * non-uniform buffers and buffers created mapped for writing.
   */
  uploadBytes: number;
  /** Uploads counted in `uploadBytes`. */
  uploads: number;
  /** Largest single upload, bytes. */
  maxUpload: number;
  /** Bytes written into uniform buffers (kernel parameters). */
  uniformBytes: number;
  /** Bytes of WebGPU buffers mapped for reading. */
  readbackBytes: number;
  /** WebGPU buffers mapped for reading: host waits on the device. */
  readbacks: number;
}

const ZERO: Counters = {
  kernels: 0,
  hostWriteBytes: 0,
  hostWrites: 0,
  maxHostWrite: 0,
  hostReadBytes: 0,
  hostReads: 0,
  dispatches: 0,
  submits: 0,
  uploadBytes: 0,
  uploads: 0,
  maxUpload: 0,
  uniformBytes: 0,
  readbackBytes: 0,
  readbacks: 0,
};

const counts: Counters = { ...ZERO };
/** Sizes of the uploads (bytes -> how many), for finding what crossed. */
const uploadSizes = new Map<number, number>();
let gpuPatched = false;
let enginePatched = false;

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => any;

function wrap(
  proto: Record<string, unknown>,
  name: string,
  before: (self: unknown, args: unknown[]) => void,
): void {
  const orig = proto[name] as AnyFn | undefined;
  if (typeof orig !== "function") return;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    before(this, args);
    return orig.apply(this, args);
  };
}

function noteUpload(bytes: number): void {
  counts.uploadBytes += bytes;
  counts.uploads++;
  if (bytes > counts.maxUpload) counts.maxUpload = bytes;
  uploadSizes.set(bytes, (uploadSizes.get(bytes) ?? 0) + 1);
}

function byteLength(v: unknown): number {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (Array.isArray(v)) return v.length * 4;
  return 0;
}

function patchWebGpu(): void {
  if (gpuPatched) return;
  const g = globalThis as unknown as Record<
    string,
    { prototype: Record<string, unknown> } | undefined
  >;
  if (!g.GPUQueue || !g.GPUComputePassEncoder || !g.GPUBuffer) return;
  gpuPatched = true;
  const UNIFORM = 0x40, MAP_READ = 0x1;
  wrap(g.GPUQueue.prototype, "writeBuffer", (_self, args) => {
    const buffer = args[0] as GPUBuffer;
    const data = args[2];
    const elemBytes = ArrayBuffer.isView(data)
      ? (data as unknown as { BYTES_PER_ELEMENT?: number })
        .BYTES_PER_ELEMENT ?? 1
      : 1;
    const size = args[4] !== undefined
      ? (args[4] as number) * elemBytes
      : byteLength(data) - ((args[3] as number | undefined) ?? 0) * elemBytes;
    if ((buffer.usage & UNIFORM) !== 0) counts.uniformBytes += size;
    else noteUpload(size);
  });
  wrap(g.GPUQueue.prototype, "submit", () => {
    counts.submits++;
  });
  wrap(g.GPUComputePassEncoder.prototype, "dispatchWorkgroups", () => {
    counts.dispatches++;
  });
  wrap(g.GPUComputePassEncoder.prototype, "dispatchWorkgroupsIndirect", () => {
    counts.dispatches++;
  });
  wrap(g.GPUBuffer.prototype, "mapAsync", (self, args) => {
    const b = self as GPUBuffer;
    if (((args[0] as number) & MAP_READ) !== 0) {
      counts.readbacks++;
      counts.readbackBytes += (args[2] as number | undefined) ??
        b.size - ((args[1] as number | undefined) ?? 0);
    }
  });
  if (g.GPUDevice) {
    wrap(g.GPUDevice.prototype, "createBuffer", (_self, args) => {
      const desc = args[0] as GPUBufferDescriptor;
      // tfjs uploads a tensor through a buffer created mapped (its values
      // are copied into the mapping); reading buffers are never created so.
      if (desc.mappedAtCreation && (desc.usage & MAP_READ) === 0) {
        noteUpload(desc.size);
      }
    });
  }
}

function noteRead(values: unknown): void {
  counts.hostReads++;
  counts.hostReadBytes += byteLength(values);
}

function patchEngine(): void {
  if (enginePatched) return;
  enginePatched = true;
  const engine = tf.engine() as unknown as Record<string, AnyFn>;
  wrap(engine, "runKernel", () => {
    counts.kernels++;
  });
  // Tensors made from host values (tf.tensor & co.) go through makeTensor.
  wrap(engine, "makeTensor", (_self, args) => {
    const n = byteLength(args[0]);
    counts.hostWrites++;
    counts.hostWriteBytes += n;
    if (n > counts.maxHostWrite) counts.maxHostWrite = n;
  });
  const readSync = engine.readSync;
  engine.readSync = function (this: unknown, ...args: unknown[]) {
    const out = readSync.apply(this, args);
    noteRead(out);
    return out;
  };
  const read = engine.read;
  engine.read = async function (this: unknown, ...args: unknown[]) {
    const out = await read.apply(this, args);
    noteRead(out);
    return out;
  };
}

/**
 * Start counting: wraps the WebGPU prototypes (once, where WebGPU exists)
 * and the tfjs engine (once; it serves every backend).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { counterDelta, installCounters, snapshotCounters } from "./counters.ts";
 * await tf.setBackend("cpu");
 * installCounters();
 * const before = snapshotCounters();
 * const t = tf.tensor1d([1, 2, 3]);
 * tf.add(t, t).dataSync();
 * const d = counterDelta(before, snapshotCounters());
 * if (d.hostWriteBytes !== 12 || d.hostReads !== 1 || d.kernels !== 1) {
 *   throw new Error(JSON.stringify(d));
 * }
 * ```
 */
export function installCounters(): void {
  patchWebGpu();
  patchEngine();
}

/**
 * A copy of the counts so far.
 *
 * @example
 * ```ts
 * import { snapshotCounters } from "./counters.ts";
 * const s = snapshotCounters();
 * // nothing is counted before installCounters()
 * if (Object.values(s).some((v) => v !== 0)) throw new Error(JSON.stringify(s));
 * s.kernels = 5; // a copy: the counts stay as they are
 * if (snapshotCounters().kernels !== 0) throw new Error();
 * ```
 */
export function snapshotCounters(): Counters {
  return { ...counts };
}

/**
 * What happened between two snapshots (`max*` fields: the largest single
 * transfer seen since counting started, not only between the two).
 *
 * @example
 * ```ts
 * import { counterDelta, snapshotCounters } from "./counters.ts";
 * const a = snapshotCounters();
 * const b = { ...a, dispatches: a.dispatches + 3 };
 * if (counterDelta(a, b).dispatches !== 3) throw new Error();
 * ```
 */
export function counterDelta(before: Counters, after: Counters): Counters {
  const out = { ...ZERO };
  for (const k of Object.keys(ZERO) as (keyof Counters)[]) {
    out[k] = k.startsWith("max") ? after[k] : after[k] - before[k];
  }
  return out;
}

/**
 * Forget the largest-transfer maxima and the upload-size histogram (the
 * running totals stay: use {@linkcode counterDelta}).
 *
 * @example
 * ```ts
 * import { resetMaxima, snapshotCounters } from "./counters.ts";
 * resetMaxima();
 * if (snapshotCounters().maxUpload !== 0) throw new Error();
 * ```
 */
export function resetMaxima(): void {
  counts.maxUpload = 0;
  counts.maxHostWrite = 0;
  uploadSizes.clear();
}

/**
 * WebGPU uploads since the last {@linkcode resetMaxima}, largest first, as
 * `[bytes, count]` pairs.
 *
 * @example
 * ```ts
 * import { resetMaxima, uploadHistogram } from "./counters.ts";
 * resetMaxima();
 * if (uploadHistogram().length !== 0) throw new Error("expected no uploads after a reset");
 * ```
 */
export function uploadHistogram(): [number, number][] {
  return [...uploadSizes.entries()].sort((a, b) => b[0] - a[0]);
}
