/**
 * SRMA (Liu et al., "Improving contrastive learning with model augmentation",
 * `srma.txt`) and CL4SRec as recipes of blocks.
 *
 * Loss: L = L_rec + lambda * InfoNCE(z1, z2) over the 2N views of a batch.
 * Each view is a data-augmented sequence (crop/mask/reorder/insert/substitute)
 * passed through a model-augmented encoder:
 * - neuron masking: dropout after every FFN with its own rate p, drawn
 *   independently in each forward pass (so the two views differ);
 * - layer dropping: K extra FFN layers after the encoder, M of which are
 *   dropped per view per batch; they run in the views only, or also in the
 *   next-item branch and at evaluation with `dropAtEval` (the reference
 *   code's choice; off by default, which measured better on Beauty);
 * - encoder complementing: a 1-layer Transformer or a GRU pre-trained on
 *   next-item prediction, then frozen; gamma times its embedding is added to
 *   the second view only. No gradient reaches it.
 *
 * CL4SRec is the same recipe with data augmentation only (its encoder's usual
 * dropout is the only model perturbation).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { SplitDataset } from "../data/types.ts";
import type { Params } from "../nn/params.ts";
import { disposeParams } from "../nn/params.ts";
import { ffnStack, initFfnStack, keptLayers } from "../nn/ffn_stack.ts";
import { lastPosition } from "../losses/rec.ts";
import { infoNCE } from "../losses/infonce.ts";
import { weighted } from "../losses/combine.ts";
import { adam, disposeTree } from "../optim/transform.ts";
import {
  byRowChunks,
  jointStepper,
  type LossOutput,
  type Objective,
} from "../optim/stepper.ts";
import { makeConfig, type TrainConfig } from "../training/config.ts";
import type { Model } from "../training/model.ts";
import { fit } from "../training/fit.ts";
import type { Rng } from "../util/rng.ts";
import { prefixed } from "../util/progress.ts";
import { encodeLastByLength } from "../nn/by_length.ts";
import { buildEncoder, encodeForRec, recLoss, sasrec } from "./sasrec.ts";
import {
  augmenterFromConfig,
  encodeViews,
  seqEmbedding,
  type ViewBatch,
  withViews,
} from "./views.ts";

/** Model augmentations of a contrastive recipe. */
export interface ModelAugmentation {
  /** Dropout after each FFN during training (neuron masking); undefined = the encoder's own rate. */
  neuronMask?: number;
  /** Extra FFN layers after the encoder (layer dropping), 0 = none. */
  dropK: number;
  /** Layers dropped per view per batch. */
  dropM: number;
  /** Whether the extra layers run in the next-item branch and at evaluation. */
  dropAtEval: boolean;
  /** Frozen pre-trained complement encoder, or "none". */
  complement: "none" | "transformer" | "gru";
  /** Weight of the complement's embedding in the second view. */
  complementGamma: number;
}

const COMP = "comp/";

/**
 * A contrastive recipe: next-item loss plus lambda * InfoNCE between two
 * views with the given model augmentations and `cfg`'s data augmentations.
 *
 * @example
 * ```ts ignore
 * const model = contrastive("srma", cfg, split, rng, { dropK: 2, dropM: 1, ... });
 * ```
 */
export function contrastive(
  method: string,
  cfg: TrainConfig,
  split: SplitDataset,
  rng: Rng,
  aug: ModelAugmentation,
): Model {
  const params: Params = {};
  const encoder = buildEncoder(params, cfg, split.numItems, rng);
  const K = aug.dropK;
  if (K > 0) {
    keptLayers(K, aug.dropM, rng); // validates 0 <= M < K
    initFfnStack(params, "drop", { layers: K, hidden: cfg.hidden }, rng);
  }
  const all = Array.from({ length: K }, (_, i) => i);
  const trainable = Object.keys(params);

  // The complement encoder: its own parameters (own item table), frozen.
  const compParams: Params = {};
  const compCfg = makeConfig({
    method: "sasrec",
    encoder: aug.complement === "gru" ? "gru" : "sasrec",
    layers: 1,
    epochs: cfg.complementEpochs,
    patience: 3,
  }, { base: cfg });
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
    const rec = recLoss(h as tf.Tensor3D, p, enc.batch, cfg.loss);
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
  const loss = cfg.clWeight > 0 ? [rec, clPart] : [rec];
  const stepper = jointStepper(
    loss,
    adam(cfg.lr, { weightDecay: cfg.weightDecay }),
    trainable,
  );

  const model: Model = {
    method,
    encoder,
    params,
    optStates: { main: stepper.init(params) },
    prepareBatch: (batch, ctx) => withViews(batch, ctx, dataAug, cfg),
    objective: loss as Objective<unknown>,
    trainable,
    step: async (batch, ctx) => {
      const b = model.prepareBatch!(batch, ctx) as ViewBatch;
      const res = await stepper.step(
        params,
        model.optStates.main,
        b,
        ctx.rng,
        ctx.deferred,
      );
      model.optStates.main = res.optState;
      return res.terms;
    },
    scorer: {
      represent: (input) =>
        tf.tidy(() => {
          let h: tf.Tensor = encoder.encode(params, input, {
            lastOnly: true,
          });
          if (K > 0 && aug.dropAtEval) {
            h = ffnStack(params, "drop", h, { keep: all });
          }
          return lastPosition(h as tf.Tensor3D);
        }),
      items: () =>
        tf.tidy(() =>
          tf.slice(params[encoder.embKey], [1, 0], [
            encoder.numItems,
            encoder.hidden,
          ]) as tf.Tensor2D
        ),
    },
    dispose: () => {
      disposeParams(params);
      for (const s of Object.values(model.optStates)) disposeTree(s);
    },
  };
  if (comp) {
    model.prepare = async (s, r, progress) => {
      progress.log(
        `${method}: pre-training the complement encoder (${aug.complement}, 1 layer)`,
      );
      const sub = sasrec(compCfg, s, r);
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
    };
  }
  return model;
}

/**
 * SRMA: data augmentation plus neuron masking, layer dropping and encoder
 * complementing, every knob from `cfg` (neuronMask, dropK, dropM, dropAtEval,
 * complement, complementGamma, clWeight, augment).
 *
 * @example
 * ```ts ignore
 * import { srma } from "jsr:@x/seqssl";
 * const model = srma(makeConfig({ method: "srma" }), split, makeRng(0));
 * ```
 */
export function srma(cfg: TrainConfig, split: SplitDataset, rng: Rng): Model {
  return contrastive("srma", cfg, split, rng, {
    neuronMask: cfg.neuronMask,
    dropK: cfg.dropK,
    dropM: cfg.dropM,
    dropAtEval: cfg.dropAtEval,
    complement: cfg.complement,
    complementGamma: cfg.complementGamma,
  });
}

/**
 * CL4SRec: next-item loss plus InfoNCE between two data-augmented views
 * (crop/mask/reorder by default); no model augmentation beyond the encoder's
 * usual dropout.
 *
 * @example
 * ```ts ignore
 * import { cl4srec } from "jsr:@x/seqssl";
 * const model = cl4srec(makeConfig({ method: "cl4srec" }), split, makeRng(0));
 * ```
 */
export function cl4srec(
  cfg: TrainConfig,
  split: SplitDataset,
  rng: Rng,
): Model {
  return contrastive("cl4srec", cfg, split, rng, {
    dropK: 0,
    dropM: 0,
    dropAtEval: false,
    complement: "none",
    complementGamma: 0,
  });
}
