/**
 * Shared pieces of the contrastive recipes: their config keys (one group
 * that CL4SRec, SRMA, MCLRec and S4Rec include), the data augmentation a
 * config names, the two augmented views of a batch, and the sequence
 * embedding.
 *
 * @module
 */
import type { Tensor2D, Tensor3D } from "../util/tensor_types.ts";
import type { SplitDataset, TrainBatch } from "../data/types.ts";
import { evalBatches } from "../data/batch.ts";
import type { EncodeOptions, Encoder, SeqInput } from "../nn/encoder.ts";
import type { Params } from "../nn/params.ts";
import { encodeLastByLength, encodeLastStacked } from "../nn/by_length.ts";
import type { StepContext } from "../training/model.ts";
import { flattenPositions, lastPosition } from "../losses/rec.ts";
import type { TrainConfig } from "../training/config.ts";
import { type RecBatch, withNegatives } from "./next_item.ts";
import type { LossConfig } from "../losses/regimes.ts";
import type { Rng } from "../util/rng.ts";
import {
  bool,
  choice,
  key,
  type KeySpecsOf,
  nonNeg,
  posInt,
  posNum,
  rate,
  share,
} from "../util/keys.ts";
import {
  augmentBatch,
  type Augmenter,
  crop,
  insert,
  type ItemCorrelation,
  itemCorrelation,
  mask,
  randomChoice,
  reorder,
  substitute,
} from "../augment/mod.ts";

const AUGMENTS = ["crop", "mask", "reorder", "insert", "substitute"];

/** Settings of two-view contrastive learning (documented in {@linkcode CONTRASTIVE_KEYS}). */
export interface ContrastiveConfig {
  /** Weight lambda of the contrastive loss. */
  clWeight: number;
  /** InfoNCE temperature. */
  clTemperature: number;
  /** InfoNCE similarity. */
  clSimilarity: "dot" | "cosine";
  /** Sequence embedding for contrast. */
  clEmbedding: "last" | "flatten";
  /** Data augmentations of the views. */
  augment: string;
  /** Crop's eta. */
  cropEta: number;
  /** Mask's gamma. */
  maskGamma: number;
  /** Reorder's beta. */
  reorderBeta: number;
  /** Insert's rate. */
  insertRate: number;
  /** Substitute's rate. */
  substituteRate: number;
  /** Length groups of the views' encoding. */
  viewGroups: number;
  /** One stacked pass over both views. */
  stackViews: boolean;
}

/**
 * The keys of two-view contrastive learning, declared once and included by
 * every method that contrasts augmented views.
 *
 * @example
 * ```ts
 * import { CONTRASTIVE_KEYS } from "./views.ts";
 * if (CONTRASTIVE_KEYS.clTemperature.default !== 0.2) throw new Error();
 * if (!CONTRASTIVE_KEYS.augment.valid("crop,mask") || CONTRASTIVE_KEYS.augment.valid("crop,blur")) throw new Error();
 * ```
 */
export const CONTRASTIVE_KEYS: KeySpecsOf<ContrastiveConfig> = {
  clWeight: nonNeg(0.1, "Weight lambda of the contrastive loss."),
  clTemperature: posNum(0.2, "InfoNCE temperature."),
  clSimilarity: choice(
    ["dot", "cosine"],
    "cosine",
    'InfoNCE similarity: "dot" or "cosine".',
  ),
  clEmbedding: choice(
    ["last", "flatten"],
    "last",
    "Sequence embedding for contrast: the last position, or all positions flattened.",
  ),
  augment: key(
    "crop,mask,reorder",
    `'none' or a comma-separated subset of ${AUGMENTS.join(", ")}`,
    (v) =>
      typeof v === "string" &&
      (v === "none" ||
        v.split(",").every((x) => AUGMENTS.includes(x.trim()))),
    "Data augmentations of the views, one chosen at random per sequence: a comma-separated " +
      'subset of crop, mask, reorder, insert, substitute, or "none" (a YAML list works too).',
  ),
  cropEta: share(0.6, "Crop keeps this share of the sequence (eta)."),
  maskGamma: rate(
    0.3,
    "Mask replaces this share of positions with the mask token (gamma).",
  ),
  reorderBeta: rate(
    0.2,
    "Reorder shuffles a run of this share of the sequence (beta).",
  ),
  insertRate: rate(
    0.3,
    "Insert adds correlated items at this share of positions.",
  ),
  substituteRate: rate(
    0.3,
    "Substitute swaps in correlated items at this share of positions.",
  ),
  viewGroups: posInt(
    1,
    "The views are encoded in this many groups of rows of similar length (less padding, more " +
      "kernels; same embeddings). 1 = one pass: at B = 256 on wasm 4 groups measured no faster.",
  ),
  stackViews: bool(
    true,
    "Encode the two views in one pass over both (stacked by rows) rather than one pass each: " +
      "the same embeddings, half the kernels.",
  ),
};

/**
 * The augmentation `cfg.augment` names (a random choice among them per
 * sequence), or undefined for "none". Insert and substitute use item
 * correlations from the training split only.
 *
 * @example
 * ```ts ignore
 * const aug = augmenterFromConfig(cfg, split);
 * ```
 */
