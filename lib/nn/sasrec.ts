/**
 * SASRec (Kang & McAuley, 2018) as the seed papers' code runs it:
 *
 *   x_0 = Dropout(LayerNorm(E[item_t] + P[t]))                     (input)
 *   a_l = LayerNorm(x + Dropout(W_o MultiHead(x W_q, x W_k, x W_v)))
 *                                  (causalSelfAttention: causal, padded keys masked)
 *   x_l = LayerNorm(a + Dropout(W_2 GELU(W_1 a)))
 *                                  (pointwiseFeedForward: d -> 4d -> d, per position)
 *
 * for `layers` blocks (post-LN: a block is {@linkcode sasrecBlock}, the
 * attention sublayer then the feed-forward sublayer), weights N(0, 0.02),
 * item scores with the item table itself (tied). Padding is on the left, so
 * the last column is always the last real item. The attention masks are
 * built from the ids by the `SeqsslAttentionMask` kernel
 * (`lib/backend/attention_mask.ts`: on the device on webgpu) and dropout
 * masks by the counter-based generator (`lib/nn/layers.ts` `dropout`), so
 * a training step uploads only ids.
 *
 * Every weight's name comes from one table, {@linkcode sasrecNames}, read by
 * both the initialisation and the forward pass (the names are those of
 * every checkpoint seqssl has written: `enc.pos_emb`, `enc.ln_in`, and per
 * block `enc.<l>.{q,k,v,o,ln_attn,ffn1,ffn2,ln_ffn}`).
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
import { attentionMaskOf } from "../backend/attention_mask.ts";
import {
  fusedAttention,
  fusedAttentionAvailable,
} from "../backend/attention_kernel.ts";

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

/**
 * The weights of one block, by role. Dense layers hold `<name>.w` and
 * `<name>.b`, LayerNorms `<name>.g` and `<name>.b`.
 */
export interface SasrecBlockNames {
  /** Query projection W_q (dense d -> d). */
  q: string;
  /** Key projection W_k (dense d -> d). */
  k: string;
  /** Value projection W_v (dense d -> d). */
  v: string;
  /** Output projection W_o of the attention (dense d -> d). */
  o: string;
  /** LayerNorm closing the attention sublayer. */
  lnAttn: string;
  /** First feed-forward layer W_1 (dense d -> 4d). */
  ffn1: string;
  /** Second feed-forward layer W_2 (dense 4d -> d). */
  ffn2: string;
  /** LayerNorm closing the feed-forward sublayer. */
  lnFfn: string;
}

/** Every weight name of a SASRec encoder except its item table. */
export interface SasrecNames {
  /** Position table P [maxLen, d]. */
  posEmb: string;
  /** LayerNorm of the input embeddings. */
  lnIn: string;
  /** Per block, in order. */
  blocks: SasrecBlockNames[];
}

/**
 * The names of a SASRec encoder's weights under `prefix` with `layers`
 * blocks: the one table both {@linkcode initSasrec} and the forward pass
 * read.
 *
 * @example
 * ```ts
 * import { sasrecNames } from "./sasrec.ts";
 * const n = sasrecNames("enc", 2);
 * if (n.posEmb !== "enc.pos_emb" || n.lnIn !== "enc.ln_in") throw new Error();
 * if (n.blocks.length !== 2 || n.blocks[1].lnAttn !== "enc.1.ln_attn") throw new Error();
 * ```
 */
export function sasrecNames(prefix: string, layers: number): SasrecNames {
  return {
    posEmb: `${prefix}.pos_emb`,
    lnIn: `${prefix}.ln_in`,
    blocks: Array.from({ length: layers }, (_, l) => {
      const b = `${prefix}.${l}`;
      return {
        q: `${b}.q`,
        k: `${b}.k`,
        v: `${b}.v`,
        o: `${b}.o`,
        lnAttn: `${b}.ln_attn`,
        ffn1: `${b}.ffn1`,
        ffn2: `${b}.ffn2`,
        lnFfn: `${b}.ln_ffn`,
      };
    }),
  };
}

