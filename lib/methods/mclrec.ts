/**
 * MCLRec (Qin et al., "Meta-optimized Contrastive Learning for Sequential
 * Recommendation", SIGIR 2023, `mclrec.txt`) as a recipe of blocks.
 *
 * Views: two data-augmented copies of each sequence (`cfg.augment`) through
 * the encoder give h1, h2 (the last position, or all positions flattened:
 * `cfg.clEmbedding`); two learnable augmenters (MLP d -> d/2 -> d/4 -> d,
 * GELU, L2-normalised output; one shared augmenter with `augShared`) give
 * z1 = w1(h1), z2 = w2(h2). The augmenter's width is the embedding's (d, or
 * maxLen * d when flattened), since InfoNCE(h1, z2) compares the two.
 *
 * Losses (Eq. 7, 9, 11-13), every InfoNCE and R with `clSimilarity` and
 * `clTemperature`:
 *   L_cl1 = InfoNCE(h1, h2)
 *   L_cl2 = InfoNCE(z1, z2) + InfoNCE(h1, z2) + InfoNCE(h2, z1)
 *   R     = contrastiveRegularizer(z1, z2)   (per-row margins)
 *   L_0   = L_rec + lambda L_cl1 + beta L_cl2 + gamma R      (Eq. 14)
 *   L_1   = L_cl2 + gamma R                                  (Eq. 15)
 * with lambda = `clWeight`, beta = `mclBeta`, gamma = `mclGamma`.
 *
 * Training (`metaStep`):
 * - "meta" (Algorithm 1): per batch, stage 1 updates the encoder on L_0 with
 *   the augmenters frozen (Adam, `lr`); stage 2 re-encodes the same views
 *   with the updated encoder (fresh dropout) and updates only the augmenters
 *   on L_1 with their own Adam (`augLr`). Optimiser states: `encoder` and
 *   `augmenters`.
 * - "joint" (MCLRec-J): one Adam step on L_0 over encoder and augmenters
 *   together (`lr`). Optimiser state: `main`.
 *
 * Differences from the reference code (QinHsiu/MCLRec), where this recipe
 * follows the paper and the project's protocol unless said otherwise:
 * - the code runs a third step per batch (the encoder again on L_0 after the
 *   augmenter update); Algorithm 1 has two stages, and so do we;
 * - the code's R is 0.1 * [R(h1, z2) + R(h2, z1) + R(z1, z2)] inside L_cl2, so
 *   its stage-1 weight is 0.1 beta and its stage-2 weight 0.1; here R is
 *   Eq. 11's R(z1, z2) with weight gamma in both stages (default gamma =
 *   0.1 beta, the code's stage-1 ratio);
 * - the paper's s(.) is the inner product everywhere, without temperature;
 *   the code fixes L_cl2 to dot product at temperature 1 and uses its
 *   `tau`/`sim` for L_cl1 and R; here all three use `clTemperature` and
 *   `clSimilarity`, one choice for every contrast (dot and 1 reproduce the
 *   paper and the code; the project's default is cosine at 0.2). R(z1, z2)
 *   does not depend on the similarity (z is unit-norm) and scales as
 *   1/temperature;
 * - the code's augmenter Adam uses the encoder's learning rate and weight
 *   decay; here its rate is `augLr` (default 1e-3, the same value) and its
 *   weight decay `weightDecay`.
 *
 * Evaluation uses the encoder alone (the augmenters only shape training).
 *
 * @module
 */
import { runSchedule, type Schedule } from "../optim/schedule.ts";
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../nn/params.ts";
import { buildEncoder } from "../nn/encoders.ts";
import { augmenterMlp, initAugmenterMlp } from "../nn/augmenter_mlp.ts";
import { infoNCE } from "../losses/infonce.ts";
import { contrastiveRegularizer } from "../losses/regularizer.ts";
import { weighted } from "../losses/combine.ts";
import { adam } from "../optim/transform.ts";
import {
  byRowChunks,
  jointStepper,
  type LossFn,
  type LossOutput,
  type Objective,
  type Part,
  type Stepper,
} from "../optim/stepper.ts";
import {
  MASK_TOKEN_DIFFERENCE,
  PROTOCOL_DIFFERENCES,
  RECBOLE_TRAINING,
} from "./paper_regimes.ts";
import { metaStepper } from "../optim/meta.ts";
import { makeModel, type Model } from "../training/model.ts";
import type { Rng } from "../util/rng.ts";
import { bool, choice, type KeySpecsOf, nonNeg, posNum } from "../util/keys.ts";
import { defineMethod, type MethodDef } from "./registry.ts";
import {
  encodeForRec,
  lastPositionScorer,
  NEXT_ITEM_KEYS,
  type NextItemConfig,
  recLoss,
} from "./next_item.ts";
import {
  augmenterFromConfig,
  CONTRASTIVE_KEYS,
  type ContrastiveConfig,
  encodeViews,
  seqEmbedding,
  type ViewBatch,
  withViews,
} from "./views.ts";

