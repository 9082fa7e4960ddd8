/**
 * WGSL for Sinkhorn-Knopp equal-partition targets on WebGPU, used by
 * `SinkhornGpu` in `lib/cluster/sinkhorn_gpu.ts`. It computes exactly what
 * `sinkhornKnopp` in `lib/cluster/sinkhorn.ts` computes (see there for the
 * algorithm), in float32.
 *
 * Log-domain iterations: with S the `[rows, cols]` scores, e = epsilon and
 * the potentials a (rows) and c (columns) starting at 0, each iteration sets
 *
 *   c_k = -log(cols) - logsumexp_b(S_bk / e + a_b)   (column sums -> 1/cols)
 *   a_b = -log(rows) - logsumexp_k(S_bk / e + c_k)   (row sums -> 1/rows)
 *
 * and the output is Q_bk = exp(S_bk / e + a_b + c_k). These are the same
 * iterates as the multiplicative updates of SwAV's `distributed_sinkhorn`
 * (whose initial division by sum(Q) only shifts a), but exp never underflows
 * to a zero row or column, whatever epsilon is.
 *
 * One workgroup of {@linkcode SINKHORN_THREADS} invocations does all the
 * work: invocation t handles columns t, t + THREADS, ... in the column pass
 * and rows t, t + THREADS, ... in the row pass, each a one-pass (running-max)
 * logsumexp; a storage + workgroup barrier separates the passes. The
 * potentials live in a storage buffer `[rows + cols]` (a, then c), so the
 * batch size is not bounded by workgroup memory. A mini-batch's matrix
 * (e.g. 512 x 128) is small; one workgroup avoids any cross-workgroup
 * synchronisation. Dispatch (1, 1, 1).
 *
 * WGSL is kept in `.ts` modules as string constants (see
 * `kernels/score_rank.ts`).
 *
 * @module
 */

/** Invocations of the single workgroup. */
export const SINKHORN_THREADS = 256;

/** Bytes of the uniform block: 4 u32 + 4 f32. */
export const SINKHORN_PARAMS_BYTES = 32;

/**
 * The WGSL source with entry point `sinkhorn`.
 *
 * Bindings (group 0): 0 uniform params {rows, cols, iterations, _, 1/e,
 * log(rows), log(cols), _}; 1 scores `[rows * cols]` (read); 2 output Q
 * `[rows * cols]`; 3 potentials `[rows + cols]` (scratch).
 *
 * @example
 * ```ts
 * import { SINKHORN_WGSL } from "./sinkhorn.ts";
 * if (!SINKHORN_WGSL.includes("fn sinkhorn")) throw new Error();
 * ```
 */
export const SINKHORN_WGSL: string = /* wgsl */ `
const THREADS: u32 = ${SINKHORN_THREADS}u;
// Start value of a running maximum; exp(LOW - x) is 0 for any real score.
const LOW: f32 = -3.0e38;

struct Params {
  rows: u32,
  cols: u32,
  iterations: u32,
  pad0: u32,
  inv_eps: f32,
  log_rows: f32,
  log_cols: f32,
  pad1: f32,
};

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read_write> dual: array<f32>;

@compute @workgroup_size(${SINKHORN_THREADS})
fn sinkhorn(@builtin(local_invocation_index) t: u32) {
  let rows = P.rows;
  let cols = P.cols;
  for (var i = t; i < rows + cols; i += THREADS) {
    dual[i] = 0.0;
  }
  storageBarrier();
  workgroupBarrier();
  for (var it = 0u; it < P.iterations; it++) {
    // Columns: c_k = -log(cols) - logsumexp_b(S_bk / e + a_b).
    for (var k = t; k < cols; k += THREADS) {
      var m = LOW;
      var s = 0.0;
      for (var b = 0u; b < rows; b++) {
        let x = scores[b * cols + k] * P.inv_eps + dual[b];
        if (x > m) {
          s = s * exp(m - x) + 1.0;
          m = x;
        } else {
          s += exp(x - m);
        }
      }
      dual[rows + k] = -P.log_cols - (m + log(s));
    }
    storageBarrier();
    workgroupBarrier();
    // Rows: a_b = -log(rows) - logsumexp_k(S_bk / e + c_k).
    for (var b = t; b < rows; b += THREADS) {
      var m = LOW;
      var s = 0.0;
      for (var k = 0u; k < cols; k++) {
        let x = scores[b * cols + k] * P.inv_eps + dual[rows + k];
        if (x > m) {
          s = s * exp(m - x) + 1.0;
          m = x;
        } else {
          s += exp(x - m);
        }
      }
      dual[b] = -P.log_rows - (m + log(s));
    }
    storageBarrier();
    workgroupBarrier();
  }
  for (var i = t; i < rows * cols; i += THREADS) {
    let b = i / cols;
    let k = i - b * cols;
    q[i] = exp(scores[i] * P.inv_eps + dual[b] + dual[rows + k]);
  }
}
`;
