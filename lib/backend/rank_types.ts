/**
 * The full-ranking request and result shared by `rankReference`
 * (plain TypeScript) and `GpuRanker` (WebGPU), and their validation.
 *
 * Semantics, identical in both implementations:
 * - score(u, i) = dot(queries[u], items[i - 1]) for 1-based item id i;
 *   id 0 is padding and is never ranked.
 * - Items in the user's history are excluded: they never appear in the
 *   top-k and are never counted in a rank. History id 0 is ignored.
 * - Top-k is ordered by score, higher first; equal scores put the lower item
 *   id first. When fewer than k items are left after exclusion, the remaining
 *   slots hold id 0 and score -Infinity.
 * - ranks[u] = the number of non-excluded items whose score is strictly
 *   higher than the target's (0 = the target is first). A target that is in
 *   the user's own history is excluded like any other history item: its score
 *   counts as -Infinity, so its rank is the number of non-excluded items and
 *   it is never a hit. Leave the target out of the history to rank it.
 * - Scores must be finite (NaN and infinite scores are treated as excluded).
 *
 * @module
 */

/** Users to rank all items for. */
export interface RankRequest {
  /** [U, dim] user representations, row-major. */
  queries: Float32Array;
  /** [N, dim] item embeddings, row-major; row i is item id i + 1. */
  items: Float32Array;
  /** Embedding width d. */
  dim: number;
  /**
   * Items to exclude for each user, as CSR: `offsets` has length U + 1 and
   * user u's 1-based ids are `ids[offsets[u] .. offsets[u + 1])`.
   */
  history: { offsets: Int32Array; ids: Int32Array };
  /** [U] 1-based target ids; when given, the result has `ranks`. */
  targets?: Int32Array;
  /** How many top items to return per user, 1 <= k <= {@linkcode MAX_RANK_K}. */
  k: number;
}

/** Top-k items (and optionally target ranks) per user. */
export interface RankResult {
  /** [U * k] 1-based item ids, best first; 0 pads a short list. */
  topIds: Int32Array;
  /** [U * k] their scores; -Infinity pads a short list. */
  topScores: Float32Array;
  /** [U] number of non-excluded items scored strictly above the target. */
  ranks?: Int32Array;
}

/** Largest supported k. */
export const MAX_RANK_K = 100;

/** Sizes derived from a validated {@linkcode RankRequest}. */
export interface RankShape {
  /** Number of users U. */
  users: number;
  /** Number of items N. */
  items: number;
}

function fail(what: string, expected: string, found: string): never {
  throw new RangeError(
    `rank request ${what}: expected ${expected}, found ${found}`,
  );
}

/**
 * Check a request's shapes and ids; returns U and N. Throws a `RangeError`
 * naming the field, what was expected and what was found.
 *
 * @example
 * ```ts
 * import { type RankRequest, validateRankRequest } from "./rank_types.ts";
 * const req: RankRequest = {
 *   queries: new Float32Array([1, 0]),
 *   items: new Float32Array([1, 0, 0, 1]),
 *   dim: 2,
 *   history: { offsets: new Int32Array([0, 0]), ids: new Int32Array(0) },
 *   k: 1,
 * };
 * const shape = validateRankRequest(req);
 * if (shape.users !== 1 || shape.items !== 2) throw new Error(JSON.stringify(shape));
 * let msg = "";
 * try {
 *   validateRankRequest({ ...req, k: 0 });
 * } catch (e) {
 *   msg = (e as Error).message;
 * }
 * if (msg !== "rank request k: expected an integer in [1, 100], found 0") throw new Error(msg);
 * ```
 */
export function validateRankRequest(req: RankRequest): RankShape {
  const { queries, items, dim, history, targets, k } = req;
  if (!Number.isInteger(dim) || dim < 1) {
    fail("dim", "a positive integer", String(dim));
  }
  if (!Number.isInteger(k) || k < 1 || k > MAX_RANK_K) {
    fail("k", `an integer in [1, ${MAX_RANK_K}]`, String(k));
  }
  if (items.length === 0 || items.length % dim !== 0) {
    fail(
      "items",
      `a non-empty length divisible by dim ${dim}`,
      `length ${items.length}`,
    );
  }
  const n = items.length / dim;
  const { offsets, ids } = history;
  if (offsets.length < 1) {
    fail("history.offsets", "length U + 1 >= 1", "length 0");
  }
  const users = offsets.length - 1;
  if (queries.length !== users * dim) {
    fail(
      "queries",
      `length U * dim = ${users} * ${dim} = ${users * dim}`,
      `length ${queries.length}`,
    );
  }
  if (offsets[0] !== 0) fail("history.offsets[0]", "0", String(offsets[0]));
  for (let u = 0; u < users; u++) {
    if (offsets[u + 1] < offsets[u]) {
      fail(
        `history.offsets[${u + 1}]`,
        `>= offsets[${u}] = ${offsets[u]}`,
        String(offsets[u + 1]),
      );
    }
  }
  if (offsets[users] !== ids.length) {
    fail(
      `history.offsets[${users}]`,
      `ids.length = ${ids.length}`,
      String(offsets[users]),
    );
  }
  for (let h = 0; h < ids.length; h++) {
    if (!(ids[h] >= 0 && ids[h] <= n)) {
      fail(`history.ids[${h}]`, `an item id in [0, ${n}]`, String(ids[h]));
    }
  }
  if (targets !== undefined) {
    if (targets.length !== users) {
      fail("targets", `length U = ${users}`, `length ${targets.length}`);
    }
    for (let u = 0; u < users; u++) {
      if (!(targets[u] >= 1 && targets[u] <= n)) {
        fail(`targets[${u}]`, `an item id in [1, ${n}]`, String(targets[u]));
      }
    }
  }
  return { users, items: n };
}
