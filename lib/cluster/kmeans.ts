/**
 * K-means (Lloyd's algorithm with k-means++ seeding), seeded and
 * deterministic: the same data, k and generator state give the same
 * centroids on every machine. Used as ICLRec uses it (cluster all sequence
 * embeddings at the start of each epoch) for S4Rec's K-means ablation.
 *
 * - Seeding: k-means++ (Arthur and Vassilvitskii 2007): the first centre is
 *   a uniform draw, each further one is drawn with probability proportional
 *   to the squared distance to the nearest centre chosen so far.
 * - Iterations: assign each point to its nearest centroid (squared Euclidean
 *   distance, ties to the lower index), move each centroid to its points'
 *   mean; stop when no assignment changes or after `iterations`.
 * - An empty cluster is re-seeded with the point farthest from its centroid
 *   (the lowest index among equals), so every cluster keeps a member.
 *
 * Distances use float64 accumulation over float32 data.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";

/** Options of {@linkcode kmeans}. */
export interface KMeansOptions {
  /** Number of clusters (at most the number of points). */
  k: number;
  /** Generator for the k-means++ seeding. */
  rng: Rng;
  /** Most Lloyd iterations. Default 20 (the faiss setting of PCL and DeepCluster, which ICLRec's K-means derives from). */
  iterations?: number;
}

/** What {@linkcode kmeans} finds. */
export interface KMeansResult {
  /** Centroids, row-major `[k, dim]`. */
  centroids: Float32Array;
  /** Each point's cluster (0..k-1). */
  assign: Int32Array;
  /** Sum of squared distances of the points to their centroids. */
  inertia: number;
  /** Lloyd iterations run. */
  iterations: number;
}

/**
 * Cluster the row-major points `data` (`[n, dim]`) into `opts.k` clusters.
 *
 * @example
 * ```ts
 * import { kmeans } from "./kmeans.ts";
 * import { makeRng } from "../util/rng.ts";
 * // two well-separated pairs of points on a line
 * const data = new Float32Array([0, 0.1, 10, 10.1]);
 * const { assign } = kmeans(data, 1, { k: 2, rng: makeRng(0) });
 * if (assign[0] !== assign[1] || assign[2] !== assign[3] || assign[0] === assign[2]) {
 *   throw new Error(String(assign));
 * }
 * ```
 */
export function kmeans(
  data: Float32Array,
  dim: number,
  opts: KMeansOptions,
): KMeansResult {
  const { k, rng } = opts;
  const maxIter = opts.iterations ?? 20;
  if (!(Number.isInteger(dim) && dim > 0) || data.length % dim !== 0) {
    throw new RangeError(
      `kmeans: expected data of n x ${dim} values, found ${data.length}`,
    );
  }
  const n = data.length / dim;
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) {
    throw new RangeError(
      `kmeans: expected k between 1 and the number of points (${n}), found ${k}`,
    );
  }
  if (!(Number.isInteger(maxIter) && maxIter >= 0)) {
    throw new RangeError(
      `kmeans: expected a non-negative integer of iterations, found ${maxIter}`,
    );
  }
  const centroids = seedPlusPlus(data, n, dim, k, rng);
  const assign = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  let iterations = 0;
  let changed = assignAll(data, n, dim, centroids, k, assign, dist);
  while (iterations < maxIter && changed) {
    iterations++;
    updateCentroids(data, n, dim, centroids, k, assign, dist);
    changed = assignAll(data, n, dim, centroids, k, assign, dist);
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) inertia += dist[i];
  return { centroids, assign, inertia, iterations };
}

/**
 * Index of the nearest centroid (squared Euclidean distance, ties to the
 * lower index) of every row of `points` (`[n, dim]`).
 *
 * @example
 * ```ts
 * import { nearestCentroid } from "./kmeans.ts";
 * const a = nearestCentroid(new Float32Array([0, 9]), new Float32Array([1, 8, 5]), 1);
 * if (a.join() !== "0,1") throw new Error(String(a));
 * ```
 */
