/**
 * CL4SRec (Xie et al., "Contrastive Learning for Sequential Recommendation",
 * ICDE 2022) as a recipe: the shared contrastive block with data
 * augmentation only.
 *
 * @module
 */
import { defineMethod, type MethodDef } from "./registry.ts";
import { NEXT_ITEM_KEYS, type NextItemConfig } from "./next_item.ts";
import { CONTRASTIVE_KEYS, type ContrastiveConfig } from "./views.ts";
import { contrastive, NO_MODEL_AUGMENTATION } from "./contrastive.ts";
import {
  MASK_TOKEN_DIFFERENCE,
  SALESFORCE_CONTRAST,
  SALESFORCE_DIFFERENCES,
  SALESFORCE_TRAINING,
} from "./paper_regimes.ts";

/**
 * CL4SRec: next-item loss plus InfoNCE between two data-augmented views
 * (crop/mask/reorder by default); no model augmentation beyond the encoder's
 * usual dropout.
 *
 * @example
 * ```ts
 * import { cl4srec } from "./cl4srec.ts";
 * if (!("clWeight" in cl4srec.keys) || "neuronMask" in cl4srec.keys) throw new Error();
 * ```
 */
export const cl4srec: MethodDef<NextItemConfig & ContrastiveConfig> =
  defineMethod({
    name: "cl4srec",
    summary: "lambda * InfoNCE between two data-augmented views",
    paper:
      "Xie et al., Contrastive Learning for Sequential Recommendation, ICDE 2022",
    keys: { ...NEXT_ITEM_KEYS, ...CONTRASTIVE_KEYS },
    presets: {
      paper: {
        summary:
          "CL4SRec as the seed papers' tables ran it (the Salesforce code): BCE with one negative, " +
          "InfoNCE by dot product at temperature 1 on the flattened output, lambda 0.1",
        values: { ...SALESFORCE_TRAINING, ...SALESFORCE_CONTRAST },
        differences: [
          ...SALESFORCE_DIFFERENCES,
          MASK_TOKEN_DIFFERENCE,
          "crop/mask/reorder rates are CL4SRec's paper's (0.6/0.3/0.2), not tuned per data set",
        ],
      },
    },
    build: (cfg, split, rng) =>
      contrastive("cl4srec", cfg, split, rng, NO_MODEL_AUGMENTATION),
  });
