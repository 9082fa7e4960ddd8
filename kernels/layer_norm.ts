/**
 * WGSL of the fused LayerNorm over the last axis and its gradient, bodies of
 * tfjs WebGPU programs (tfjs adds the input bindings named after the
 * program's variables, `result` and `uniforms`), used by
 * `lib/backend/layer_norm_kernel.ts`; see there for the maths. `x` and `dy`
 * are `[rows, dim]` row-major, `g` and `b` `[dim]`, `stats` `[rows, 2]`
 * (mean, 1 / sqrt(var + eps)). The mean and the variance are taken as
 * `tf.moments` takes them: the mean, then the mean of squared deviations.
 *
 * @module
 */

/** Uniforms of every LayerNorm program (after tfjs's own). */
export const LAYER_NORM_UNIFORMS = "rows : i32, dim : i32, eps : f32,";

/** Mean and 1 / sqrt(var + eps) of row `index` of `x`. */
const ROW_STATS = /* wgsl */ `
fn rowStats(index : i32) -> vec2<f32> {
  let d = uniforms.dim;
  let base = index * d;
  var mean = 0.0;
  for (var k = 0; k < d; k = k + 1) { mean = mean + x[base + k]; }
  mean = mean / f32(d);
  var v = 0.0;
  for (var k = 0; k < d; k = k + 1) {
    let t = x[base + k] - mean;
    v = v + t * t;
  }
  return vec2<f32>(mean, inverseSqrt(v / f32(d) + uniforms.eps));
}`;

/** Forward, one row per invocation: `y = g (x - mean) rstd + b`. */
export const LAYER_NORM_WGSL: string = /* wgsl */ `${ROW_STATS}
fn main(index : i32) {
  if (index < uniforms.rows) {
    let st = rowStats(index);
    let base = index * uniforms.dim;
    for (var k = 0; k < uniforms.dim; k = k + 1) {
      setOutputAtIndex(base + k, (x[base + k] - st.x) * st.y * g[k] + b[k]);
    }
  }
}`;

/** Row statistics for the backward pass, one row per invocation. */
export const LAYER_NORM_STATS_WGSL: string = /* wgsl */ `${ROW_STATS}
fn main(index : i32) {
  if (index < uniforms.rows) {
    let st = rowStats(index);
    setOutputAtIndex(2 * index, st.x);
    setOutputAtIndex(2 * index + 1, st.y);
  }
}`;

/**
 * dx, one row per invocation: with `xh = (x - mean) rstd` and
 * `e = dy g`, `dx = rstd (e - mean(e) - xh mean(e xh))`.
 */
export const LAYER_NORM_GRAD_X_WGSL: string = /* wgsl */ `
fn main(index : i32) {
  if (index < uniforms.rows) {
    let d = uniforms.dim;
    let base = index * d;
    let mean = stats[2 * index];
    let r = stats[2 * index + 1];
    var a = 0.0;
    var c = 0.0;
    for (var k = 0; k < d; k = k + 1) {
      let e = dy[base + k] * g[k];
      a = a + e;
      c = c + e * (x[base + k] - mean) * r;
    }
    a = a / f32(d);
    c = c / f32(d);
    for (var k = 0; k < d; k = k + 1) {
      let xh = (x[base + k] - mean) * r;
      setOutputAtIndex(base + k, r * (dy[base + k] * g[k] - a - xh * c));
    }
  }
}`;

/** Invocations per workgroup of the column sums (dg, db). */
export const LAYER_NORM_COLUMN_THREADS = 64;

// One workgroup per column: its invocations stride over the rows, then a
// tree reduction in workgroup memory.
function columnSum(term: string): string {
  return /* wgsl */ `
const THREADS : i32 = ${LAYER_NORM_COLUMN_THREADS};
var<workgroup> red : array<f32, ${LAYER_NORM_COLUMN_THREADS}>;
fn main(index : i32) {
  let lid = i32(localId.x);
  let col = i32(workgroupId.x);
  var s = 0.0;
  for (var r = lid; r < uniforms.rows; r = r + THREADS) {
    let i = r * uniforms.dim + col;
    s = s + ${term};
  }
  red[lid] = s;
  workgroupBarrier();
  for (var stride = THREADS / 2; stride > 0; stride = stride / 2) {
    if (lid < stride) { red[lid] = red[lid] + red[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0) { setOutputAtIndex(col, red[0]); }
}`;
}

/** dg, one workgroup per column: the sum over rows of `dy xh`. */
export const LAYER_NORM_GRAD_G_WGSL: string = columnSum(
  "dy[i] * (x[i] - stats[2 * r]) * stats[2 * r + 1]",
);

/** db, one workgroup per column: the sum over rows of `dy`. */
export const LAYER_NORM_GRAD_B_WGSL: string = columnSum("dy[i]");
