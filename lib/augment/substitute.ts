/**
 * Substitute (CoSeRec): replace items by correlated ones.
 *
 * @module
 */
import type { Augmenter } from "./types.ts";
import type { ItemCorrelation } from "./correlation.ts";
import { checkFraction, checkKeys } from "./_util.ts";
import { chooseItemPositions } from "./_positions.ts";

/** Options of {@linkcode substitute}. */
export interface SubstituteOptions {
  /** Fraction of the positions to replace, in [0, 1]. Default 0.3. */
  rate?: number;
  /** Where the substitutes come from (built from the training split). */
  correlation: ItemCorrelation;
}

/**
 * Substitute correlated items. Among the m positions holding a real item,
 * `max(1, floor(rate * m))` distinct positions are drawn uniformly (at least
 * one when n >= 1 and rate > 0, as CoSeRec); each chosen item `x` becomes
 * `correlation.sample(x, rng)`, which is never `x` itself (unless the
 * catalogue has one item). The length is unchanged.
 *
 * @example
 * ```ts
 * import { substitute } from "./substitute.ts";
 * import { itemCorrelation } from "./correlation.ts";
 * import { makeRng } from "../util/rng.ts";
 * const correlation = itemCorrelation([Int32Array.of(1, 2, 3, 4)], 4);
 * const seq = Int32Array.of(1, 2, 3, 4);
 * const out = substitute({ rate: 0.5, correlation })(seq, makeRng(0));
 * let changed = 0;
 * for (let i = 0; i < 4; i++) if (out[i] !== seq[i]) changed++;
 * if (out.length !== 4 || changed !== 2) throw new Error();
 * ```
 */
export function substitute(opts: SubstituteOptions): Augmenter {
  checkKeys("substitute", opts, ["rate", "correlation"]);
  const rate = opts.rate ?? 0.3;
  checkFraction("substitute.rate", rate);
  const { correlation } = opts;
  return (seq, rng) => {
    const flags = chooseItemPositions(seq, {
      rate,
      numItems: correlation.numItems,
      rng,
    });
    const out = seq.slice();
    for (let i = 0; i < seq.length; i++) {
      if (flags[i]) out[i] = correlation.sample(seq[i], rng);
    }
    return out;
  };
}
