/**
 * WGSL of the fused attention (scores, additive mask, softmax, counter-based
 * dropout, values) and its gradient, bodies of tfjs WebGPU programs (tfjs
 * adds the input bindings named after the program's variables, `result` and
 * `uniforms`), used by `lib/backend/attention_kernel.ts`; see there for the
 * maths. One invocation per query row (forward, row statistics, dQ) or per
 * key row (dK, dV), streaming over the other axis; the head size `DH` is a
 * constant of the shader (private arrays of that length hold one row), so
 * each head size compiles its own program.
 *
 * Layouts: `q` `[B, Q, H * DH]`, `k` and `v` `[B, L, H * DH]` (the dense
 * layers' outputs: head h is columns h * DH .. h * DH + DH - 1, so no
 * transpose splits or merges the heads), `mask` `[B or 1, 1, Q, L]`
 * (additive), `dy` and the output like `q`. Rows are numbered as the
 * composed path's `[B * H, n, DH]` split numbers them (bh = b * H + h), and
 * the dropout element of (query row r = bh * Q + q, key j) is `r * L + j`,
 * the flat index of the `[B, H, Q, L]` probabilities the composed path
 * drops, so both draw the same mask from one seed.
 *
 * @module
 */
import { PCG_HASH_WGSL } from "./counter_dropout.ts";

/** Uniforms of every attention program (after tfjs's own). */
export const ATTENTION_UNIFORMS =
  "rows : i32, queries : i32, keys : i32, heads : i32, maskStride : i32, " +
  "scale : f32, key : u32, threshold : u32, dropScale : f32,";

// The helpers shared by every program: the dropout factor of one element
// (0 or 1 / (1 - rate); 1 when the rate is 0) and one masked, scaled score.
function common(dh: number): string {
  return /* wgsl */ `
${PCG_HASH_WGSL}
const DH : i32 = ${dh};
fn keepScale(element : u32) -> f32 {
  if (uniforms.threshold == 0u) { return 1.0; }
  if (pcgHash(pcgHash(element) ^ uniforms.key) >= uniforms.threshold) {
    return uniforms.dropScale;
  }
  return 0.0;
}
fn maskAt(bh : i32, qi : i32, j : i32) -> f32 {
  let b = bh / uniforms.heads;
  return mask[b * uniforms.maskStride + qi * uniforms.keys + j];
}
// Where row n (of Q queries or L keys) of head bh starts in [B, n, H * DH].
fn rowBase(bh : i32, n : i32, count : i32) -> i32 {
  let b = bh / uniforms.heads;
  let h = bh - b * uniforms.heads;
  return ((b * count + n) * uniforms.heads + h) * DH;
}`;
}

/**
 * Forward, one query row per invocation: an online softmax over the keys
 * (running maximum `m`, sum `s` of `exp(z - m)`, and the context `acc`
 * rescaled with them), each key's value weighted by its dropout factor;
 * output `acc / s`. A fully masked row sees every key at -1e9 and averages
 * them (no NaN), as the composed softmax does.
 */
export function attentionForwardWgsl(dh: number): string {
  return /* wgsl */ `${common(dh)}
fn main(index : i32) {
  if (index < uniforms.rows) {
    let L = uniforms.keys;
    let bh = index / uniforms.queries;
    let qi = index - bh * uniforms.queries;
    let qb = rowBase(bh, qi, uniforms.queries);
    var qv : array<f32, ${dh}>;
    var acc : array<f32, ${dh}>;
    for (var c = 0; c < DH; c = c + 1) { qv[c] = q[qb + c]; acc[c] = 0.0; }
    var m = -3.0e38;
    var s = 0.0;
    for (var j = 0; j < L; j = j + 1) {
      let kr = rowBase(bh, j, L);
      var z = 0.0;
      for (var c = 0; c < DH; c = c + 1) { z = z + qv[c] * k[kr + c]; }
      z = z * uniforms.scale + maskAt(bh, qi, j);
      var w = 1.0;
      if (z > m) {
        let r = exp(m - z);
        s = s * r + 1.0;
        for (var c = 0; c < DH; c = c + 1) { acc[c] = acc[c] * r; }
        m = z;
      } else {
        w = exp(z - m);
        s = s + w;
      }
      w = w * keepScale(u32(index * L + j));
      if (w != 0.0) {
        for (var c = 0; c < DH; c = c + 1) { acc[c] = acc[c] + w * v[kr + c]; }
      }
    }
    for (var c = 0; c < DH; c = c + 1) { setOutputAtIndex(qb + c, acc[c] / s); }
  }
}`;
}

/**
 * Row statistics for the backward pass, one query row per invocation,
 * output `[rows, 3]`: the maximum `m` of the row's masked scores, the sum
 * `s` of `exp(z - m)` (so `P_j = exp(z_j - m) / s`; `m + log(s)` would lose
 * `log(s)` next to a masked row's -1e9 in float32), and `D = dy . ctx` (the
 * forward output), which equals `sum_j P_j keep_j (dy . v_j)`.
 */
