/**
 * SASRec (Kang & McAuley, 2018) as the seed papers' code runs it:
 *
 *   e_t   = Dropout(LayerNorm(E[item_t] + P[t]))
 *   a     = LayerNorm(e + Dropout(W_o MultiHead(e)))      (causal, key padding masked)
 *   h     = LayerNorm(a + Dropout(W_2 GELU(W_1 a)))       (FFN d -> 4d -> d)
 *
 * repeated for `layers` blocks (post-LN), weights N(0, 0.02), item scores
 * with the item table itself (tied). Padding is on the left, so the last
 * column is always the last real item.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { EncodeOptions, Encoder, SeqInput } from "./encoder.ts";
import type { Params } from "./params.ts";
import { normalVar } from "./params.ts";
import {
  dense,
  dropout,
  ffnSublayer,
  initDense,
  initLayerNorm,
  layerNorm,
} from "./layers.ts";
import type { Rng } from "../util/rng.ts";

/** SASRec hyper-parameters. */
export interface SasrecConfig {
  /** Number of real items (ids 1..numItems). */
  numItems: number;
  /** Hidden size d (default 64). */
  hidden?: number;
  /** Transformer blocks (default 2). */
  layers?: number;
  /** Attention heads (default 2). */
  heads?: number;
  /** Longest input (default 50). */
  maxLen?: number;
  /** Hidden dropout (default 0.5, the seed papers' Beauty setting). */
  dropout?: number;
  /** Attention-probability dropout (default = dropout). */
  attnDropout?: number;
  /** Name prefix for the block weights (default "enc"). */
  prefix?: string;
  /** Name of the item table in `params` (default "item_emb"). */
  embKey?: string;
}

// A large negative instead of -Infinity: a fully padded query row would
// otherwise turn into NaN in the softmax.
const MASK_NEG = -1e9;

/**
 * Initialise SASRec's weights into `params` (adds `item_emb` if absent).
 *
 * @example
 * ```ts
 * import { initSasrec } from "./sasrec.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params = {};
 * const enc = initSasrec(params, { numItems: 100, hidden: 16 }, makeRng(0));
 * if (enc.hidden !== 16) throw new Error();
 * ```
 */
export function initSasrec(
  params: Params,
  cfg: SasrecConfig,
  rng: Rng,
): Encoder {
  const d = cfg.hidden ?? 64;
  const layers = cfg.layers ?? 2;
  const heads = cfg.heads ?? 2;
  const maxLen = cfg.maxLen ?? 50;
  const rate = cfg.dropout ?? 0.5;
  const attnRate = cfg.attnDropout ?? rate;
  const p = cfg.prefix ?? "enc";
  const embKey = cfg.embKey ?? "item_emb";
  if (d % heads !== 0) {
    throw new Error(
      `sasrec: hidden (${d}) must be divisible by heads (${heads})`,
    );
  }
  if (!params[embKey]) {
    params[embKey] = normalVar(
      [cfg.numItems + 2, d],
      0.02,
      rng,
      embKey,
    );
  }
  params[`${p}.pos_emb`] = normalVar([maxLen, d], 0.02, rng, `${p}.pos_emb`);
  initLayerNorm(params, `${p}.ln_in`, d);
  for (let l = 0; l < layers; l++) {
    for (const m of ["q", "k", "v", "o"]) {
      initDense(params, `${p}.${l}.${m}`, d, d, rng);
    }
    initLayerNorm(params, `${p}.${l}.ln_attn`, d);
    initDense(params, `${p}.${l}.ffn1`, d, 4 * d, rng);
    initDense(params, `${p}.${l}.ffn2`, 4 * d, d, rng);
    initLayerNorm(params, `${p}.${l}.ln_ffn`, d);
  }
  return {
    kind: "sasrec",
    embKey,
    hidden: d,
    numItems: cfg.numItems,
    maxLen,
    encode: (prm, input, opts) =>
      sasrecEncode(
        prm,
        input,
        { d, layers, heads, rate, attnRate, prefix: p, embKey },
        opts,
      ),
  };
}

interface Shape {
  d: number;
  layers: number;
  heads: number;
  rate: number;
  attnRate: number;
  prefix: string;
  embKey: string;
}

