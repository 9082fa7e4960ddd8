/**
 * SASRec as a recipe: an encoder, a next-item loss, Adam, one joint step.
 *
 * @module
 */
import { runSchedule } from "../optim/schedule.ts";
import type { Params } from "../nn/params.ts";
import { buildEncoder } from "../nn/encoders.ts";
import { adam } from "../optim/transform.ts";
import {
  byRowChunks,
  jointStepper,
  type LossOutput,
} from "../optim/stepper.ts";
import { makeModel } from "../training/model.ts";
import type { Rng } from "../util/rng.ts";
import { defineMethod, type MethodDef } from "./registry.ts";
import {
  encodeForRec,
  lastPositionScorer,
  NEXT_ITEM_KEYS,
  type NextItemConfig,
  type RecBatch,
  recLoss,
  withNegatives,
} from "./next_item.ts";
import {
  PROTOCOL_DIFFERENCES,
  RECBOLE_TRAINING,
  SALESFORCE_DIFFERENCES,
  SALESFORCE_TRAINING,
} from "./paper_regimes.ts";

/**
 * SASRec (or GRU4Rec with `encoder: "gru"`) trained on next-item prediction.
 *
 * @example
 * ```ts
 * import { sasrec } from "./sasrec.ts";
 * import { makeConfig } from "../config/resolve.ts";
 * if (sasrec.name !== "sasrec" || !("maxTokens" in sasrec.keys)) throw new Error();
 * const cfg = makeConfig({ method: "sasrec" });
 * if (cfg.method !== "sasrec" || !("maxTokens" in cfg)) throw new Error();
 * ```
 */
export const sasrec: MethodDef<NextItemConfig> = defineMethod({
  name: "sasrec",
  summary:
    "next-item prediction only (GRU4Rec-style with `encoder: gru`): the baseline every method adds to",
  paper:
    "Kang and McAuley, Self-Attentive Sequential Recommendation, ICDM 2018",
  keys: NEXT_ITEM_KEYS,
  presets: {
    paper: {
      summary:
        "SASRec as the baseline of the CL4SRec, SRMA and S4Rec tables (the Salesforce code): BCE " +
        "with one negative per position, patience 40, at most 300 epochs",
      values: SALESFORCE_TRAINING,
      differences: SALESFORCE_DIFFERENCES,
    },
    recbole: {
      summary:
        "SASRec in MCLRec's regime (RecBole): full-softmax CE on every prefix, patience 10",
      values: RECBOLE_TRAINING,
      differences: PROTOCOL_DIFFERENCES,
    },
  },
  build: (cfg, split, rng) => {
    const params: Params = {};
    const encoder = buildEncoder(params, cfg, split.numItems, rng);
    const loss = (p: Params, batch: RecBatch, r: Rng): LossOutput => {
      const enc = encodeForRec(encoder, p, batch, { rng: r }, cfg.samples);
      const rec = recLoss(encoder, p, enc.hidden, enc.batch, cfg.loss);
      enc.hidden.dispose();
      return { total: rec, terms: { rec } };
    };
    const objective = byRowChunks(loss, cfg.maxTokens);
    return makeModel({
      method: "sasrec",
      encoder,
      params,
      stepper: jointStepper(
        objective,
        adam(runSchedule(cfg, split), { weightDecay: cfg.weightDecay }),
        Object.keys(params),
      ),
      objective,
      prepareBatch: (batch, ctx) => withNegatives(batch, ctx, cfg),
      scorer: lastPositionScorer(encoder, params),
    });
  },
});
