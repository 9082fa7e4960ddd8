/**
 * The training configuration: a plain typed object with defaults. Every key
 * is checked; an unknown key or a bad value is an error that names the key.
 *
 * @module
 */
import { ConfigError } from "../util/errors.ts";

/** Everything a training run is made of. */
export interface TrainConfig {
  /** The method's recipe: "sasrec" (more come with later issues). */
  method: string;
  /** Sequence encoder: "sasrec" or "gru". */
  encoder: "sasrec" | "gru";
  /** Hidden size d. */
  hidden: number;
  /** Transformer blocks. */
  layers: number;
  /** Attention heads. */
  heads: number;
  /** Longest input (last items kept). */
  maxLen: number;
  /** Hidden dropout. */
  dropout: number;
  /** Attention-probability dropout. */
  attnDropout: number;
  /** Training regime: full-softmax cross-entropy ("ce") or BCE with one negative ("bce"). */
  loss: "ce" | "bce";
  /** Adam learning rate. */
  lr: number;
  /** Decoupled weight decay. */
  weightDecay: number;
  /** Training sequences per batch. */
  batchSize: number;
  /** Length bucketing: sort pools of this many batches by length (0 = off). */
  bucket: number;
  /**
   * Training samples: "sequences" (default) = one row per user with a
   * next-item target at every position; "prefixes" = one row per training
   * prefix with its one target (RecBole's way, as the DuoRec and MCLRec
   * codes train): the same next-item targets, but each prefix is its own
   * sample with its own augmented views, about 6x more rows per epoch on
   * Beauty.
   */
  samples: "sequences" | "prefixes";
  /**
   * Most cells (rows x columns) the next-item loss puts on one gradient
   * tape; longer batches are split by rows, same loss and gradient, lower
   * peak memory (SASRec, CL4SRec, SRMA). 0 = never split.
   */
  maxTokens: number;
  /**
   * Augmented views are encoded in this many groups of rows of similar
   * length (less padding, more kernels; same embeddings). 1 = one pass, the
   * default: at B = 256 on wasm 4 groups measured no faster (BCE steps of
   * CL4SRec and S4Rec, within the noise of a shared machine).
   */
  viewGroups: number;
  /**
   * Encode the two augmented views in one pass over both (stacked by rows)
   * rather than one pass each: the same embeddings, half the kernels.
   */
  stackViews: boolean;
  /** Most epochs. */
  epochs: number;
  /** Stop after this many evaluations without a better validation NDCG@20. */
  patience: number;
  /** Evaluate on validation every this many epochs. */
  evalEvery: number;
  /** Users scored at once in evaluation. */
  evalBatchSize: number;
  /** Seed of every random choice. */
  seed: number;
  /** Compute backend: auto, webgpu, wasm, cpu. */
  backend: "auto" | "webgpu" | "wasm" | "cpu";
  /** On wasm, run matmuls through native OpenBLAS when it and --allow-ffi are available. */
  nativeBlas: boolean;
  /** Data file; empty = the embedded synthetic default. */
  data: string;
  /** Data format: "sequences" (`user item item ...`) or "interactions" (CSV/TSV). */
  format: "sequences" | "interactions";
  /** Interactions: user column name. */
  userColumn: string;
  /** Interactions: item column name. */
  itemColumn: string;
  /** Interactions: timestamp column name. */
  timeColumn: string;
  /** Interactions: k-core filtering threshold. */
  kCore: number;
  /** Synthetic default: number of users. */
  synthUsers: number;
  /** Synthetic default: number of items. */
  synthItems: number;
  /** Synthetic default: number of planted intents. */
  synthIntents: number;
  /** Synthetic default: share of uniformly random items. */
  synthNoise: number;

