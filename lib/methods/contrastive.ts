/**
 * The contrastive block of CL4SRec and SRMA (Liu et al., "Improving
 * contrastive learning with model augmentation", `srma.txt`):
 *
 * Loss: L = L_rec + lambda * InfoNCE(z1, z2) over the 2N views of a batch.
 * Each view is a data-augmented sequence (crop/mask/reorder/insert/substitute)
 * passed through a model-augmented encoder:
 * - neuron masking: dropout after every FFN with its own rate p, drawn
 *   independently in each forward pass (so the two views differ), in the
 *   views and in the next-item branch;
 * - layer dropping: K extra FFN layers after the encoder, M of which are
 *   dropped per view per batch; they run in the views only, or also in the
 *   next-item branch and at evaluation with `dropAtEval` (the reference
 *   code's choice; off by default, which measured better on Beauty);
 * - encoder complementing: a 1-layer Transformer or a GRU pre-trained on
 *   next-item prediction, then frozen; gamma times its embedding is added to
 *   the second view only. No gradient reaches it.
 *
 * CL4SRec is this block with data augmentation only (its encoder's usual
 * dropout is the only model perturbation).
 *
 * @module
 */
import { runSchedule } from "../optim/schedule.ts";
import * as tf from "@tensorflow/tfjs";
import type { SplitDataset } from "../data/types.ts";
import type { Params } from "../nn/params.ts";
import { buildEncoder, SASREC_ENCODER_KEYS } from "../nn/encoders.ts";
import { ffnStack, initFfnStack, keptLayers } from "../nn/ffn_stack.ts";
import { infoNCE } from "../losses/infonce.ts";
import { weighted } from "../losses/combine.ts";
import { adam } from "../optim/transform.ts";
import {
  byRowChunks,
  jointStepper,
  type LossOutput,
} from "../optim/stepper.ts";
import { makeModel, type Model } from "../training/model.ts";
import { fit } from "../training/fit.ts";
import type { Rng } from "../util/rng.ts";
import { prefixed } from "../util/progress.ts";
import { encodeLastByLength } from "../nn/by_length.ts";
import type { MethodConfig } from "./registry.ts";
import {
  encodeForRec,
  lastPositionScorer,
  type NextItemConfig,
  recLoss,
} from "./next_item.ts";
import {
  augmenterFromConfig,
  type ContrastiveConfig,
  encodeViews,
  seqEmbedding,
  type ViewBatch,
  withViews,
} from "./views.ts";
import { sasrec } from "./sasrec.ts";

/** The keys the contrastive block reads: the next-item and contrastive groups. */
export type ContrastiveBlockConfig = MethodConfig<
  NextItemConfig & ContrastiveConfig
>;

/** Model augmentations of a contrastive recipe. */
export interface ModelAugmentation {
  /** Dropout after each FFN during training (neuron masking); undefined = the encoder's own rate. */
  neuronMask?: number;
  /** Extra FFN layers after the encoder (layer dropping), 0 = none. */
  dropK: number;
  /** Layers dropped per view per batch (0 <= M < K). */
  dropM: number;
  /** Whether the extra layers run in the next-item branch and at evaluation. */
  dropAtEval: boolean;
  /** Frozen pre-trained complement encoder, or "none". */
  complement: "none" | "transformer" | "gru";
  /** Weight of the complement's embedding in the second view. */
  complementGamma: number;
  /** Most pre-training epochs of the complement encoder. */
  complementEpochs: number;
  /** Early-stopping patience of the complement's pre-training. */
  complementPatience: number;
}

/**
 * No model augmentation: CL4SRec.
 *
 * @example
 * ```ts
 * import { NO_MODEL_AUGMENTATION } from "./contrastive.ts";
 * if (NO_MODEL_AUGMENTATION.dropK !== 0 || NO_MODEL_AUGMENTATION.complement !== "none") throw new Error();
 * ```
 */
