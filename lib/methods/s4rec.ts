/**
 * s4rec: placeholder until its recipe lands.
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
 * s4rec(cfg, split, rng);
 * ```
 */
export function s4rec(
  _cfg: TrainConfig,
  _split: SplitDataset,
  _rng: Rng,
): Model {
  throw new Error("method 's4rec': not implemented yet");
}
