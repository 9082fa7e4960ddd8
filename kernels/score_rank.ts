/**
 * WGSL for full ranking on WebGPU, used by `GpuRanker` in
 * `lib/backend/gpu_rank.ts`.
 *
 * WGSL is kept in `.ts` modules as string constants rather than `.wgsl`
 * files, so that the library needs no file-read permission at run time and
 * publishes to JSR as ordinary modules.
 *
 * Two entry points share one module and one uniform block:
 *
 * 1. `score`: scores[u, i] = dot(queries[u], items[i]) for a chunk of users.
 *    Each invocation computes a 4 users x 4 items tile from vec4 loads, with
 *    no shared memory or barriers (the fastest shape measured on Mesa's
 *    lavapipe, where workgroup barriers are costly). Rows are padded to a
 *    multiple of 4 floats by the host. Dispatch
 *    (ceil(N / 32), ceil(users / 32)) workgroups of 8 x 8.
 * 2. `top_k`: one workgroup of {@linkcode TOP_K_THREADS} invocations per
 *    user, each taking every THREADS-th item. It overwrites the user's
 *    history items with the `EXCLUDED` sentinel, then scans once to count the
 *    non-excluded items scored strictly above the target and to take the
 *    maximum of each of m = ceil(2k / THREADS) blocks of its items. The k-th
 *    largest of those block maxima, tau, is a lower bound on the k-th largest
 *    score (about 1.4k items reach it on typical data). A second scan keeps a
 *    sorted top-k of the items scoring >= tau per invocation (ids arrive in
 *    increasing order, so equal scores keep the lower id first), and
 *    invocation 0 merges those lists in workgroup memory, breaking score ties
 *    by the lower id. Dispatch (users, 1, 1).
 *
 * Output of `top_k`, as u32 in one buffer: [users * k] ids (0 pads a short
 * list), then [users * k] scores as f32 bits (the sentinel pads), then
 * [users] ranks.
 *
 * @module
 */

/** Largest k the `top_k` entry point supports (size of its private lists). */
export const SCORE_RANK_MAX_K = 100;

/** Invocations per user in the `top_k` entry point. */
export const TOP_K_THREADS = 16;

/** Most blocks per invocation in `top_k`'s threshold pass: ceil(2 * max k / threads). */
export const TOP_K_MAX_BLOCKS: number = Math.ceil(
  2 * SCORE_RANK_MAX_K / TOP_K_THREADS,
);

/** Bytes of workgroup memory `top_k` uses. */
export const TOP_K_WORKGROUP_BYTES: number =
  TOP_K_THREADS * SCORE_RANK_MAX_K * 8 +
  TOP_K_THREADS * 8 + TOP_K_THREADS * TOP_K_MAX_BLOCKS * 4 + 4;

/** Users and items per `score` workgroup (8 x 8 invocations, 4 x 4 each). */
export const SCORE_TILE = 32;

/** Bytes of the uniform block: 8 u32. */
export const SCORE_RANK_PARAMS_BYTES = 32;

/**
 * The WGSL source with entry points `score` and `top_k`.
 *
 * @example
 * ```ts
 * import { SCORE_RANK_WGSL } from "./score_rank.ts";
 * if (!SCORE_RANK_WGSL.includes("fn top_k")) throw new Error();
 * ```
 */