/**
 * Add one block's weights to `params`, drawing from `rng` in the order
 * W_q, W_k, W_v, W_o, W_1, W_2 (N(0, 0.02); biases 0, LayerNorm gains 1).
 *
 * @example
 * ```ts
 * import { initSasrecBlock, sasrecNames } from "./sasrec.ts";
 * import type { Params } from "./params.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p: Params = {};
 * initSasrecBlock(p, sasrecNames("enc", 1).blocks[0], 8, makeRng(0));
 * // 4 projections + 2 feed-forward layers (w, b each) + 2 LayerNorms (g, b each)
 * if (Object.keys(p).length !== 16 || p["enc.0.ffn1.w"].shape.join() !== "8,32") {
 *   throw new Error(Object.keys(p).join());
 * }
 * ```
 */
export function initSasrecBlock(
  params: Params,
  names: SasrecBlockNames,
  d: number,
  rng: Rng,
): void {
  // The attention sublayer's weights, then the feed-forward sublayer's.
  for (const w of [names.q, names.k, names.v, names.o]) {
    initDense(params, w, d, d, rng);
  }
  initLayerNorm(params, names.lnAttn, d);
  initDense(params, names.ffn1, d, 4 * d, rng);
  initDense(params, names.ffn2, 4 * d, d, rng);
  initLayerNorm(params, names.lnFfn, d);
}

/** How a block runs: heads, dropout rates and their seeds. */
export interface SasrecBlockOptions {
  /** Attention heads (a divisor of d). */
  heads: number;
  /** Dropout after the attention's output projection. */
  rate: number;
  /** Dropout on the attention probabilities. */
  attnRate: number;
  /** Dropout after the feed-forward network. */
  ffnRate: number;
  /** Dropout seeds come from here; undefined means no dropout. */
  rng?: Rng;
}

/**
 * The causal multi-head self-attention sublayer,
 * `LayerNorm(xq + Dropout(W_o MultiHead(xq W_q, x W_k, x W_v)))`, where the
 * queries `xq` are the last `Q` positions of `x` ([B, L, d]) and `mask`
 * ([B, 1, Q, L], additive: 0 where a query may see a key, a large negative
 * elsewhere) decides which keys each query sees. Returns [B, Q, d].
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { causalSelfAttention, initSasrecBlock, sasrecNames } from "./sasrec.ts";
 * import { makeRng } from "../util/rng.ts";
 * await tf.setBackend("cpu");
 * const p = {}, n = sasrecNames("enc", 1).blocks[0];
 * initSasrecBlock(p, n, 4, makeRng(0));
 * const x = tf.randomNormal([1, 3, 4], 0, 1, "float32", 1) as tf.Tensor3D;
 * const opts = { heads: 2, rate: 0, attnRate: 0, ffnRate: 0 };
 * // Query 0 may see only key 0: what keys 1 and 2 hold cannot change it.
 * const causal = tf.tensor4d([0, -1e9, -1e9, 0, 0, -1e9, 0, 0, 0], [1, 1, 3, 3]);
 * const a = causalSelfAttention(p, n, x, causal, opts).arraySync()[0][0];
 * const x2 = tf.concat([tf.slice(x, [0, 0, 0], [1, 1, 4]), tf.ones([1, 2, 4])], 1);
 * const b = causalSelfAttention(p, n, x2 as tf.Tensor3D, causal, opts).arraySync()[0][0];
 * if (a.some((v, i) => Math.abs(v - b[i]) > 1e-6)) throw new Error();
 * // One query row (the last position) equals the last row of all three.
 * const last = causalSelfAttention(p, n, x, tf.slice(causal, [0, 0, 2, 0], [1, 1, 1, 3]), opts);
 * const all = causalSelfAttention(p, n, x, causal, opts).arraySync()[0][2];
 * if (last.shape.join() !== "1,1,4") throw new Error();
 * if (last.arraySync()[0][0].some((v, i) => Math.abs(v - all[i]) > 1e-6)) throw new Error();
 * ```
 */
