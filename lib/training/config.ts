/**
 * The common part of the training configuration: data, model size, the
 * training loop and the backend. Encoders declare their own keys
 * (`lib/nn/encoders.ts`) and so does each method (`lib/methods/`); a run's
 * config holds the common keys, its encoder's and its method's
 * (`lib/config/resolve.ts` puts them together and checks them).
 *
 * @module
 */
import {
  bool,
  choice,
  int,
  key,
  nonNeg,
  nonNegInt,
  posInt,
  posNum,
  rate,
  str,
} from "../util/keys.ts";
import type { KeySpecsOf } from "../util/keys.ts";
import type { EncoderConfig } from "../nn/encoders.ts";
import type { LossConfig, LossName } from "../losses/regimes.ts";

/** The keys every run has (each documented in {@linkcode COMMON_KEYS}). */
export interface CommonConfig {
  /** The method's name. */
  method: string;
  /** The method's named regime applied under the other settings ("none" = the defaults). */
  preset: string;
  /** Sequence encoder. */
  encoder: "sasrec" | "gru";
  /** Hidden size d. */
  hidden: number;
  /** Longest input (last items kept). */
  maxLen: number;
  /** Hidden dropout. */
  dropout: number;
  /** Training regime (each has its own keys). */
  loss: LossName;
  /** Adam learning rate (the peak, with a warm-up or decay). */
  lr: number;
  /** Linear warm-up of the learning rate, in epochs (0 = none). */
  lrWarmup: number;
  /** Decay of the learning rate after the warm-up. */
  lrDecay: "none" | "cosine" | "linear";
  /** Decoupled weight decay. */
  weightDecay: number;
  /** Training sequences per batch. */
  batchSize: number;
  /** Length bucketing: pools of this many batches (0 = off). */
  bucket: number;
  /** Training samples: one row per user, or one per prefix. */
  samples: "sequences" | "prefixes";
  /** Most epochs. */
  epochs: number;
  /** Evaluations without a better validation NDCG@20 before stopping. */
  patience: number;
  /** Evaluate every this many epochs. */
  evalEvery: number;
  /** Users scored at once in evaluation. */
  evalBatchSize: number;
  /** Seed of every random choice. */
  seed: number;
  /** Compute backend. */
  backend: "auto" | "webgpu" | "wasm" | "cpu";
  /** Native OpenBLAS matmuls on wasm. */
  nativeBlas: boolean;
  /** Data file; empty = the embedded synthetic default. */
  data: string;
  /** Data format. */
  format: "sequences" | "interactions";
  /** Interactions: user column name. */
  userColumn: string;
  /** Interactions: item column name. */
  itemColumn: string;
  /** Interactions: timestamp column name. */
  timeColumn: string;
  /** Interactions: k-core threshold. */
  kCore: number;
  /** Synthetic default: users. */
  synthUsers: number;
  /** Synthetic default: items. */
  synthItems: number;
  /** Synthetic default: planted intents. */
  synthIntents: number;
  /** Synthetic default: share of random items. */
  synthNoise: number;
}

/**
 * The keys every run has.
 *
 * @example
 * ```ts
 * import { COMMON_KEYS } from "./config.ts";
 * if (COMMON_KEYS.hidden.default !== 64 || COMMON_KEYS.loss.default !== "ce") throw new Error();
 * ```
 */
