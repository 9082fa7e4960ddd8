/**
 * Build the model a config names, through the method registry.
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import type { TrainConfig } from "../training/config.ts";
import type { Model } from "../training/model.ts";
import type { Rng } from "../util/rng.ts";
import { getMethod, methods } from "./registry.ts";

/**
 * Build the model of the registered method `cfg.method` (a config checked
 * for that method, e.g. by `makeConfig`).
 *
 * @example
 * ```ts
 * import { buildModel } from "./build.ts";
 * import "./mod.ts";
 * import { makeConfig } from "../config/resolve.ts";
 * import { synthetic } from "../data/synthetic.ts";
 * import { leaveOneOut } from "../data/split.ts";
 * import { makeRng } from "../util/rng.ts";
 * const split = leaveOneOut(synthetic({ numUsers: 20, numItems: 40, maxLen: 10 }), { maxLen: 8 });
 * const model = buildModel(makeConfig({ method: "cl4srec", hidden: 8, maxLen: 8 }), split, makeRng(0));
 * if (model.method !== "cl4srec") throw new Error();
 * model.dispose();
 * ```
 */
export function buildModel(
  cfg: TrainConfig,
  split: SplitDataset,
  rng: Rng,
): Model {
  const def = getMethod(cfg.method);
  if (!def) {
    throw new Error(
      `method: expected one of ${
        methods().map((m) => m.name).join(", ")
      }, found '${cfg.method}'`,
    );
  }
  return def.build(cfg, split, rng);
}