export function causalSelfAttention(
  params: Params,
  names: SasrecBlockNames,
  x: tf.Tensor3D,
  mask: tf.Tensor4D,
  opts: SasrecBlockOptions,
): tf.Tensor3D {
  const [B, L, d] = x.shape;
  const Q = mask.shape[2];
  const H = opts.heads;
  const dh = d / H;
  return tf.tidy(() => {
    const xq = Q === L ? x : tf.slice(x, [0, L - Q, 0], [B, Q, d]);
    let merged: tf.Tensor; // [B, Q, d]
    if (fusedAttentionAvailable()) {
      // webgpu: one kernel on the heads where they are, [B, n, d]
      // (lib/backend/attention_kernel.ts), the same dropout elements from a
      // seed drawn where `dropout` draws it.
      const q = dense(params, names.q, xq) as tf.Tensor3D;
      const k = dense(params, names.k, x) as tf.Tensor3D;
      const v = dense(params, names.v, x) as tf.Tensor3D;
      const drop = opts.rng !== undefined && opts.attnRate > 0;
      merged = fusedAttention(q, k, v, mask, {
        heads: H,
        rate: drop ? opts.attnRate : 0,
        seed: drop ? opts.rng!.seed() : 0,
      });
    } else {
      // [B, n, d] -> [B * H, n, dh]
      const split = (t: tf.Tensor, n: number) =>
        tf.reshape(tf.transpose(tf.reshape(t, [B, n, H, dh]), [0, 2, 1, 3]), [
          B * H,
          n,
          dh,
        ]);
      const q = split(dense(params, names.q, xq), Q);
      const k = split(dense(params, names.k, x), L);
      const v = split(dense(params, names.v, x), L);
      let scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
      scores = tf.add(tf.reshape(scores, [B, H, Q, L]), mask); // [B, H, Q, L]
      const probs = dropout(tf.softmax(scores), opts.attnRate, opts.rng);
      const ctx = tf.matMul(tf.reshape(probs, [B * H, Q, L]), v); // [B*H, Q, dh]
      merged = tf.reshape(
        tf.transpose(tf.reshape(ctx, [B, H, Q, dh]), [0, 2, 1, 3]),
        [B, Q, d],
      );
    }
    const out = dropout(dense(params, names.o, merged), opts.rate, opts.rng);
    return layerNorm(params, names.lnAttn, tf.add(xq, out)) as tf.Tensor3D;
  });
}

/**
 * The point-wise feed-forward sublayer,
 * `LayerNorm(a + Dropout(W_2 GELU(W_1 a)))` (d -> 4d -> d at every position
 * alike).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initSasrecBlock, pointwiseFeedForward, sasrecNames } from "./sasrec.ts";
 * import { makeRng } from "../util/rng.ts";
 * await tf.setBackend("cpu");
 * const p = {}, n = sasrecNames("enc", 1).blocks[0];
 * initSasrecBlock(p, n, 4, makeRng(0));
 * const a = tf.randomNormal([2, 3, 4], 0, 1, "float32", 1) as tf.Tensor3D;
 * const h = pointwiseFeedForward(p, n, a, 0);
 * // Per position: position 1 of the batch alone gives the same row.
 * const one = pointwiseFeedForward(p, n, tf.slice(a, [1, 2, 0], [1, 1, 4]), 0);
 * const row = h.arraySync()[1][2], alone = one.arraySync()[0][0];
 * if (row.some((v, i) => Math.abs(v - alone[i]) > 1e-6)) throw new Error();
 * ```
 */
export function pointwiseFeedForward(
  params: Params,
  names: SasrecBlockNames,
  a: tf.Tensor3D,
  rate: number,
  rng?: Rng,
): tf.Tensor3D {
  return ffnSublayer(params, a, {
    ffn1: names.ffn1,
    ffn2: names.ffn2,
    ln: names.lnFfn,
    rate,
    rng,
  }) as tf.Tensor3D;
}

/**
 * One SASRec block: the attention sublayer, then the feed-forward
 * sublayer. Returns [B, Q, d] for a mask of Q query rows.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   causalSelfAttention, initSasrecBlock, pointwiseFeedForward, sasrecBlock, sasrecNames,
 * } from "./sasrec.ts";
 * import { makeRng } from "../util/rng.ts";
 * await tf.setBackend("cpu");
 * const p = {}, n = sasrecNames("enc", 1).blocks[0];
 * initSasrecBlock(p, n, 4, makeRng(0));
 * const x = tf.randomNormal([1, 2, 4], 0, 1, "float32", 1) as tf.Tensor3D;
 * const mask = tf.tensor4d([0, -1e9, 0, 0], [1, 1, 2, 2]);
 * const opts = { heads: 2, rate: 0, attnRate: 0, ffnRate: 0 };
 * const y = sasrecBlock(p, n, x, mask, opts).dataSync();
 * const z = pointwiseFeedForward(p, n, causalSelfAttention(p, n, x, mask, opts), 0).dataSync();
 * if (y.join() !== z.join()) throw new Error();
 * ```
 */
