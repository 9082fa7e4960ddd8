/**
 * Methods: each is a short recipe of blocks that builds a trainable
 * {@linkcode Model} from a config, a split and a generator.
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import type { TrainConfig } from "../training/config.ts";
import type { Model } from "../training/model.ts";
import type { Rng } from "../util/rng.ts";
import { sasrec } from "./sasrec.ts";
import { cl4srec, srma } from "./srma.ts";
import { mclrec } from "./mclrec.ts";
import { s4rec } from "./s4rec.ts";

export {
  buildEncoder,
  encodeForRec,
  lastColumn,
  lastPositionScorer,
  recLoss,
  sasrec,
} from "./sasrec.ts";
export type { RecBatch } from "./sasrec.ts";
export { mclrec, type MclrecBatch, type MclrecModel } from "./mclrec.ts";
export {
  headTailAdversary,
  s4rec,
  S4REC_KMEANS_ITERATIONS,
  type S4RecModel,
} from "./s4rec.ts";
export { cl4srec, contrastive, type ModelAugmentation, srma } from "./srma.ts";
export {
  augmenterFromConfig,
  batchSequences,
  makeView,
  seqEmbedding,
  type ViewBatch,
  withViews,
} from "./views.ts";

/** Builds a model for a method. */
export type MethodBuilder = (
  cfg: TrainConfig,
  split: SplitDataset,
  rng: Rng,
) => Model;

/**
 * Every method by name (the CLI's `--method`).
 *
 * @example
 * ```ts
 * import { METHOD_BUILDERS } from "./mod.ts";
 * if (typeof METHOD_BUILDERS.s4rec !== "function") throw new Error();
 * ```
 */
export const METHOD_BUILDERS: Record<string, MethodBuilder> = {
  sasrec,
  cl4srec,
  srma,
  mclrec,
  s4rec,
};

/**
 * Build the model `cfg.method` names.
 *
 * @example
 * ```ts ignore
 * const model = buildModel(cfg, split, makeRng(cfg.seed));
 * ```
 */
export function buildModel(
  cfg: TrainConfig,
  split: SplitDataset,
  rng: Rng,
): Model {
  const b = METHOD_BUILDERS[cfg.method];
  if (!b) {
    throw new Error(
      `method: expected one of ${
        Object.keys(METHOD_BUILDERS).join(", ")
      }, found '${cfg.method}'`,
    );
  }
  return b(cfg, split, rng);
}
