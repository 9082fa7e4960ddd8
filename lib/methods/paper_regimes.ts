/**
 * The training regimes of the seed papers' public codes, as settings that
 * the methods' `paper` presets (`--preset paper`) are built from. A preset
 * pins every value its paper states, so that a change of our defaults never
 * changes what "paper" runs.
 *
 * Two families (PROTOCOL.md, Training regimes):
 * - the Salesforce family (the codes of CoSeRec, ICLRec and SRMA, and the
 *   baselines CL4SRec and SASRec in the seed papers' tables): BCE with one
 *   sampled negative per position, Adam lr 1e-3, batch 256, dropout 0.5,
 *   early stopping with patience 40 on up to 300 epochs, InfoNCE by dot
 *   product at temperature 1;
 * - RecBole (the DuoRec and MCLRec codes): full-softmax cross-entropy with
 *   every training prefix its own sample, RecBole's early stopping after 10
 *   evaluations without a better validation metric.
 *
 * @module
 */

/**
 * The encoder every seed paper uses: SASRec, d = 64, 2 blocks of 2 heads,
 * inputs of the last 50 items.
 *
 * @example
 * ```ts
 * import { PAPER_ENCODER } from "./paper_regimes.ts";
 * import { makeConfig } from "../config/resolve.ts";
 * const cfg = makeConfig(PAPER_ENCODER);
 * if (cfg.hidden !== 64 || cfg.encoder !== "sasrec" || cfg.maxLen !== 50) throw new Error();
 * ```
 */
export const PAPER_ENCODER = {
  encoder: "sasrec",
  hidden: 64,
  maxLen: 50,
  layers: 2,
  heads: 2,
} as const;

/**
 * The Salesforce family's next-item training: BCE with one negative per
 * position (ours drawn outside the user's training items only, never from
 * the validation or test future, which the reference code uses), Adam at
 * a constant 1e-3 without weight decay, batch 256, dropout 0.5, early stopping after
 * 40 evaluations without a better validation NDCG@20, at most 300 epochs.
 *
 * @example
 * ```ts
 * import { SALESFORCE_TRAINING } from "./paper_regimes.ts";
 * import { makeConfig } from "../config/resolve.ts";
 * const cfg = makeConfig(SALESFORCE_TRAINING);
 * if (cfg.loss !== "bce" || cfg.patience !== 40 || cfg.epochs !== 300) throw new Error();
 * ```
 */
export const SALESFORCE_TRAINING = {
  ...PAPER_ENCODER,
  loss: "bce",
  samples: "sequences",
  lr: 0.001,
  lrWarmup: 0,
  lrDecay: "none",
  weightDecay: 0,
  batchSize: 256,
  dropout: 0.5,
  attnDropout: 0.5,
  patience: 40,
  epochs: 300,
} as const;

/**
 * The Salesforce family's InfoNCE: dot product at temperature 1 over the 2N
 * views of a batch, the sequence output of all positions flattened into one
 * vector (SRMA's code), CL4SRec's crop, mask and reorder at weight 0.1.
 *
 * @example
 * ```ts
 * import { SALESFORCE_CONTRAST } from "./paper_regimes.ts";
 * import { configFor } from "../config/resolve.ts";
 * import { cl4srec } from "./cl4srec.ts";
 * const cfg = configFor(cl4srec, SALESFORCE_CONTRAST);
 * if (cfg.clSimilarity !== "dot" || cfg.clTemperature !== 1 || cfg.clEmbedding !== "flatten") throw new Error();
 * ```
 */
export const SALESFORCE_CONTRAST = {
  clWeight: 0.1,
  clSimilarity: "dot",
  clTemperature: 1,
  clEmbedding: "flatten",
  augment: "crop,mask,reorder",
  cropEta: 0.6,
  maskGamma: 0.3,
  reorderBeta: 0.2,
} as const;

/**
 * RecBole's next-item training as the DuoRec and MCLRec codes run it:
 * full-softmax cross-entropy, every training prefix its own sample, Adam at
 * 1e-3, batch 256, dropout 0.5, stopping after 10 evaluations without a
 * better validation NDCG@20 (RecBole's `stopping_step`), at most 300
 * epochs.
 *
 * @example
 * ```ts
 * import { RECBOLE_TRAINING } from "./paper_regimes.ts";
 * import { makeConfig } from "../config/resolve.ts";
 * const cfg = makeConfig(RECBOLE_TRAINING);
 * if (cfg.loss !== "ce" || cfg.samples !== "prefixes" || cfg.patience !== 10) throw new Error();
 * ```
 */
export const RECBOLE_TRAINING = {
  ...PAPER_ENCODER,
  loss: "ce",
  samples: "prefixes",
  lr: 0.001,
  lrWarmup: 0,
  lrDecay: "none",
  weightDecay: 0,
  batchSize: 256,
  dropout: 0.5,
  attnDropout: 0.5,
  patience: 10,
  epochs: 300,
} as const;

/**
 * What every paper preset still does our way: the protocol's evaluation
 * (full ranking, history excluded) and selection by validation NDCG@20.
 *
 * @example
 * ```ts
 * import { PROTOCOL_DIFFERENCES } from "./paper_regimes.ts";
 * if (!PROTOCOL_DIFFERENCES.some((d) => d.includes("history"))) throw new Error();
 * ```
 */
export const PROTOCOL_DIFFERENCES: readonly string[] = [
  "evaluation ranks every real item with the user's history excluded (the Salesforce code sets " +
  "history scores to 0, RecBole keeps them rankable); the model is chosen by validation NDCG@20",
];

/**
 * What the Salesforce presets still do differently from the reference code.
 *
 * @example
 * ```ts
 * import { SALESFORCE_DIFFERENCES } from "./paper_regimes.ts";
 * if (!SALESFORCE_DIFFERENCES.some((d) => d.includes("negative"))) throw new Error();
 * ```
 */
export const SALESFORCE_DIFFERENCES: readonly string[] = [
  ...PROTOCOL_DIFFERENCES,
  "BCE negatives are drawn outside the user's training items; the reference code draws them " +
  "outside the whole sequence, validation and test items included (it uses the future)",
];

/**
 * What every preset with the mask augmentation does differently from the
 * reference codes.
 *
 * @example
 * ```ts
 * import { MASK_TOKEN_DIFFERENCE } from "./paper_regimes.ts";
 * if (!MASK_TOKEN_DIFFERENCE.includes("mask token")) throw new Error();
 * ```
 */
export const MASK_TOKEN_DIFFERENCE =
  "the mask augmentation writes a dedicated mask token (the reference code writes the padding id)";
