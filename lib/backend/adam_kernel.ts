/**
 * Adam in one WGSL dispatch per output on webgpu: the tfjs kernel
 * `SeqsslAdam` computes, elementwise from the gradient g, the moments m, v
 * and (with weight decay) the parameter p, one of
 *
 *   which 0:  m' = m * b1 + g * (1 - b1)
 *   which 1:  v' = v * b2 + (g * g) * (1 - b2)
 *   which 2:  u  = -lr * ((m' / c1) / (sqrt(v' / c2) + eps) + wd * p)
 *
 * with the bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t, in the same order
 * of f32 operations as the composed tfjs ops of `scaleByAdam`,
 * `addDecayedWeights` and `scale` (lib/optim/transform.ts), so that each
 * update is those ops' update to within float rounding. One step of a
 * parameter tensor is three dispatches (plus the add that applies `u`)
 * instead of about fifteen tfjs kernels, each with its scalar constants
 * uploaded. Registered for webgpu only: on cpu and wasm the composed ops
 * run as they are.
 *
 * {@linkcode fusedAdamInPlace} does the whole step of a tensor in ONE
 * dispatch: a compute pass of seqssl's own WGSL (tfjs's programs read
 * their inputs only), encoded into tfjs's command stream, that writes the
 * parameter and both moments over in place.
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
import {
  ADAM_INPLACE_UNIFORMS,
  ADAM_UNIFORMS,
  adamInPlaceWgsl,
  adamWgsl,
} from "../../kernels/adam.ts";

/** The tfjs kernel name of the fused Adam step. */
const ADAM_KERNEL = "SeqsslAdam";

/** Adam's constants for one step. */
export interface AdamStepConstants {
  /** First-moment decay. */
  b1: number;
  /** Second-moment decay. */
  b2: number;
  /** Denominator epsilon. */
  eps: number;
  /** 1 - b1^t. */
  c1: number;
  /** 1 - b2^t. */
  c2: number;
  /** Learning rate (the update is scaled by -lr). */
  lr: number;
  /** Decoupled weight decay (0 = none). */
  wd: number;
}

/**
 * The reference in TypeScript, each operation rounded to f32 as the tfjs
 * kernels round it: new moments and the update, elementwise.
 *
 * @example
 * ```ts
 * import { adamReference } from "./adam_kernel.ts";
 * const r = adamReference(
 *   Float32Array.of(2), Float32Array.of(0), Float32Array.of(0), Float32Array.of(1),
 *   { b1: 0.9, b2: 0.999, eps: 1e-8, c1: 0.1, c2: 0.001, lr: 0.5, wd: 0 },
 * );
 * // first step: m = 0.2, v = 0.004, update = -lr * sign(g) (up to eps)
 * if (Math.abs(r.m[0] - 0.2) > 1e-7 || Math.abs(r.u[0] + 0.5) > 1e-6) throw new Error();
 * ```
 */
export function adamReference(
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  p: Float32Array,
  k: AdamStepConstants,
): { m: Float32Array; v: Float32Array; u: Float32Array } {
  const f = Math.fround;
  const b1 = f(k.b1), b2 = f(k.b2), nb1 = f(1 - k.b1), nb2 = f(1 - k.b2);
  const c1 = f(k.c1), c2 = f(k.c2), eps = f(k.eps);
  const wd = f(k.wd), nlr = f(-k.lr);
  const n = g.length;
  const mo = new Float32Array(n), vo = new Float32Array(n);
  const u = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    mo[i] = f(f(m[i] * b1) + f(g[i] * nb1));
    vo[i] = f(f(v[i] * b2) + f(f(g[i] * g[i]) * nb2));
    let x = f(f(mo[i] / c1) / f(f(Math.sqrt(f(vo[i] / c2))) + eps));
    if (k.wd !== 0) x = f(x + f(p[i] * wd));
    u[i] = f(x * nlr);
  }
  return { m: mo, v: vo, u };
}

function inputsOf(which: number, decay: boolean, gated: boolean): string[] {
  const names = which === 0
    ? ["g", "m"]
    : which === 1
    ? ["g", "v"]
    : decay
    ? ["g", "m", "v", "p"]
    : ["g", "m", "v"];
  return gated ? [...names, "gate"] : names;
}