export function attentionStatsWgsl(dh: number): string {
  return /* wgsl */ `${common(dh)}
fn main(index : i32) {
  if (index < uniforms.rows) {
    let L = uniforms.keys;
    let bh = index / uniforms.queries;
    let qi = index - bh * uniforms.queries;
    let qb = rowBase(bh, qi, uniforms.queries);
    var qv : array<f32, ${dh}>;
    var dd = 0.0;
    for (var c = 0; c < DH; c = c + 1) {
      qv[c] = q[qb + c];
      dd = dd + dy[qb + c] * ctx[qb + c];
    }
    var m = -3.0e38;
    var s = 0.0;
    for (var j = 0; j < L; j = j + 1) {
      let kr = rowBase(bh, j, L);
      var z = 0.0;
      for (var c = 0; c < DH; c = c + 1) { z = z + qv[c] * k[kr + c]; }
      z = z * uniforms.scale + maskAt(bh, qi, j);
      if (z > m) {
        s = s * exp(m - z) + 1.0;
        m = z;
      } else {
        s = s + exp(z - m);
      }
    }
    setOutputAtIndex(3 * index, m);
    setOutputAtIndex(3 * index + 1, s);
    setOutputAtIndex(3 * index + 2, dd);
  }
}`;
}

/**
 * dQ, one query row per invocation:
 * `dq = scale * sum_j P_j (keep_j (dy . v_j) - D) k_j`.
 */
export function attentionGradQWgsl(dh: number): string {
  return /* wgsl */ `${common(dh)}
fn main(index : i32) {
  if (index < uniforms.rows) {
    let L = uniforms.keys;
    let bh = index / uniforms.queries;
    let qi = index - bh * uniforms.queries;
    let qb = rowBase(bh, qi, uniforms.queries);
    let m = stats[3 * index];
    let s = stats[3 * index + 1];
    let dd = stats[3 * index + 2];
    var qv : array<f32, ${dh}>;
    var gv : array<f32, ${dh}>;
    var acc : array<f32, ${dh}>;
    for (var c = 0; c < DH; c = c + 1) {
      qv[c] = q[qb + c];
      gv[c] = dy[qb + c];
      acc[c] = 0.0;
    }
    for (var j = 0; j < L; j = j + 1) {
      let kr = rowBase(bh, j, L);
      var z = 0.0;
      var dw = 0.0;
      for (var c = 0; c < DH; c = c + 1) {
        z = z + qv[c] * k[kr + c];
        dw = dw + gv[c] * v[kr + c];
      }
      z = z * uniforms.scale + maskAt(bh, qi, j);
      let p = exp(z - m) / s;
      let ds = p * (dw * keepScale(u32(index * L + j)) - dd);
      if (ds != 0.0) {
        for (var c = 0; c < DH; c = c + 1) { acc[c] = acc[c] + ds * k[kr + c]; }
      }
    }
    for (var c = 0; c < DH; c = c + 1) {
      setOutputAtIndex(qb + c, acc[c] * uniforms.scale);
    }
  }
}`;
}

/**
 * dK, one key row per invocation (rows = BH x L):
 * `dk_j = scale * sum_q P_qj (keep_qj (dy_q . v_j) - D_q) q_q`.
 */
export function attentionGradKWgsl(dh: number): string {
  return /* wgsl */ `${common(dh)}
fn main(index : i32) {
  if (index < uniforms.rows) {
    let L = uniforms.keys;
    let Q = uniforms.queries;
    let bh = index / L;
    let j = index - bh * L;
    let kr = rowBase(bh, j, L);
    var kv : array<f32, ${dh}>;
    var vv : array<f32, ${dh}>;
    var acc : array<f32, ${dh}>;
    for (var c = 0; c < DH; c = c + 1) {
      kv[c] = k[kr + c];
      vv[c] = v[kr + c];
      acc[c] = 0.0;
    }
    for (var qi = 0; qi < Q; qi = qi + 1) {
      let row = bh * Q + qi;
      let qb = rowBase(bh, qi, Q);
      var z = 0.0;
      var dw = 0.0;
      for (var c = 0; c < DH; c = c + 1) {
        z = z + q[qb + c] * kv[c];
        dw = dw + dy[qb + c] * vv[c];
      }
      z = z * uniforms.scale + maskAt(bh, qi, j);
      let p = exp(z - stats[3 * row]) / stats[3 * row + 1];
      let ds = p * (dw * keepScale(u32(row * L + j)) - stats[3 * row + 2]);
      if (ds != 0.0) {
        for (var c = 0; c < DH; c = c + 1) { acc[c] = acc[c] + ds * q[qb + c]; }
      }
    }
    for (var c = 0; c < DH; c = c + 1) {
      setOutputAtIndex(kr + c, acc[c] * uniforms.scale);
    }
  }
}`;
}

/**
 * dV, one key row per invocation (rows = BH x L):
 * `dv_j = sum_q P_qj keep_qj dy_q`.
 */
export function attentionGradVWgsl(dh: number): string {
  return /* wgsl */ `${common(dh)}
fn main(index : i32) {
  if (index < uniforms.rows) {
    let L = uniforms.keys;
    let Q = uniforms.queries;
    let bh = index / L;
    let j = index - bh * L;
    let kr = rowBase(bh, j, L);
    var kv : array<f32, ${dh}>;
    var acc : array<f32, ${dh}>;
    for (var c = 0; c < DH; c = c + 1) { kv[c] = k[kr + c]; acc[c] = 0.0; }
    for (var qi = 0; qi < Q; qi = qi + 1) {
      let row = bh * Q + qi;
      let qb = rowBase(bh, qi, Q);
      var z = 0.0;
      for (var c = 0; c < DH; c = c + 1) { z = z + q[qb + c] * kv[c]; }
      z = z * uniforms.scale + maskAt(bh, qi, j);
      let w = exp(z - stats[3 * row]) / stats[3 * row + 1] *
        keepScale(u32(row * L + j));
      if (w != 0.0) {
        for (var c = 0; c < DH; c = c + 1) { acc[c] = acc[c] + w * dy[qb + c]; }
      }
    }
    for (var c = 0; c < DH; c = c + 1) { setOutputAtIndex(kr + c, acc[c]); }
  }
}`;
}
