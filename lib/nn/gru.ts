/**
 * A GRU sequence encoder (GRU4Rec-style): item embedding, dropout, one GRU
 * layer of width d. Left padding is skipped: at a padded step the state is
 * carried over unchanged, so outputs do not depend on how much padding there is.
 *
 *   z = sigmoid(x W_z + h U_z + b_z),  r = sigmoid(x W_r + h U_r + b_r)
 *   n = tanh(x W_n + r * (h U_n) + b_n),  h' = (1 - z) * n + z * h
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { EncodeOptions, Encoder, SeqInput } from "./encoder.ts";
import type { Params } from "./params.ts";
import { constVar, normalVar } from "./params.ts";
import { dropout } from "./layers.ts";
import type { Rng } from "../util/rng.ts";

/** GRU encoder hyper-parameters. */
export interface GruConfig {
  /** Number of real items. */
  numItems: number;
  /** Hidden size d (default 64). */
  hidden?: number;
  /** Longest input (default 50). */
  maxLen?: number;
  /** Dropout on the embeddings (default 0.3). */
  dropout?: number;
  /** Name prefix (default "gru"). */
  prefix?: string;
  /** Name of the item table in `params` (default "item_emb"). */
  embKey?: string;
}

/**
 * Initialise a GRU encoder into `params` (adds `item_emb` if absent).
 *
 * @example
 * ```ts
 * import { initGru } from "./gru.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params: Record<string, import("@tensorflow/tfjs").Variable> = {};
 * const enc = initGru(params, { numItems: 50, hidden: 8 }, makeRng(0));
 * // rows 0..51: padding, 50 items, the mask token; three gates of width 8
 * if (enc.kind !== "gru" || params.item_emb.shape.join() !== "52,8") throw new Error();
 * if (params["gru.wx"].shape.join() !== "8,24" || params["gru.bh"].shape.join() !== "24") {
 *   throw new Error(Object.keys(params).join());
 * }
 * ```
 */
export function initGru(params: Params, cfg: GruConfig, rng: Rng): Encoder {
  const d = cfg.hidden ?? 64;
  const p = cfg.prefix ?? "gru";
  const embKey = cfg.embKey ?? "item_emb";
  const rate = cfg.dropout ?? 0.3;
  const maxLen = cfg.maxLen ?? 50;
  if (!params[embKey]) {
    params[embKey] = normalVar(
      [cfg.numItems + 2, d],
      0.02,
      rng,
      embKey,
    );
  }
  const std = 1 / Math.sqrt(d);
  params[`${p}.wx`] = normalVar([d, 3 * d], std, rng, `${p}.wx`);
  params[`${p}.wh`] = normalVar([d, 3 * d], std, rng, `${p}.wh`);
  params[`${p}.bx`] = constVar([3 * d], 0, `${p}.bx`);
  params[`${p}.bh`] = constVar([3 * d], 0, `${p}.bh`);
  return {
    kind: "gru",
    embKey,
    hidden: d,
    numItems: cfg.numItems,
    maxLen,
    encode: (prm, input, opts) =>
      gruEncode(prm, input, { d, p, rate, embKey }, opts),
  };
}

function gruEncode(
  params: Params,
  input: SeqInput,
  s: { d: number; p: string; rate: number; embKey: string },
  opts: EncodeOptions = {},
): tf.Tensor3D {
  const { batchSize: B, seqLen: L } = input;
  const { d, p, rate } = s;
  return tf.tidy(() => {
    const ids = tf.tensor2d(input.inputs, [B, L], "int32");
    let e = tf.reshape(tf.gather(params[s.embKey], tf.reshape(ids, [-1])), [
      B,
      L,
      d,
    ]);
    e = dropout(e, opts.dropout ?? rate, opts.rng);
    // Input projections for all steps at once: [B, L, 3d].
    const gx = tf.add(
      tf.reshape(tf.matMul(tf.reshape(e, [B * L, d]), params[`${p}.wx`]), [
        B,
        L,
        3 * d,
      ]),
      params[`${p}.bx`],
    );
    // Per-step inputs by unstack, not slice: the gradient of a slice is a
    // zero-padded copy of the whole input, which made backprop O(L^2) in memory.
    const [gz, gr, gn] = tf.split(gx, 3, 2).map((g) => tf.unstack(g, 1));
    // Filled where it lives (tf.zeros builds its values on the host: a
    // B x d upload per call on webgpu).
    let h: tf.Tensor2D = tf.fill([B, d], 0);
    const outs: tf.Tensor2D[] = [];
    for (let t = 0; t < L; t++) {
      const hh = tf.add(tf.matMul(h, params[`${p}.wh`]), params[`${p}.bh`]);
      const [hz, hr, hn] = tf.split(hh, 3, 1);
      const z = tf.sigmoid(tf.add(gz[t], hz));
      const r = tf.sigmoid(tf.add(gr[t], hr));
      const n = tf.tanh(tf.add(gn[t], tf.mul(r, hn)));
      const hNew = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
      // A constant mask (no gradient needed): 1 at real items, 0 at padding.
      const maskAt = new Float32Array(B); // tfjs may keep the array: a fresh one
      for (let b = 0; b < B; b++) {
        maskAt[b] = input.inputs[b * L + t] !== 0 ? 1 : 0;
      }
      const m = tf.tensor2d(maskAt, [B, 1]);
      h = tf.add(tf.mul(m, hNew), tf.mul(tf.sub(1, m), h)) as tf.Tensor2D;
      outs.push(h);
    }
    if (opts.lastOnly) return tf.expandDims(h, 1) as tf.Tensor3D;
    return tf.stack(outs, 1) as tf.Tensor3D;
  });
}
