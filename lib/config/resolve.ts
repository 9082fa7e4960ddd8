/**
 * A run's configuration from layers of settings (defaults, then a file, then
 * flags): the common keys, the chosen encoder's keys and the chosen method's
 * keys, each checked. A key that belongs to no part of the run (another
 * method's, the other encoder's) is an error naming the key, the method and
 * where it was set; a misspelt key names the nearest known key.
 *
 * @module
 */
import "../methods/mod.ts";
import { COMMON_KEYS, type TrainConfig } from "../training/config.ts";
import { type EncoderName, ENCODERS } from "../nn/encoders.ts";
import { isLossName, LOSS_REGIMES } from "../losses/regimes.ts";
import {
  getMethod,
  type MethodConfig,
  type MethodDef,
  methods,
} from "../methods/registry.ts";
import type { Model } from "../training/model.ts";
import { ConfigError } from "../util/errors.ts";
import {
  editDistance,
  type KeySpec,
  type KeySpecs,
  nearest,
} from "../util/keys.ts";

/** Which part of a run a key belongs to. */
export interface KeyOwner {
  /** "common", "encoder", "loss" or "method". */
  part: "common" | "encoder" | "loss" | "method";
  /** The encoder's, loss's or method's name ("" for common keys). */
  name: string;
}

/** A key that applies to a run, with its declaration and its owner. */
export interface AppliedKey {
  /** The declaration. */
  spec: KeySpec<unknown>;
  /** Who declares it. */
  owner: KeyOwner;
}

/** One layer of settings and where its keys were set. */
export interface ConfigLayer {
  /** Key -> value (undefined values are ignored). */
  values: { readonly [key: string]: unknown };
  /**
   * Where a key of this layer was set, for messages: a file and line
   * (`run.yaml:3`), a flag (`--set`), or undefined.
   */
  where?: (key: string) => string | undefined;
  /**
   * Keys of this layer that do not apply to the run and are dropped instead
   * of being errors: "inapplicable" drops every such key (a complete config
   * used as a base for another method or encoder); "foreign" drops the keys
   * of other methods and encoders, while an unknown key is still an error
   * (the shared base of a grid whose variants change the method).
   */
  skip?: "inapplicable" | "foreign";
}

function isEncoderName(name: unknown): name is EncoderName {
  return typeof name === "string" && Object.hasOwn(ENCODERS, name);
}

function methodDef(name: unknown, where?: string): MethodDef<unknown> {
  const def = typeof name === "string" ? getMethod(name) : undefined;
  if (def) return def;
  const names = methods().map((m) => m.name);
  const near = typeof name === "string" ? nearest(name, names) : undefined;
  throw new ConfigError(
    "method",
    `one of ${names.map((n) => `'${n}'`).join(", ")}`,
    `${JSON.stringify(name)}${near ? `; did you mean '${near}'?` : ""}`,
    where,
  );
}

/**
 * The keys that apply to a run of `method` with `encoder` and `loss`: the
 * common keys, the encoder's, the loss's and the method's (with the key
 * groups it includes).
 *
 * @example
 * ```ts
 * import { appliedKeys } from "./resolve.ts";
 * const keys = appliedKeys("srma", "gru");
 * if (!keys.has("neuronMask") || keys.has("heads") || keys.has("mclBeta")) throw new Error();
 * if (keys.get("lr")?.owner.part !== "common" || keys.has("sampler")) throw new Error();
 * if (appliedKeys("sasrec", "sasrec", "sampled").get("sampler")?.owner.part !== "loss") throw new Error();
 * ```
 */
export function appliedKeys(
  method: string,
  encoder: string,
  loss = "ce",
): Map<string, AppliedKey> {
  const out = new Map<string, AppliedKey>();
  const add = (specs: KeySpecs, owner: KeyOwner) => {
    for (const [k, spec] of Object.entries(specs)) out.set(k, { spec, owner });
  };
  add(COMMON_KEYS, { part: "common", name: "" });
  if (!isEncoderName(encoder)) {
    throw new ConfigError(
      "encoder",
      COMMON_KEYS.encoder.expects,
      JSON.stringify(encoder),
    );
  }
  add(ENCODERS[encoder].keys, { part: "encoder", name: encoder });
  if (!isLossName(loss)) {
    throw new ConfigError(
      "loss",
      COMMON_KEYS.loss.expects,
      JSON.stringify(loss),
    );
  }
  add(LOSS_REGIMES[loss].keys, { part: "loss", name: loss });
  add(methodDef(method).keys, { part: "method", name: method });
  return out;
}

