/**
 * WGSL of the fused full-softmax cross-entropy over the item table, bodies
 * of tfjs WebGPU programs (tfjs adds the input bindings named after the
 * program's variables, `result` and `uniforms`), used by
 * `lib/backend/softmax_ce_kernel.ts`; see there for the maths. Items are
 * the rows 1..numItems of the table `e` (row 0 is padding and row
 * numItems + 1 the mask token: never scored); a target 0 marks a padding
 * row, whose loss and gradient are 0.
 *
 * @module
 */

/** Uniforms of the per-row loss program (after tfjs's own). */
export const SOFTMAX_CE_ROWS_UNIFORMS = "dim : i32, numItems : i32,";

/**
 * Per-row loss `logsumexp_j(h . e_j) - h . e_target`, one row per
 * invocation, streaming over the items with an online log-sum-exp (running
 * maximum `m` and sum `s` of `exp(z - m)`): no logit is stored.
 */
export const SOFTMAX_CE_ROWS_WGSL: string = /* wgsl */ `
fn main(index : i32) {
  if (index < uniforms.size) {
    let tg = tgt[index];
    var loss = 0.0;
    if (tg != 0) {
      let dim = uniforms.dim;
      let hb = index * dim;
      var m = -3.0e38;
      var s = 0.0;
      var tl = 0.0;
      for (var j = 1; j <= uniforms.numItems; j = j + 1) {
        let eb = j * dim;
        var z = 0.0;
        for (var k = 0; k < dim; k = k + 1) { z = z + hid[hb + k] * emb[eb + k]; }
        if (j == tg) { tl = z; }
        if (z > m) {
          s = s * exp(m - z) + 1.0;
          m = z;
        } else {
          s = s + exp(z - m);
        }
      }
      loss = m + log(s) - tl;
    }
    setOutputAtIndex(index, loss);
  }
}`;

/** Uniforms of the gradient-tile program (after tfjs's own). */
export const SOFTMAX_CE_GRAD_UNIFORMS = "cols : i32, numItems : i32,";

/**
 * One tile of `(softmax - onehot) * gscale[0]` from a chunk of logits
 * `[rows, cols]` over the whole table: `lse = rowLoss + logit[target]`
 * (the forward pass's per-row loss); 0 at padding rows, at column 0 and
 * at the mask token's column. One element per invocation.
 */
export const SOFTMAX_CE_GRAD_WGSL: string = /* wgsl */ `
fn main(index : i32) {
  if (index < uniforms.size) {
    let cols = uniforms.cols;
    let r = index / cols;
    let j = index - r * cols;
    let tg = tgt[r];
    var v = 0.0;
    if (tg != 0 && j >= 1 && j <= uniforms.numItems) {
      let lse = rowLoss[r] + logits[r * cols + tg];
      v = exp(logits[index] - lse);
      if (j == tg) { v = v - 1.0; }
      v = v * gscale[0];
    }
    setOutputAtIndex(index, v);
  }
}`;
