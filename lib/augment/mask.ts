/**
 * Mask (CL4SRec): replace a fraction of the positions by a mask token.
 *
 * @module
 */
import type { Augmenter } from "./types.ts";
import { ConfigError } from "../util/errors.ts";
import {
  checkFraction,
  checkKeys,
  fractionOf,
  range,
  sampleDistinct,
} from "./_util.ts";

/** Options of {@linkcode mask}. */
export interface MaskOptions {
  /** Fraction of positions to mask, in [0, 1]. Default 0.3. */
  gamma?: number;
  /**
   * The mask token: a dedicated id, usually `numItems + 1` (never 0, the
   * padding id, which the reference codes wrongly reuse).
   */
  maskId: number;
}

/**
 * Replace `floor(gamma * n)` distinct positions, drawn uniformly, by
 * `maskId`; the other positions are unchanged. The count rounds down, so a
 * short sequence may get no mask at all (n = 3, gamma = 0.3: none).
 *
 * @example
 * ```ts
 * import { mask } from "./mask.ts";
 * import { makeRng } from "../util/rng.ts";
 * const out = mask({ gamma: 0.5, maskId: 10 })(Int32Array.of(1, 2, 3, 4), makeRng(0));
 * if (out.filter((x) => x === 10).length !== 2) throw new Error();
 * ```
 */
export function mask(opts: MaskOptions): Augmenter {
  checkKeys("mask", opts, ["gamma", "maskId"]);
  const gamma = opts.gamma ?? 0.3;
  checkFraction("mask.gamma", gamma);
  const { maskId } = opts;
  if (!Number.isInteger(maskId) || maskId < 1 || maskId > 0x7fffffff) {
    throw new ConfigError(
      "mask.maskId",
      "a positive integer id (usually numItems + 1; 0 is padding)",
      String(maskId),
    );
  }
  return (seq, rng) => {
    const out = seq.slice();
    const k = fractionOf(gamma, seq.length);
    if (k === 0) return out;
    for (const p of sampleDistinct(range(seq.length), k, rng)) out[p] = maskId;
    return out;
  };
}