/**
 * Every part that declares `key`: the encoders', losses' and methods'
 * names, for saying where a key that does not apply belongs.
 */
function ownersOf(
  key: string,
): { encoders: string[]; losses: string[]; methods: string[] } {
  return {
    encoders: Object.entries(ENCODERS).filter(([, e]) =>
      Object.hasOwn(e.keys, key)
    ).map(([n]) => n),
    losses: Object.entries(LOSS_REGIMES).filter(([, l]) =>
      Object.hasOwn(l.keys, key)
    ).map(([n]) => n),
    methods: methods().filter((m) => Object.hasOwn(m.keys, key)).map((m) =>
      m.name
    ),
  };
}

/**
 * Why `key` is not a key of a run of `method` with `encoder` and `loss`: it
 * belongs to another method, encoder or loss, or it is unknown (with the
 * nearest key).
 *
 * @example
 * ```ts
 * import { notAKey } from "./resolve.ts";
 * const a = notAKey("neuronMask", "sasrec", "sasrec");
 * if (a !== "not a key of method 'sasrec' (it belongs to srma)") throw new Error(a);
 * const b = notAKey("lrr", "sasrec", "sasrec");
 * if (b !== "unknown key for method 'sasrec'; did you mean 'lr'?") throw new Error(b);
 * const c = notAKey("heads", "sasrec", "gru");
 * if (c !== "not a key of encoder 'gru' (it belongs to encoder sasrec)") throw new Error(c);
 * const e = notAKey("neuronMsk", "sasrec", "sasrec");
 * if (e !== "unknown key for method 'sasrec'; did you mean 'neuronMask' (a key of method srma)?") throw new Error(e);
 * const d = notAKey("sampler", "sasrec", "sasrec", "ce");
 * if (d !== "not a key of loss 'ce' (it belongs to loss sampled; set loss=sampled)") throw new Error(d);
 * ```
 */
export function notAKey(
  key: string,
  method: string,
  encoder: string,
  loss = "ce",
): string {
  const owners = ownersOf(key);
  if (owners.methods.length > 0) {
    return `not a key of method '${method}' (it belongs to ${
      owners.methods.join(", ")
    })`;
  }
  if (owners.encoders.length > 0) {
    return `not a key of encoder '${encoder}' (it belongs to encoder ${
      owners.encoders.join(", ")
    })`;
  }
  if (owners.losses.length > 0) {
    return `not a key of loss '${loss}' (it belongs to loss ${
      owners.losses.join(", ")
    }; set loss=${owners.losses[0]})`;
  }
  const applied = [...appliedKeys(method, encoder, loss).keys()];
  const near = nearest(key, applied);
  const everywhere = new Set([
    ...applied,
    ...methods().flatMap((m) => Object.keys(m.keys)),
    ...Object.values(ENCODERS).flatMap((e) => Object.keys(e.keys)),
    ...Object.values(LOSS_REGIMES).flatMap((l) => Object.keys(l.keys)),
  ]);
  const nearAny = nearest(key, everywhere);
  let text = `unknown key for method '${method}'; did you mean '${near}'?`;
  if (nearAny && nearAny !== near && !applied.includes(nearAny)) {
    const o = ownersOf(nearAny);
    const whose = o.methods.length > 0
      ? `method ${o.methods.join(", ")}`
      : o.encoders.length > 0
      ? `encoder ${o.encoders.join(", ")}`
      : `loss ${o.losses.join(", ")}`;
    const d = (k: string) => editDistance(key.toLowerCase(), k.toLowerCase());
    // A misspelt key of another part is the likelier meaning when it is
    // nearer than every key of this run: name it first.
    text = d(nearAny) < d(near!)
      ? `unknown key for method '${method}'; did you mean '${nearAny}' (a key of ${whose})?`
      : `${text} (or '${nearAny}', a key of ${whose})`;
  }
  return text;
}

/** Whether some part of some run (a method, an encoder, a loss) declares `key`. */
function isForeign(key: string): boolean {
  const o = ownersOf(key);
  return o.methods.length + o.encoders.length + o.losses.length > 0;
}