export const SCORE_RANK_WGSL: string = /* wgsl */ `
const MAX_K: u32 = ${SCORE_RANK_MAX_K}u;
const THREADS: u32 = ${TOP_K_THREADS}u;
const MAX_BLOCKS: u32 = ${TOP_K_MAX_BLOCKS}u;
// Marks an excluded item; real scores must be finite and above it.
const EXCLUDED: f32 = -3.40282347e38;

struct Params {
  users: u32,       // users in this chunk
  n: u32,           // items
  d4: u32,          // vec4s per row (dim padded to a multiple of 4)
  k: u32,
  has_targets: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> items: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<storage, read> hist_offsets: array<u32>;
@group(0) @binding(5) var<storage, read> hist_ids: array<u32>;
@group(0) @binding(6) var<storage, read> targets: array<u32>;
@group(0) @binding(7) var<storage, read_write> result: array<u32>;

fn store_row(u: u32, i0: u32, a: vec4<f32>) {
  let n = params.n;
  let base = u * n + i0;
  scores[base] = a.x;
  if (i0 + 1u < n) { scores[base + 1u] = a.y; }
  if (i0 + 2u < n) { scores[base + 2u] = a.z; }
  if (i0 + 3u < n) { scores[base + 3u] = a.w; }
}

@compute @workgroup_size(8, 8, 1)
fn score(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = params.n;
  let users = params.users;
  let d4 = params.d4;
  let i0 = gid.x * 4u;
  let u0 = gid.y * 4u;
  if (i0 >= n || u0 >= users) { return; }
  // Clamp rows past the end; their results are not stored.
  let ib0 = i0 * d4;
  let ib1 = min(i0 + 1u, n - 1u) * d4;
  let ib2 = min(i0 + 2u, n - 1u) * d4;
  let ib3 = min(i0 + 3u, n - 1u) * d4;
  let qb0 = u0 * d4;
  let qb1 = min(u0 + 1u, users - 1u) * d4;
  let qb2 = min(u0 + 2u, users - 1u) * d4;
  let qb3 = min(u0 + 3u, users - 1u) * d4;
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var c = 0u; c < d4; c = c + 1u) {
    let b0 = items[ib0 + c];
    let b1 = items[ib1 + c];
    let b2 = items[ib2 + c];
    let b3 = items[ib3 + c];
    let q0 = queries[qb0 + c];
    let q1 = queries[qb1 + c];
    let q2 = queries[qb2 + c];
    let q3 = queries[qb3 + c];
    a0 = a0 + vec4<f32>(dot(q0, b0), dot(q0, b1), dot(q0, b2), dot(q0, b3));
    a1 = a1 + vec4<f32>(dot(q1, b0), dot(q1, b1), dot(q1, b2), dot(q1, b3));
    a2 = a2 + vec4<f32>(dot(q2, b0), dot(q2, b1), dot(q2, b2), dot(q2, b3));
    a3 = a3 + vec4<f32>(dot(q3, b0), dot(q3, b1), dot(q3, b2), dot(q3, b3));
  }
  store_row(u0, i0, a0);
  if (u0 + 1u < users) { store_row(u0 + 1u, i0, a1); }
  if (u0 + 2u < users) { store_row(u0 + 2u, i0, a2); }
  if (u0 + 3u < users) { store_row(u0 + 3u, i0, a3); }
}

var<workgroup> w_scores: array<f32, ${TOP_K_THREADS * SCORE_RANK_MAX_K}>;
var<workgroup> w_ids: array<u32, ${TOP_K_THREADS * SCORE_RANK_MAX_K}>;
var<workgroup> w_count: array<u32, ${TOP_K_THREADS}>;
var<workgroup> w_above: array<u32, ${TOP_K_THREADS}>;
var<workgroup> w_max: array<f32, ${TOP_K_THREADS * TOP_K_MAX_BLOCKS}>;
var<workgroup> w_tau: atomic<u32>;

// A u32 whose unsigned order is the order of the finite f32 x.
fn order_key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn from_order_key(key: u32) -> f32 {
  return bitcast<f32>(select(~key, key & 0x7fffffffu, (key & 0x80000000u) != 0u));
}

@compute @workgroup_size(${TOP_K_THREADS}, 1, 1)
fn top_k(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) tid: u32,
) {
  let u = wid.x;
  let n = params.n;
  let k = params.k;
  let row = u * n;

  // 1. Exclude the user's history (id 0 and ids past N are ignored).
  let h1 = hist_offsets[u + 1u];
  for (var h = hist_offsets[u] + tid; h < h1; h = h + THREADS) {
    let id = hist_ids[h];
    if (id >= 1u && id <= n) { scores[row + id - 1u] = EXCLUDED; }
  }
  storageBarrier();

  // 2. The target's score: EXCLUDED when it is in the history, so then every
  //    non-excluded item counts as above it.
  var target_score = EXCLUDED;
  if (params.has_targets != 0u) {
    target_score = scores[row + targets[u] - 1u];
  }

  // 3. First scan: count the items above the target, and take the maximum
  //    of each of m blocks of this invocation's items. The k-th largest of
  //    the T * m >= 2k block maxima is a lower bound tau on the k-th largest
  //    score, and typically only ~1.4k items reach it.
  let per = (n + THREADS - 1u - tid) / THREADS;
  let m = (2u * k + THREADS - 1u) / THREADS;
  var above = 0u;
  for (var b = 0u; b < m; b = b + 1u) {
    let i1 = (b + 1u) * per / m;
    var mx = EXCLUDED;
    for (var i = b * per / m; i < i1; i = i + 1u) {
      let s = scores[row + tid + THREADS * i];
      if (!(s > EXCLUDED)) { continue; }
      if (s > target_score) { above = above + 1u; }
      mx = max(mx, s);
    }
    w_max[tid * MAX_BLOCKS + b] = mx;
  }
  if (tid == 0u) { atomicStore(&w_tau, order_key(EXCLUDED)); }
  workgroupBarrier();
  for (var b = 0u; b < m; b = b + 1u) {
    let v = w_max[tid * MAX_BLOCKS + b];
    if (v > EXCLUDED) {
      var gt = 0u;
      var ge = 0u;
      for (var t = 0u; t < THREADS; t = t + 1u) {
        for (var c = 0u; c < m; c = c + 1u) {
          let x = w_max[t * MAX_BLOCKS + c];
          gt = gt + select(0u, 1u, x > v);
          ge = ge + select(0u, 1u, x >= v);
        }
      }
      if (gt < k && ge >= k) { atomicMax(&w_tau, order_key(v)); }
    }
  }
  workgroupBarrier();
  let tau = from_order_key(atomicLoad(&w_tau));

  // 4. Second scan: a sorted local top-k of the items scoring >= tau.
  var ls: array<f32, MAX_K>;
  var li: array<u32, MAX_K>;
  var count = 0u;
  for (var j = tid; j < n; j = j + THREADS) {
    let s = scores[row + j];
    if (!(s >= tau) || !(s > EXCLUDED)) { continue; }
    if (count == k) {
      if (!(s > ls[k - 1u])) { continue; }
    }
    var pos = count;
    if (count < k) { count = count + 1u; } else { pos = k - 1u; }
    loop {
      if (pos == 0u) { break; }
      let prev = ls[pos - 1u];
      if (prev >= s) { break; }
      ls[pos] = prev;
      li[pos] = li[pos - 1u];
      pos = pos - 1u;
    }
    ls[pos] = s;
    li[pos] = j + 1u;
  }
  for (var c = 0u; c < count; c = c + 1u) {
    w_scores[tid * MAX_K + c] = ls[c];
    w_ids[tid * MAX_K + c] = li[c];
  }
  w_count[tid] = count;
  w_above[tid] = above;
  workgroupBarrier();

  // 5. Invocation 0 merges the sorted lists: higher score, then lower id.
  if (tid == 0u) {
    var heads: array<u32, THREADS>;
    let ids_at = u * k;
    let scores_at = params.users * k + u * k;
    for (var o = 0u; o < k; o = o + 1u) {
      var best_t = THREADS;
      var best_s = 0.0;
      var best_id = 0u;
      for (var t = 0u; t < THREADS; t = t + 1u) {
        let hd = heads[t];
        if (hd < w_count[t]) {
          let s = w_scores[t * MAX_K + hd];
          let id = w_ids[t * MAX_K + hd];
          if (best_t == THREADS || s > best_s || (s == best_s && id < best_id)) {
            best_t = t;
            best_s = s;
            best_id = id;
          }
        }
      }
      if (best_t == THREADS) {
        result[ids_at + o] = 0u;
        result[scores_at + o] = bitcast<u32>(EXCLUDED);
      } else {
        result[ids_at + o] = best_id;
        result[scores_at + o] = bitcast<u32>(best_s);
        heads[best_t] = heads[best_t] + 1u;
      }
    }
    var total = 0u;
    for (var t = 0u; t < THREADS; t = t + 1u) {
      total = total + w_above[t];
    }
    result[2u * params.users * k + u] = total;
  }
}
`;
