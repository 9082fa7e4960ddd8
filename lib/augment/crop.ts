/**
 * Crop (CL4SRec): keep a random contiguous run of the sequence.
 *
 * @module
 */
import type { Augmenter } from "./types.ts";
import { checkFraction, checkKeys, fractionOf } from "./_util.ts";

/** Options of {@linkcode crop}. */
export interface CropOptions {
  /** Fraction of the sequence to keep, in (0, 1]. Default 0.6. */
  eta?: number;
}

/**
 * Keep a random contiguous run of `max(1, floor(eta * n))` items of a
 * sequence of length n; the start is uniform over the `n - len + 1` possible
 * offsets (one draw of `rng`, none when the run is the whole sequence).
 * Never empty for n >= 1; n = 1 gives a copy and n = 0 an empty array.
 *
 * @example
 * ```ts
 * import { crop } from "./crop.ts";
 * import { makeRng } from "../util/rng.ts";
 * const out = crop({ eta: 0.5 })(Int32Array.of(1, 2, 3, 4, 5, 6), makeRng(0));
 * // three consecutive items of the input
 * if (out.length !== 3 || out[1] !== out[0] + 1 || out[2] !== out[0] + 2) {
 *   throw new Error();
 * }
 * ```
 */
export function crop(opts: CropOptions = {}): Augmenter {
  checkKeys("crop", opts, ["eta"]);
  const eta = opts.eta ?? 0.6;
  checkFraction("crop.eta", eta, { open: true });
  return (seq, rng) => {
    const n = seq.length;
    if (n <= 1) return seq.slice();
    const len = Math.max(1, fractionOf(eta, n));
    const start = len === n ? 0 : rng.int(n - len + 1);
    return seq.slice(start, start + len);
  };
}
