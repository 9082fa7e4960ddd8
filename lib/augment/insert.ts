/**
 * Insert (CoSeRec): add items correlated with their neighbours.
 *
 * @module
 */
import type { Augmenter } from "./types.ts";
import type { ItemCorrelation } from "./correlation.ts";
import { checkFraction, checkKeys } from "./_util.ts";
import { chooseItemPositions } from "./_positions.ts";

/** Options of {@linkcode insert}. */
export interface InsertOptions {
  /** Fraction of the positions to insert at, in [0, 1]. Default 0.3. */
  rate?: number;
  /** Where the inserted items come from (built from the training split). */
  correlation: ItemCorrelation;
}

/**
 * Insert correlated items. Among the m positions holding a real item (all n
 * of them for a raw training sequence), `max(1, floor(rate * m))` distinct
 * positions are drawn uniformly (as CoSeRec, at least one when n >= 1 and
 * rate > 0); before each chosen item `x` goes `correlation.sample(x, rng)`.
 * The output is longer than the input by the number inserted.
 *
 * @example
 * ```ts
 * import { insert } from "./insert.ts";
 * import { itemCorrelation } from "./correlation.ts";
 * import { makeRng } from "../util/rng.ts";
 * const correlation = itemCorrelation([Int32Array.of(1, 2, 3, 4)], 4);
 * const out = insert({ rate: 0.5, correlation })(Int32Array.of(1, 3), makeRng(0));
 * if (out.length !== 3) throw new Error(); // max(1, floor(0.5 * 2)) = 1 added
 * ```
 */
export function insert(opts: InsertOptions): Augmenter {
  checkKeys("insert", opts, ["rate", "correlation"]);
  const rate = opts.rate ?? 0.3;
  checkFraction("insert.rate", rate);
  const { correlation } = opts;
  return (seq, rng) => {
    const flags = chooseItemPositions(seq, {
      rate,
      numItems: correlation.numItems,
      rng,
    });
    let added = 0;
    for (const f of flags) added += f;
    const out = new Int32Array(seq.length + added);
    let o = 0;
    for (let i = 0; i < seq.length; i++) {
      if (flags[i]) out[o++] = correlation.sample(seq[i], rng);
      out[o++] = seq[i];
    }
    return out;
  };
}
