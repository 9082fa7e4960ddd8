/**
 * Full ranking in plain TypeScript: the reference that `GpuRanker` is tested
 * against, and the fallback where there is no WebGPU adapter. Dot products
 * accumulate in float64; the semantics (exclusion, tie-breaking by lower id,
 * ranks) are described in `rank_types.ts`.
 *
 * @module
 */
import {
  type RankRequest,
  type RankResult,
  validateRankRequest,
} from "./rank_types.ts";

export type { RankRequest, RankResult } from "./rank_types.ts";

/**
 * Rank every item for every user: top-k ids and scores, and the target's rank
 * when `targets` is given. Ties in the top-k go to the lower item id.
 *
 * @example
 * ```ts
 * import { rankReference } from "./rank_reference.ts";
 * const result = rankReference({
 *   queries: new Float32Array([1, 0]),
 *   items: new Float32Array([3, 0, 1, 0, 3, 0]), // ids 1, 2, 3
 *   dim: 2,
 *   history: { offsets: new Int32Array([0, 1]), ids: new Int32Array([2]) },
 *   targets: new Int32Array([3]),
 *   k: 2,
 * });
 * // ids 1 and 3 tie at 3 (id 2 is history): the lower id first
 * if (result.topIds.join() !== "1,3" || result.topScores.join() !== "3,3") throw new Error();
 * // nothing scores strictly above item 3
 * if (result.ranks?.join() !== "0") throw new Error();
 * ```
 */
export function rankReference(req: RankRequest): RankResult {
  const { users, items: n } = validateRankRequest(req);
  const { queries, items, dim, history, targets, k } = req;
  const topIds = new Int32Array(users * k);
  const topScores = new Float32Array(users * k).fill(-Infinity);
  const ranks = targets === undefined ? undefined : new Int32Array(users);
  const scores = new Float64Array(n);
  const excluded = new Uint8Array(n);
  const bestS = new Float64Array(k);
  const bestI = new Int32Array(k);
  for (let u = 0; u < users; u++) {
    const q = u * dim;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const r = i * dim;
      for (let c = 0; c < dim; c++) s += queries[q + c] * items[r + c];
      scores[i] = s;
    }
    excluded.fill(0);
    for (let h = history.offsets[u]; h < history.offsets[u + 1]; h++) {
      const id = history.ids[h];
      if (id >= 1) excluded[id - 1] = 1;
    }
    // Top-k by insertion; items arrive in increasing id, so an equal score
    // stays behind the earlier (lower) id.
    let count = 0;
    for (let i = 0; i < n; i++) {
      const s = scores[i];
      if (excluded[i] || !Number.isFinite(s)) continue;
      if (count === k && !(s > bestS[k - 1])) continue;
      let pos = count < k ? count++ : k - 1;
      while (pos > 0 && bestS[pos - 1] < s) {
        bestS[pos] = bestS[pos - 1];
        bestI[pos] = bestI[pos - 1];
        pos--;
      }
      bestS[pos] = s;
      bestI[pos] = i + 1;
    }
    for (let j = 0; j < count; j++) {
      topIds[u * k + j] = bestI[j];
      topScores[u * k + j] = bestS[j];
    }
    if (ranks !== undefined && targets !== undefined) {
      const t = targets[u] - 1;
      const ts = excluded[t] ? -Infinity : scores[t];
      let above = 0;
      for (let i = 0; i < n; i++) {
        if (!excluded[i] && Number.isFinite(scores[i]) && scores[i] > ts) {
          above++;
        }
      }
      ranks[u] = above;
    }
  }
  return ranks === undefined
    ? { topIds, topScores }
    : { topIds, topScores, ranks };
}
