/**
 * The sequence encoders a run can choose (`encoder` in the config), each with
 * its own config keys: SASRec's blocks, heads and attention dropout belong to
 * SASRec, not to every run.
 *
 * @module
 */
import type { Params } from "./params.ts";
import type { Encoder } from "./encoder.ts";
import { initSasrec } from "./sasrec.ts";
import { initGru } from "./gru.ts";
import type { Rng } from "../util/rng.ts";
import { type KeySpecsOf, posInt, rate } from "../util/keys.ts";

/** The settings every encoder takes from the common config. */
export interface EncoderBase {
  /** Hidden size d. */
  hidden: number;
  /** Longest input. */
  maxLen: number;
  /** Hidden dropout. */
  dropout: number;
}

/** SASRec's own settings (documented in {@linkcode SASREC_ENCODER_KEYS}). */
export interface SasrecEncoderConfig {
  /** Transformer blocks. */
  layers: number;
  /** Attention heads. */
  heads: number;
  /** Attention-probability dropout. */
  attnDropout: number;
}

/**
 * SASRec's own keys.
 *
 * @example
 * ```ts
 * import { SASREC_ENCODER_KEYS } from "./encoders.ts";
 * if (SASREC_ENCODER_KEYS.heads.default !== 2 || SASREC_ENCODER_KEYS.attnDropout.valid(1)) throw new Error();
 * ```
 */
export const SASREC_ENCODER_KEYS: KeySpecsOf<SasrecEncoderConfig> = {
  layers: posInt(2, "Transformer blocks."),
  heads: posInt(2, "Attention heads (a divisor of hidden)."),
  attnDropout: rate(0.5, "Attention-probability dropout."),
};

/** The GRU's own settings: none (hidden, maxLen and dropout are common). */
export type GruEncoderConfig = Record<never, never>;

/**
 * The GRU's own keys: none.
 *
 * @example
 * ```ts
 * import { GRU_ENCODER_KEYS } from "./encoders.ts";
 * if (Object.keys(GRU_ENCODER_KEYS).length !== 0) throw new Error();
 * ```
 */
export const GRU_ENCODER_KEYS: KeySpecsOf<GruEncoderConfig> = {};

/** An encoder choice: its summary, its keys, a cross-key check, and its init. */
export interface EncoderDef<C> {
  /** One line for help. */
  summary: string;
  /** Its own config keys. */
  keys: KeySpecsOf<C>;
  /**
   * A check across keys: `[key, expected, found]` when the config is bad.
   */
  validate?(cfg: EncoderBase & C): [string, string, string] | null;
  /** Build the encoder into `params`. */
  init(
    params: Params,
    cfg: EncoderBase & C,
    numItems: number,
    rng: Rng,
  ): Encoder;
}

/**
 * Every encoder by name.
 *
 * @example
 * ```ts
 * import { ENCODERS } from "./encoders.ts";
 * if (Object.keys(ENCODERS).join() !== "sasrec,gru") throw new Error();
 * if (!("heads" in ENCODERS.sasrec.keys) || "heads" in ENCODERS.gru.keys) throw new Error();
 * ```
 */
export const ENCODERS: {
  sasrec: EncoderDef<SasrecEncoderConfig>;
  gru: EncoderDef<GruEncoderConfig>;
} = {
  sasrec: {
    summary: "SASRec: causal self-attention blocks (Kang and McAuley, 2018)",
    keys: SASREC_ENCODER_KEYS,
    validate: (cfg) =>
      cfg.hidden % cfg.heads === 0
        ? null
        : ["heads", `a divisor of hidden (${cfg.hidden})`, String(cfg.heads)],
    init: (params, cfg, numItems, rng) =>
      initSasrec(params, {
        numItems,
        hidden: cfg.hidden,
        layers: cfg.layers,
        heads: cfg.heads,
        maxLen: cfg.maxLen,
        dropout: cfg.dropout,
        attnDropout: cfg.attnDropout,
      }, rng),
  },
  gru: {
    summary: "GRU4Rec-style GRU over the item embeddings",
    keys: GRU_ENCODER_KEYS,
    init: (params, cfg, numItems, rng) =>
      initGru(params, {
        numItems,
        hidden: cfg.hidden,
        maxLen: cfg.maxLen,
        dropout: cfg.dropout,
      }, rng),
  },
};

/** An encoder's name. */
export type EncoderName = keyof typeof ENCODERS;

/**
 * The encoder part of a config: the encoder's name with its own keys (a
 * union over the encoders, told apart by `encoder`).
 */
export type EncoderConfig =
  | ({ encoder: "sasrec" } & SasrecEncoderConfig)
  | ({ encoder: "gru" } & GruEncoderConfig);

/**
 * Build the configured encoder (SASRec or GRU) into `params`.
 *
 * @example
 * ```ts
 * import { buildEncoder } from "./encoders.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params = {};
 * const cfg = { encoder: "gru", hidden: 8, maxLen: 5, dropout: 0 } as const;
 * const enc = buildEncoder(params, cfg, 30, makeRng(0));
 * if (enc.kind !== "gru" || !("item_emb" in params)) throw new Error();
 * ```
 */
export function buildEncoder(
  params: Params,
  cfg: EncoderBase & EncoderConfig,
  numItems: number,
  rng: Rng,
): Encoder {
  switch (cfg.encoder) {
    case "sasrec":
      return ENCODERS.sasrec.init(params, cfg, numItems, rng);
    case "gru":
      return ENCODERS.gru.init(params, cfg, numItems, rng);
  }
}