export const COMMON_KEYS: KeySpecsOf<CommonConfig> = {
  method: key(
    "sasrec",
    "a method name",
    (v) => typeof v === "string",
    "The method (`seqssl train --help` lists them).",
  ),
  preset: key(
    "none",
    "a preset name",
    (v) => typeof v === "string",
    "A named regime of the method, applied over the defaults and under every other setting (a file, " +
      'flags): "paper" = its paper\'s training regime (README, Paper regimes); "none" = the defaults. ' +
      "`seqssl config --method M --preset paper` shows each value and where it came from.",
  ),
  encoder: choice(
    ["sasrec", "gru"],
    "sasrec",
    "Sequence encoder; each has its own keys.",
  ),
  hidden: posInt(64, "Hidden size d."),
  maxLen: posInt(50, "Longest input (the last items are kept)."),
  dropout: rate(0.5, "Hidden dropout."),
  loss: choice(
    ["ce", "bce", "sampled"],
    "ce",
    'The next-item loss: full-softmax cross-entropy ("ce"), BCE with one negative per position ("bce"), ' +
      'or sampled softmax over S negatives shared by the batch with the log-Q correction ("sampled", ' +
      "with its keys sampledNegatives and sampler).",
  ),
  lr: posNum(
    1e-3,
    "Adam learning rate (the peak rate with lrWarmup or lrDecay).",
  ),
  lrWarmup: nonNeg(
    0,
    "Linear warm-up of the learning rate from 0 over this many epochs (fractions allowed; 0 = none). " +
      "MCLRec's augmenters keep their own augLr.",
  ),
  lrDecay: choice(
    ["none", "cosine", "linear"],
    "none",
    'Decay of the learning rate after the warm-up: "cosine" or "linear" down to lr / 10 at the ' +
      "last epoch (`epochs`), then held; early stopping may end the run before. (A --resume with " +
      "another --epochs moves the decay's end from there on.)",
  ),
  weightDecay: nonNeg(0, "Decoupled weight decay."),
  batchSize: posInt(256, "Training sequences per batch."),
  bucket: nonNegInt(
    16,
    "Length bucketing: sort pools of this many batches by length (0 = off).",
  ),
  samples: choice(
    ["sequences", "prefixes"],
    "sequences",
    'Training samples: "sequences" = one row per user with a next-item target at every position; ' +
      '"prefixes" = one row per training prefix with its one target (RecBole\'s way, as the DuoRec ' +
      "and MCLRec codes train): the same targets, each prefix its own sample with its own augmented " +
      "views, about 6x more rows per epoch on Beauty.",
  ),
  epochs: nonNegInt(
    200,
    "Most epochs (the CLI trains the embedded synthetic data for 20 unless told).",
  ),
  patience: posInt(
    10,
    "Stop after this many evaluations without a better validation NDCG@20.",
  ),
  evalEvery: posInt(1, "Evaluate on validation every this many epochs."),
  evalBatchSize: posInt(512, "Users scored at once in evaluation."),
  seed: int(42, "Seed of every random choice."),
  backend: choice(
    ["auto", "webgpu", "wasm", "cpu"],
    "auto",
    "Compute backend.",
  ),
  nativeBlas: bool(
    true,
    "On wasm, run matmuls through native OpenBLAS when it and --allow-ffi are available.",
  ),
  data: str("", "Data file; empty = the embedded synthetic default."),
  format: choice(
    ["sequences", "interactions"],
    "sequences",
    'Data format: "sequences" (`user item item ...`) or "interactions" (CSV/TSV with a header).',
  ),
  userColumn: str("user", "Interactions: user column name."),
  itemColumn: str("item", "Interactions: item column name."),
  timeColumn: str("timestamp", "Interactions: timestamp column name."),
  kCore: nonNegInt(
    5,
    "Interactions: k-core filtering threshold (0 or 1: no filtering).",
  ),
  synthUsers: posInt(3000, "Synthetic default: number of users."),
  synthItems: posInt(600, "Synthetic default: number of items."),
  synthIntents: posInt(8, "Synthetic default: number of planted intents."),
  synthNoise: rate(0.1, "Synthetic default: share of uniformly random items."),
};

/**
 * A run's configuration as the training loop and every method see it: the
 * common keys, the chosen encoder with its keys and the chosen loss with its
 * keys. A method's own keys come on top (`MethodConfig` in
 * `lib/methods/registry.ts`).
 */
export type TrainConfig =
  & Omit<CommonConfig, "encoder" | "loss">
  & EncoderConfig
  & LossConfig;

/**
 * One `KEY=VALUE` setting, as the CLI's `--set` takes it: numbers and
 * `true`/`false` become numbers and booleans, anything else stays a string.
 * The key is checked by `makeConfig` (`lib/config/resolve.ts`), not here.
 *
 * @example
 * ```ts
 * import { parseSetting } from "./config.ts";
 * const [k, v] = parseSetting("lr=1e-3");
 * if (k !== "lr" || v !== 0.001) throw new Error();
 * if (parseSetting("dropAtEval=true")[1] !== true) throw new Error();
 * if (parseSetting("augment=crop,mask")[1] !== "crop,mask") throw new Error();
 * ```
 */
export function parseSetting(kv: string): [string, unknown] {
  const i = kv.indexOf("=");
  if (i <= 0) {
    throw new Error(`--set: expected KEY=VALUE, found '${kv}'`);
  }
  return [kv.slice(0, i), parseSettingValue(kv.slice(i + 1))];
}

/**
 * A setting's value, as {@linkcode parseSetting} reads it: a number, a
 * boolean, or the string itself.
 *
 * @example
 * ```ts
 * import { parseSettingValue } from "./config.ts";
 * if (parseSettingValue("5") !== 5 || parseSettingValue("false") !== false) {
 *   throw new Error();
 * }
 * ```
 */
export function parseSettingValue(s: string): unknown {
  if (/^-?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(s)) return Number(s);
  if (s === "true" || s === "false") return s === "true";
  return s;
}
