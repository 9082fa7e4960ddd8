/**
 * WGSL of the target-rank kernel, the body of a tfjs WebGPU program (tfjs
 * adds the bindings `scores`, `targets`, `offsets`, `hist`, `result` and
 * `uniforms`), used by `lib/backend/rank_kernel.ts`: one workgroup of
 * {@linkcode RANK_THREADS} invocations per user row r of `scores` [B, N]
 * (item j + 1 in column j) computes
 *
 *   rank = #{j : s_j > t} - #{h in hist_r, h != target : s_h > t}
 *
 * with t = s_target, or N - |hist_r| when the target is in the history or t
 * is NaN (the same rule as `ranksFromScores` in lib/eval/rank.ts). The host
 * passes each history deduplicated and restricted to 1..N (CSR: `offsets`
 * [B + 1], `hist`). Invocations stride over the items and the history, and
 * a tree reduction in workgroup memory sums their counts.
 *
 * @module
 */

/** Invocations per user row. */
export const RANK_THREADS = 128;

/** Uniforms the program declares (after tfjs's own). */
export const RANK_UNIFORMS = "numItems : i32,";

/** The rank kernel's body. */
export const RANK_TARGETS_WGSL: string = /* wgsl */ `
var<workgroup> partial : array<i32, ${RANK_THREADS}>;
var<workgroup> flag : array<i32, ${RANK_THREADS}>;

fn isNaNf(x : f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn main(index : i32) {
  let r = i32(workgroupId.x);
  let lid = i32(localId.x);
  let N = uniforms.numItems;
  let tgt = targets[r];
  let t = scores[r * N + tgt - 1];
  var count = 0;
  var hit = 0;
  if (!isNaNf(t)) {
    for (var j = lid; j < N; j = j + ${RANK_THREADS}) {
      if (scores[r * N + j] > t) { count = count + 1; }
    }
  }
  let h0 = offsets[r];
  let h1 = offsets[r + 1];
  for (var i = h0 + lid; i < h1; i = i + ${RANK_THREADS}) {
    let id = hist[i];
    if (id == tgt) {
      hit = 1;
    } else if (!isNaNf(t) && scores[r * N + id - 1] > t) {
      count = count - 1;
    }
  }
  partial[lid] = count;
  flag[lid] = hit;
  workgroupBarrier();
  for (var s = ${RANK_THREADS / 2}; s > 0; s = s / 2) {
    if (lid < s) {
      partial[lid] = partial[lid] + partial[lid + s];
      flag[lid] = max(flag[lid], flag[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0) {
    var rank = partial[0];
    if (flag[0] == 1 || isNaNf(t)) { rank = N - (h1 - h0); }
    setOutputAtIndexI32(r, rank);
  }
}`;
