/**
 * Sinkhorn-Knopp equal-partition targets (SwAV, Caron et al. 2020; S4Rec
 * Eq. 5-7): given the scores S `[B, K]` of B embeddings against K
 * prototypes, find Q = diag(m) exp(S / epsilon) diag(v) in the transportation
 * polytope {Q >= 0, Q 1_K = 1_B / B, Q^T 1_B = 1_K / K}, i.e. every row sums
 * to 1/B and every column to 1/K (each prototype gets an equal share of the
 * batch).
 *
 * Algorithm (log domain, fixed iteration count): potentials a `[B]` and
 * c `[K]` start at 0; each iteration first makes the column sums 1/K, then
 * the row sums 1/B:
 *
 *   c_k = -log K - logsumexp_b(S_bk / epsilon + a_b)
 *   a_b = -log B - logsumexp_k(S_bk / epsilon + c_k)
 *
 * and Q_bk = exp(S_bk / epsilon + a_b + c_k). These are SwAV's multiplicative
 * iterations (u = exp(a), v = exp(c)) written with logarithms. The
 * TypeScript path runs the multiplicative form in float64 (one exp per
 * entry) and falls back to the log domain when exp underflows a whole row
 * or column (a tiny epsilon); the WGSL kernel always uses the log domain
 * (float32). The iterates are the same either way. Row sums are
 * exact after any number of iterations; column sums approach 1/K as the
 * iterations grow (SwAV uses 3).
 *
 * Q carries no gradient: {@linkcode sinkhorn} reads the scores' values and
 * returns a tensor that is not connected to any gradient tape. On the tfjs
 * `webgpu` backend it runs the WGSL kernel of `kernels/sinkhorn.ts` on the
 * backend's own device (no read-back); elsewhere {@linkcode sinkhornKnopp}
 * in TypeScript.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "../util/tensor_types.ts";
import { sinkhornOnTfjsWebGpu } from "./sinkhorn_gpu.ts";
import { type SinkhornOptions, sinkhornOptions } from "./_sinkhorn_options.ts";

export type { SinkhornOptions } from "./_sinkhorn_options.ts";

/**
 * Sinkhorn-Knopp on a row-major `[rows, cols]` score matrix in TypeScript
 * (float64 arithmetic, float32 result): Q with row sums 1/rows and column
 * sums approaching 1/cols.
 *
 * @example
 * ```ts
 * import { sinkhornKnopp } from "./sinkhorn.ts";
 * const q = sinkhornKnopp(new Float32Array([1, 0, 1, 0]), { rows: 2, cols: 2 }, {
 *   iterations: 20,
 * });
 * // both rows prefer column 0, but each column must get half the mass
 * if (Math.abs(q[0] + q[2] - 0.5) > 1e-4) throw new Error(String(q));
 * ```
 */
export function sinkhornKnopp(
  scores: Float32Array,
  shape: { rows: number; cols: number },
  opts: SinkhornOptions = {},
): Float32Array {
  const { rows, cols } = shape;
  const { epsilon, iterations } = sinkhornOptions(opts);
  if (scores.length !== rows * cols) {
    throw new RangeError(
      `sinkhornKnopp: expected ${rows} x ${cols} = ${
        rows * cols
      } scores, found ${scores.length}`,
    );
  }
  return multiplicative(scores, rows, cols, epsilon, iterations) ??
    logDomain(scores, rows, cols, epsilon, iterations);
}

