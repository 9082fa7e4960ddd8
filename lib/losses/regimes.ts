/**
 * The next-item loss regimes a run can choose (`loss` in the config), each
 * with its own config keys: the sampled softmax's keys belong to
 * `loss: sampled`, and setting them under another loss is an error.
 *
 * @module
 */
import type { KeySpecsOf } from "../util/keys.ts";
import { SAMPLED_KEYS, type SampledConfig } from "./sampled.ts";

/** A loss regime: one line for help, and its own keys. */
export interface LossRegimeDef<C> {
  /** One line for help. */
  summary: string;
  /** Its own config keys. */
  keys: KeySpecsOf<C>;
}

/**
 * Every loss regime by name.
 *
 * @example
 * ```ts
 * import { LOSS_REGIMES } from "./regimes.ts";
 * if (Object.keys(LOSS_REGIMES).join() !== "ce,bce,sampled") throw new Error();
 * if (!("sampler" in LOSS_REGIMES.sampled.keys) || Object.keys(LOSS_REGIMES.ce.keys).length !== 0) throw new Error();
 * ```
 */
export const LOSS_REGIMES: {
  ce: LossRegimeDef<Record<never, never>>;
  bce: LossRegimeDef<Record<never, never>>;
  sampled: LossRegimeDef<SampledConfig>;
} = {
  ce: {
    summary:
      "full-softmax cross-entropy over all N items, by chunks of rows sized from N",
    keys: {},
  },
  bce: {
    summary: "binary cross-entropy with one uniform negative per position",
    keys: {},
  },
  sampled: {
    summary:
      "sampled softmax: S negatives per batch shared by its positions, log-Q corrected",
    keys: SAMPLED_KEYS,
  },
};

/** A loss regime's name. */
export type LossName = keyof typeof LOSS_REGIMES;

/**
 * The loss part of a config: the regime's name with its own keys (a union
 * over the regimes, told apart by `loss`).
 */
export type LossConfig =
  | { loss: "ce" }
  | { loss: "bce" }
  | ({ loss: "sampled" } & SampledConfig);

/**
 * Whether `name` is a loss regime.
 *
 * @example
 * ```ts
 * import { isLossName } from "./regimes.ts";
 * if (!isLossName("sampled") || isLossName("mse")) throw new Error();
 * ```
 */
export function isLossName(name: unknown): name is LossName {
  return typeof name === "string" && Object.hasOwn(LOSS_REGIMES, name);
}
