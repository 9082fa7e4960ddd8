/**
 * Sequence embeddings for the report's pictures: a seeded sample of users,
 * their representations from a model's scorer, and a seeded 2-D UMAP
 * projection (`umap-js`).
 *
 * @module
 */
import { UMAP } from "umap-js";
import { evalBatches } from "../data/batch.ts";
import type { Scorer } from "../eval/evaluate.ts";
import { makeRng, type Rng, shuffle } from "../util/rng.ts";

/**
 * Up to `n` distinct user indices out of `numUsers`, in ascending order,
 * drawn with `rng` (all of them when `n >= numUsers`).
 *
 * @example
 * ```ts
 * import { sampleUsers } from "./embed.ts";
 * import { makeRng } from "../util/rng.ts";
 * const s = sampleUsers(3, 10, makeRng(1));
 * if (s.length !== 3 || new Set(s).size !== 3 || s.some((u) => u < 0 || u >= 10)) throw new Error();
 * if (sampleUsers(3, 10, makeRng(1)).join() !== s.join()) throw new Error("not seeded");
 * ```
 */
export function sampleUsers(n: number, numUsers: number, rng: Rng): Int32Array {
  const all = Array.from({ length: numUsers }, (_, i) => i);
  if (n >= numUsers) return Int32Array.from(all);
  return Int32Array.from(shuffle(all, rng).slice(0, n)).sort();
}

/**
 * The scorer's representation (`[seqs.length * d]`, row i = `seqs[i]`) of
 * each sequence (its last `maxLen` items), without dropout.
 *
 * @example
 * ```ts ignore
 * const { data, dim } = await sequenceEmbeddings(model.scorer, split.testInput, 50);
 * ```
 */
export async function sequenceEmbeddings(
  scorer: Scorer,
  seqs: Int32Array[],
  maxLen: number,
  batchSize = 256,
): Promise<{ data: Float32Array; dim: number }> {
  const order = Int32Array.from({ length: seqs.length }, (_, i) => i);
  let out: Float32Array | undefined;
  let dim = 0;
  for (const batch of evalBatches(seqs, order, { batchSize, maxLen })) {
    const r = scorer.represent(batch);
    const rows = (await r.data()) as Float32Array;
    dim = r.shape[1];
    r.dispose();
    out ??= new Float32Array(seqs.length * dim);
    batch.users.forEach((u, i) =>
      out!.set(rows.subarray(i * dim, (i + 1) * dim), u * dim)
    );
  }
  if (!out) throw new RangeError("sequenceEmbeddings: expected sequences");
  return { data: out, dim };
}

/** Options of {@linkcode project2d}. */
export interface ProjectOptions {
  /** Seed of the projection. @default {0} */
  seed?: number;
  /** Neighbours UMAP balances locally. @default {15} */
  neighbors?: number;
  /** Optimisation epochs. @default {200} */
  epochs?: number;
}

/**
 * A seeded 2-D UMAP projection of `n` points of dimension `dim` (rows of
 * `data`, L2-normalised first, since the models score by dot products of
 * similar norms): same data and seed, same picture.
 *
 * @example
 * ```ts
 * import { project2d } from "./embed.ts";
 * // two tight, far-apart groups of 12 points in 4-D stay apart in 2-D
 * const data = new Float32Array(24 * 4);
 * for (let i = 0; i < 24; i++) {
 *   data[i * 4 + (i < 12 ? 0 : 1)] = 1;
 *   data[i * 4 + 2] = 0.01 * (i % 12);
 * }
 * const p = project2d(data, 4, { seed: 3, neighbors: 5 });
 * const mean = (a: { x: number }[]) => a.reduce((s, q) => s + q.x, 0) / a.length;
 * const gap = Math.abs(mean(p.slice(0, 12)) - mean(p.slice(12)));
 * const spread = Math.max(...p.slice(0, 12).map((q) => q.x)) - Math.min(...p.slice(0, 12).map((q) => q.x));
 * if (!(gap > spread)) throw new Error(`gap ${gap} spread ${spread}`);
 * if (JSON.stringify(project2d(data, 4, { seed: 3, neighbors: 5 })) !== JSON.stringify(p)) throw new Error();
 * ```
 */
export function project2d(
  data: Float32Array,
  dim: number,
  opts: ProjectOptions = {},
): { x: number; y: number }[] {
  const n = data.length / dim;
  if (!Number.isInteger(n) || n < 3) {
    throw new RangeError(
      `project2d: expected at least 3 rows of ${dim} values, found ${data.length} values`,
    );
  }
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const r = Array.from(data.subarray(i * dim, (i + 1) * dim));
    const norm = Math.hypot(...r) || 1;
    rows.push(r.map((v) => v / norm));
  }
  const rng = makeRng(opts.seed ?? 0);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(opts.neighbors ?? 15, n - 1),
    nEpochs: opts.epochs ?? 200,
    random: () => rng.next(),
  });
  return umap.fit(rows).map(([x, y]) => ({ x, y }));
}