export function augmenterFromConfig(
  cfg: Pick<
    ContrastiveConfig,
    | "augment"
    | "cropEta"
    | "maskGamma"
    | "reorderBeta"
    | "insertRate"
    | "substituteRate"
  >,
  split: SplitDataset,
): Augmenter | undefined {
  if (cfg.augment === "none") return undefined;
  const names = cfg.augment.split(",").map((s) => s.trim());
  let corr: ItemCorrelation | undefined;
  const correlation = () =>
    corr ??= itemCorrelation(split.train, split.numItems);
  const augs = names.map((n): Augmenter => {
    switch (n) {
      case "crop":
        return crop({ eta: cfg.cropEta });
      case "mask":
        return mask({ gamma: cfg.maskGamma, maskId: split.numItems + 1 });
      case "reorder":
        return reorder({ beta: cfg.reorderBeta });
      case "insert":
        return insert({ rate: cfg.insertRate, correlation: correlation() });
      case "substitute":
        return substitute({
          rate: cfg.substituteRate,
          correlation: correlation(),
        });
      default:
        throw new Error(`augment: unknown augmentation '${n}'`);
    }
  });
  return augs.length === 1 ? augs[0] : randomChoice(augs);
}

/**
 * The input sequences of a training batch (padding removed).
 *
 * @example
 * ```ts
 * import { batchSequences } from "./views.ts";
 * const b = { users: new Int32Array([0]), inputs: new Int32Array([0, 4, 5]),
 *   targets: new Int32Array([0, 5, 6]), batchSize: 1, seqLen: 3, posOffset: 0 };
 * if (batchSequences(b)[0].join() !== "4,5") throw new Error();
 * ```
 */
export function batchSequences(batch: TrainBatch): Int32Array[] {
  const out: Int32Array[] = [];
  for (let b = 0; b < batch.batchSize; b++) {
    const row = batch.inputs.subarray(b * batch.seqLen, (b + 1) * batch.seqLen);
    let i = 0;
    while (i < row.length && row[i] === 0) i++;
    out.push(row.slice(i));
  }
  return out;
}

/**
 * One view: every sequence through `aug` (or as is; {@linkcode augmentBatch},
 * which keeps the last `maxLen` items), left-padded.
 *
 * @example
 * ```ts ignore
 * const v1 = makeView(seqs, aug, rng, 50);
 * ```
 */
export function makeView(
  seqs: Int32Array[],
  aug: Augmenter | undefined,
  rng: Rng,
  maxLen: number,
): SeqInput {
  const views = aug ? augmentBatch(seqs, aug, { rng, maxLen }) : seqs;
  const idx = Array.from({ length: views.length }, (_, i) => i);
  return evalBatches(views, idx, {
    batchSize: Math.max(1, views.length),
    maxLen,
  })[0];
}

/**
 * The sequence embedding for contrast: the last position `[B, d]` or all
 * positions flattened `[B, maxLen * d]`.
 *
 * @example
 * ```ts ignore
 * const z = seqEmbedding(hidden, "last", 50);
 * ```
 */
export function seqEmbedding(
  hidden: Tensor3D,
  kind: "last" | "flatten",
  maxLen: number,
): Tensor2D {
  return kind === "flatten"
    ? flattenPositions(hidden, maxLen)
    : lastPosition(hidden);
}

/** A training batch with two augmented views (and its loss's negatives). */
export interface ViewBatch extends RecBatch {
  /** First augmented view of every sequence. */
  view1: SeqInput;
  /** Second augmented view of every sequence. */
  view2: SeqInput;
}

/**
 * The batch every two-view recipe trains on: the batch itself, its
 * negatives when `cfg.loss` draws some ("bce", "sampled";
 * `withNegatives`), and two independently augmented views, all drawn from
 * `ctx.rng` in that order.
 *
 * @example
 * ```ts ignore
 * const b = withViews(batch, ctx, augmenterFromConfig(cfg, split), cfg);
 * ```
 */
export function withViews(
  batch: TrainBatch,
  ctx: StepContext,
  aug: Augmenter | undefined,
  cfg: LossConfig & Pick<TrainConfig, "maxLen">,
): ViewBatch {
  const seqs = batchSequences(batch);
  return {
    ...withNegatives(batch, ctx, cfg),
    view1: makeView(seqs, aug, ctx.rng, cfg.maxLen),
    view2: makeView(seqs, aug, ctx.rng, cfg.maxLen),
  };
}

/**
 * The two views' last-position embeddings `[B, d]` each: one encoder pass
 * over both views stacked (`cfg.stackViews`, the default; half the kernels
 * of two passes) or one pass per view, each optionally by
 * `cfg.viewGroups` length groups.
 *
 * @example
 * ```ts ignore
 * const [z1, z2] = encodeViews(encoder, params, batch, { rng }, cfg);
 * ```
 */
export function encodeViews(
  encoder: Encoder,
  params: Params,
  batch: Pick<ViewBatch, "view1" | "view2">,
  opts: EncodeOptions,
  cfg: Pick<ContrastiveConfig, "stackViews" | "viewGroups">,
): [Tensor2D, Tensor2D] {
  const views = [batch.view1, batch.view2];
  if (cfg.stackViews) {
    const [z1, z2] = encodeLastStacked(
      encoder,
      params,
      views,
      opts,
      cfg.viewGroups,
    );
    return [z1, z2];
  }
  const [z1, z2] = views.map((v) =>
    encodeLastByLength(encoder, params, v, opts, cfg.viewGroups)
  );
  return [z1, z2];
}
