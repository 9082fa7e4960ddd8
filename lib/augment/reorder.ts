/**
 * Reorder (CL4SRec): shuffle a random contiguous run of the sequence.
 *
 * @module
 */
import type { Augmenter } from "./types.ts";
import { checkFraction, checkKeys, fractionOf } from "./_util.ts";

/** Options of {@linkcode reorder}. */
export interface ReorderOptions {
  /** Fraction of the sequence to shuffle, in [0, 1]. Default 0.2. */
  beta?: number;
}

/**
 * Shuffle (uniformly, Fisher-Yates) a contiguous run of `floor(beta * n)`
 * items whose start is uniform over the `n - len + 1` offsets; positions
 * outside the run are unchanged. A run shorter than 2 changes nothing (and
 * draws nothing), so short sequences come back as copies.
 *
 * @example
 * ```ts
 * import { reorder } from "./reorder.ts";
 * import { makeRng } from "../util/rng.ts";
 * const seq = Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
 * const out = reorder({ beta: 0.3 })(seq, makeRng(0));
 * if ([...out].sort((a, b) => a - b).join() !== seq.join()) throw new Error();
 * ```
 */
export function reorder(opts: ReorderOptions = {}): Augmenter {
  checkKeys("reorder", opts, ["beta"]);
  const beta = opts.beta ?? 0.2;
  checkFraction("reorder.beta", beta);
  return (seq, rng) => {
    const out = seq.slice();
    const n = seq.length;
    const len = fractionOf(beta, n);
    if (len < 2) return out;
    const start = rng.int(n - len + 1);
    for (let i = len - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = out[start + i];
      out[start + i] = out[start + j];
      out[start + j] = t;
    }
    return out;
  };
}