export function nearestCentroid(
  points: Float32Array,
  centroids: Float32Array,
  dim: number,
): Int32Array {
  const n = points.length / dim, k = centroids.length / dim;
  const assign = new Int32Array(n).fill(-1);
  assignAll(points, n, dim, centroids, k, assign, new Float64Array(n));
  return assign;
}

function sqDist(
  a: Float32Array,
  ai: number,
  b: Float32Array,
  bi: number,
  dim: number,
): number {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const t = a[ai + j] - b[bi + j];
    s += t * t;
  }
  return s;
}

function seedPlusPlus(
  data: Float32Array,
  n: number,
  dim: number,
  k: number,
  rng: Rng,
): Float32Array {
  const c = new Float32Array(k * dim);
  const first = rng.int(n);
  c.set(data.subarray(first * dim, first * dim + dim), 0);
  const d2 = new Float64Array(n);
  for (let i = 0; i < n; i++) d2[i] = sqDist(data, i * dim, c, 0, dim);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += d2[i];
    let pick = -1;
    if (total > 0) {
      let r = rng.next() * total;
      for (let i = 0; i < n; i++) {
        r -= d2[i];
        if (r < 0 && d2[i] > 0) {
          pick = i;
          break;
        }
      }
    }
    // All remaining mass is zero (duplicates) or rounding ran past the end:
    // the first point not yet at distance 0, else any point.
    if (pick < 0) {
      pick = 0;
      for (let i = n - 1; i >= 0; i--) if (d2[i] > 0) pick = i;
    }
    c.set(data.subarray(pick * dim, pick * dim + dim), j * dim);
    for (let i = 0; i < n; i++) {
      const d = sqDist(data, i * dim, c, j * dim, dim);
      if (d < d2[i]) d2[i] = d;
    }
  }
  return c;
}

/** Nearest-centroid assignment; returns whether any assignment changed. */
function assignAll(
  data: Float32Array,
  n: number,
  dim: number,
  c: Float32Array,
  k: number,
  assign: Int32Array,
  dist: Float64Array,
): boolean {
  // ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; the x term does not change the
  // argmin, so compare ||c||^2 - 2 x.c and add ||x||^2 back for the distance.
  const cn = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += c[j * dim + t] * c[j * dim + t];
    cn[j] = s;
  }
  let changed = false;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let best = -1, bestV = Infinity;
    for (let j = 0; j < k; j++) {
      const co = j * dim;
      let dot = 0;
      for (let t = 0; t < dim; t++) dot += data[o + t] * c[co + t];
      const v = cn[j] - 2 * dot;
      if (v < bestV) {
        bestV = v;
        best = j;
      }
    }
    let xn = 0;
    for (let t = 0; t < dim; t++) xn += data[o + t] * data[o + t];
    dist[i] = Math.max(0, xn + bestV);
    if (assign[i] !== best) {
      assign[i] = best;
      changed = true;
    }
  }
  return changed;
}

function updateCentroids(
  data: Float32Array,
  n: number,
  dim: number,
  c: Float32Array,
  k: number,
  assign: Int32Array,
  dist: Float64Array,
): void {
  const sum = new Float64Array(k * dim);
  const count = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const j = assign[i], o = i * dim, co = j * dim;
    count[j]++;
    for (let t = 0; t < dim; t++) sum[co + t] += data[o + t];
  }
  const taken = new Uint8Array(n);
  for (let j = 0; j < k; j++) {
    if (count[j] > 0) {
      for (let t = 0; t < dim; t++) {
        c[j * dim + t] = sum[j * dim + t] / count[j];
      }
      continue;
    }
    // Empty: the point farthest from its centroid that no other empty
    // cluster took this round.
    let far = -1, farD = -1;
    for (let i = 0; i < n; i++) {
      if (!taken[i] && dist[i] > farD) {
        farD = dist[i];
        far = i;
      }
    }
    taken[far] = 1;
    c.set(data.subarray(far * dim, far * dim + dim), j * dim);
  }
}
