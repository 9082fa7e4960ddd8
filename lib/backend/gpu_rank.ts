/**
 * Full ranking on WebGPU: scores every item for every user, excludes each
 * user's history, and reads back only the top-k ids and scores and the
 * target ranks, never the score matrix. Results match
 * `rankReference` in `rank_reference.ts` (same exclusion, tie-breaking by lower id and
 * rank semantics, see `rank_types.ts`), up to float32 rounding of the scores.
 *
 * The shaders (`kernels/score_rank.ts`) are compiled once, in
 * {@linkcode GpuRanker.create}. Users are processed in chunks so that the
 * chunk's score buffer stays within the device's limits; item embeddings are
 * uploaded once per distinct `items` array.
 *
 * @module
 */
import {
  SCORE_RANK_PARAMS_BYTES,
  SCORE_RANK_WGSL,
  SCORE_TILE,
  TOP_K_WORKGROUP_BYTES,
} from "../../kernels/score_rank.ts";
import {
  type RankRequest,
  type RankResult,
  validateRankRequest,
} from "./rank_types.ts";

export type { RankRequest, RankResult } from "./rank_types.ts";

/** Options for {@linkcode GpuRanker.create}. */
export interface GpuRankerOptions {
  /**
   * Upper bound, in bytes, on one chunk's score buffer ([chunk users, N]
   * float32). Default 64 MiB; the device's `maxStorageBufferBindingSize` and
   * `maxBufferSize` always apply.
   */
  maxChunkBytes?: number;
}

interface ItemsOnGpu {
  array: Float32Array;
  dim: number;
  n: number;
  d4: number;
  buffer: GPUBuffer;
}

interface Pending {
  u0: number;
  count: number;
  staging: GPUBuffer;
  bytes: number;
  mapped: Promise<void>;
}

/** Sizes of one rank call, checked against the device's limits. */
interface ChunkPlan {
  users: number;
  /** Items N. */
  n: number;
  k: number;
  dim: number;
  /** Vec4s per row: ceil(dim / 4). */
  d4: number;
  /** Floats per padded row: 4 * d4. */
  dPad: number;
  /** Users per chunk. */
  chunk: number;
  /** History ids of the largest chunk (at least 1). */
  maxHistory: number;
  /** Bytes of one chunk's packed result: ids, scores, ranks. */
  resultBytes: number;
}

/** What every chunk of one call writes and reads on the device. */
interface ChunkBuffers {
  queries: GPUBuffer;
  offsets: GPUBuffer;
  history: GPUBuffer;
  targets: GPUBuffer;
  result: GPUBuffer;
  scoreGroup: GPUBindGroup;
  topKGroup: GPUBindGroup;
  /** The uniform block's host copy. */
  params: Uint32Array;
}

const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;
const MAX_IN_FLIGHT = 2;
// GPUBufferUsage / GPUMapMode values, spelled out so that importing this
// module does not need the WebGPU globals.
const S = 0x80; // STORAGE
const DST = 0x8; // COPY_DST
const SRC = 0x4; // COPY_SRC
const UNIFORM = 0x40;
const MAP_READ = 0x1;
const MAP_MODE_READ = 0x1;

/**
 * Ranks all items for batches of users on a WebGPU device.
 *
 * @example
 * ```ts
 * import { GpuRanker } from "./gpu_rank.ts";
 * import { probeWebGpu } from "./webgpu_probe.ts";
 * if (await probeWebGpu()) {
 *   const ranker = await GpuRanker.create();
 *   const result = await ranker.rank({
 *     queries: new Float32Array([1, 0]),
 *     items: new Float32Array([3, 0, 1, 0, 3, 0]), // ids 1, 2, 3 score 3, 1, 3
 *     dim: 2,
 *     history: { offsets: new Int32Array([0, 1]), ids: new Int32Array([2]) },
 *     targets: new Int32Array([3]),
 *     k: 2,
 *   });
 *   // id 2 is history; ids 1 and 3 tie, the lower id first; none scores
 *   // strictly above target 3, so its rank is 0.
 *   const got = [...result.topIds, ...result.topScores, ...result.ranks!];
 *   if (got.join() !== "1,3,3,3,0") throw new Error(`found ${got}`);
 *   ranker.destroy();
 * }
 * ```
 */