  // ---- contrastive learning (CL4SRec, SRMA, and the methods built on them)
  /** Weight lambda of the contrastive loss. */
  clWeight: number;
  /** InfoNCE temperature. */
  clTemperature: number;
  /** InfoNCE similarity: "dot" or "cosine". */
  clSimilarity: "dot" | "cosine";
  /** Sequence embedding for contrast: the last position, or all positions flattened. */
  clEmbedding: "last" | "flatten";
  /**
   * Data augmentations of the views, chosen at random per sequence:
   * a comma-separated subset of crop, mask, reorder, insert, substitute, or "none".
   */
  augment: string;
  /** Crop keeps this share of the sequence (eta). */
  cropEta: number;
  /** Mask replaces this share of positions with the mask token (gamma). */
  maskGamma: number;
  /** Reorder shuffles a run of this share of the sequence (beta). */
  reorderBeta: number;
  /** Insert adds correlated items at this share of positions. */
  insertRate: number;
  /** Substitute swaps in correlated items at this share of positions. */
  substituteRate: number;

  // ---- SRMA model augmentation
  /** Neuron masking: dropout rate p after each FFN in the views (0 = off). */
  neuronMask: number;
  /** Layer dropping: K extra FFN layers after the encoder (0 = off). */
  dropK: number;
  /** Layer dropping: M < K of them dropped per view per batch. */
  dropM: number;
  /**
   * Whether the K extra layers run at evaluation (and so in the next-item
   * branch), as in SRMA's code. Default false (only in the views): chosen
   * by measurement, SRMA on Beauty reached validation NDCG@20 .0714 with
   * them only in the views against .0700 with them also at evaluation.
   */
  dropAtEval: boolean;
  /** Encoder complementing: "none", "transformer" (1 layer) or "gru". */
  complement: "none" | "transformer" | "gru";
  /** Encoder complementing: weight gamma of the frozen encoder's embedding. */
  complementGamma: number;
  /** Encoder complementing: most pre-training epochs of the complement encoder. */
  complementEpochs: number;

  // ---- MCLRec (lambda = clWeight: the weight of L_cl1)
  /** MCLRec beta: weight of L_cl2 (learnable-augmenter views). */
  mclBeta: number;
  /** MCLRec gamma: weight of the contrastive regulariser R (paper: 0.1 beta). */
  mclGamma: number;
  /** MCLRec: learning rate of the augmenters' own Adam (stage 2). */
  augLr: number;
  /** MCLRec: one augmenter shared by both views (ablation). */
  augShared: boolean;
  /** MCLRec: "meta" (two-stage step) or "joint" (MCLRec-J ablation). */
  metaStep: "meta" | "joint";

  // ---- S4Rec (beta1 = clWeight, tau2 = clTemperature)
  /** S4Rec K: number of prototypes (intents). */
  clusters: number;
  /** S4Rec alpha: weight of the clustering loss. */
  clusterWeight: number;
  /** S4Rec tau1: temperature of the soft assignment p = softmax(z mu^T / tau1). */
  clusterTemperature: number;
  /** S4Rec: "online" (Sinkhorn, in-batch) or "kmeans" (ICLRec-style, each epoch). */
  clustering: "online" | "kmeans";
  /** Sinkhorn-Knopp entropy epsilon. */
  sinkhornEpsilon: number;
  /** Sinkhorn-Knopp iterations. */
  sinkhornIters: number;
  /** S4Rec beta2: weight of the cluster-aware self-distillation. */
  distillWeight: number;
  /** S4Rec tau3: temperature of the self-distillation softmax. */
  distillTemperature: number;
  /** S4Rec lambda: weight of the head/tail adversary (0 = off). */
  advWeight: number;
  /**
   * S4Rec: what the head/tail classifier sees: "unit" = z / ||z|| (the
   * direction the clustering uses), "raw" = z itself.
   */
  advInput: "unit" | "raw";
}

/**
 * Defaults: the seed papers' SASRec on Beauty, our CE regime.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONFIG } from "./config.ts";
 * if (DEFAULT_CONFIG.hidden !== 64 || DEFAULT_CONFIG.loss !== "ce") throw new Error();
 * ```
 */