/**
 * Additive attention mask `[B, 1, L, L]`: 0 where query i may see key j
 * (j <= i and key j is a real item), a large negative elsewhere.
 *
 * @example
 * ```ts
 * import { attentionMask } from "./sasrec.ts";
 * const m = attentionMask(new Int32Array([0, 5, 6]), 1, 3);
 * // query 2 sees keys 1 and 2, not the padding at 0
 * if (m.dataSync()[6] >= 0 || m.dataSync()[7] !== 0) throw new Error();
 * ```
 */
export function attentionMask(
  inputs: Int32Array,
  batchSize: number,
  seqLen: number,
): tf.Tensor4D {
  const L = seqLen;
  const m = new Float32Array(batchSize * L * L);
  for (let b = 0; b < batchSize; b++) {
    const row = b * L;
    for (let i = 0; i < L; i++) {
      const base = (b * L + i) * L;
      for (let j = 0; j < L; j++) {
        m[base + j] = j <= i && inputs[row + j] !== 0 ? 0 : MASK_NEG;
      }
    }
  }
  return tf.tensor4d(m, [batchSize, 1, L, L]);
}

function sasrecEncode(
  params: Params,
  input: SeqInput,
  s: Shape,
  opts: EncodeOptions = {},
): tf.Tensor3D {
  const { batchSize: B, seqLen: L, posOffset } = input;
  const { d, heads: H, prefix: p } = s;
  const dh = d / H;
  const rng = opts.rng;
  const rate = opts.dropout ?? s.rate;
  const ffnRate = opts.ffnDropout ?? rate;
  const attnRate = opts.dropout ?? s.attnRate;
  return tf.tidy(() => {
    const ids = tf.tensor2d(input.inputs, [B, L], "int32");
    const itemE = tf.reshape(
      tf.gather(params[s.embKey], tf.reshape(ids, [-1])),
      [B, L, d],
    );
    const posE = tf.slice(params[`${p}.pos_emb`], [posOffset, 0], [L, d]);
    let x = dropout(
      layerNorm(params, `${p}.ln_in`, tf.add(itemE, posE)),
      rate,
      rng,
    );
    const mask = attentionMask(input.inputs, B, L);
    const split = (t: tf.Tensor, n: number) =>
      tf.reshape(tf.transpose(tf.reshape(t, [B, n, H, dh]), [0, 2, 1, 3]), [
        B * H,
        n,
        dh,
      ]);
    for (let l = 0; l < s.layers; l++) {
      // With lastOnly, the final block attends from the last position only
      // (keys and values still cover every position).
      const last = opts.lastOnly === true && l === s.layers - 1;
      const Q = last ? 1 : L;
      const xq = last ? tf.slice(x, [0, L - 1, 0], [B, 1, d]) : x;
      const m = last ? tf.slice(mask, [0, 0, L - 1, 0], [B, 1, 1, L]) : mask;
      const q = split(dense(params, `${p}.${l}.q`, xq), Q);
      const k = split(dense(params, `${p}.${l}.k`, x), L);
      const v = split(dense(params, `${p}.${l}.v`, x), L);
      let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
      scores = tf.add(tf.reshape(scores, [B, H, Q, L]), m);
      let probs = tf.softmax(scores);
      probs = dropout(probs, attnRate, rng);
      const ctx = tf.matMul(tf.reshape(probs, [B * H, Q, L]), v);
      const merged = tf.reshape(
        tf.transpose(tf.reshape(ctx, [B, H, Q, dh]), [0, 2, 1, 3]),
        [B, Q, d],
      );
      const attnOut = dropout(dense(params, `${p}.${l}.o`, merged), rate, rng);
      const a = layerNorm(params, `${p}.${l}.ln_attn`, tf.add(xq, attnOut));
      x = ffnSublayer(params, a, {
        ffn1: `${p}.${l}.ffn1`,
        ffn2: `${p}.${l}.ffn2`,
        ln: `${p}.${l}.ln_ffn`,
        rate: ffnRate,
        rng,
      });
    }
    return x as tf.Tensor3D;
  });
}
