/**
 * Full-ranking evaluation of a model on the validation or test targets of a
 * leave-one-out split: every real item 1..N is scored, the user's history is
 * excluded, and HR/NDCG/MRR@{5,10,20} are reported for all, head and tail
 * users, with accuracy split by the target's popularity; the TypeScript
 * ranker ("cpu") also keeps each user's top-20 list and reports the
 * beyond-accuracy metrics of it (see `metrics.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor1D, Tensor2D } from "../util/tensor_types.ts";
import type { SplitDataset } from "../data/types.ts";
import { evalBatches } from "../data/batch.ts";
import type { SeqInput } from "../nn/encoder.ts";
import { DEFAULT_KS, type GroupedMetrics, groupedMetrics } from "./metrics.ts";
import { ranksAndTopK } from "./rank.ts";
import { type ItemPopularity, itemPopularity } from "./item_popularity.ts";
import { historyCsr, rankTargets } from "../backend/rank_kernel.ts";
import {
  blockItems,
  DEFAULT_MAX_CELLS,
  itemBlocks,
  streamRanksAndTopK,
} from "./stream.ts";

/** What evaluation needs from a model. */
export interface Scorer {
  /** User representations `[B, d]` for a batch of inputs (no dropout). */
  represent(input: SeqInput): Tensor2D;
  /** Item representations `[numItems, d]`, row j = item j + 1. */
  items(): Tensor2D;
}

/** Ranks of every user's target and the metrics they give. */
export interface EvalResult {
  /** Per user, the number of items scored strictly above the target (-1: not evaluated). */
  ranks: Int32Array;
  /**
   * Per user, the top-k items (history excluded, best first), `[numUsers *
   * k]` with k the largest cut-off; rows of users not evaluated are 0.
   * Only from the "cpu" ranker (the device ranker counts ranks only), and
   * only then are the beyond-accuracy metrics reported.
   */
  topIds?: Int32Array;
  /** HR/NDCG for all, head and tail users. */
  metrics: GroupedMetrics;
  /** Seconds the pass took. */
  seconds: number;
}

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** Users scored at once (default 512). */
  batchSize?: number;
  /** Cut-offs (default 5, 10, 20). */
  ks?: readonly number[];
  /** Evaluate only these users (default: all). */
  users?: Int32Array;
  /**
   * Where ranks are computed: "gpu" = on the tfjs WebGPU backend's device
   * (seqssl's `SeqsslRankTargets` kernel over tfjs's scores; only the
   * ranks come back), "cpu" = a TypeScript pass over the tfjs score block.
   * Default: "gpu" when the active backend is webgpu, else "cpu".
   */
  ranker?: "gpu" | "cpu";
  /**
   * Keep history items rankable (RecBole's `repeatable`), for data where
   * users consume items again. Default false: every item of the user's
   * history is excluded, so a target that is itself in the history can
   * never be a hit (its rank is the number of items left). With true,
   * nothing is excluded: such a target competes with every item and can be
   * a hit, and so can any other history item (ranking it above the
   * target).
   * @default false
   */
  repeatable?: boolean;
  /**
   * Most score cells (users x items) held at once: on the "cpu" ranker,
   * when a batch times all items exceeds it, the item table is streamed in
   * blocks of `maxCells / batchSize` items (the same ranks, memory O(batch
   * x block) instead of O(batch x items)); on the "gpu" ranker, rows are
   * scored `maxCells / items` at a time.
   * @default 16777216 (2^24)
   */
  maxCells?: number;
}

/**
 * Ranks of the batches' targets computed on the device (webgpu): scores by
 * tfjs's matmul from the encoder's output, then `SeqsslRankTargets`
 * excludes the history and counts the items above the target. Neither
 * sequence embeddings nor scores leave the device; the ranks of the whole
 * pass come back in one read. Rows are scored `maxCells / N` at a time.
 */
async function deviceRanks(
  scorer: Scorer,
  batches: ReturnType<typeof evalBatches>,
  hist: Int32Array[],
  targets: Int32Array,
  numItems: number,
  maxCells: number,
  ranks: Int32Array,
): Promise<void> {
  const itemsT = tf.tidy(() => tf.transpose(scorer.items()));
  const parts: Tensor1D[] = [];
  const order: number[] = [];
  const rowsAtOnce = Math.max(1, Math.floor(maxCells / numItems));
  try {
    for (const batch of batches) {
      const reps = scorer.represent(batch);
      const bu = batch.users;
      for (let r0 = 0; r0 < bu.length; r0 += rowsAtOnce) {
        const rows = Math.min(rowsAtOnce, bu.length - r0);
        const us = bu.subarray(r0, r0 + rows);
        parts.push(tf.tidy(() => {
          const q = rows === bu.length ? reps : tf.slice(reps, [r0, 0], [
            rows,
            -1,
          ]);
          return rankTargets(
            tf.matMul(q, itemsT),
            Int32Array.from(us, (u) => targets[u]),
            historyCsr(Array.from(us, (u) => hist[u]), numItems),
          );
        }));
        order.push(...us);
      }
      reps.dispose();
    }
    const all = tf.concat(parts);
    const values = await all.data();
    all.dispose();
    order.forEach((u, i) => ranks[u] = values[i]);
  } finally {
    tf.dispose(parts);
    itemsT.dispose();
  }
}