function webgpuKernel(args: KernelArgs): TensorInfo {
  const { g, m, v, p, gate } = args.inputs as Record<string, TensorInfo>;
  const a = args.attrs as unknown as AdamStepConstants & { which: number };
  const backend = args.backend as unknown as WebGpuBackendLike;
  const f = (x: number) => ({ type: "float32", data: [x] });
  const all: Record<string, TensorInfo> = { g, m, v, p, gate };
  const decay = a.wd !== 0, gated = gate !== undefined;
  const program = new PerElementProgram(
    g.shape,
    inputsOf(a.which, decay, gated),
    `seqssl_adam_${a.which}_${decay}_${gated}`,
    adamWgsl(a.which, decay, gated),
    ADAM_UNIFORMS,
  );
  return backend.runWebGPUProgram(
    program,
    program.variableNames.map((name) => all[name]),
    "float32",
    [
      f(a.b1),
      f(1 - a.b1),
      f(a.b2),
      f(1 - a.b2),
      f(a.c1),
      f(a.c2),
      f(a.eps),
      f(a.wd),
      f(-a.lr),
    ],
  );
}

let registered = false;

/**
 * Register `SeqsslAdam` for webgpu (idempotent).
 */
function registerAdamKernel(): void {
  if (registered) return;
  registered = true;
  registerWhereMissing(ADAM_KERNEL, [["webgpu", webgpuKernel]]);
}

/**
 * Whether the fused Adam kernel serves the active backend (webgpu).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedAdamAvailable } from "./adam_kernel.ts";
 * await tf.setBackend("cpu");
 * if (fusedAdamAvailable()) throw new Error("cpu runs the composed ops");
 * ```
 */
