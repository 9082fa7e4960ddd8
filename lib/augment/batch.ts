/**
 * Augment a batch of sequences.
 *
 * @module
 */
import type { Augmenter } from "./types.ts";
import type { Rng } from "../util/rng.ts";
import { ConfigError } from "../util/errors.ts";
import { checkKeys } from "./_util.ts";

/** Options of {@linkcode augmentBatch}. */
export interface AugmentBatchOptions {
  /** The generator, advanced by each augmentation in turn. */
  rng: Rng;
  /** Keep the last `maxLen` items of each augmented sequence. */
  maxLen: number;
}

/**
 * Apply `aug` to each sequence in order (sharing `rng`, so the result is
 * deterministic given its state) and keep the last `maxLen` items of each
 * output (insert can make a sequence longer). The inputs are not changed.
 *
 * @example
 * ```ts
 * import { augmentBatch } from "./batch.ts";
 * import { mask } from "./mask.ts";
 * import { makeRng } from "../util/rng.ts";
 * const seqs = [Int32Array.of(1, 2, 3, 4), Int32Array.of(5, 6)];
 * const out = augmentBatch(seqs, mask({ gamma: 0, maskId: 7 }), { rng: makeRng(0), maxLen: 3 });
 * if (out[0].join() !== "2,3,4" || out[1].join() !== "5,6") throw new Error();
 * ```
 */
export function augmentBatch(
  seqs: readonly Int32Array[],
  aug: Augmenter,
  opts: AugmentBatchOptions,
): Int32Array[] {
  checkKeys("augmentBatch", opts, ["rng", "maxLen"]);
  const { rng, maxLen } = opts;
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new ConfigError(
      "augmentBatch.maxLen",
      "a positive integer",
      String(maxLen),
    );
  }
  return seqs.map((seq) => {
    const out = aug(seq, rng);
    return out.length > maxLen ? out.slice(out.length - maxLen) : out;
  });
}