/** Ranks from the item table in blocks of `width` items (see stream.ts). */
async function streamedRanks(
  scorer: Scorer,
  batches: ReturnType<typeof evalBatches>,
  hist: Int32Array[],
  targets: Int32Array,
  width: number,
  ranks: Int32Array,
  topIds: Int32Array,
  k: number,
): Promise<void> {
  const items = scorer.items();
  const blocks = itemBlocks(items, width);
  try {
    for (const batch of batches) {
      const bu = batch.users;
      const reps = scorer.represent(batch);
      try {
        const h = Array.from(bu, (u) => hist[u]);
        const r = await streamRanksAndTopK(
          reps,
          items,
          blocks.blocks,
          h,
          Int32Array.from(bu, (u) => targets[u]),
          k,
        );
        for (let i = 0; i < bu.length; i++) {
          ranks[bu[i]] = r.ranks[i];
          topIds.set(r.ids.subarray(i * k, (i + 1) * k), bu[i] * k);
        }
      } finally {
        reps.dispose();
      }
    }
  } finally {
    blocks.dispose();
    items.dispose();
  }
}

/** Item popularity of a split's training sequences, computed once per split. */
const popularityCache = new WeakMap<object, ItemPopularity>();
function splitPopularity(split: SplitDataset): ItemPopularity {
  let p = popularityCache.get(split.train);
  if (!p) {
    p = itemPopularity(split.train, split.numItems);
    popularityCache.set(split.train, p);
  }
  return p;
}

/**
 * Rank every user's validation or test target among all items.
 *
 * @example
 * ```ts ignore
 * import { evaluate } from "./evaluate.ts";
 * const res = await evaluate(model, split, "test");
 * console.log(res.metrics.all["NDCG@20"]);
 * ```
 */
export async function evaluate(
  scorer: Scorer,
  split: SplitDataset,
  which: "valid" | "test",
  opts: EvaluateOptions = {},
): Promise<EvalResult> {
  const t0 = performance.now();
  const inputs = which === "valid" ? split.validInput : split.testInput;
  const targets = which === "valid" ? split.validTarget : split.testTarget;
  const hist = opts.repeatable
    ? inputs.map(() => new Int32Array(0))
    : which === "valid"
    ? split.validHistory
    : split.testHistory;
  const numUsers = inputs.length;
  const users = opts.users ??
    Int32Array.from({ length: numUsers }, (_, i) => i);
  // Sort by input length so batches trim their padding.
  const order = Array.from(users).sort((a, b) =>
    inputs[a].length - inputs[b].length || a - b
  );
  const batches = evalBatches(inputs, Int32Array.from(order), {
    batchSize: opts.batchSize ?? 512,
    maxLen: split.maxLen,
  });
  const ks = opts.ks ?? DEFAULT_KS;
  const k = Math.max(...ks);
  const where = opts.ranker ?? (tf.getBackend() === "webgpu" ? "gpu" : "cpu");
  let ranks: Int32Array;
  let topIds: Int32Array | undefined;
  if (where === "gpu") {
    ranks = new Int32Array(numUsers).fill(-1);
    await deviceRanks(
      scorer,
      batches,
      hist,
      targets,
      split.numItems,
      opts.maxCells ?? DEFAULT_MAX_CELLS,
      ranks,
    );
  } else {
    ranks = new Int32Array(numUsers).fill(-1);
    topIds = new Int32Array(numUsers * k);
    const N = split.numItems;
    const bs = opts.batchSize ?? 512;
    const width = blockItems(bs, N, opts.maxCells ?? DEFAULT_MAX_CELLS);
    if (width < N) {
      await streamedRanks(
        scorer,
        batches,
        hist,
        targets,
        width,
        ranks,
        topIds,
        k,
      );
    } else {
      const itemsT = tf.tidy(() => tf.transpose(scorer.items()));
      try {
        for (const batch of batches) {
          const scoresT = tf.tidy(() =>
            tf.matMul(scorer.represent(batch), itemsT)
          );
          const scores = (await scoresT.data()) as Float32Array;
          scoresT.dispose();
          const bu = batch.users;
          const r = ranksAndTopK(
            scores,
            N,
            Array.from(bu, (u) => hist[u]),
            Array.from(bu, (u) => targets[u]),
            k,
          );
          for (let i = 0; i < bu.length; i++) {
            ranks[bu[i]] = r.ranks[i];
            topIds!.set(r.ids.subarray(i * k, (i + 1) * k), bu[i] * k);
          }
        }
      } finally {
        itemsT.dispose();
      }
    }
  }
  const sel = opts.users ? Array.from(opts.users) : undefined;
  const selRanks = sel ? Int32Array.from(sel, (u) => ranks[u]) : ranks;
  const selHead = sel
    ? Uint8Array.from(sel, (u) => split.isHead[u])
    : split.isHead;
  let selTop = topIds;
  if (sel && topIds) {
    selTop = new Int32Array(sel.length * k);
    sel.forEach((u, i) =>
      selTop!.set(topIds!.subarray(u * k, (u + 1) * k), i * k)
    );
  }
  return {
    ranks,
    ...(topIds ? { topIds } : {}),
    metrics: groupedMetrics(selRanks, selHead, {
      ks,
      ...(selTop ? { top: { ids: selTop, width: k } } : {}),
      items: splitPopularity(split),
      targets: sel ? sel.map((u) => targets[u]) : targets,
    }),
    seconds: (performance.now() - t0) / 1000,
  };
}