/**
 * The layer of the preset that `layers` name (`preset: paper`) for
 * `method`: the preset's values, located at the preset in messages;
 * undefined for "none". An unknown preset is an error listing the method's.
 *
 * @example
 * ```ts
 * import { presetLayer } from "./resolve.ts";
 * import { getMethod } from "../methods/registry.ts";
 * import "../methods/mod.ts";
 * const srma = getMethod("srma")!;
 * const l = presetLayer(srma, [{ values: { preset: "paper" } }]);
 * if (l?.values.loss !== "bce" || l.where?.("loss") !== "preset 'paper' of method 'srma'") throw new Error();
 * if (presetLayer(srma, [{ values: {} }]) !== undefined) throw new Error();
 * let msg = "";
 * try { presetLayer(srma, [{ values: { preset: "papr" }, where: () => "--preset" }]); } catch (e) { msg = (e as Error).message; }
 * if (msg !== "--preset: expected a preset of method 'srma' ('none', 'paper'), found \"papr\"; did you mean 'paper'?") throw new Error(msg);
 * ```
 */
export function presetLayer(
  method: MethodDef<unknown>,
  layers: ConfigLayer[],
): ConfigLayer | undefined {
  const p = lastSet(layers, "preset");
  const name = p?.value ?? COMMON_KEYS.preset.default;
  if (name === "none") return undefined;
  const presets = method.presets ?? {};
  if (typeof name !== "string" || !Object.hasOwn(presets, name)) {
    const names = ["none", ...Object.keys(presets)];
    const guess = typeof name === "string" ? nearest(name, names) : undefined;
    // Only a near miss is a likely misspelling.
    const near = guess && editDistance(String(name), guess) <= 2
      ? guess
      : undefined;
    throw new ConfigError(
      "preset",
      `a preset of method '${method.name}' (${
        names.map((n) => `'${n}'`).join(", ")
      })`,
      `${shownValue(name)}${near ? `; did you mean '${near}'?` : ""}`,
      p?.where,
    );
  }
  const where = `preset '${name}' of method '${method.name}'`;
  // A preset pins the encoder keys of its paper's SASRec; with another
  // encoder (`--set encoder=gru`) those keys are dropped, nothing else is.
  return { values: presets[name].values, where: () => where, skip: "foreign" };
}

/** The last value of `key` across layers, with where it was set. */
function lastSet(
  layers: ConfigLayer[],
  key: string,
): { value: unknown; where?: string } | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const v = layers[i].values[key];
    if (v !== undefined) return { value: v, where: layers[i].where?.(key) };
  }
  return undefined;
}

/**
 * The configuration that layers of settings give, each layer overriding the
 * ones before it, on top of the defaults of the method, encoder and loss
 * they name, and the method's preset if one is named (`preset: paper`),
 * which sits under every layer. Every key is checked against the run's keys
 * and its declaration.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./resolve.ts";
 * const cfg = resolveConfig([
 *   { values: { method: "srma", neuronMask: 0.3 }, where: () => "run.yaml" },
 *   { values: { lr: 0.01 }, where: () => "--set" },
 * ]);
 * if (cfg.method !== "srma" || cfg.lr !== 0.01 || !("dropK" in cfg)) throw new Error();
 * let msg = "";
 * try {
 *   resolveConfig([
 *     { values: { method: "srma", neuronMask: 0.3 }, where: (k) => `run.yaml:${k === "method" ? 1 : 2}` },
 *     { values: { method: "sasrec" }, where: () => "--method" },
 *   ]);
 * } catch (e) { msg = (e as Error).message; }
 * if (msg !== "run.yaml:2: neuronMask: not a key of method 'sasrec' (it belongs to srma)") throw new Error(msg);
 * const s = resolveConfig([{ values: { loss: "sampled", sampledNegatives: 64 } }]);
 * if (s.loss !== "sampled" || s.sampledNegatives !== 64 || s.sampler !== "popularity") throw new Error();
 * const p = resolveConfig([{ values: { method: "srma", preset: "paper", patience: 5 } }]);
 * if (p.loss !== "bce" || (p as { clTemperature?: number }).clTemperature !== 1 || p.patience !== 5) throw new Error();
 * ```
 */
