/**
 * Next-item (recommendation) losses over the real positions of a batch.
 * Scores use the tied item table `E[1..numItems]`; padding (row 0) and the
 * mask token (row numItems + 1) are never scored.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { addInPlace, inPlaceAvailable } from "../backend/adam_inplace.ts";
import type {
  Scalar,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
} from "../util/tensor_types.ts";
import {
  fusedSoftmaxCE,
  fusedSoftmaxCEAvailable,
} from "../backend/softmax_ce_kernel.ts";

/**
 * Flat indices of the positions whose target is a real item (not padding 0).
 *
 * @example
 * ```ts
 * import { realPositions } from "./rec.ts";
 * const idx = realPositions(Int32Array.of(0, 0, 4, 7));
 * if (idx.join() !== "2,3") throw new Error(idx.join());
 * ```
 */
export function realPositions(targets: Int32Array): Int32Array {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== 0) n++;
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] !== 0) out[k++] = i;
  return out;
}

/**
 * Row-wise log-sum-exp `[R, N] -> [R]` with a hand-written gradient
 * (`dy * softmax(x)`). tfjs's own `logSumExp` differentiates through `max`,
 * whose gradient builds an `Equal` mask over the whole score matrix: on wasm
 * that was a third of a SASRec training step.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { logSumExpRows } from "./rec.ts";
 * const v = logSumExpRows(tf.tensor2d([[0, 0]])).dataSync()[0];
 * if (Math.abs(v - Math.log(2)) > 1e-6) throw new Error();
 * ```
 */
export const logSumExpRows: (x: Tensor2D) => Tensor1D = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((x: Tensor2D, save: (t: Tensor[]) => void): any => {
    const value = tf.tidy(() => {
      const m = tf.max(x, 1, true);
      return tf.add(
        tf.reshape(m, [-1]),
        tf.log(tf.sum(tf.exp(tf.sub(x, m)), 1)),
      );
    });
    save([x, value]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, v] = saved;
        return tf.mul(
          tf.expandDims(dy, 1),
          tf.exp(tf.sub(xs, tf.expandDims(v, 1))),
        );
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0],
) as unknown as (x: Tensor2D) => Tensor1D;

/**
 * Full-softmax cross-entropy at every real position: mean over positions of
 * `logsumexp_j(h . E_j) - h . E_target`, j over items 1..numItems.
 * On webgpu the fused kernels of `lib/backend/softmax_ce_kernel.ts`
 * compute it on the real rows (no slice of the table, the logits of one
 * chunk of rows at a time); cpu and wasm use {@linkcode softmaxCE}.
 *
 * @param hidden encoder output `[B, L, d]`
 * @param itemEmb the item table `[numItems + 2, d]`
 * @param targets next-item ids `[B * L]`, 0 where there is none
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fullSoftmaxCE } from "./rec.ts";
 * const emb = tf.randomNormal([5, 4]) as tf.Tensor2D; // 3 items + pad + mask
 * const loss = fullSoftmaxCE(tf.randomNormal([1, 2, 4]), emb, new Int32Array([0, 2]));
 * if (!(loss.dataSync()[0] > 0)) throw new Error();
 * ```
 */
export function fullSoftmaxCE(
  hidden: Tensor3D,
  itemEmb: Tensor2D,
  targets: Int32Array,
  opts: { chunk?: number } = {},
): Scalar {
  return tf.tidy(() => {
    const d = hidden.shape[2];
    const pos = realPositions(targets);
    if (pos.length === 0) return tf.scalar(0);
    const h = tf.gather(tf.reshape(hidden, [-1, d]), tf.tensor1d(pos, "int32"));
    if (fusedSoftmaxCEAvailable()) {
      // Only the real rows: the backward pass's matmuls scale with the rows
      // (about 2,500 of 12,800 positions of a Beauty batch are real).
      return fusedSoftmaxCE(
        h as Tensor2D,
        itemEmb,
        Int32Array.from(pos, (i) => targets[i]),
        { chunk: opts.chunk ?? ceChunkRows(itemEmb.shape[0]) },
      );
    }
    const numItems = itemEmb.shape[0] - 2;
    const items = tf.slice(itemEmb, [1, 0], [numItems, d]);
    const tgt = Int32Array.from(pos, (i) => targets[i] - 1); // 0-based rows of `items`
    return softmaxCE(h as Tensor2D, items as Tensor2D, tgt, opts);
  });
}

