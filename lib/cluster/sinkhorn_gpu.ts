/**
 * Sinkhorn-Knopp on WebGPU: the WGSL kernel of `kernels/sinkhorn.ts`, which
 * computes what `sinkhornKnopp` (`sinkhorn.ts`) computes, in float32.
 *
 * Two ways in:
 * - {@linkcode SinkhornGpu.run}: scores from the host, Q read back (async);
 *   for tests and tools, on any device.
 * - {@linkcode sinkhornOnTfjsWebGpu}: a tfjs tensor on the `webgpu` backend
 *   in, a tfjs tensor out, synchronously and without a read-back: the
 *   scores' buffer is bound directly (`dataToGPU`), the pass is submitted to
 *   the backend's device queue, and the result is copied into a tfjs-owned
 *   buffer. Queue order makes this safe with tfjs's own submissions. The
 *   output is not on any gradient tape (Q is a target, computed without
 *   gradient).
 *
 * The pipeline is compiled once per device; buffers are reused while the
 * matrix size stays the same.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "../util/tensor_types.ts";
import {
  SINKHORN_PARAMS_BYTES,
  SINKHORN_WGSL,
} from "../../kernels/sinkhorn.ts";
import { type SinkhornOptions, sinkhornOptions } from "./_sinkhorn_options.ts";

// GPUBufferUsage / GPUMapMode values, spelled out so that importing this
// module does not need the WebGPU globals.
const STORAGE = 0x80;
const COPY_DST = 0x8;
const COPY_SRC = 0x4;
const UNIFORM = 0x40;
const MAP_READ = 0x1;
const MAP_MODE_READ = 0x1;

/** The matrix shape of a Sinkhorn problem. */
export interface SinkhornShape {
  /** Rows (embeddings, B). */
  rows: number;
  /** Columns (prototypes, K). */
  cols: number;
}

const byDevice = new WeakMap<GPUDevice, SinkhornGpu>();

/**
 * The Sinkhorn-Knopp kernel compiled on one WebGPU device.
 *
 * @example
 * ```ts
 * import { SinkhornGpu } from "./sinkhorn_gpu.ts";
 * import { probeWebGpu } from "../backend/webgpu_probe.ts";
 * if (await probeWebGpu()) {
 *   const gpu = await SinkhornGpu.create();
 *   const q = await gpu.run(new Float32Array([1, 0, 1, 0]), { rows: 2, cols: 2 }, {
 *     iterations: 20,
 *   });
 *   if (Math.abs(q[0] + q[2] - 0.5) > 1e-4) throw new Error(String(q));
 *   gpu.destroy();
 * }
 * ```
 */
export class SinkhornGpu {
  /** The device the kernel runs on. */
  readonly device: GPUDevice;
  readonly #owns: boolean;
  readonly #pipeline: GPUComputePipeline;
  readonly #params: GPUBuffer;
  #q: GPUBuffer | undefined;
  #dual: GPUBuffer | undefined;
  #upload: GPUBuffer | undefined;
  #destroyed = false;