/** A training batch with its two data-augmented views. */
export type MclrecBatch = ViewBatch;

/** An MCLRec model: a {@linkcode Model} that also exposes its stepper. */
export interface MclrecModel extends Model {
  /** The stepper `step` uses (a `MetaStepper` when `metaStep` is "meta"). */
  stepper: Stepper<MclrecBatch>;
  /** Parameter names of the encoder and of the augmenters. */
  groups: { encoder: string[]; augmenters: string[] };
  /** Stage 2's objective, L_1 = L_cl2 + gamma R (w.r.t. the augmenters). */
  augmenterObjective: Objective<MclrecBatch>;
}

/** MCLRec's own settings (documented in {@linkcode MCLREC_KEYS}). */
export interface MclrecConfig {
  /** Weight beta of L_cl2. */
  mclBeta: number;
  /** Weight gamma of R. */
  mclGamma: number;
  /** The augmenters' learning rate. */
  augLr: number;
  /** One augmenter for both views. */
  augShared: boolean;
  /** Two-stage or joint step. */
  metaStep: "meta" | "joint";
}

/**
 * MCLRec's own keys (lambda is `clWeight`, the weight of L_cl1).
 *
 * @example
 * ```ts
 * import { MCLREC_KEYS } from "./mclrec.ts";
 * if (MCLREC_KEYS.metaStep.default !== "meta" || !MCLREC_KEYS.metaStep.valid("joint")) throw new Error();
 * ```
 */
export const MCLREC_KEYS: KeySpecsOf<MclrecConfig> = {
  mclBeta: nonNeg(
    0.05,
    "MCLRec beta: weight of L_cl2 (learnable-augmenter views).",
  ),
  mclGamma: nonNeg(
    0.005,
    "MCLRec gamma: weight of the contrastive regulariser R (paper: 0.1 beta).",
  ),
  augLr: posNum(
    1e-3,
    "MCLRec: learning rate of the augmenters' own Adam (stage 2).",
  ),
  augShared: bool(
    false,
    "MCLRec: one augmenter shared by both views (ablation).",
  ),
  metaStep: choice(
    ["meta", "joint"],
    "meta",
    'MCLRec: "meta" (two-stage step) or "joint" (MCLRec-J ablation).',
  ),
};

/**
 * MCLRec: next-item loss plus contrast between data-augmented views and
 * their learnable model augmentations, trained in two stages per batch (or
 * jointly with `metaStep: "joint"`). Every knob is a config key: clWeight
 * (lambda), mclBeta, mclGamma, augLr, augShared, metaStep, clTemperature,
 * clSimilarity, clEmbedding, augment.
 *
 * @example
 * ```ts
 * import { mclrec } from "./mclrec.ts";
 * import { configFor } from "../config/resolve.ts";
 * import { synthetic } from "../data/synthetic.ts";
 * import { leaveOneOut } from "../data/split.ts";
 * import { trainBatches } from "../data/batch.ts";
 * import { makeRng } from "../util/rng.ts";
 * const split = leaveOneOut(synthetic({ numUsers: 20, numItems: 40, maxLen: 20 }), { maxLen: 8 });
 * const cfg = configFor(mclrec, { hidden: 8, heads: 2, maxLen: 8, layers: 1 });
 * const rng = makeRng(0);
 * const model = mclrec.build(cfg, split, rng);
 * const batch = trainBatches(split, { batchSize: 20, rng })[0];
 * const terms = await model.step(batch, { rng, epoch: 1, split });
 * if (!("augmenters.cl2" in terms)) throw new Error(Object.keys(terms).join());
 * model.dispose();
 * ```
 */
export const mclrec: MethodDef<
  NextItemConfig & ContrastiveConfig & MclrecConfig,
  MclrecModel