/**
 * Bytes of one chunk's logits matrix in {@linkcode softmaxCE} by default:
 * 128 MiB (2^27), the WebGPU default limit of one storage binding. A
 * chunk's forward and backward pass each hold about four such matrices at
 * their peak (the logits, their shifted and exponentiated copies, measured
 * with `tf.profile` on wasm), so the logits of a full-softmax step peak at
 * about 512 MiB whatever the number of items.
 *
 * @example
 * ```ts
 * import { CE_CHUNK_BYTES } from "./rec.ts";
 * if (CE_CHUNK_BYTES !== 134217728) throw new Error();
 * ```
 */
export const CE_CHUNK_BYTES = 2 ** 27;

/**
 * Rows of `h` whose logits {@linkcode softmaxCE} computes at once for
 * `numItems` items: as many as fit `budget` bytes of float32 logits
 * (`rows x numItems x 4`), at least 1 and at most 2048.
 *
 * @example
 * ```ts
 * import { ceChunkRows } from "./rec.ts";
 * if (ceChunkRows(12101) !== 2048) throw new Error(); // Beauty: as before
 * if (ceChunkRows(100_000) !== 335 || ceChunkRows(1_000_000) !== 33) throw new Error();
 * if (ceChunkRows(100_000_000) !== 1) throw new Error();
 * ```
 */
export function ceChunkRows(numItems: number, budget = CE_CHUNK_BYTES): number {
  return Math.max(1, Math.min(2048, Math.floor(budget / (4 * numItems))));
}

/**
 * Mean softmax cross-entropy of `h` `[R, d]` against every row of `items`
 * `[N, d]` (logits `h items^T`), the correct class of row r being
 * `targets[r]` (0-based). Computed in chunks of rows with a hand-written
 * gradient, so the `[R, N]` logits never exist at once: memory is
 * `chunk x N` whatever R is (R reaches 12,800 on a batch of long sequences,
 * a 620 MB logit matrix on Beauty, and tfjs-wasm's heap is capped at 4 GiB).
 * `chunk` defaults to {@linkcode ceChunkRows}`(N)`, 128 MiB of logits.
 * The backward pass recomputes each chunk's logits:
 * dh = (softmax - onehot) items, ditems = (softmax - onehot)^T h.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { softmaxCE } from "./rec.ts";
 * // two classes with equal logits: loss = log 2
 * const l = softmaxCE(tf.tensor2d([[0, 0]]), tf.tensor2d([[1, 0], [1, 0]]), new Int32Array([1]));
 * if (Math.abs(l.dataSync()[0] - Math.log(2)) > 1e-6) throw new Error();
 * ```
 */
