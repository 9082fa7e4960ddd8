/**
 * Configs written by seqssl 0.1.0 (checkpoints, result.json): one flat
 * config with every key of every method and encoder. Loading one keeps the
 * keys of its method and encoder and drops the others when they hold their
 * old default (they did nothing); another value is an error, since the
 * config said something this version cannot express.
 *
 * @module
 */
import type { TrainConfig } from "../training/config.ts";
import { ConfigError } from "../util/errors.ts";
import { appliedKeys, notAKey, resolveConfig } from "./resolve.ts";

/**
 * The defaults of the flat config of seqssl 0.1.0, frozen: what a key that
 * did not apply to a run held when nobody set it.
 *
 * @example
 * ```ts
 * import { LEGACY_DEFAULTS } from "./legacy.ts";
 * if (LEGACY_DEFAULTS.neuronMask !== 0.2 || LEGACY_DEFAULTS.clusters !== 128) throw new Error();
 * ```
 */
export const LEGACY_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze(
  {
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
  },
);

/**
 * Values some keys held by default before their 0.1.0 default (from the
 * history of `DEFAULT_CONFIG`): a run of that time carries them without
 * having set them.
 */
const EARLIER_DEFAULTS: Readonly<Record<string, readonly unknown[]>> = {
  dropAtEval: [true],
  clSimilarity: ["dot"],
  clTemperature: [1],
  bucket: [0],
};

/**
 * Whether `value` is a default `key` had in an earlier version (so a run
 * that did not use the key carries it without having set it).
 *
 * @example
 * ```ts
 * import { wasDefault } from "./legacy.ts";
 * if (!wasDefault("dropAtEval", true) || !wasDefault("dropAtEval", false)) throw new Error();
 * if (wasDefault("neuronMask", 0.3) || wasDefault("nope", 1)) throw new Error();
 * ```
 */
export function wasDefault(key: string, value: unknown): boolean {
  if (!Object.hasOwn(LEGACY_DEFAULTS, key)) return false;
  const same = (d: unknown) => JSON.stringify(d) === JSON.stringify(value);
  return same(LEGACY_DEFAULTS[key]) || (EARLIER_DEFAULTS[key] ?? []).some(same);
}

/**
 * A config as this version reads it, from one written by any version:
 * keys that do not apply to its method and encoder are dropped when they
 * hold a default of an earlier version ({@linkcode wasDefault}), an error
 * naming `source`, the key and the method otherwise.
 *
 * @example
 * ```ts
 * import { LEGACY_DEFAULTS, upgradeConfig } from "./legacy.ts";
 * const cfg = upgradeConfig({ ...LEGACY_DEFAULTS, method: "cl4srec", clWeight: 0.2 }, "old.ckpt");
 * if (cfg.method !== "cl4srec" || "neuronMask" in cfg || !("layers" in cfg)) throw new Error();
 * let msg = "";
 * try { upgradeConfig({ ...LEGACY_DEFAULTS, neuronMask: 0.3 }, "old.ckpt"); } catch (e) { msg = String(e); }
 * if (!msg.includes("old.ckpt: neuronMask") || !msg.includes("'sasrec'")) throw new Error(msg);
 * ```
 */
export function upgradeConfig(
  config: Record<string, unknown>,
  source: string,
): TrainConfig {
  const method = config.method ?? LEGACY_DEFAULTS.method;
  const encoder = config.encoder ?? LEGACY_DEFAULTS.encoder;
  const loss = config.loss ?? LEGACY_DEFAULTS.loss;
  const where = () => source;
  // An unknown method, encoder or loss: resolveConfig says so.
  if (
    typeof method !== "string" || typeof encoder !== "string" ||
    typeof loss !== "string"
  ) {
    return resolveConfig([{ values: config, where }]);
  }
  let applied;
  try {
    applied = appliedKeys(method, encoder, loss);
  } catch {
    return resolveConfig([{ values: config, where }]);
  }
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (applied.has(k) || !Object.hasOwn(LEGACY_DEFAULTS, k)) {
      kept[k] = v;
    } else if (!wasDefault(k, v)) {
      throw ConfigError.problem(
        k,
        `holds ${JSON.stringify(v)} (not its old default ${
          JSON.stringify(LEGACY_DEFAULTS[k])
        }), but is ${notAKey(k, method, encoder, loss)}`,
        source,
      );
    }
  }
  return resolveConfig([{ values: kept, where }]);
}