  private constructor(
    device: GPUDevice,
    owns: boolean,
    module: GPUShaderModule,
  ) {
    this.device = device;
    this.#owns = owns;
    this.#pipeline = device.createComputePipeline({
      label: "seqssl sinkhorn",
      layout: "auto",
      compute: { module, entryPoint: "sinkhorn" },
    });
    this.#params = device.createBuffer({
      label: "seqssl sinkhorn params",
      size: SINKHORN_PARAMS_BYTES,
      usage: UNIFORM | COPY_DST,
    });
  }

  /**
   * Compile the kernel on `device`, or on a new device from the default
   * adapter (which {@linkcode SinkhornGpu.destroy} then destroys too); fails
   * with the compiler's messages if the WGSL does not compile.
   *
   * @example
   * ```ts
   * import { SinkhornGpu } from "./sinkhorn_gpu.ts";
   * import { probeWebGpu } from "../backend/webgpu_probe.ts";
   * if (await probeWebGpu()) {
   *   const gpu = await SinkhornGpu.create(); // owns its device
   *   const other = await SinkhornGpu.create(gpu.device); // borrows it
   *   other.destroy(); // leaves the device to its owner
   *   const q = await gpu.run(new Float32Array([1, 0, 1, 0]), { rows: 2, cols: 2 }, {
   *     iterations: 20,
   *   });
   *   if (Math.abs(q[0] + q[2] - 0.5) > 1e-4) throw new Error(String(q));
   *   gpu.destroy();
   * }
   * ```
   */
  static async create(device?: GPUDevice): Promise<SinkhornGpu> {
    let owns = false;
    if (device === undefined) {
      const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
      if (!gpu) {
        throw new Error(
          "SinkhornGpu: expected navigator.gpu (WebGPU), found none",
        );
      }
      const adapter = await gpu.requestAdapter();
      if (!adapter) {
        throw new Error("SinkhornGpu: expected a WebGPU adapter, found none");
      }
      device = await adapter.requestDevice({ label: "seqssl sinkhorn" });
      owns = true;
    }
    const module = device.createShaderModule({
      label: "seqssl sinkhorn",
      code: SINKHORN_WGSL,
    });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      throw new Error(
        "SinkhornGpu: WGSL did not compile: " +
          errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join(
            "; ",
          ),
      );
    }
    return new SinkhornGpu(device, owns, module);
  }

  /**
   * The kernel on `device`, compiled on first use and then shared
   * (synchronous; for the tfjs backend's device).
   *
   * @example
   * ```ts
   * import { SinkhornGpu } from "./sinkhorn_gpu.ts";
   * const adapter = await navigator.gpu?.requestAdapter();
   * if (adapter) {
   *   const device = await adapter.requestDevice();
   *   const gpu = SinkhornGpu.forDevice(device);
   *   if (SinkhornGpu.forDevice(device) !== gpu) throw new Error("expected one per device");
   *   gpu.destroy();
   *   if (SinkhornGpu.forDevice(device) === gpu) throw new Error("expected a new one after destroy");
   *   device.destroy();
   * }
   * ```
   */
  static forDevice(device: GPUDevice): SinkhornGpu {
    let k = byDevice.get(device);
    if (!k || k.#destroyed) {
      const module = device.createShaderModule({
        label: "seqssl sinkhorn",
        code: SINKHORN_WGSL,
      });
      k = new SinkhornGpu(device, false, module);
      byDevice.set(device, k);
    }
    return k;
  }

  #ensure(shape: SinkhornShape): void {
    const qBytes = 4 * shape.rows * shape.cols;
    const dBytes = 4 * (shape.rows + shape.cols);
    // Exactly sized: tfjs reads a tensor made from a buffer at the buffer's
    // full size.
    if (!this.#q || this.#q.size !== qBytes) {
      this.#q?.destroy();
      this.#q = this.device.createBuffer({
        label: "seqssl sinkhorn Q",
        size: qBytes,
        usage: STORAGE | COPY_SRC | COPY_DST,
      });
    }
    if (!this.#dual || this.#dual.size < dBytes) {
      this.#dual?.destroy();
      this.#dual = this.device.createBuffer({
        label: "seqssl sinkhorn potentials",
        size: dBytes,
        usage: STORAGE,
      });
    }
  }

  /**
   * Submit the kernel on `scores` (a storage buffer holding the row-major
   * `[rows, cols]` float32 scores, maybe larger) and return the buffer that
   * will hold Q. That buffer belongs to this object and is overwritten by
   * the next call: copy it (queue order) before calling again.
   *
   * @example
   * ```ts ignore
   * const qBuffer = gpu.dispatch(scoresBuffer, { rows: 512, cols: 128 });
   * ```
   */
  dispatch(
    scores: GPUBuffer,
    shape: SinkhornShape,
    opts: SinkhornOptions = {},
  ): GPUBuffer {
    if (this.#destroyed) throw new Error("SinkhornGpu: used after destroy()");
    const { rows, cols } = shape;
    if (
      !(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) &&
        cols > 0)
    ) {
      throw new RangeError(
        `SinkhornGpu: expected positive integer rows and cols, found ${rows} x ${cols}`,
      );
    }
    if (scores.size < 4 * rows * cols) {
      throw new RangeError(
        `SinkhornGpu: expected a scores buffer of at least ${
          4 * rows * cols
        } bytes, found ${scores.size}`,
      );
    }
    const { epsilon, iterations } = sinkhornOptions(opts);
    this.#ensure(shape);
    const params = new ArrayBuffer(SINKHORN_PARAMS_BYTES);
    new Uint32Array(params, 0, 4).set([rows, cols, iterations, 0]);
    new Float32Array(params, 16, 4).set([
      1 / epsilon,
      Math.log(rows),
      Math.log(cols),
      0,
    ]);
    this.device.queue.writeBuffer(this.#params, 0, params);
    const bind = this.device.createBindGroup({
      layout: this.#pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.#params } },
        { binding: 1, resource: { buffer: scores } },
        { binding: 2, resource: { buffer: this.#q! } },
        { binding: 3, resource: { buffer: this.#dual! } },
      ],
    });
    const enc = this.device.createCommandEncoder({ label: "seqssl sinkhorn" });
    const pass = enc.beginComputePass();
    pass.setPipeline(this.#pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1);
    pass.end();
    this.device.queue.submit([enc.finish()]);
    return this.#q!;
  }

  /**
   * Q for host scores (row-major `[rows, cols]`), read back.
   *
   * @example
   * ```ts ignore
   * const q = await gpu.run(scores, { rows: 512, cols: 128 }, { epsilon: 0.05 });
   * ```
   */
  async run(
    scores: Float32Array,
    shape: SinkhornShape,
    opts: SinkhornOptions = {},
  ): Promise<Float32Array> {
    const n = shape.rows * shape.cols;
    if (scores.length !== n) {
      throw new RangeError(
        `SinkhornGpu.run: expected ${shape.rows} x ${shape.cols} = ${n} scores, found ${scores.length}`,
      );
    }
    if (!this.#upload || this.#upload.size < 4 * n) {
      this.#upload?.destroy();
      this.#upload = this.device.createBuffer({
        label: "seqssl sinkhorn scores",
        size: 4 * n,
        usage: STORAGE | COPY_DST,
      });
    }
    this.device.queue.writeBuffer(this.#upload, 0, scores);
    const q = this.dispatch(this.#upload, shape, opts);
    const staging = this.device.createBuffer({
      label: "seqssl sinkhorn read-back",
      size: 4 * n,
      usage: MAP_READ | COPY_DST,
    });
    try {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(q, 0, staging, 0, 4 * n);
      this.device.queue.submit([enc.finish()]);
      await staging.mapAsync(MAP_MODE_READ);
      return new Float32Array(staging.getMappedRange().slice(0));
    } finally {
      staging.destroy();
    }
  }

  /**
   * Free the buffers (and the device, if this object created it).
   *
   * @example
   * ```ts ignore
   * gpu.destroy();
   * ```
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#q?.destroy();
    this.#dual?.destroy();
    this.#upload?.destroy();
    this.#params.destroy();
    if (this.#owns) this.device.destroy();
  }
}

/**
 * Sinkhorn-Knopp Q `[B, K]` of a score tensor on the tfjs `webgpu` backend,
 * computed by the WGSL kernel on the backend's device with no read-back; the
 * result is a new tfjs tensor with no gradient connection to `scores`.
 *
 * @example
 * ```ts ignore
 * // with the tfjs webgpu backend active:
 * const q = sinkhornOnTfjsWebGpu(scores, { epsilon: 0.05, iterations: 3 });
 * ```
 */
export function sinkhornOnTfjsWebGpu(
  scores: Tensor2D,
  opts: SinkhornOptions = {},
): Tensor2D {
  const backend = tf.backend() as unknown as {
    device?: GPUDevice;
    uploadToGPU?: (dataId: unknown) => void;
  };
  const device = backend.device;
  if (!device) {
    throw new Error(
      "sinkhornOnTfjsWebGpu: expected the tfjs webgpu backend to be active",
    );
  }
  const [rows, cols] = scores.shape;
  const gpu = SinkhornGpu.forDevice(device);
  const input = scores.dtype === "float32"
    ? scores
    : tf.cast(scores, "float32");
  // A tensor made from host values is uploaded lazily; bind needs it on the GPU.
  backend.uploadToGPU?.(input.dataId);
  const { buffer, tensorRef } = input.dataToGPU();
  if (!buffer) {
    throw new Error("sinkhornOnTfjsWebGpu: the scores have no GPU buffer");
  }
  try {
    const q = gpu.dispatch(buffer, { rows, cols }, opts);
    // Copies q into a tfjs-owned buffer (submitted now, so before the next
    // dispatch can overwrite q).
    return tf.tensor({ buffer: q }, [rows, cols], "float32") as Tensor2D;
  } finally {
    tensorRef.dispose();
    if (input !== scores) input.dispose();
  }
}
