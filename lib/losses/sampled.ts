/**
 * Sampled softmax: the next-item cross-entropy over the target and S
 * negatives drawn once per batch and shared by all its positions, instead
 * of over all N items, with the log-Q correction. A step costs O(rows x S)
 * scores instead of O(rows x N), for catalogues where the full softmax is
 * too slow.
 *
 * The negatives are drawn with replacement from a proposal q over the items
 * (`sampler`): uniform, or popularity (q_j proportional to 1 + item j's
 * count in the training sequences). Each candidate c's logit `h . E_c` is
 * corrected by `- log(S q_c)`, the log of its expected count in the sample,
 * the target's included (as TensorFlow's `sampled_softmax_loss` and the
 * sampling-bias correction of Yi et al., RecSys 2019): the softmax over the
 * corrected logits is the sampled estimate of the full one. Under uniform
 * sampling the correction is the same constant for every candidate and
 * cancels. A negative equal to the position's target (an accidental hit)
 * is left out of that position's softmax.
 *
 *     loss = mean over real positions of
 *            logsumexp(z_t, z_1 .. z_S) - z_t,   z_c = h . E_c - log(S q_c)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { choice, type KeySpecsOf, posInt } from "../util/keys.ts";
import type { Rng } from "../util/rng.ts";
import { logSumExpRows, realPositions } from "./rec.ts";

/** The sampled softmax's settings (documented in {@linkcode SAMPLED_KEYS}). */
export interface SampledConfig {
  /** Negatives per batch, shared by its positions. */
  sampledNegatives: number;
  /** The proposal the negatives are drawn from. */
  sampler: "uniform" | "popularity";
}

/**
 * The keys of `loss: sampled` (they apply to no other loss).
 *
 * @example
 * ```ts
 * import { SAMPLED_KEYS } from "./sampled.ts";
 * if (SAMPLED_KEYS.sampledNegatives.default !== 256 || SAMPLED_KEYS.sampler.valid("zipf")) throw new Error();
 * ```
 */
export const SAMPLED_KEYS: KeySpecsOf<SampledConfig> = {
  sampledNegatives: posInt(
    256,
    "Sampled softmax: negatives drawn per batch (with replacement) and shared by all its positions.",
  ),
  sampler: choice(
    ["uniform", "popularity"],
    "popularity",
    "Sampled softmax: the proposal q of the negatives: uniform over the items, or popularity " +
      "(q_j proportional to 1 + item j's count in the training sequences). Every candidate's logit " +
      "is corrected by -log(S q_j), the log-Q correction (a constant under uniform).",
  ),
};

/** A proposal over items 1..N. */
export interface Proposal {
  /** `probs[j - 1]` = q_j; they sum to 1. */
  probs: Float64Array;
  /** `cumulative[j - 1]` = q_1 + ... + q_j (for drawing). */
  cumulative: Float64Array;
}

/**
 * The proposal of `kind` over `numItems` items: uniform, or popularity from
 * the training sequences (q_j = (1 + count_j) / (N + total count)).
 *
 * @example
 * ```ts
 * import { itemProposal } from "./sampled.ts";
 * const p = itemProposal("popularity", 3, [Int32Array.of(1, 1, 2)]);
 * // counts 2, 1, 0 -> (3, 2, 1) / 6
 * if (Math.abs(p.probs[0] - 0.5) > 1e-12 || Math.abs(p.probs[2] - 1 / 6) > 1e-12) throw new Error();
 * if (itemProposal("uniform", 4, []).probs[3] !== 0.25) throw new Error();
 * ```
 */
export function itemProposal(
  kind: SampledConfig["sampler"],
  numItems: number,
  train: Int32Array[],
): Proposal {
  const w = new Float64Array(numItems).fill(1);
  if (kind === "popularity") {
    for (const s of train) {
      for (let i = 0; i < s.length; i++) {
        if (s[i] >= 1 && s[i] <= numItems) w[s[i] - 1]++;
      }
    }
  }
  let total = 0;
  for (let j = 0; j < numItems; j++) total += w[j];
  const probs = new Float64Array(numItems);
  const cumulative = new Float64Array(numItems);
  let acc = 0;
  for (let j = 0; j < numItems; j++) {
    probs[j] = w[j] / total;
    acc += probs[j];
    cumulative[j] = acc;
  }
  cumulative[numItems - 1] = 1;
  return { probs, cumulative };
}

