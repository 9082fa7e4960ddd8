/**
 * mclrec: placeholder until its recipe lands.
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import type { TrainConfig } from "../training/config.ts";
import type { Model } from "../training/model.ts";
import type { Rng } from "../util/rng.ts";

/**
 * Not implemented yet.
 *
 * @example
 * ```ts ignore
 * mclrec(cfg, split, rng);
 * ```
 */
export function mclrec(
  _cfg: TrainConfig,
  _split: SplitDataset,
  _rng: Rng,
): Model {
  throw new Error("method 'mclrec': not implemented yet");
}
