/**
 * What a trained model computes at serving time, read from its config.
 *
 * @module
 */
import type { TrainConfig } from "../training/config.ts";
import { SASREC_ENCODER_KEYS } from "../nn/encoders.ts";
import type { Params } from "../nn/params.ts";
import type { StoredTensor } from "../training/checkpoint.ts";
import type { ServingSpec, WeightValue } from "./onnx.ts";

/**
 * The {@linkcode ServingSpec} of a model trained with `cfg` on `numItems`
 * items: its encoder's shape, and SRMA's K extra feed-forward layers when it
 * runs them at evaluation (`dropAtEval`); every other method scores with the
 * encoder's last position against the item table.
 *
 * @example
 * ```ts
 * import { servingSpec } from "./spec.ts";
 * import { makeConfig } from "../config/resolve.ts";
 * const s = servingSpec(makeConfig({ method: "srma", dropK: 2, dropAtEval: true }), 100);
 * if (s.head.join() !== "drop.0,drop.1" || s.numItems !== 100) throw new Error();
 * ```
 */
export function servingSpec(cfg: TrainConfig, numItems: number): ServingSpec {
  // SRMA's keys, when the config is SRMA's (other methods have none).
  const dropK = "dropK" in cfg && typeof cfg.dropK === "number" ? cfg.dropK : 0;
  const atEval = "dropAtEval" in cfg && cfg.dropAtEval === true;
  const extra = cfg.method === "srma" && dropK > 0 && atEval;
  // The GRU has no blocks or heads: the SASRec encoder's defaults stand in.
  const blocks = cfg.encoder === "sasrec" ? cfg : {
    layers: SASREC_ENCODER_KEYS.layers.default,
    heads: SASREC_ENCODER_KEYS.heads.default,
  };
  return {
    encoder: cfg.encoder,
    hidden: cfg.hidden,
    layers: blocks.layers,
    heads: blocks.heads,
    maxLen: cfg.maxLen,
    numItems,
    head: extra ? Array.from({ length: dropK }, (_, k) => `drop.${k}`) : [],
  };
}

/**
 * A model's parameters as export weights (values read synchronously: for
 * the wasm and cpu backends).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { weightsOfParams } from "./spec.ts";
 * const w = weightsOfParams({ a: tf.variable(tf.ones([2, 3])) });
 * if (w.a.shape.join() !== "2,3" || w.a.values[5] !== 1) throw new Error();
 * ```
 */
export function weightsOfParams(params: Params): Record<string, WeightValue> {
  return Object.fromEntries(
    Object.entries(params).map((
      [k, v],
    ) => [k, { shape: v.shape.slice(), values: v.dataSync() as Float32Array }]),
  );
}

/**
 * A checkpoint's parameters (its `p/NAME` tensors) as export weights.
 *
 * @example
 * ```ts
 * import { weightsOfCheckpoint } from "./spec.ts";
 * const w = weightsOfCheckpoint({
 *   "p/item_emb": { shape: [1], dtype: "float32", values: Float32Array.of(2) },
 *   "opt/main/0": { shape: [1], dtype: "float32", values: Float32Array.of(0) },
 * });
 * if (Object.keys(w).join() !== "item_emb") throw new Error();
 * ```
 */
export function weightsOfCheckpoint(
  tensors: Record<string, StoredTensor>,
): Record<string, WeightValue> {
  const out: Record<string, WeightValue> = {};
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith("p/")) out[k.slice(2)] = v;
  }
  return out;
}