export class GpuRanker {
  /** The device the ranker runs on. */
  readonly device: GPUDevice;
  readonly #ownsDevice: boolean;
  readonly #scorePipeline: GPUComputePipeline;
  readonly #topKPipeline: GPUComputePipeline;
  readonly #params: GPUBuffer;
  readonly #maxChunkBytes: number;
  #items: ItemsOnGpu | undefined;
  #buffers = new Map<string, GPUBuffer>();
  #staging: GPUBuffer[] = [];
  #retired: GPUBuffer[] = [];
  #busy = false;
  #tail: Promise<unknown> = Promise.resolve();
  #destroyed = false;

  private constructor(
    device: GPUDevice,
    ownsDevice: boolean,
    scorePipeline: GPUComputePipeline,
    topKPipeline: GPUComputePipeline,
    maxChunkBytes: number,
  ) {
    this.device = device;
    this.#ownsDevice = ownsDevice;
    this.#scorePipeline = scorePipeline;
    this.#topKPipeline = topKPipeline;
    this.#maxChunkBytes = maxChunkBytes;
    this.#params = device.createBuffer({
      label: "seqssl rank params",
      size: SCORE_RANK_PARAMS_BYTES,
      usage: UNIFORM | DST,
    });
  }

  /**
   * Compile the ranking pipelines on `device`, or on a new device from the
   * default adapter (which {@linkcode GpuRanker.destroy} then destroys too).
   *
   * @example
   * ```ts
   * import { GpuRanker } from "./gpu_rank.ts";
   * import { probeWebGpu } from "./webgpu_probe.ts";
   * // The options are checked before any device is asked for.
   * const refused = await GpuRanker.create(undefined, { maxChunkBytes: 0 })
   *   .then(() => false, (e) => e instanceof RangeError);
   * if (!refused) throw new Error("expected a RangeError for maxChunkBytes 0");
   * if (await probeWebGpu()) {
   *   const ranker = await GpuRanker.create(undefined, { maxChunkBytes: 16 << 20 });
   *   if (ranker.device.limits.maxComputeWorkgroupStorageSize < 16384) {
   *     throw new Error("expected a device with WebGPU's default limits");
   *   }
   *   ranker.destroy();
   * }
   * ```
   */
  static async create(
    device?: GPUDevice,
    options: GpuRankerOptions = {},
  ): Promise<GpuRanker> {
    const maxChunkBytes = options.maxChunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!(maxChunkBytes > 0)) {
      throw new RangeError(
        `GpuRanker: expected a positive maxChunkBytes, found ${maxChunkBytes}`,
      );
    }
    let owns = false;
    if (device === undefined) {
      const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
      if (!gpu) {
        throw new Error(
          "GpuRanker: expected navigator.gpu (WebGPU), found none",
        );
      }
      const adapter = await gpu.requestAdapter();
      if (!adapter) {
        throw new Error("GpuRanker: expected a WebGPU adapter, found none");
      }
      device = await adapter.requestDevice({
        label: "seqssl ranker",
        requiredLimits: {
          maxStorageBufferBindingSize:
            adapter.limits.maxStorageBufferBindingSize,
          maxBufferSize: adapter.limits.maxBufferSize,
        },
      });
      owns = true;
    }
    const need = TOP_K_WORKGROUP_BYTES;
    if (device.limits.maxComputeWorkgroupStorageSize < need) {
      throw new Error(
        `GpuRanker: expected maxComputeWorkgroupStorageSize >= ${need}, found ${device.limits.maxComputeWorkgroupStorageSize}`,
      );
    }
    const module = device.createShaderModule({
      label: "seqssl score_rank",
      code: SCORE_RANK_WGSL,
    });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      throw new Error(
        "GpuRanker: WGSL did not compile: " +
          errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join(
            "; ",
          ),
      );
    }
    const [scorePipeline, topKPipeline] = await Promise.all(
      ["score", "top_k"].map((entryPoint) =>
        device.createComputePipelineAsync({
          label: `seqssl ${entryPoint}`,
          layout: "auto",
          compute: { module, entryPoint },
        })
      ),
    );
    return new GpuRanker(
      device,
      owns,
      scorePipeline,
      topKPipeline,
      maxChunkBytes,
    );
  }

  /** Largest buffer binding the device allows. */
  #maxBinding(): number {
    const l = this.device.limits;
    return Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize);
  }

  #retire(buffer: GPUBuffer): void {
    if (this.#busy) this.#retired.push(buffer);
    else buffer.destroy();
  }

  /** A buffer of at least `bytes`, reused across calls while big enough. */
  #buffer(name: string, bytes: number, usage: number): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 4) * 4);
    const old = this.#buffers.get(name);
    if (old !== undefined && old.size >= size) return old;
    if (old !== undefined) this.#retire(old);
    const buffer = this.device.createBuffer({
      label: `seqssl rank ${name}`,
      size,
      usage,
    });
    this.#buffers.set(name, buffer);
    return buffer;
  }

  /**
   * Upload item embeddings ([N, dim], row i = item id i + 1). {@linkcode
   * GpuRanker.rank} reuses them while it is given this same array object;
   * after changing the array in place, call `setItems` again.
   *
   * @example
   * ```ts
   * import { GpuRanker } from "./gpu_rank.ts";
   * import { probeWebGpu } from "./webgpu_probe.ts";
   * if (await probeWebGpu()) {
   *   const ranker = await GpuRanker.create();
   *   const items = new Float32Array([1, 0, 0, 2]); // ids 1, 2
   *   ranker.setItems(items, 2);
   *   items[3] = -2; // changed in place: upload again
   *   ranker.setItems(items, 2);
   *   const { topIds } = await ranker.rank({
   *     queries: new Float32Array([0, 1]),
   *     items,
   *     dim: 2,
   *     history: { offsets: new Int32Array([0, 0]), ids: new Int32Array(0) },
   *     k: 1,
   *   });
   *   // scores 0 and -2: id 1 is on top only if the new values were uploaded
   *   if (topIds[0] !== 1) throw new Error(`expected id 1, found ${topIds[0]}`);
   *   ranker.destroy();
   * }
   * ```
   */
  setItems(items: Float32Array, dim: number): void {
    if (this.#destroyed) throw new Error("GpuRanker: used after destroy()");
    if (!Number.isInteger(dim) || dim < 1) {
      throw new RangeError(
        `GpuRanker.setItems: expected a positive integer dim, found ${dim}`,
      );
    }
    if (items.length === 0 || items.length % dim !== 0) {
      throw new RangeError(
        `GpuRanker.setItems: expected a non-empty length divisible by dim ${dim}, found ${items.length}`,
      );
    }
    const n = items.length / dim;
    const d4 = Math.ceil(dim / 4);
    const bytes = n * d4 * 16;
    if (bytes > this.#maxBinding()) {
      throw new RangeError(
        `GpuRanker.setItems: expected items within the device's ${this.#maxBinding()} bytes per buffer, found ${bytes}`,
      );
    }
    const buffer = this.device.createBuffer({
      label: "seqssl rank items",
      size: bytes,
      usage: S | DST,
    });
    this.device.queue.writeBuffer(buffer, 0, padRows(items, n, dim, d4 * 4));
    if (this.#items !== undefined) this.#retire(this.#items.buffer);
    this.#items = { array: items, dim, n, d4, buffer };
  }

  /**
   * Rank all items for every user in `req` (see {@linkcode RankRequest});
   * calls are queued, one runs at a time.
   *
   * @example
   * ```ts
   * import { GpuRanker } from "./gpu_rank.ts";
   * import { probeWebGpu } from "./webgpu_probe.ts";
   * if (await probeWebGpu()) {
   *   const ranker = await GpuRanker.create();
   *   const { topIds, topScores } = await ranker.rank({
   *     queries: new Float32Array([0, 1]),
   *     items: new Float32Array([1, 0, 0, 1]), // ids 1, 2 score 0, 1
   *     dim: 2,
   *     history: { offsets: new Int32Array([0, 0]), ids: new Int32Array(0) },
   *     k: 1,
   *   });
   *   if (topIds[0] !== 2 || topScores[0] !== 1) {
   *     throw new Error(`expected id 2 scoring 1, found ${topIds[0]} ${topScores[0]}`);
   *   }
   *   ranker.destroy();
   * }
   * ```
   */
  rank(req: RankRequest): Promise<RankResult> {
    const run = this.#tail.then(() => this.#rank(req));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #rank(req: RankRequest): Promise<RankResult> {
    if (this.#destroyed) throw new Error("GpuRanker: used after destroy()");
    const { users, items: n } = validateRankRequest(req);
    const out = emptyResult(users, req.k, req.targets !== undefined);
    if (users === 0) return out;
    const items = this.#itemsFor(req);
    const plan = this.#plan(req, users, n, items.d4);
    this.#keepStaging(plan.resultBytes);
    this.#busy = true;
    const device = this.device;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    const pending: Pending[] = [];
    let gpuError: GPUError | null = null;
    try {
      const chunkBuffers = this.#chunkBuffers(plan, items);
      for (let u0 = 0; u0 < users; u0 += plan.chunk) {
        pending.push(this.#submitChunk(req, plan, chunkBuffers, u0));
        if (pending.length >= MAX_IN_FLIGHT) {
          await this.#readChunk(pending.shift() as Pending, plan.k, out);
        }
      }
      while (pending.length > 0) {
        await this.#readChunk(pending.shift() as Pending, plan.k, out);
      }
    } finally {
      gpuError = await this.#settle(pending);
    }
    if (gpuError) {
      throw new Error(`GpuRanker: WebGPU error: ${gpuError.message}`);
    }
    return out;
  }

  /** The items on the device: uploaded unless this same array already is. */
  #itemsFor(req: RankRequest): ItemsOnGpu {
    if (
      this.#items === undefined || this.#items.array !== req.items ||
      this.#items.dim !== req.dim
    ) {
      this.setItems(req.items, req.dim);
    }
    return this.#items as ItemsOnGpu;
  }

  /**
   * Users per chunk and the largest chunk's history, within the chunk budget
   * and the device's limits (or a RangeError saying which is exceeded).
   */
  #plan(req: RankRequest, users: number, n: number, d4: number): ChunkPlan {
    const { k, dim, history } = req;
    const dPad = d4 * 4;
    const maxBinding = this.#maxBinding();
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (Math.ceil(n / SCORE_TILE) > maxGroups) {
      throw new RangeError(
        `GpuRanker: expected at most ${
          maxGroups * SCORE_TILE
        } items for this device, found ${n}`,
      );
    }
    const budget = Math.min(maxBinding, this.#maxChunkBytes);
    const chunk = Math.min(
      users,
      Math.floor(budget / (n * 4)),
      maxGroups,
      Math.floor(maxBinding / (dPad * 4)),
      Math.floor(maxBinding / ((2 * k + 1) * 4)),
    );
    if (chunk < 1) {
      throw new RangeError(
        `GpuRanker: expected one user's scores (${
          n * 4
        } bytes) to fit the chunk budget, found ${budget} bytes`,
      );
    }
    let maxHistory = 1;
    for (let u0 = 0; u0 < users; u0 += chunk) {
      const u1 = Math.min(users, u0 + chunk);
      maxHistory = Math.max(
        maxHistory,
        history.offsets[u1] - history.offsets[u0],
      );
    }
    if (maxHistory * 4 > maxBinding) {
      throw new RangeError(
        `GpuRanker: expected a chunk's history within ${maxBinding} bytes, found ${
          maxHistory * 4
        }`,
      );
    }
    return {
      users,
      n,
      k,
      dim,
      d4,
      dPad,
      chunk,
      maxHistory,
      resultBytes: chunk * (2 * k + 1) * 4,
    };
  }

  /** Keep the staging buffers that hold `resultBytes`; destroy the rest. */
  #keepStaging(resultBytes: number): void {
    for (const b of this.#staging.splice(0)) {
      if (b.size >= resultBytes) this.#staging.push(b);
      else b.destroy();
    }
  }

  /** The buffers and bind groups every chunk of one call writes and reads. */
  #chunkBuffers(plan: ChunkPlan, items: ItemsOnGpu): ChunkBuffers {
    const { chunk, n, dPad, maxHistory, resultBytes } = plan;
    const scores = this.#buffer("scores", chunk * n * 4, S);
    const queries = this.#buffer("queries", chunk * dPad * 4, S | DST);
    const offsets = this.#buffer("offsets", (chunk + 1) * 4, S | DST);
    const history = this.#buffer("history", maxHistory * 4, S | DST);
    const targets = this.#buffer("targets", chunk * 4, S | DST);
    const result = this.#buffer("result", resultBytes, S | SRC);
    const scoreGroup = this.device.createBindGroup({
      layout: this.#scorePipeline.getBindGroupLayout(0),
      entries: [this.#params, queries, items.buffer, scores].map((
        buffer,
        binding,
      ) => ({
        binding,
        resource: { buffer },
      })),
    });
    const topKGroup = this.device.createBindGroup({
      layout: this.#topKPipeline.getBindGroupLayout(0),
      entries: [
        [0, this.#params],
        [3, scores],
        [4, offsets],
        [5, history],
        [6, targets],
        [7, result],
      ].map(([binding, buffer]) => ({
        binding: binding as number,
        resource: { buffer: buffer as GPUBuffer },
      })),
    });
    return {
      queries,
      offsets,
      history,
      targets,
      result,
      scoreGroup,
      topKGroup,
      params: new Uint32Array(SCORE_RANK_PARAMS_BYTES / 4),
    };
  }

  /**
   * Upload the chunk of users from `u0`, score and rank it in one pass, and
   * start copying its result to a staging buffer.
   */
  #submitChunk(
    req: RankRequest,
    plan: ChunkPlan,
    b: ChunkBuffers,
    u0: number,
  ): Pending {
    const device = this.device;
    const { n, k, dim, d4, dPad } = plan;
    const { history, targets } = req;
    const count = Math.min(plan.chunk, plan.users - u0);
    b.params.set([count, n, d4, k, targets === undefined ? 0 : 1]);
    device.queue.writeBuffer(this.#params, 0, b.params);
    if (dPad === dim) {
      device.queue.writeBuffer(
        b.queries,
        0,
        req.queries,
        u0 * dim,
        count * dim,
      );
    } else {
      const rows = req.queries.subarray(u0 * dim, (u0 + count) * dim);
      device.queue.writeBuffer(b.queries, 0, padRows(rows, count, dim, dPad));
    }
    const h0 = history.offsets[u0];
    const local = new Uint32Array(count + 1);
    for (let j = 0; j <= count; j++) {
      local[j] = history.offsets[u0 + j] - h0;
    }
    device.queue.writeBuffer(b.offsets, 0, local);
    if (local[count] > 0) {
      device.queue.writeBuffer(b.history, 0, history.ids, h0, local[count]);
    }
    if (targets !== undefined) {
      device.queue.writeBuffer(b.targets, 0, targets, u0, count);
    }
    const bytes = count * (2 * k + 1) * 4;
    const staging = this.#staging.pop() ?? device.createBuffer({
      label: "seqssl rank staging",
      size: plan.resultBytes,
      usage: MAP_READ | DST,
    });
    const encoder = device.createCommandEncoder({ label: "seqssl rank" });
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.#scorePipeline);
    pass.setBindGroup(0, b.scoreGroup);
    pass.dispatchWorkgroups(
      Math.ceil(n / SCORE_TILE),
      Math.ceil(count / SCORE_TILE),
    );
    pass.setPipeline(this.#topKPipeline);
    pass.setBindGroup(0, b.topKGroup);
    pass.dispatchWorkgroups(count);
    pass.end();
    // The result buffer packs ids, scores and ranks for `chunk` users;
    // a short last chunk packs them for `count` users from offset 0.
    encoder.copyBufferToBuffer(b.result, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    return {
      u0,
      count,
      staging,
      bytes,
      mapped: staging.mapAsync(MAP_MODE_READ, 0, bytes),
    };
  }

  /** Wait for a chunk's result and unpack it into `out`. */
  async #readChunk(p: Pending, k: number, out: RankResult): Promise<void> {
    await p.mapped;
    const words = new Uint32Array(p.staging.getMappedRange(0, p.bytes));
    const floats = new Float32Array(
      words.buffer,
      words.byteOffset,
      words.length,
    );
    const ck = p.count * k, at = p.u0 * k;
    for (let j = 0; j < ck; j++) {
      const id = words[j];
      out.topIds[at + j] = id;
      out.topScores[at + j] = id === 0 ? -Infinity : floats[ck + j];
    }
    if (out.ranks !== undefined) {
      for (let j = 0; j < p.count; j++) {
        out.ranks[p.u0 + j] = words[2 * ck + j];
      }
    }
    p.staging.unmap();
    this.#staging.push(p.staging);
  }

  /**
   * End a call however it went: pop both error scopes (validation, then
   * out-of-memory) before anything else, settle the mappings an exception
   * left, take the staging buffers back and destroy the retired buffers.
   * Returns the first WebGPU error, or null.
   */
  async #settle(pending: Pending[]): Promise<GPUError | null> {
    const validation = await this.device.popErrorScope();
    const memory = await this.device.popErrorScope();
    await Promise.allSettled(pending.map((p) => p.mapped));
    for (const p of pending) {
      if (p.staging.mapState === "mapped") p.staging.unmap();
      this.#staging.push(p.staging);
    }
    this.#busy = false;
    for (const b of this.#retired.splice(0)) b.destroy();
    return validation ?? memory;
  }

  /**
   * Free the ranker's buffers (and its device, if it created it).
   *
   * @example
   * ```ts
   * import { GpuRanker } from "./gpu_rank.ts";
   * import { probeWebGpu } from "./webgpu_probe.ts";
   * if (await probeWebGpu()) {
   *   const ranker = await GpuRanker.create();
   *   ranker.destroy();
   *   ranker.destroy(); // a second call does nothing
   *   let refused = false;
   *   try {
   *     ranker.setItems(new Float32Array(2), 2);
   *   } catch (e) {
   *     refused = String(e).includes("used after destroy()");
   *   }
   *   if (!refused) throw new Error("expected use after destroy() to throw");
   * }
   * ```
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const b of this.#buffers.values()) b.destroy();
    for (const b of this.#staging) b.destroy();
    for (const b of this.#retired) b.destroy();
    this.#items?.buffer.destroy();
    this.#params.destroy();
    this.#buffers.clear();
    this.#staging = [];
    this.#retired = [];
    this.#items = undefined;
    if (this.#ownsDevice) this.device.destroy();
  }
}

/** Result arrays for `users` users (ranks only with targets). */
function emptyResult(
  users: number,
  k: number,
  withRanks: boolean,
): RankResult {
  const topIds = new Int32Array(users * k);
  const topScores = new Float32Array(users * k);
  return withRanks
    ? { topIds, topScores, ranks: new Int32Array(users) }
    : { topIds, topScores };
}

/** Copy [rows, dim] into [rows, dPad] with zero padding (or return as is). */
function padRows(
  src: Float32Array,
  rows: number,
  dim: number,
  dPad: number,
): Float32Array {
  if (dim === dPad) return src;
  const out = new Float32Array(rows * dPad);
  for (let r = 0; r < rows; r++) {
    out.set(src.subarray(r * dim, (r + 1) * dim), r * dPad);
  }
  return out;
}