export function sasrecBlock(
  params: Params,
  names: SasrecBlockNames,
  x: tf.Tensor3D,
  mask: tf.Tensor4D,
  opts: SasrecBlockOptions,
): tf.Tensor3D {
  const a = causalSelfAttention(params, names, x, mask, opts);
  return pointwiseFeedForward(params, names, a, opts.ffnRate, opts.rng);
}

/**
 * Initialise SASRec's weights into `params` (adds `item_emb` if absent).
 *
 * @example
 * ```ts
 * import { initSasrec } from "./sasrec.ts";
 * import type { Params } from "./params.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params: Params = {};
 * const enc = initSasrec(params, { numItems: 100, hidden: 16 }, makeRng(0));
 * if (enc.hidden !== 16) throw new Error();
 * // the item table (100 items + padding + mask token), positions, input
 * // LayerNorm (g, b), and 16 tensors per block
 * if (Object.keys(params).length !== 1 + 1 + 2 + 2 * 16) throw new Error();
 * if (params["item_emb"].shape.join() !== "102,16") throw new Error();
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
  const embKey = cfg.embKey ?? "item_emb";
  const names = sasrecNames(cfg.prefix ?? "enc", layers);
  if (d % heads !== 0) {
    throw new Error(
      `sasrec: hidden (${d}) must be divisible by heads (${heads})`,
    );
  }
  if (!params[embKey]) {
    params[embKey] = normalVar([cfg.numItems + 2, d], 0.02, rng, embKey);
  }
  params[names.posEmb] = normalVar([maxLen, d], 0.02, rng, names.posEmb);
  initLayerNorm(params, names.lnIn, d);
  for (const block of names.blocks) initSasrecBlock(params, block, d, rng);
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
        { d, heads, rate, attnRate, names, embKey },
        opts,
      ),
  };
}

interface Shape {
  d: number;
  heads: number;
  rate: number;
  attnRate: number;
  names: SasrecNames;
  embKey: string;
}

function sasrecEncode(
  params: Params,
  input: SeqInput,
  s: Shape,
  opts: EncodeOptions = {},
): tf.Tensor3D {
  const { batchSize: B, seqLen: L, posOffset } = input;
  const { d, names } = s;
  const rate = opts.dropout ?? s.rate;
  const block: SasrecBlockOptions = {
    heads: s.heads,
    rate,
    attnRate: opts.dropout ?? s.attnRate,
    ffnRate: opts.ffnDropout ?? rate,
    rng: opts.rng,
  };
  return tf.tidy(() => {
    const ids = tf.tensor2d(input.inputs, [B, L], "int32");
    const itemE = tf.reshape(
      tf.gather(params[s.embKey], tf.reshape(ids, [-1])),
      [B, L, d],
    );
    const posE = tf.slice(params[names.posEmb], [posOffset, 0], [L, d]);
    let x = dropout(
      layerNorm(params, names.lnIn, tf.add(itemE, posE)),
      rate,
      opts.rng,
    ) as tf.Tensor3D;
    // The masks are built from the ids where they already are (one kernel
    // on the device on webgpu): [B, 1, L, L], and [B, 1, 1, L] for the last
    // position alone.
    const count = names.blocks.length;
    const lastOnly = opts.lastOnly === true;
    const mask = !lastOnly || count > 1 ? attentionMaskOf(ids) : undefined;
    for (const [l, n] of names.blocks.entries()) {
      // With lastOnly, the final block attends from the last position only
      // (keys and values still cover every position).
      const last = lastOnly && l === count - 1;
      const m = last ? attentionMaskOf(ids, 1) : mask!;
      x = sasrecBlock(params, n, x, m, block);
    }
    return x;
  });
}