/** A batch's shared negatives: their ids and the proposal they came from. */
export interface SharedNegatives {
  /** Negative item ids (1..N), drawn with replacement. */
  ids: Int32Array;
  /** The proposal they were drawn from (for the log-Q correction). */
  proposal: Proposal;
}

/**
 * Draw `count` item ids from `proposal` with replacement (one `rng.next()`
 * each, a binary search of the cumulative).
 *
 * @example
 * ```ts
 * import { drawNegatives, itemProposal } from "./sampled.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p = itemProposal("popularity", 3, [Int32Array.of(1, 1, 1, 1, 1, 1, 1)]);
 * const { ids } = drawNegatives(p, 1000, makeRng(1));
 * const ones = ids.filter((i) => i === 1).length; // q_1 = 8 / 10
 * if (ones < 750 || ones > 850 || ids.some((i) => i < 1 || i > 3)) throw new Error(String(ones));
 * ```
 */
export function drawNegatives(
  proposal: Proposal,
  count: number,
  rng: Rng,
): SharedNegatives {
  const c = proposal.cumulative;
  const ids = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const u = rng.next();
    let lo = 0, hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    ids[k] = lo + 1;
  }
  return { ids, proposal };
}

/**
 * Sampled-softmax cross-entropy at every real position of `hidden` (see the
 * module doc), with the batch's shared negatives.
 *
 * @param hidden encoder output `[B, L, d]`
 * @param itemEmb the item table `[numItems + 2, d]`
 * @param targets next-item ids `[B * L]`, 0 where there is none
 * @param negatives the batch's shared negatives ({@linkcode drawNegatives})
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { itemProposal, sampledSoftmax } from "./sampled.ts";
 * // items 1, 2 at (1, 0), (0, 1); one position h = (2, 0) whose target is 1;
 * // one uniform negative, item 2: the correction cancels, so the loss is
 * // logsumexp(2, 0) - 2 = log(1 + e^-2)
 * const emb = tf.tensor2d([[0, 0], [1, 0], [0, 1], [0, 0]]);
 * const neg = { ids: Int32Array.of(2), proposal: itemProposal("uniform", 2, []) };
 * const l = sampledSoftmax(tf.tensor3d([[[2, 0]]]), emb, Int32Array.of(1), neg).dataSync()[0];
 * if (Math.abs(l - Math.log(1 + Math.exp(-2))) > 1e-6) throw new Error(String(l));
 * ```
 */
export function sampledSoftmax(
  hidden: tf.Tensor3D,
  itemEmb: tf.Tensor2D,
  targets: Int32Array,
  negatives: SharedNegatives,
): tf.Scalar {
  return tf.tidy(() => {
    const d = hidden.shape[2];
    const pos = realPositions(targets);
    if (pos.length === 0) return tf.scalar(0);
    const R = pos.length, S = negatives.ids.length;
    const q = negatives.proposal.probs;
    const tgt = Int32Array.from(pos, (i) => targets[i]);
    const logQt = Float32Array.from(tgt, (t) => Math.log(S * q[t - 1]));
    const logQn = Float32Array.from(
      negatives.ids,
      (n) => Math.log(S * q[n - 1]),
    );
    // Accidental hits: a negative equal to the row's target drops out.
    const hits = new Float32Array(R * S);
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < S; k++) {
        if (negatives.ids[k] === tgt[r]) hits[r * S + k] = -1e9;
      }
    }
    const h = tf.gather(tf.reshape(hidden, [-1, d]), tf.tensor1d(pos, "int32"));
    // Targets' and negatives' rows in one lookup: its gradient is one
    // table-sized scatter, not two added together.
    const ids = new Int32Array(R + S);
    ids.set(tgt);
    ids.set(negatives.ids, R);
    const rows = tf.gather(itemEmb, tf.tensor1d(ids, "int32"));
    const zt = tf.sub(
      tf.sum(tf.mul(h, tf.slice(rows, [0, 0], [R, d])), 1),
      tf.tensor1d(logQt),
    );
    const zn = tf.add(
      tf.sub(
        tf.matMul(
          h,
          tf.slice(rows, [R, 0], [S, d]),
          false,
          true,
        ),
        tf.tensor2d(logQn, [1, S]),
      ),
      tf.tensor2d(hits, [R, S]),
    );
    const all = tf.concat([tf.reshape(zt, [R, 1]), zn], 1) as tf.Tensor2D;
    return tf.mean(tf.sub(logSumExpRows(all), zt)) as tf.Scalar;
  });
}
