/**
 * The next-item branch every method shares: the encoding it trains on, its
 * loss, the standard scorer, the BCE negatives, and the key that chunks it
 * (`maxTokens`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor2D, Tensor3D } from "../util/tensor_types.ts";
import type { SplitDataset, TrainBatch } from "../data/types.ts";
import type { EncodeOptions, Encoder } from "../nn/encoder.ts";
import type { Params } from "../nn/params.ts";
import { bceOneNegative, fullSoftmaxCE, lastPosition } from "../losses/rec.ts";
import {
  drawNegatives,
  itemProposal,
  type Proposal,
  sampledSoftmax,
  type SharedNegatives,
} from "../losses/sampled.ts";
import type { LossConfig } from "../losses/regimes.ts";
import type { Model, StepContext } from "../training/model.ts";
import type { TrainConfig } from "../training/config.ts";
import { sampleNegatives } from "../training/negatives.ts";
import { type KeySpecsOf, nonNegInt } from "../util/keys.ts";

/** The next-item branch's setting (documented in {@linkcode NEXT_ITEM_KEYS}). */
export interface NextItemConfig {
  /** Most cells per gradient tape of the next-item loss (0 = no chunks). */
  maxTokens: number;
}

/**
 * The key of methods whose next-item loss runs by row chunks
 * (`byRowChunks`): SASRec, CL4SRec, SRMA and MCLRec include it.
 *
 * @example
 * ```ts
 * import { NEXT_ITEM_KEYS } from "./next_item.ts";
 * if (NEXT_ITEM_KEYS.maxTokens.default !== 3200) throw new Error();
 * ```
 */
export const NEXT_ITEM_KEYS: KeySpecsOf<NextItemConfig> = {
  maxTokens: nonNegInt(
    3200,
    "Most cells (rows x columns) the next-item loss puts on one gradient tape; longer batches " +
      "are split by rows, same loss and gradient, lower peak memory. 0 = never split.",
  ),
};

/** A batch with its sampled negatives (BCE and sampled-softmax regimes). */
export interface RecBatch extends TrainBatch {
  /** Negative ids aligned with `targets` (BCE regime). */
  negatives?: Int32Array;
  /** The batch's shared negatives (sampled-softmax regime). */
  sampled?: SharedNegatives;
}

// The proposal of each split and sampler, computed once per run.
const proposals = new WeakMap<SplitDataset, Map<string, Proposal>>();

function proposalFor(split: SplitDataset, kind: "uniform" | "popularity") {
  let byKind = proposals.get(split);
  if (!byKind) proposals.set(split, byKind = new Map());
  let p = byKind.get(kind);
  if (!p) byKind.set(kind, p = itemProposal(kind, split.numItems, split.train));
  return p;
}

/**
 * The batch with its negatives drawn from `ctx.rng`: one per position when
 * `cfg.loss` is "bce", `cfg.sampledNegatives` shared by the batch from
 * `cfg.sampler`'s proposal (over `ctx.split`'s items) when it is "sampled",
 * none for "ce".
 *
 * @example
 * ```ts
 * import { withNegatives } from "./next_item.ts";
 * import { makeRng } from "../util/rng.ts";
 * const batch = { users: Int32Array.of(0), inputs: Int32Array.of(1), targets: Int32Array.of(2), batchSize: 1, seqLen: 1, posOffset: 0 };
 * const split = { numItems: 5, train: [Int32Array.of(1, 2)] };
 * const ctx = { rng: makeRng(0), epoch: 1, split: split as never };
 * const b = withNegatives(batch, ctx, { loss: "bce" });
 * const n = b.negatives![0];
 * if (n === 1 || n === 2 || n < 1 || n > 5) throw new Error(String(n));
 * if (withNegatives(batch, ctx, { loss: "ce" }).negatives) throw new Error();
 * const s = withNegatives(batch, ctx, { loss: "sampled", sampledNegatives: 3, sampler: "uniform" });
 * if (s.sampled?.ids.length !== 3 || s.negatives) throw new Error();
 * ```
 */
export function withNegatives(
  batch: TrainBatch,
  ctx: StepContext,
  cfg: LossConfig,
): RecBatch {
  switch (cfg.loss) {
    case "bce":
      return {
        ...batch,
        negatives: sampleNegatives(batch, ctx.split, ctx.rng),
      };
    case "sampled":
      return {
        ...batch,
        sampled: drawNegatives(
          proposalFor(ctx.split, cfg.sampler),
          cfg.sampledNegatives,
          ctx.rng,
        ),
      };
    case "ce":
      return batch;
  }
}

/**
 * The batch reduced to its last column (targets, negatives): what
 * {@linkcode recLoss} needs when every row's only target is at its last
 * position (`samples: "prefixes"`), so the encoder can run with `lastOnly`.
 *
 * @example
 * ```ts
 * import { lastColumn } from "./next_item.ts";
 * const b = lastColumn({
 *   users: Int32Array.of(0, 1), inputs: Int32Array.of(1, 2, 0, 3),
 *   targets: Int32Array.of(0, 3, 0, 4), batchSize: 2, seqLen: 2, posOffset: 0,
 * });
 * if (b.targets.join() !== "3,4" || b.inputs.join() !== "2,3" || b.seqLen !== 1) throw new Error();
 * ```
 */