export const DEFAULT_CONFIG: Readonly<TrainConfig> = Object.freeze({
  method: "sasrec",
  encoder: "sasrec",
  hidden: 64,
  layers: 2,
  heads: 2,
  maxLen: 50,
  dropout: 0.5,
  attnDropout: 0.5,
  loss: "ce",
  lr: 1e-3,
  weightDecay: 0,
  batchSize: 256,
  bucket: 16,
  samples: "sequences",
  maxTokens: 3200,
  viewGroups: 1,
  stackViews: true,
  epochs: 200,
  patience: 10,
  evalEvery: 1,
  evalBatchSize: 512,
  seed: 42,
  backend: "auto",
  nativeBlas: true,
  data: "",
  format: "sequences",
  userColumn: "user",
  itemColumn: "item",
  timeColumn: "timestamp",
  kCore: 5,
  synthUsers: 3000,
  synthItems: 600,
  synthIntents: 8,
  synthNoise: 0.1,
  clWeight: 0.1,
  clTemperature: 0.2,
  clSimilarity: "cosine",
  clEmbedding: "last",
  augment: "crop,mask,reorder",
  cropEta: 0.6,
  maskGamma: 0.3,
  reorderBeta: 0.2,
  insertRate: 0.3,
  substituteRate: 0.3,
  neuronMask: 0.2,
  dropK: 2,
  dropM: 1,
  dropAtEval: false,
  complement: "gru",
  complementGamma: 0.1,
  complementEpochs: 20,
  mclBeta: 0.05,
  mclGamma: 0.005,
  augLr: 1e-3,
  augShared: false,
  metaStep: "meta",
  clusters: 128,
  clusterWeight: 0.01,
  clusterTemperature: 0.1,
  clustering: "online",
  sinkhornEpsilon: 0.05,
  sinkhornIters: 3,
  distillWeight: 0.1,
  distillTemperature: 1,
  advWeight: 1,
  advInput: "unit",
} as TrainConfig);

type Check = (v: unknown) => string | null; // null = ok, else what was expected

const posInt: Check = (v) =>
  Number.isInteger(v) && (v as number) > 0 ? null : "a positive integer";
const nonNegInt: Check = (v) =>
  Number.isInteger(v) && (v as number) >= 0 ? null : "a non-negative integer";
const posNum: Check = (v) =>
  typeof v === "number" && Number.isFinite(v) && v > 0
    ? null
    : "a positive number";
const nonNeg: Check = (v) =>
  typeof v === "number" && Number.isFinite(v) && v >= 0
    ? null
    : "a non-negative number";
const rate: Check = (v) =>
  typeof v === "number" && v >= 0 && v < 1 ? null : "a number in [0, 1)";
const str: Check = (v) => typeof v === "string" ? null : "a string";
const oneOf = (...xs: string[]): Check => (v) =>
  xs.includes(v as string)
    ? null
    : `one of ${xs.map((x) => `'${x}'`).join(", ")}`;
const int: Check = (v) => Number.isInteger(v) ? null : "an integer";

/**
 * Method names the CLI accepts.
 *
 * @example
 * ```ts
 * import { METHODS } from "./config.ts";
 * if (!METHODS.includes("srma")) throw new Error(METHODS.join());
 * ```
 */
export const METHODS: string[] = [
  "sasrec",
  "cl4srec",
  "srma",
  "mclrec",
  "s4rec",
];

const AUGMENTS = ["crop", "mask", "reorder", "insert", "substitute"];
const augList: Check = (v) => {
  if (typeof v !== "string") {
    return "a comma-separated list of augmentations or 'none'";
  }
  if (v === "none") return null;
  const parts = v.split(",").map((x) => x.trim());
  return parts.length > 0 && parts.every((x) => AUGMENTS.includes(x))
    ? null
    : `'none' or a comma-separated subset of ${AUGMENTS.join(", ")}`;
};
const unit: Check = (v) =>
  typeof v === "number" && v > 0 && v <= 1 ? null : "a number in (0, 1]";
const bool: Check = (v) => typeof v === "boolean" ? null : "true or false";