export function softmaxCE(
  h: Tensor2D,
  items: Tensor2D,
  targets: Int32Array,
  opts: { chunk?: number } = {},
): Scalar {
  const R = h.shape[0];
  const chunk = Math.max(1, opts.chunk ?? ceChunkRows(items.shape[0]));
  const spans: [number, number][] = [];
  for (let a = 0; a < R; a += chunk) spans.push([a, Math.min(R, a + chunk)]);
  const op = tf.customGrad(
    ((hIn: Tensor2D, itemsIn: Tensor2D, save: tf.GradSaveFunc) => {
      // Saved with the inputs, so it lives exactly as long as the tape needs it.
      const tgt = tf.tensor1d(targets, "int32");
      // Each chunk in its own tidy: only one chunk's logits exist at a time
      // (one tidy around all of them kept every chunk's until the end).
      const parts = spans.map(([a, b]) =>
        tf.tidy(() => {
          const logits = tf.matMul(
            tf.slice(hIn, [a, 0], [b - a, -1]),
            itemsIn,
            false,
            true,
          );
          const m = tf.max(logits, 1, true);
          return tf.add(
            tf.reshape(m, [-1]),
            tf.log(tf.sum(tf.exp(tf.sub(logits, m)), 1)),
          );
        })
      );
      const lse = parts.length === 1 ? parts[0] : tf.concat(parts);
      if (parts.length > 1) { for (const p of parts) p.dispose(); }
      const value = tf.tidy(() => {
        const t = tf.sum(tf.mul(hIn, tf.gather(itemsIn, tgt)), 1);
        return tf.mean(tf.sub(lse, t));
      });
      save([hIn, itemsIn, lse, tgt]);
      return {
        value,
        gradFunc: (dy: Tensor, saved: Tensor[]) => {
          const [hs, its, l, tg] = saved;
          const scale = tf.div(dy, R);
          let dItems: Tensor = tf.neg(
            tf.unsortedSegmentSum(hs, tg as Tensor1D, its.shape[0]),
          );
          const dh: Tensor[] = [];
          for (const [a, b] of spans) {
            const [dhc, dic] = tf.tidy(() => {
              const hc = tf.slice(hs, [a, 0], [b - a, -1]);
              const p = tf.exp(
                tf.sub(
                  tf.matMul(hc, its, false, true),
                  tf.expandDims(tf.slice(l, [a], [b - a]), 1),
                ),
              );
              return [tf.matMul(p, its), tf.matMul(p, hc, true, false)];
            });
            dh.push(dhc);
            // On wasm the sum is written over dItems (no third table).
            const next = inPlaceAvailable()
              ? addInPlace(dItems, dic)
              : tf.add(dItems, dic);
            if (next !== dItems) dItems.dispose();
            dic.dispose();
            dItems = next;
          }
          const dhAll = tf.sub(tf.concat(dh), tf.gather(its, tg));
          return [tf.mul(dhAll, scale), tf.mul(dItems, scale)];
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0],
  ) as unknown as (
    h: Tensor2D,
    items: Tensor2D,
  ) => Scalar;
  return op(h, items);
}

/**
 * Binary cross-entropy with one sampled negative per real position:
 * mean of `-log sigmoid(h . E_pos) - log(1 - sigmoid(h . E_neg))`.
 *
 * @param negatives negative item ids aligned with `targets` (ignored where the
 * target is 0); see `sampleNegatives`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { bceOneNegative } from "./rec.ts";
 * const emb = tf.randomNormal([5, 4]) as tf.Tensor2D;
 * const loss = bceOneNegative(
 *   tf.randomNormal([1, 2, 4]), emb, new Int32Array([0, 2]), new Int32Array([0, 3]),
 * );
 * if (!(loss.dataSync()[0] > 0)) throw new Error();
 * ```
 */
export function bceOneNegative(
  hidden: Tensor3D,
  itemEmb: Tensor2D,
  targets: Int32Array,
  negatives: Int32Array,
): Scalar {
  return tf.tidy(() => {
    const d = hidden.shape[2];
    const pos = realPositions(targets);
    if (pos.length === 0) return tf.scalar(0);
    const h = tf.gather(tf.reshape(hidden, [-1, d]), tf.tensor1d(pos, "int32"));
    const p = tf.sum(
      tf.mul(
        h,
        tf.gather(itemEmb, tf.tensor1d(pos.map((i) => targets[i]), "int32")),
      ),
      1,
    );
    const n = tf.sum(
      tf.mul(
        h,
        tf.gather(itemEmb, tf.tensor1d(pos.map((i) => negatives[i]), "int32")),
      ),
      1,
    );
    // -log sigmoid(p) = softplus(-p); -log(1 - sigmoid(n)) = softplus(n)
    return tf.mean(tf.add(tf.softplus(tf.neg(p)), tf.softplus(n))) as Scalar;
  });
}

/**
 * The last real position's output `[B, d]` (padding is on the left, so it is
 * the last column): the sequence embedding of MCLRec, DuoRec and CL4SRec.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { lastPosition } from "./rec.ts";
 * const z = lastPosition(tf.ones([2, 3, 4]) as tf.Tensor3D);
 * if (z.shape.join() !== "2,4") throw new Error();
 * ```
 */
export function lastPosition(hidden: Tensor3D): Tensor2D {
  const [B, L, d] = hidden.shape;
  return tf.reshape(tf.slice(hidden, [0, L - 1, 0], [B, 1, d]), [B, d]);
}

/**
 * All positions flattened to `[B, maxLen * d]`, left-padded with zeros up to
 * `maxLen` columns (SRMA's code uses this 3,200-wide vector at d = 64).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { flattenPositions } from "./rec.ts";
 * const z = flattenPositions(tf.ones([2, 3, 4]) as tf.Tensor3D, 5);
 * if (z.shape.join() !== "2,20") throw new Error();
 * ```
 */
export function flattenPositions(
  hidden: Tensor3D,
  maxLen: number,
): Tensor2D {
  const [B, L, d] = hidden.shape;
  const padded = L < maxLen
    ? tf.pad(hidden, [[0, 0], [maxLen - L, 0], [0, 0]])
    : hidden;
  return tf.reshape(padded, [B, maxLen * d]);
}
