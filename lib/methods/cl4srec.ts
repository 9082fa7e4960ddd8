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
    build: (cfg, split, rng) =>
      contrastive("cl4srec", cfg, split, rng, NO_MODEL_AUGMENTATION),
  });
