/**
 * SRMA (Liu et al., "Improving contrastive learning with model augmentation",
 * `srma.txt`) as a recipe: the shared contrastive block
 * (`./contrastive.ts`) with neuron masking, layer dropping and encoder
 * complementing, every knob a key of its own.
 *
 * @module
 */
import {
  bool,
  choice,
  type KeySpecsOf,
  nonNeg,
  nonNegInt,
  posInt,
  rate,
} from "../util/keys.ts";
import { defineMethod, type MethodDef } from "./registry.ts";
import { NEXT_ITEM_KEYS, type NextItemConfig } from "./next_item.ts";
import { CONTRASTIVE_KEYS, type ContrastiveConfig } from "./views.ts";
import { contrastive } from "./contrastive.ts";
import {
  MASK_TOKEN_DIFFERENCE,
  SALESFORCE_CONTRAST,
  SALESFORCE_DIFFERENCES,
  SALESFORCE_TRAINING,
} from "./paper_regimes.ts";

/** SRMA's own settings (documented in {@linkcode SRMA_KEYS}). */
export interface SrmaConfig {
  /** Neuron masking rate p. */
  neuronMask: number;
  /** Layer dropping: K extra layers. */
  dropK: number;
  /** Layer dropping: M dropped per view. */
  dropM: number;
  /** Extra layers also at evaluation. */
  dropAtEval: boolean;
  /** Encoder complementing: the frozen encoder. */
  complement: "none" | "transformer" | "gru";
  /** Encoder complementing: weight gamma. */
  complementGamma: number;
  /** Encoder complementing: most pre-training epochs. */
  complementEpochs: number;
  /** Encoder complementing: pre-training patience. */
  complementPatience: number;
}

/**
 * SRMA's own keys (model augmentation).
 *
 * @example
 * ```ts
 * import { SRMA_KEYS } from "./srma.ts";
 * if (SRMA_KEYS.complementPatience.default !== 3 || SRMA_KEYS.complement.valid("lstm")) throw new Error();
 * ```
 */
export const SRMA_KEYS: KeySpecsOf<SrmaConfig> = {
  neuronMask: rate(
    0.2,
    "Neuron masking: dropout rate p after each FFN (the encoder's with SASRec, and the K extra " +
      "layers'), in the views and in the next-item branch (0 = off).",
  ),
  dropK: nonNegInt(
    2,
    "Layer dropping: K extra FFN layers after the encoder (0 = off).",
  ),
  dropM: nonNegInt(
    1,
    "Layer dropping: M < K of them dropped per view per batch.",
  ),
  dropAtEval: bool(
    false,
    "Whether the K extra layers also run in the next-item branch and at evaluation, as in SRMA's " +
      "code. Default false (views only): SRMA on Beauty reached validation NDCG@20 .0714 with " +
      "them only in the views against .0700 with them also at evaluation.",
  ),
  complement: choice(
    ["none", "transformer", "gru"],
    "gru",
    'Encoder complementing: "none", "transformer" (1 layer) or "gru", pre-trained then frozen.',
  ),
  complementGamma: nonNeg(
    0.1,
    "Encoder complementing: weight gamma of the frozen encoder's embedding (second view only).",
  ),
  complementEpochs: posInt(
    20,
    "Encoder complementing: most pre-training epochs of the complement encoder.",
  ),
  complementPatience: posInt(
    3,
    "Encoder complementing: the pre-training stops after this many evaluations without a better " +
      "validation NDCG@20.",
  ),
};

/**
 * SRMA: data augmentation plus neuron masking, layer dropping and encoder
 * complementing.
 *
 * @example
 * ```ts
 * import { srma } from "./srma.ts";
 * import { configFor } from "../config/resolve.ts";
 * let msg = "";
 * try { configFor(srma, { dropK: 2, dropM: 2 }); } catch (e) { msg = String(e); }
 * if (!msg.includes("dropM")) throw new Error(msg);
 * ```
 */
export const srma: MethodDef<NextItemConfig & ContrastiveConfig & SrmaConfig> =
  defineMethod({
    name: "srma",
    summary:
      "CL4SRec's views through a model-augmented encoder: neuron masking, layer dropping " +
      "(K extra FFN layers, M dropped per view), encoder complementing (a frozen pre-trained " +
      "1-layer Transformer or GRU added to one view)",
    paper:
      "Liu et al., Improving Contrastive Learning with Model Augmentation, 2022",
    keys: { ...NEXT_ITEM_KEYS, ...CONTRASTIVE_KEYS, ...SRMA_KEYS },
    presets: {
      paper: {
        summary:
          "SRMA as its code trains: BCE with one negative, InfoNCE by dot product at temperature 1 " +
          "on the flattened output (lambda 0.1), layer dropping K = 2, M = 1 with the extra layers " +
          "also at evaluation, a GRU complement at gamma 0.1",
        values: {
          ...SALESFORCE_TRAINING,
          ...SALESFORCE_CONTRAST,
          neuronMask: 0.2,
          dropK: 2,
          dropM: 1,
          dropAtEval: true,
          complement: "gru",
          complementGamma: 0.1,
        },
        differences: [
          ...SALESFORCE_DIFFERENCES,
          MASK_TOKEN_DIFFERENCE,
          "encoder complementing is on, as the paper describes it (a GRU pre-trained then frozen); the " +
          "public code never switches it on",
          "neuron masking p = 0.2 and gamma = 0.1 are our choices from the paper's ranges (it tunes " +
          "them per data set and does not list the chosen values)",
        ],
      },
    },
    validate: (cfg) =>
      cfg.dropK > 0 && cfg.dropM >= cfg.dropK
        ? ["dropM", `an integer below dropK (${cfg.dropK})`, String(cfg.dropM)]
        : null,
    build: (cfg, split, rng) =>
      contrastive("srma", cfg, split, rng, {
        neuronMask: cfg.neuronMask,
        dropK: cfg.dropK,
        dropM: cfg.dropM,
        dropAtEval: cfg.dropAtEval,
        complement: cfg.complement,
        complementGamma: cfg.complementGamma,
        complementEpochs: cfg.complementEpochs,
        complementPatience: cfg.complementPatience,
      }),
  });