> = defineMethod({
  name: "mclrec",
  summary:
    "two learnable augmenters (MLPs) on the views' embeddings, contrast between views and " +
    "augmented views, a regulariser, and a meta-optimised two-stage step",
  paper:
    "Qin et al., Meta-optimized Contrastive Learning for Sequential Recommendation, SIGIR 2023",
  keys: { ...NEXT_ITEM_KEYS, ...CONTRASTIVE_KEYS, ...MCLREC_KEYS },
  presets: {
    paper: {
      summary:
        "MCLRec as its RecBole code trains: full-softmax CE on every prefix, lambda 0.1, beta " +
        "0.05, gamma = 0.1 beta, InfoNCE by dot product at temperature 1 on the last position, " +
        "Algorithm 1's two-stage meta step",
      values: {
        ...RECBOLE_TRAINING,
        clWeight: 0.1,
        clSimilarity: "dot",
        clTemperature: 1,
        clEmbedding: "last",
        augment: "crop,mask,reorder",
        cropEta: 0.6,
        maskGamma: 0.3,
        reorderBeta: 0.2,
        mclBeta: 0.05,
        mclGamma: 0.005,
        augLr: 0.001,
        augShared: false,
        metaStep: "meta",
      },
      differences: [
        ...PROTOCOL_DIFFERENCES,
        "the meta step runs Algorithm 1's two stages (encoder, then augmenters on the re-encoded " +
        "views); crop/mask/reorder rates are CL4SRec's (0.6/0.3/0.2)",
        MASK_TOKEN_DIFFERENCE,
      ],
    },
  },
  build: (cfg, split, rng): MclrecModel => {
    const params: Params = {};
    const encoder = buildEncoder(params, cfg, split.numItems, rng);
    const encNames = Object.keys(params);
    const dim = cfg.clEmbedding === "flatten"
      ? cfg.maxLen * cfg.hidden
      : cfg.hidden;
    const augKeys = cfg.augShared ? ["aug", "aug"] : ["aug1", "aug2"];
    for (const k of new Set(augKeys)) initAugmenterMlp(params, k, { dim, rng });
    const augNames = Object.keys(params).filter((n) => !encNames.includes(n));

    const dataAug = augmenterFromConfig(cfg, split);
    const nce = {
      temperature: cfg.clTemperature,
      similarity: cfg.clSimilarity,
    };
    const lambda = cfg.clWeight, beta = cfg.mclBeta, gamma = cfg.mclGamma;

    // h1, h2 from the current encoder weights; z1, z2 from the augmenters.
    const views = (p: Params, batch: MclrecBatch, r: Rng) => {
      const [h1, h2] = cfg.clEmbedding === "last"
        ? encodeViews(encoder, p, batch, { rng: r }, cfg)
        : [batch.view1, batch.view2].map((v) =>
          seqEmbedding(encoder.encode(p, v, { rng: r }), "flatten", cfg.maxLen)
        );
      const z1 = augmenterMlp(p, h1, { name: augKeys[0] });
      const z2 = augmenterMlp(p, h2, { name: augKeys[1] });
      return { h1, h2, z1, z2 };
    };
    const cl2 = (v: ReturnType<typeof views>): tf.Scalar =>
      tf.addN([
        infoNCE(v.z1, v.z2, nce),
        infoNCE(v.h1, v.z2, nce),
        infoNCE(v.h2, v.z1, nce),
      ]) as tf.Scalar;
    const reg = (v: ReturnType<typeof views>): tf.Scalar =>
      contrastiveRegularizer(v.z1, v.z2, { ...nce, margins: "row" });

    // L_0 as two independent parts (separate tapes: at most two encoder
    // passes held at once): the next-item branch, and the contrastive views.
    const recPart: LossFn<MclrecBatch> = (p, batch, r): LossOutput => {
      const enc = encodeForRec(encoder, p, batch, { rng: r }, cfg.samples);
      const h = enc.hidden;
      return weighted({
        rec: [1, recLoss(encoder, p, h, enc.batch, cfg.loss)],
      });
    };
    const clPart: LossFn<MclrecBatch> = (p, batch, r): LossOutput => {
      const v = views(p, batch, r);
      return weighted({
        cl1: [lambda, infoNCE(v.h1, v.h2, nce)],
        cl2: [beta, cl2(v)],
        reg: [gamma, reg(v)],
      });
    };
    const rec = byRowChunks(recPart, cfg.maxTokens);
    const encoderLoss: Part<MclrecBatch>[] = lambda + beta + gamma > 0
      ? [rec, clPart]
      : [rec];
    // L_1: re-encodes the views with whatever encoder weights `p` holds now.
    const augmenterLoss: LossFn<MclrecBatch> = (p, batch, r): LossOutput => {
      const v = views(p, batch, r);
      return weighted({ cl2: [1, cl2(v)], reg: [gamma, reg(v)] });
    };

    const opt = (lr: number | Schedule) =>
      adam(lr, { weightDecay: cfg.weightDecay });
    // The encoder follows the run's schedule; the augmenters keep augLr.
    const lr = runSchedule(cfg, split);
    const stepper: Stepper<MclrecBatch> = cfg.metaStep === "joint"
      ? jointStepper(encoderLoss, opt(lr), [...encNames, ...augNames])
      : metaStepper(
        {
          name: "encoder",
          trainable: encNames,
          loss: encoderLoss,
          tx: opt(lr),
        },
        {
          name: "augmenters",
          trainable: augNames,
          loss: augmenterLoss,
          tx: opt(cfg.augLr),
        },
      );
    return Object.assign(
      makeModel({
        method: "mclrec",
        encoder,
        params,
        stepper,
        objective: encoderLoss,
        trainable: cfg.metaStep === "joint" ? undefined : encNames,
        prepareBatch: (batch, ctx): MclrecBatch =>
          withViews(batch, ctx, dataAug, cfg),
        scorer: lastPositionScorer(encoder, params),
      }),
      {
        stepper,
        groups: { encoder: encNames, augmenters: augNames },
        augmenterObjective: augmenterLoss,
      },
    );
  },
});