export function lastColumn<B extends RecBatch>(batch: B): B {
  const L = batch.seqLen;
  const last = (a: Int32Array) =>
    Int32Array.from({ length: batch.batchSize }, (_, r) => a[r * L + L - 1]);
  return {
    ...batch,
    inputs: last(batch.inputs),
    targets: last(batch.targets),
    negatives: batch.negatives && last(batch.negatives),
    seqLen: 1,
    posOffset: batch.posOffset + L - 1,
  };
}

/**
 * The encoder's hidden states for the next-item loss, with the batch they
 * align with: every position and the batch itself, or, with `samples:
 * "prefixes"` (each row's only target at its last position), the last
 * position only (`lastOnly`) and {@linkcode lastColumn}`(batch)`.
 *
 * @example
 * ```ts
 * import { encodeForRec } from "./next_item.ts";
 * import { buildEncoder } from "../nn/encoders.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params = {};
 * const enc = buildEncoder(params, { encoder: "gru", hidden: 4, maxLen: 3, dropout: 0 }, 9, makeRng(0));
 * const batch = { users: Int32Array.of(0), inputs: Int32Array.of(1, 2, 3), targets: Int32Array.of(2, 3, 4), batchSize: 1, seqLen: 3, posOffset: 0 };
 * const { hidden, batch: b } = encodeForRec(enc, params, batch, {}, "prefixes");
 * if (hidden.shape.join() !== "1,1,4" || b.targets.join() !== "4") throw new Error();
 * ```
 */
export function encodeForRec<B extends RecBatch>(
  encoder: Encoder,
  params: Params,
  batch: B,
  opts: EncodeOptions,
  samples: TrainConfig["samples"],
): { hidden: Tensor3D; batch: B } {
  const lastOnly = samples === "prefixes";
  return {
    hidden: encoder.encode(params, batch, { ...opts, lastOnly }),
    batch: lastOnly ? lastColumn(batch) : batch,
  };
}

/**
 * The next-item loss of the configured regime on encoder output `hidden`,
 * scored against the encoder's item table (`encoder.embKey`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { recLoss } from "./next_item.ts";
 * import type { Encoder } from "../nn/encoder.ts";
 * // two items (rows 1, 2; row 0 is padding, row 3 the mask token), one
 * // position whose target is item 1
 * const params = { table: tf.variable(tf.tensor2d([[0, 0], [1, 0], [0, 1], [5, 5]])) };
 * const enc = { embKey: "table" } as Encoder;
 * const h = tf.tensor3d([[[2, 0]]]);
 * const batch = { users: Int32Array.of(0), inputs: Int32Array.of(1), targets: Int32Array.of(1), batchSize: 1, seqLen: 1, posOffset: 0 };
 * const ce = recLoss(enc, params, h, batch, "ce").dataSync()[0];
 * // logits (items 1, 2) = (2, 0): CE = log(1 + e^-2)
 * if (Math.abs(ce - Math.log(1 + Math.exp(-2))) > 1e-5) throw new Error(String(ce));
 * ```
 */
export function recLoss(
  encoder: Pick<Encoder, "embKey">,
  params: Params,
  hidden: Tensor3D,
  batch: RecBatch,
  regime: TrainConfig["loss"],
): Scalar {
  const emb = params[encoder.embKey] as unknown as Tensor2D;
  if (regime === "bce") {
    if (!batch.negatives) {
      throw new Error("recLoss: the BCE regime needs batch.negatives");
    }
    return bceOneNegative(hidden, emb, batch.targets, batch.negatives);
  }
  if (regime === "sampled") {
    if (!batch.sampled) {
      throw new Error("recLoss: the sampled regime needs batch.sampled");
    }
    return sampledSoftmax(hidden, emb, batch.targets, batch.sampled);
  }
  return fullSoftmaxCE(hidden, emb, batch.targets);
}

/**
 * The standard scorer: user = encoder output at the last position (no
 * dropout; then `after`, e.g. extra layers that also run at evaluation),
 * items = the encoder's item table rows 1..N.
 *
 * @example
 * ```ts
 * import { lastPositionScorer } from "./next_item.ts";
 * import { buildEncoder } from "../nn/encoders.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params = {};
 * const enc = buildEncoder(params, { encoder: "gru", hidden: 4, maxLen: 3, dropout: 0 }, 9, makeRng(0));
 * const items = lastPositionScorer(enc, params).items();
 * if (items.shape.join() !== "9,4") throw new Error(); // no padding row, no mask token
 * ```
 */
export function lastPositionScorer(
  encoder: Encoder,
  params: Params,
  after?: (hidden: Tensor3D) => Tensor3D,
): Model["scorer"] {
  return {
    represent: (input) =>
      tf.tidy(() => {
        const h = encoder.encode(params, input, { lastOnly: true });
        return lastPosition(after ? after(h) : h);
      }),
    items: () =>
      tf.tidy(() =>
        tf.slice(params[encoder.embKey], [1, 0], [
          encoder.numItems,
          encoder.hidden,
        ]) as Tensor2D
      ),
  };
}
