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

/** Rows per workgroup of the per-row loss program. */
export const SOFTMAX_CE_TILE_ROWS = 4;
/** Invocations per workgroup of the per-row loss program. */
export const SOFTMAX_CE_TILE_THREADS = 64;

/**
 * Per-row loss `logsumexp_j(h . e_j) - h . e_target`, one workgroup per
 * tile of {@linkcode SOFTMAX_CE_TILE_ROWS} rows: its
 * {@linkcode SOFTMAX_CE_TILE_THREADS} invocations share out the items
 * (invocation t takes items 1 + t, 1 + t + threads, ...), each scoring them
 * against every row of the tile (one read of an item row serves the whole
 * tile) with an online log-sum-exp (running maximum `m`, sum `s` of
 * `exp(z - m)`), then a tree reduction in workgroup memory merges the
 * invocations' `(m, s)` pairs (`m = max(m1, m2)`,
 * `s = s1 exp(m1 - m) + s2 exp(m2 - m)`) and their target logits (only the
 * invocation that met the target holds one). No logit is stored. Rows past
 * the end and padding rows (target 0) skip the items but still reach every
 * barrier.
 */
export const SOFTMAX_CE_ROWS_WGSL: string = /* wgsl */ `
const ROWS : i32 = ${SOFTMAX_CE_TILE_ROWS};
const THREADS : i32 = ${SOFTMAX_CE_TILE_THREADS};
var<workgroup> redM : array<f32, ${
  SOFTMAX_CE_TILE_ROWS * SOFTMAX_CE_TILE_THREADS
}>;
var<workgroup> redS : array<f32, ${
  SOFTMAX_CE_TILE_ROWS * SOFTMAX_CE_TILE_THREADS
}>;
var<workgroup> redT : array<f32, ${
  SOFTMAX_CE_TILE_ROWS * SOFTMAX_CE_TILE_THREADS
}>;
fn main(index : i32) {
  let lid = i32(localId.x);
  let r0 = i32(workgroupId.x) * ROWS;
  let dim = uniforms.dim;
  var m : array<f32, ${SOFTMAX_CE_TILE_ROWS}>;
  var s : array<f32, ${SOFTMAX_CE_TILE_ROWS}>;
  var tl : array<f32, ${SOFTMAX_CE_TILE_ROWS}>;
  var tg : array<i32, ${SOFTMAX_CE_TILE_ROWS}>;
  for (var r = 0; r < ROWS; r = r + 1) {
    m[r] = -3.0e38;
    s[r] = 0.0;
    tl[r] = 0.0;
    tg[r] = 0;
    if (r0 + r < uniforms.size) { tg[r] = tgt[r0 + r]; }
  }
  for (var j = 1 + lid; j <= uniforms.numItems; j = j + THREADS) {
    let eb = j * dim;
    for (var r = 0; r < ROWS; r = r + 1) {
      if (tg[r] != 0) {
        let hb = (r0 + r) * dim;
        var z = 0.0;
        for (var k = 0; k < dim; k = k + 1) { z = z + hid[hb + k] * emb[eb + k]; }
        if (j == tg[r]) { tl[r] = z; }
        if (z > m[r]) {
          s[r] = s[r] * exp(m[r] - z) + 1.0;
          m[r] = z;
        } else {
          s[r] = s[r] + exp(z - m[r]);
        }
      }
    }
  }
  for (var r = 0; r < ROWS; r = r + 1) {
    redM[r * THREADS + lid] = m[r];
    redS[r * THREADS + lid] = s[r];
    redT[r * THREADS + lid] = tl[r];
  }
  workgroupBarrier();
  for (var stride = THREADS / 2; stride > 0; stride = stride / 2) {
    if (lid < stride) {
      for (var r = 0; r < ROWS; r = r + 1) {
        let a = r * THREADS + lid;
        let b = a + stride;
        let mx = max(redM[a], redM[b]);
        redS[a] = redS[a] * exp(redM[a] - mx) + redS[b] * exp(redM[b] - mx);
        redM[a] = mx;
        redT[a] = redT[a] + redT[b];
      }
    }
    workgroupBarrier();
  }
  if (lid < ROWS && r0 + lid < uniforms.size) {
    var loss = 0.0;
    if (tg[lid] != 0) {
      let a = lid * THREADS;
      loss = redM[a] + log(redS[a]) - redT[a];
    }
    setOutputAtIndex(r0 + lid, loss);
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
