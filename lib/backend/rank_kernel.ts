/**
 * Ranks of the targets among all items, computed where the scores are: the
 * tfjs kernel `SeqsslRankTargets` takes scores `[B, N]` (column j = item
 * j + 1), the targets `[B]` and the deduplicated histories (CSR) and returns
 * each row's number of items scored strictly above its target, history
 * excluded (`ranksFromScores`'s rule, lib/eval/rank.ts). On webgpu it is one
 * WGSL dispatch (a workgroup per row): the scores never leave the device and
 * only B integers come back. Registered for webgpu only; cpu and wasm rank
 * in TypeScript from the scores as before.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  type KernelArgs,
  registerWhereMissing,
  type TensorInfo,
  type WebGpuBackendLike,
} from "./_kernel_util.ts";
import {
  RANK_TARGETS_WGSL,
  RANK_THREADS,
  RANK_UNIFORMS,
} from "../../kernels/rank_targets.ts";

/** The tfjs kernel name of the target ranks. */
const RANK_KERNEL = "SeqsslRankTargets";

/** A tfjs WebGPU program: one workgroup per row. */
class RankProgram {
  variableNames = ["scores", "targets", "offsets", "hist"];
  outputShape: number[];
  shaderKey = "seqssl_rank_targets";
  dispatchLayout: { x: number[] } = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [RANK_THREADS, 1, 1];
  uniforms = RANK_UNIFORMS;
  constructor(rows: number) {
    this.outputShape = [rows];
    this.dispatch = [rows, 1, 1];
  }
  getUserCode(): string {
    return RANK_TARGETS_WGSL;
  }
}

function webgpuKernel(args: KernelArgs): TensorInfo {
  const { scores, targets, offsets, hist } = args.inputs as Record<
    string,
    TensorInfo
  >;
  const [B, N] = scores.shape;
  if (
    scores.shape.length !== 2 || targets.shape[0] !== B ||
    offsets.shape[0] !== B + 1
  ) {
    throw new Error(
      `${RANK_KERNEL}: expected scores [B, N], targets [B], offsets [B + 1], found [${scores.shape}], [${targets.shape}], [${offsets.shape}]`,
    );
  }
  const backend = args.backend as unknown as WebGpuBackendLike;
  return backend.runWebGPUProgram(
    new RankProgram(B),
    [scores, targets, offsets, hist],
    "int32",
    [{ type: "int32", data: [N] }],
  );
}

let registered = false;

/**
 * Register `SeqsslRankTargets` for webgpu (idempotent).
 */
function registerRankKernel(): void {
  if (registered) return;
  registered = true;
  registerWhereMissing(RANK_KERNEL, [["webgpu", webgpuKernel]]);
}

/**
 * Histories as the kernel takes them: each deduplicated, restricted to ids
 * 1..numItems, concatenated, with row offsets.
 *
 * @example
 * ```ts
 * import { historyCsr } from "./rank_kernel.ts";
 * const h = historyCsr([Int32Array.of(3, 3, 9, 0), Int32Array.of()], 5);
 * if (h.offsets.join() !== "0,1,1" || h.ids.join() !== "3") throw new Error();
 * ```
 */
export function historyCsr(
  histories: ArrayLike<ArrayLike<number>>,
  numItems: number,
): { offsets: Int32Array; ids: Int32Array } {
  const offsets = new Int32Array(histories.length + 1);
  const ids: number[] = [];
  for (let r = 0; r < histories.length; r++) {
    const seen = new Set<number>();
    const h = histories[r];
    for (let i = 0; i < h.length; i++) {
      const id = h[i];
      if (id >= 1 && id <= numItems && !seen.has(id)) {
        seen.add(id);
        ids.push(id);
      }
    }
    offsets[r + 1] = ids.length;
  }
  return { offsets, ids: Int32Array.from(ids) };
}

/**
 * Ranks `[B]` (int32, on the device) of each row's target in `scores`
 * `[B, N]`, history excluded; only where `SeqsslRankTargets` is registered
 * for the active backend (webgpu).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { historyCsr, rankTargets } from "./rank_kernel.ts";
 * import { initBackend, probeWebGpu } from "./init.ts";
 * if (await probeWebGpu()) {
 *   await initBackend("webgpu");
 *   // items 1..4 scored 4, 3, 2, 1; target 3; item 1 in the history
 *   const ranks = rankTargets(
 *     tf.tensor2d([[4, 3, 2, 1]]), Int32Array.of(3), historyCsr([Int32Array.of(1)], 4),
 *   );
 *   if ((await ranks.data())[0] !== 1) throw new Error(); // only item 2 is above
 * }
 * ```
 */
export function rankTargets(
  scores: tf.Tensor2D,
  targets: Int32Array,
  history: { offsets: Int32Array; ids: Int32Array },
): tf.Tensor1D {
  registerRankKernel();
  return tf.tidy(() => {
    const t = tf.tensor1d(targets, "int32");
    const o = tf.tensor1d(history.offsets, "int32");
    // An empty binding is not allowed: one unused id when no history.
    const h = tf.tensor1d(
      history.ids.length > 0 ? history.ids : Int32Array.of(0),
      "int32",
    );
    return tf.engine().runKernel(RANK_KERNEL, {
      scores,
      targets: t,
      offsets: o,
      hist: h,
    }) as tf.Tensor1D;
  });
}