export function resolveConfig(given: ConfigLayer[]): TrainConfig {
  const m = lastSet(given, "method");
  const method = methodDef(m?.value ?? COMMON_KEYS.method.default, m?.where);
  // A preset sits over the defaults and under every given layer.
  const preset = presetLayer(method, given);
  const layers = preset ? [preset, ...given] : given;
  const e = lastSet(layers, "encoder");
  const encoder = e?.value ?? COMMON_KEYS.encoder.default;
  if (!isEncoderName(encoder)) {
    throw new ConfigError(
      "encoder",
      COMMON_KEYS.encoder.expects,
      JSON.stringify(encoder),
      e?.where,
    );
  }
  const l = lastSet(layers, "loss");
  const loss = l?.value ?? COMMON_KEYS.loss.default;
  if (!isLossName(loss)) {
    throw new ConfigError(
      "loss",
      COMMON_KEYS.loss.expects,
      JSON.stringify(loss),
      l?.where,
    );
  }
  const applied = appliedKeys(method.name, encoder, loss);
  const cfg: Record<string, unknown> = {};
  for (const [k, { spec }] of applied) cfg[k] = spec.default;
  for (const layer of layers) {
    for (let [k, v] of Object.entries(layer.values)) {
      if (v === undefined) continue;
      const a = applied.get(k);
      if (!a) {
        if (layer.skip === "inapplicable") continue;
        if (layer.skip === "foreign" && isForeign(k)) continue;
        throw ConfigError.problem(
          k,
          notAKey(k, method.name, encoder, loss),
          layer.where?.(k),
        );
      }
      // YAML may give the augmentations as a list.
      if (k === "augment" && Array.isArray(v)) v = v.join(",");
      if (k !== "method" && !a.spec.valid(v)) {
        throw new ConfigError(
          k,
          a.spec.expects,
          shownValue(v),
          layer.where?.(k),
        );
      }
      cfg[k] = v;
    }
  }
  // Every key of the run is set and checked: the object is the run's config.
  const c = cfg as TrainConfig;
  const problem =
    (c.encoder === "sasrec"
      ? ENCODERS.sasrec.validate?.(c)
      : ENCODERS.gru.validate?.(c)) ?? method.validate?.(c);
  if (problem) {
    const [k, expected, found] = problem;
    throw new ConfigError(k, expected, found, lastSet(layers, k)?.where);
  }
  return c;
}

/**
 * Defaults overridden by `overrides`, each key checked; `source` names
 * where the overrides came from (a file) in messages. With `base`, the
 * overrides apply on top of that config (whose keys that do not apply to
 * the new method or encoder are dropped).
 *
 * @example
 * ```ts
 * import { makeConfig } from "./resolve.ts";
 * const cfg = makeConfig({ epochs: 3, lr: 0.01 });
 * if (cfg.epochs !== 3 || cfg.hidden !== 64 || cfg.method !== "sasrec") throw new Error();
 * let msg = "";
 * try { makeConfig({ lrr: 1 }); } catch (e) { msg = String(e); }
 * if (!msg.includes("did you mean 'lr'")) throw new Error(msg);
 * ```
 */
export function makeConfig(
  overrides: object = {},
  opts: { source?: string; base?: TrainConfig } = {},
): TrainConfig {
  const layers: ConfigLayer[] = [];
  if (opts.base) {
    layers.push({ values: { ...opts.base }, skip: "inapplicable" });
  }
  layers.push({ values: { ...overrides }, where: () => opts.source });
  return resolveConfig(layers);
}

/**
 * A checked config of `method` (typed with its keys), for calling its
 * builder directly.
 *
 * @example
 * ```ts
 * import { configFor } from "./resolve.ts";
 * import { srma } from "../methods/srma.ts";
 * const cfg = configFor(srma, { dropK: 3 });
 * const k: number = cfg.dropK; // typed: srma's own key
 * if (k !== 3 || cfg.method !== "srma") throw new Error();
 * ```
 */
export function configFor<C>(
  method: MethodDef<C, Model>,
  overrides: object = {},
  opts: { source?: string; base?: TrainConfig } = {},
): MethodConfig<C> {
  const cfg = makeConfig({ ...overrides, method: method.name }, opts);
  // resolveConfig checked every key of this method: the cast only says so.
  return cfg as MethodConfig<C>;
}

/** A value as an error message shows it (NaN and infinities by name, not as JSON's null). */
function shownValue(v: unknown): string {
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v) ?? String(v);
}
