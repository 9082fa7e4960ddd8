/**
 * The most-popular baseline: every user gets the items ranked by how often
 * they occur in the training sequences (history excluded, as for models).
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import { ranksFromScores } from "./rank.ts";

/**
 * Ranks of the validation or test targets under most-popular scoring.
 *
 * @example
 * ```ts
 * import { popularityRanks } from "./popular.ts";
 * const split = {
 *   numItems: 3,
 *   train: [new Int32Array([1, 2]), new Int32Array([2])],
 *   testHistory: [new Int32Array([1, 2])],
 *   testTarget: new Int32Array([3]),
 * };
 * // deno-lint-ignore no-explicit-any
 * const r = popularityRanks(split as any, "test");
 * if (r[0] !== 0) throw new Error(); // items 1, 2 are history; 3 is the only one left
 * ```
 */
export function popularityRanks(
  split: SplitDataset,
  which: "valid" | "test",
): Int32Array {
  const N = split.numItems;
  const counts = new Float64Array(N);
  for (const s of split.train) {
    for (let i = 0; i < s.length; i++) counts[s[i] - 1]++;
  }
  // Tiny id-based tie-break so equal counts do not all tie with the target.
  for (let j = 0; j < N; j++) counts[j] += (N - j) * 1e-7;
  const hist = which === "valid" ? split.validHistory : split.testHistory;
  const targets = which === "valid" ? split.validTarget : split.testTarget;
  const U = targets.length;
  const out = new Int32Array(U);
  for (let u = 0; u < U; u++) {
    out[u] = ranksFromScores(counts, N, [hist[u]], [targets[u]])[0];
  }
  return out;
}