export const NO_MODEL_AUGMENTATION: Readonly<ModelAugmentation> = Object
  .freeze({
    dropK: 0,
    dropM: 0,
    dropAtEval: false,
    complement: "none",
    complementGamma: 0,
    complementEpochs: 1,
    complementPatience: 1,
  });

const COMP = "comp/";

/**
 * The config the complement encoder is pre-trained with: the run's, as
 * SASRec (next-item only) with a 1-layer Transformer or a GRU, its own
 * epochs and patience.
 */
function complementConfig(
  cfg: ContrastiveBlockConfig,
  aug: ModelAugmentation,
): MethodConfig<NextItemConfig> {
  const loop = {
    method: "sasrec",
    epochs: aug.complementEpochs,
    patience: aug.complementPatience,
  };
  if (aug.complement === "gru") return { ...cfg, ...loop, encoder: "gru" };
  const own = cfg.encoder === "sasrec" ? cfg : undefined;
  return {
    ...cfg,
    ...loop,
    encoder: "sasrec",
    layers: 1,
    heads: own?.heads ?? SASREC_ENCODER_KEYS.heads.default,
    attnDropout: own?.attnDropout ?? SASREC_ENCODER_KEYS.attnDropout.default,
  };
}

/**
 * A contrastive recipe: next-item loss plus lambda * InfoNCE between two
 * views with the given model augmentations and `cfg`'s data augmentations.
 *
 * @example
 * ```ts
 * import { contrastive, NO_MODEL_AUGMENTATION } from "./contrastive.ts";
 * import { cl4srec } from "./cl4srec.ts";
 * import { configFor } from "../config/resolve.ts";
 * import { synthetic } from "../data/synthetic.ts";
 * import { leaveOneOut } from "../data/split.ts";
 * import { makeRng } from "../util/rng.ts";
 * const split = leaveOneOut(synthetic({ numUsers: 20, numItems: 40, maxLen: 10 }), { maxLen: 8 });
 * const cfg = configFor(cl4srec, { hidden: 8, maxLen: 8, layers: 1 });
 * let failed = "";
 * try {
 *   contrastive("x", cfg, split, makeRng(0), { ...NO_MODEL_AUGMENTATION, dropK: 2, dropM: 2 });
 * } catch (e) { failed = String(e); }
 * if (!failed.includes("0 <= M < K")) throw new Error(failed);
 * ```
 */
