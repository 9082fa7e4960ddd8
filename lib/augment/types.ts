/**
 * The augmenter type every operation in `lib/augment` returns.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";

/**
 * A data augmentation: a pure function of one item sequence and a generator.
 * It never mutates `seq`, always returns a new array, and its output depends
 * only on `seq` and the state of `rng` (which it advances).
 *
 * @example
 * ```ts
 * import type { Augmenter } from "./types.ts";
 * import { makeRng } from "../util/rng.ts";
 * const reverse: Augmenter = (seq) => seq.slice().reverse();
 * const out = reverse(Int32Array.of(1, 2, 3), makeRng(0));
 * if (out.join() !== "3,2,1") throw new Error();
 * ```
 */
export type Augmenter = (seq: Int32Array, rng: Rng) => Int32Array;