// The iterations on K = exp((S - max S) / epsilon) in float64: one exp per
// entry, then only products and sums. Undefined when a row or column of K
// underflows to zero (a very small epsilon); the log domain then takes over.
function multiplicative(
  scores: Float32Array,
  rows: number,
  cols: number,
  epsilon: number,
  iterations: number,
): Float32Array | undefined {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] > max) max = scores[i];
  }
  const inv = 1 / epsilon;
  const e = new Float64Array(rows * cols);
  for (let i = 0; i < e.length; i++) e[i] = Math.exp((scores[i] - max) * inv);
  const u = new Float64Array(rows).fill(1); // row scales
  const v = new Float64Array(cols); // column scales
  const colSum = new Float64Array(cols);
  for (let it = 0; it < iterations; it++) {
    colSum.fill(0);
    for (let b = 0; b < rows; b++) {
      const o = b * cols, ub = u[b];
      for (let k = 0; k < cols; k++) colSum[k] += e[o + k] * ub;
    }
    for (let k = 0; k < cols; k++) {
      if (!(colSum[k] > 0) || !isFinite(colSum[k])) return undefined;
      v[k] = 1 / (cols * colSum[k]);
    }
    for (let b = 0; b < rows; b++) {
      const o = b * cols;
      let s = 0;
      for (let k = 0; k < cols; k++) s += e[o + k] * v[k];
      if (!(s > 0) || !isFinite(s)) return undefined;
      u[b] = 1 / (rows * s);
    }
  }
  const q = new Float32Array(rows * cols);
  for (let b = 0; b < rows; b++) {
    const o = b * cols, ub = u[b];
    for (let k = 0; k < cols; k++) q[o + k] = e[o + k] * ub * v[k];
  }
  return q;
}

// The same iterations on the potentials a = log u, c = log v.
function logDomain(
  scores: Float32Array,
  rows: number,
  cols: number,
  epsilon: number,
  iterations: number,
): Float32Array {
  const inv = 1 / epsilon;
  const a = new Float64Array(rows);
  const c = new Float64Array(cols);
  const logRows = Math.log(rows), logCols = Math.log(cols);
  for (let it = 0; it < iterations; it++) {
    for (let k = 0; k < cols; k++) {
      let m = -Infinity;
      for (let b = 0; b < rows; b++) {
        const x = scores[b * cols + k] * inv + a[b];
        if (x > m) m = x;
      }
      let s = 0;
      for (let b = 0; b < rows; b++) {
        s += Math.exp(scores[b * cols + k] * inv + a[b] - m);
      }
      c[k] = -logCols - (m + Math.log(s));
    }
    for (let b = 0; b < rows; b++) {
      const o = b * cols;
      let m = -Infinity;
      for (let k = 0; k < cols; k++) {
        const x = scores[o + k] * inv + c[k];
        if (x > m) m = x;
      }
      let s = 0;
      for (let k = 0; k < cols; k++) {
        s += Math.exp(scores[o + k] * inv + c[k] - m);
      }
      a[b] = -logRows - (m + Math.log(s));
    }
  }
  const q = new Float32Array(rows * cols);
  for (let b = 0; b < rows; b++) {
    const o = b * cols;
    for (let k = 0; k < cols; k++) {
      q[o + k] = Math.exp(scores[o + k] * inv + a[b] + c[k]);
    }
  }
  return q;
}

/**
 * Equal-partition targets Q `[B, K]` for a score tensor, without gradient:
 * the result is a new tensor that no gradient tape connects to `scores`. On
 * the tfjs `webgpu` backend the WGSL kernel runs on the backend's device;
 * elsewhere {@linkcode sinkhornKnopp}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { sinkhorn } from "./sinkhorn.ts";
 * const q = sinkhorn(tf.tensor2d([[0.9, 0.1], [0.8, 0.2]]), { iterations: 10 });
 * const rowSums = q.sum(1).dataSync();
 * if (Math.abs(rowSums[0] - 0.5) > 1e-5) throw new Error();
 * ```
 */
export function sinkhorn(
  scores: Tensor2D,
  opts: SinkhornOptions = {},
): Tensor2D {
  const o = sinkhornOptions(opts);
  const [rows, cols] = scores.shape;
  if (tf.getBackend() === "webgpu") return sinkhornOnTfjsWebGpu(scores, o);
  const q = sinkhornKnopp(scores.dataSync() as Float32Array, { rows, cols }, o);
  return tf.tensor2d(q, [rows, cols]);
}