export function contrastive(
  method: string,
  cfg: ContrastiveBlockConfig,
  split: SplitDataset,
  rng: Rng,
  aug: ModelAugmentation,
): Model {
  const K = aug.dropK;
  if (
    !(Number.isInteger(K) && Number.isInteger(aug.dropM)) || K < 0 ||
    aug.dropM < 0 || (K > 0 && aug.dropM >= K)
  ) {
    throw new RangeError(
      `layer dropping: expected integers 0 <= M < K, found K=${K}, M=${aug.dropM}`,
    );
  }
  const params: Params = {};
  const encoder = buildEncoder(params, cfg, split.numItems, rng);
  if (K > 0) {
    initFfnStack(params, "drop", { layers: K, hidden: cfg.hidden }, rng);
  }
  const all = Array.from({ length: K }, (_, i) => i);
  const trainable = Object.keys(params);

  // The complement encoder: its own parameters (own item table), frozen.
  const compParams: Params = {};
  const compCfg = complementConfig(cfg, aug);
  const comp = aug.complement === "none"
    ? undefined
    : buildEncoder(compParams, compCfg, split.numItems, rng);
  for (const [k, v] of Object.entries(compParams)) params[COMP + k] = v;

  const ffnRate = aug.neuronMask;
  const dataAug = augmenterFromConfig(cfg, split);
  const embed = (h: tf.Tensor3D) =>
    seqEmbedding(h, cfg.clEmbedding, cfg.maxLen);
  // A last-position embedding needs only the last position's output.
  const lastOnly = cfg.clEmbedding === "last";

  // Two independent parts (differentiated on separate tapes, gradients
  // summed): the next-item branch, and the contrastive views.
  const recPart = (p: Params, batch: ViewBatch, r: Rng): LossOutput => {
    const enc = encodeForRec(
      encoder,
      p,
      batch,
      { rng: r, ffnDropout: ffnRate },
      cfg.samples,
    );
    let h: tf.Tensor = enc.hidden;
    if (K > 0 && aug.dropAtEval) {
      h = ffnStack(p, "drop", h, {
        keep: all,
        rate: ffnRate ?? cfg.dropout,
        rng: r,
      });
    }
    const rec = recLoss(encoder, p, h as tf.Tensor3D, enc.batch, cfg.loss);
    return weighted({ rec: [1, rec] });
  };
  const clPart = (p: Params, batch: ViewBatch, r: Rng): LossOutput => {
    // The last-position embeddings of both views (one stacked pass by
    // default); the K extra layers are position-wise, so they apply to them
    // directly, with their own dropped layers per view.
    const encoded = lastOnly
      ? encodeViews(encoder, p, batch, { rng: r, ffnDropout: ffnRate }, cfg)
      : [batch.view1, batch.view2].map((view) =>
        encoder.encode(p, view, { rng: r, ffnDropout: ffnRate })
      );
    const views = encoded.map((h, i) => {
      let hv: tf.Tensor = h;
      if (K > 0) {
        hv = ffnStack(p, "drop", hv, {
          keep: keptLayers(K, aug.dropM, r),
          rate: ffnRate ?? cfg.dropout,
          rng: r,
        });
      }
      let z = lastOnly ? hv as tf.Tensor2D : embed(hv as tf.Tensor3D);
      if (i === 1 && comp && aug.complementGamma > 0) {
        const view = batch.view2;
        const zc = lastOnly
          ? encodeLastByLength(comp, compParams, view, {}, cfg.viewGroups)
          : embed(comp.encode(compParams, view));
        z = tf.add(z, tf.mul(zc, aug.complementGamma));
      }
      return z;
    });
    const cl = infoNCE(views[0], views[1], {
      temperature: cfg.clTemperature,
      similarity: cfg.clSimilarity,
    });
    return weighted({ cl: [cfg.clWeight, cl] });
  };
  const rec = byRowChunks(recPart, cfg.maxTokens);
  const objective = cfg.clWeight > 0 ? [rec, clPart] : [rec];

  const model = makeModel({
    method,
    encoder,
    params,
    stepper: jointStepper(
      objective,
      adam(runSchedule(cfg, split), { weightDecay: cfg.weightDecay }),
      trainable,
    ),
    objective,
    prepareBatch: (batch, ctx) => withViews(batch, ctx, dataAug, cfg),
    scorer: lastPositionScorer(
      encoder,
      params,
      K > 0 && aug.dropAtEval
        ? (h) => ffnStack(params, "drop", h, { keep: all }) as tf.Tensor3D
        : undefined,
    ),
    prepare: comp
      ? async (s, r, progress) => {
        progress.log(
          `${method}: pre-training the complement encoder (${aug.complement}, 1 layer)`,
        );
        const sub = sasrec.build(compCfg, s, r);
        try {
          const res = await fit(sub, s, compCfg, r, {
            progress: prefixed(progress, `${method} complement: `),
          });
          progress.log(
            `${method}: complement encoder ready after ${res.lastEpoch} epochs ` +
              `(valid NDCG@20 ${res.bestValid?.all["NDCG@20"].toFixed(4)})`,
          );
          for (const [k, v] of Object.entries(sub.params)) {
            compParams[k].assign(v);
          }
        } finally {
          try {
            sub.dispose();
          } catch { /* never hide the original error */ }
        }
      }
      : undefined,
  });
  return model;
}
