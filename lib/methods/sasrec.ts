/**
 * SASRec as a recipe: an encoder, a next-item loss, Adam, one joint step.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { SplitDataset, TrainBatch } from "../data/types.ts";
import type { EncodeOptions, Encoder } from "../nn/encoder.ts";
import type { Params } from "../nn/params.ts";
import { disposeParams } from "../nn/params.ts";
import { initSasrec } from "../nn/sasrec.ts";
import { initGru } from "../nn/gru.ts";
import { bceOneNegative, fullSoftmaxCE, lastPosition } from "../losses/rec.ts";
import { adam } from "../optim/transform.ts";
import { disposeTree } from "../optim/transform.ts";
import {
  byRowChunks,
  jointStepper,
  type LossOutput,
  type Objective,
} from "../optim/stepper.ts";
import type { Model } from "../training/model.ts";
import type { TrainConfig } from "../training/config.ts";
import { sampleNegatives } from "../training/negatives.ts";
import type { Rng } from "../util/rng.ts";

/**
 * Build the configured encoder (SASRec or GRU) into `params`.
 *
 * @example
 * ```ts
 * import { buildEncoder } from "./sasrec.ts";
 * import { makeConfig } from "../training/config.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params = {};
 * const enc = buildEncoder(params, makeConfig({ hidden: 8, heads: 2 }), 30, makeRng(0));
 * if (enc.kind !== "sasrec") throw new Error();
 * ```
 */
export function buildEncoder(
  params: Params,
  cfg: TrainConfig,
  numItems: number,
  rng: Rng,
): Encoder {
  return cfg.encoder === "gru"
    ? initGru(params, {
      numItems,
      hidden: cfg.hidden,
      maxLen: cfg.maxLen,
      dropout: cfg.dropout,
    }, rng)
    : initSasrec(params, {
      numItems,
      hidden: cfg.hidden,
      layers: cfg.layers,
      heads: cfg.heads,
      maxLen: cfg.maxLen,
      dropout: cfg.dropout,
      attnDropout: cfg.attnDropout,
    }, rng);
}

/** A batch with its sampled negatives (BCE regime only). */
export interface RecBatch extends TrainBatch {
  /** Negative ids aligned with `targets` (BCE regime). */
  negatives?: Int32Array;
}

/**
 * The batch reduced to its last column (targets, negatives): what
 * {@linkcode recLoss} needs when every row's only target is at its last
 * position (`samples: "prefixes"`), so the encoder can run with `lastOnly`.
 *
 * @example
 * ```ts
 * import { lastColumn } from "./sasrec.ts";
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
 * ```ts ignore
 * const { hidden, batch: b } = encodeForRec(encoder, params, batch, { rng }, cfg.samples);
 * const rec = recLoss(hidden, params, b, cfg.loss);
 * ```
 */
export function encodeForRec<B extends RecBatch>(
  encoder: Encoder,
  params: Params,
  batch: B,
  opts: EncodeOptions,
  samples: TrainConfig["samples"],
): { hidden: tf.Tensor3D; batch: B } {
  const lastOnly = samples === "prefixes";
  return {
    hidden: encoder.encode(params, batch, { ...opts, lastOnly }),
    batch: lastOnly ? lastColumn(batch) : batch,
  };
}

/**
 * The next-item loss of the configured regime on encoder output `hidden`.
 *
 * @example
 * ```ts ignore
 * const rec = recLoss(hidden, params, batch, "ce");
 * ```
 */
export function recLoss(
  hidden: tf.Tensor3D,
  params: Params,
  batch: RecBatch,
  regime: "ce" | "bce",
): tf.Scalar {
  const emb = params["item_emb"] as unknown as tf.Tensor2D;
  if (regime === "bce") {
    if (!batch.negatives) {
      throw new Error("recLoss: the BCE regime needs batch.negatives");
    }
    return bceOneNegative(hidden, emb, batch.targets, batch.negatives);
  }
  return fullSoftmaxCE(hidden, emb, batch.targets);
}

/**
 * The standard scorer: user = encoder output at the last position (no
 * dropout), items = the tied item table rows 1..N.
 *
 * @example
 * ```ts ignore
 * const scorer = lastPositionScorer(encoder, params);
 * ```
 */
export function lastPositionScorer(
  encoder: Encoder,
  params: Params,
): Model["scorer"] {
  return {
    represent: (input) =>
      tf.tidy(() =>
        lastPosition(encoder.encode(params, input, { lastOnly: true }))
      ),
    items: () =>
      tf.tidy(() =>
        tf.slice(params["item_emb"], [1, 0], [
          encoder.numItems,
          encoder.hidden,
        ]) as tf.Tensor2D
      ),
  };
}

/**
 * SASRec (or GRU4Rec with `encoder: "gru"`) trained on next-item prediction.
 *
 * @example
 * ```ts ignore
 * import { sasrec } from "./sasrec.ts";
 * const model = sasrec(cfg, split, makeRng(cfg.seed));
 * ```
 */
export function sasrec(cfg: TrainConfig, split: SplitDataset, rng: Rng): Model {
  const params: Params = {};
  const encoder = buildEncoder(params, cfg, split.numItems, rng);
  const loss = (p: Params, batch: RecBatch, r: Rng): LossOutput => {
    const enc = encodeForRec(encoder, p, batch, { rng: r }, cfg.samples);
    const h = enc.hidden;
    const rec = recLoss(h, p, enc.batch, cfg.loss);
    h.dispose();
    return { total: rec, terms: { rec } };
  };
  const objective = byRowChunks(loss, cfg.maxTokens);
  const stepper = jointStepper(
    objective,
    adam(cfg.lr, { weightDecay: cfg.weightDecay }),
    Object.keys(params),
  );
  const model: Model = {
    method: "sasrec",
    encoder,
    params,
    optStates: { main: stepper.init(params) },
    objective: objective as Objective<unknown>,
    trainable: Object.keys(params),
    step: async (batch, ctx) => {
      const b: RecBatch = cfg.loss === "bce"
        ? { ...batch, negatives: sampleNegatives(batch, ctx.split, ctx.rng) }
        : batch;
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
    scorer: lastPositionScorer(encoder, params),
    dispose: () => {
      disposeParams(params);
      for (const s of Object.values(model.optStates)) disposeTree(s);
    },
  };
  return model;
}