const CHECKS: Record<keyof TrainConfig, Check> = {
  method: (v) => oneOf(...METHODS)(v),
  encoder: oneOf("sasrec", "gru"),
  hidden: posInt,
  layers: posInt,
  heads: posInt,
  maxLen: posInt,
  dropout: rate,
  attnDropout: rate,
  loss: oneOf("ce", "bce"),
  lr: posNum,
  weightDecay: nonNeg,
  batchSize: posInt,
  bucket: nonNegInt,
  samples: oneOf("sequences", "prefixes"),
  maxTokens: nonNegInt,
  viewGroups: posInt,
  stackViews: bool,
  epochs: nonNegInt,
  patience: posInt,
  evalEvery: posInt,
  evalBatchSize: posInt,
  seed: int,
  backend: oneOf("auto", "webgpu", "wasm", "cpu"),
  nativeBlas: bool,
  data: str,
  format: oneOf("sequences", "interactions"),
  userColumn: str,
  itemColumn: str,
  timeColumn: str,
  kCore: posInt,
  synthUsers: posInt,
  synthItems: posInt,
  synthIntents: posInt,
  synthNoise: rate,
  clWeight: nonNeg,
  clTemperature: posNum,
  clSimilarity: oneOf("dot", "cosine"),
  clEmbedding: oneOf("last", "flatten"),
  augment: augList,
  cropEta: unit,
  maskGamma: rate,
  reorderBeta: rate,
  insertRate: rate,
  substituteRate: rate,
  neuronMask: rate,
  dropK: nonNegInt,
  dropM: nonNegInt,
  dropAtEval: bool,
  complement: oneOf("none", "transformer", "gru"),
  complementGamma: nonNeg,
  complementEpochs: posInt,
  mclBeta: nonNeg,
  mclGamma: nonNeg,
  augLr: posNum,
  augShared: bool,
  metaStep: oneOf("meta", "joint"),
  clusters: posInt,
  clusterWeight: nonNeg,
  clusterTemperature: posNum,
  clustering: oneOf("online", "kmeans"),
  sinkhornEpsilon: posNum,
  sinkhornIters: posInt,
  distillWeight: nonNeg,
  distillTemperature: posNum,
  advWeight: nonNeg,
  advInput: oneOf("unit", "raw"),
};

/**
 * One `KEY=VALUE` setting, as the CLI's `--set` takes it: numbers and
 * `true`/`false` become numbers and booleans, anything else stays a string.
 * The key is checked by {@linkcode makeConfig}, not here.
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

/**
 * Defaults overridden by `overrides`, each key checked. `source` names where
 * the overrides came from (a file) for error messages.
 *
 * @example
 * ```ts
 * import { makeConfig } from "./config.ts";
 * const cfg = makeConfig({ epochs: 3, lr: 0.01 });
 * if (cfg.epochs !== 3 || cfg.hidden !== 64) throw new Error();
 * let failed = false;
 * try { makeConfig({ lrr: 1 }); } catch (e) { failed = String(e).includes("lrr"); }
 * if (!failed) throw new Error("unknown key accepted");
 * ```
 */
export function makeConfig(
  overrides: Record<string, unknown> = {},
  opts: { source?: string; base?: TrainConfig } = {},
): TrainConfig {
  const cfg: Record<string, unknown> = { ...(opts.base ?? DEFAULT_CONFIG) };
  const where = opts.source ? `${opts.source}: ` : "";
  for (let [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    // YAML may give the augmentations as a list.
    if (k === "augment" && Array.isArray(v)) v = v.join(",");
    if (!(k in CHECKS)) {
      const known = Object.keys(CHECKS).join(", ");
      throw new ConfigError(
        `${where}${k}`,
        `a known key (${known})`,
        "an unknown key",
      );
    }
    const bad = CHECKS[k as keyof TrainConfig](v);
    if (bad) throw new ConfigError(`${where}${k}`, bad, JSON.stringify(v));
    cfg[k] = v;
  }
  const c = cfg as unknown as TrainConfig;
  if (c.dropK > 0 && c.dropM >= c.dropK) {
    throw new ConfigError(
      `${where}dropM`,
      `an integer below dropK (${c.dropK})`,
      String(c.dropM),
    );
  }
  if (c.hidden % c.heads !== 0) {
    throw new ConfigError(
      `${where}heads`,
      `a divisor of hidden (${c.hidden})`,
      String(c.heads),
    );
  }
  return c;
}