export function fusedAdamAvailable(): boolean {
  registerAdamKernel();
  return tf.getKernel(ADAM_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * One fused Adam step of a tensor: the new moments and the update (three
 * dispatches on webgpu). Only where {@linkcode fusedAdamAvailable}. With a
 * `gate` (a float scalar on the device): where it is 0, the moments come
 * back unchanged and the update is 0, whatever the gradient holds.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedAdamStep } from "./adam_kernel.ts";
 * import { initBackend, probeWebGpu } from "./init.ts";
 * if (await probeWebGpu()) {
 *   await initBackend("webgpu");
 *   const z = tf.zeros([2]);
 *   const k = { b1: 0.9, b2: 0.999, eps: 1e-8, c1: 0.1, c2: 0.001, lr: 0.1, wd: 0 };
 *   const { u } = fusedAdamStep(tf.tensor1d([3, -1]), z, z, z, k);
 *   const d = await u.data(); // the first step is -lr * sign(g)
 *   if (Math.abs(d[0] + 0.1) > 1e-6 || Math.abs(d[1] - 0.1) > 1e-6) throw new Error();
 * }
 * ```
 */
export function fusedAdamStep(
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  p: tf.Tensor,
  k: AdamStepConstants,
  gate?: tf.Tensor,
): { m: tf.Tensor; v: tf.Tensor; u: tf.Tensor } {
  registerAdamKernel();
  const inputs: tf.NamedTensorMap = gate
    ? { g, m, v, p, gate }
    : { g, m, v, p };
  const run = (which: number) =>
    tf.engine().runKernel(
      ADAM_KERNEL,
      inputs,
      { ...k, which } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor;
  return { m: run(0), v: run(1), u: run(2) };
}

/** The parts of tfjs's `WebGPUBackend` the in-place step drives. */
interface RawWebGpuBackend {
  device: GPUDevice;
  tensorMap: {
    get(dataId: object): { resource: unknown; values: unknown } | undefined;
  };
  uploadToGPU(dataId: object): void;
  refCount(dataId: object): number;
  ensureCommandEncoderReady(): void;
  commandEncoder: GPUCommandEncoder;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
  activeTimers: unknown;
  endComputePassEncoder(): void;
  submitQueue(): void;
  makeUniforms(
    u: { type: string; data: number[] }[],
  ): { offset: number; size: number; buffer: GPUBuffer };
}

const WORKGROUP = 64, MAX_GROUPS = 65535;
const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipelineFor(
  device: GPUDevice,
  decay: boolean,
  gated: boolean,
): GPUComputePipeline {
  let byKey = pipelines.get(device);
  if (!byKey) pipelines.set(device, byKey = new Map());
  const key = `${decay}_${gated}`;
  let pipe = byKey.get(key);
  if (!pipe) {
    const module = device.createShaderModule({
      code: adamInPlaceWgsl(decay, gated),
    });
    pipe = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    byKey.set(key, pipe);
  }
  return pipe;
}

/** `t` if nothing else holds its buffer, else a copy that owns one. */
function owned(b: RawWebGpuBackend, t: tf.Tensor): tf.Tensor {
  return b.refCount(t.dataId) === 1 ? t : tf.mul(t, 1); // x * 1 is x
}

/** The GPU buffer of `t` (uploaded first if it is still on the host). */
function bufferOf(b: RawWebGpuBackend, t: tf.Tensor): GPUBuffer {
  if (t.dtype !== "float32") {
    throw new Error(`fusedAdamInPlace: expected float32, found ${t.dtype}`);
  }
  b.uploadToGPU(t.dataId);
  const r = b.tensorMap.get(t.dataId)?.resource;
  if (!(r instanceof GPUBuffer)) {
    throw new Error("fusedAdamInPlace: tensor not in a GPU buffer");
  }
  return r;
}

/**
 * One Adam step of one tensor in ONE webgpu dispatch, in place: `p` (a
 * variable) becomes the updated parameter and `m`, `v` the new moments,
 * as {@linkcode fusedAdamStep} followed by `p + u` would make them (the
 * same f32 operations). `g` is only read. Where `m` or `v` shares its
 * buffer with another tensor, a copy is written instead: keep the moments
 * returned (`m` and `v` themselves otherwise). `p` is made to own its
 * buffer first if it does not. With a `gate` (a float scalar on the
 * device): where it is 0, nothing is written. Only where
 * {@linkcode fusedAdamAvailable}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fusedAdamInPlace } from "./adam_kernel.ts";
 * import { initBackend, probeWebGpu } from "./init.ts";
 * if (await probeWebGpu()) {
 *   await initBackend("webgpu");
 *   const p = tf.variable(tf.tensor1d([1, 1]));
 *   const m = tf.zeros([2]), v = tf.zeros([2]);
 *   const k = { b1: 0.9, b2: 0.999, eps: 1e-8, c1: 0.1, c2: 0.001, lr: 0.5, wd: 0 };
 *   const r = fusedAdamInPlace(p, m, v, tf.tensor1d([2, -3]), k);
 *   // the first step moves each weight by lr against the gradient's sign
 *   const d = await p.data();
 *   if (r.m !== m || Math.abs(d[0] - 0.5) > 1e-6 || Math.abs(d[1] - 1.5) > 1e-6) {
 *     throw new Error(String(d));
 *   }
 * }
 * ```
 */
export function fusedAdamInPlace(
  p: tf.Variable,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  k: AdamStepConstants,
  gate?: tf.Tensor,
): { m: tf.Tensor; v: tf.Tensor } {
  if (tf.getBackend() !== "webgpu") {
    throw new Error(
      `fusedAdamInPlace: needs webgpu, found '${tf.getBackend()}'`,
    );
  }
  const b = tf.backend() as unknown as RawWebGpuBackend;
  const n = p.size;
  for (const t of [m, v, g]) {
    if (t.size !== n) {
      throw new Error(`fusedAdamInPlace: sizes ${t.size} and ${n} differ`);
    }
  }
  if (b.refCount(p.dataId) !== 1) {
    const c = owned(b, p);
    p.assign(c);
    c.dispose();
  }
  m = owned(b, m);
  v = owned(b, v);
  if (n === 0) return { m, v };
  const held = gate ? [p, m, v, g, gate] : [p, m, v, g];
  const buffers = held.map((t) => bufferOf(b, t));
  const groups = Math.ceil(n / WORKGROUP);
  const x = Math.min(groups, MAX_GROUPS), y = Math.ceil(groups / x);
  const f = (d: number) => ({ type: "float32", data: [d] });
  const i = (d: number) => ({ type: "uint32", data: [d] });
  const values: Record<(typeof ADAM_INPLACE_UNIFORMS)[number], number> = {
    b1: k.b1,
    nb1: 1 - k.b1,
    b2: k.b2,
    nb2: 1 - k.b2,
    c1: k.c1,
    c2: k.c2,
    eps: k.eps,
    wd: k.wd,
    nlr: -k.lr,
    size: n,
    rowGroups: x,
    pad: 0,
  };
  const uniforms = b.makeUniforms(
    ADAM_INPLACE_UNIFORMS.map((name, j) =>
      j < 9 ? f(values[name]) : i(values[name])
    ),
  );
  const pipeline = pipelineFor(b.device, k.wd !== 0, gate !== undefined);
  const bindGroup = b.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      ...buffers.map((buffer, j) => ({ binding: j, resource: { buffer } })),
      { binding: buffers.length, resource: uniforms },
    ],
  });
  // Disposal of any of these waits for the submit (as tfjs's own kernels).
  for (const t of held) b.commandQueueOwnedIds.add(t.dataId);
  // The same recording as tfjs's recordAndSubmit: into the open pass.
  b.ensureCommandEncoderReady();
  if (!b.computePassEncoder) {
    b.computePassEncoder = b.commandEncoder.beginComputePass({});
  }
  b.computePassEncoder.setPipeline(pipeline);
  b.computePassEncoder.setBindGroup(0, bindGroup);
  b.computePassEncoder.dispatchWorkgroups(x, y, 1);
  b.dispatchCountInPass++;
  if (
    b.activeTimers != null ||
    tf.env().getNumber("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE") <=
      b.dispatchCountInPass
  ) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  // Values cached on the host by an earlier read are stale now.
  for (const t of [p, m, v]) b.tensorMap.get(t.dataId)!.values = null;
  return { m, v };
}
