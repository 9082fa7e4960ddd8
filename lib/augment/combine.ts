/**
 * Combinators: pick one augmenter at random, apply several in order, or
 * choose by sequence length (CoSeRec's short-sequence rule).
 *
 * @module
 */
import type { Augmenter } from "./types.ts";
import { ConfigError } from "../util/errors.ts";
import { checkKeys } from "./_util.ts";

/** Options of {@linkcode randomChoice}. */
export interface RandomChoiceOptions {
  /**
   * Relative weights, one per augmenter, each finite and >= 0 with a positive
   * sum (they need not sum to 1). Default: all equal.
   */
  weights?: readonly number[];
}

/**
 * An augmenter that applies one of `augmenters`, picked per call with
 * probability proportional to its weight (one draw of `rng`, then the
 * chosen augmenter's draws). A weight of 0 is never picked. This is
 * CL4SRec's and CoSeRec's random augmentation.
 *
 * @example
 * ```ts
 * import { randomChoice } from "./combine.ts";
 * import { crop } from "./crop.ts";
 * import { reorder } from "./reorder.ts";
 * import { makeRng } from "../util/rng.ts";
 * const aug = randomChoice([crop(), reorder()], { weights: [1, 0] });
 * if (aug(Int32Array.of(1, 2, 3, 4, 5), makeRng(0)).length !== 3) throw new Error();
 * ```
 */
export function randomChoice(
  augmenters: readonly Augmenter[],
  opts: RandomChoiceOptions = {},
): Augmenter {
  checkKeys("randomChoice", opts, ["weights"]);
  const n = augmenters.length;
  if (n === 0) {
    throw new ConfigError(
      "randomChoice.augmenters",
      "at least one augmenter",
      "none",
    );
  }
  const weights = opts.weights?.slice() ?? new Array<number>(n).fill(1);
  if (weights.length !== n) {
    throw new ConfigError(
      "randomChoice.weights",
      `${n} weights (one per augmenter)`,
      `${weights.length}`,
    );
  }
  const cum = new Float64Array(n);
  let total = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (!(Number.isFinite(w) && w >= 0)) {
      throw new ConfigError(
        "randomChoice.weights",
        "finite weights >= 0",
        `[${weights.join(", ")}]`,
      );
    }
    total += w;
    cum[i] = total;
    if (w > 0) last = i;
  }
  if (!(total > 0)) {
    throw new ConfigError(
      "randomChoice.weights",
      "a positive sum",
      `[${weights.join(", ")}]`,
    );
  }
  const list = augmenters.slice();
  return (seq, rng) => {
    const r = rng.next() * total;
    let i = 0;
    while (i < last && !(r < cum[i] && weights[i] > 0)) i++;
    return list[i](seq, rng);
  };
}

/**
 * An augmenter that applies `augmenters` left to right (the output of one is
 * the input of the next). With none it returns a copy.
 *
 * @example
 * ```ts
 * import { compose } from "./combine.ts";
 * import { crop } from "./crop.ts";
 * import { mask } from "./mask.ts";
 * import { makeRng } from "../util/rng.ts";
 * const aug = compose(crop({ eta: 0.5 }), mask({ gamma: 0.5, maskId: 99 }));
 * const out = aug(Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8), makeRng(0));
 * if (out.length !== 4 || out.filter((x) => x === 99).length !== 2) throw new Error();
 * ```
 */
export function compose(...augmenters: Augmenter[]): Augmenter {
  const list = augmenters.slice();
  return (seq, rng) => {
    let out: Int32Array = seq.slice();
    for (const aug of list) out = aug(out, rng);
    return out;
  };
}

/** Options of {@linkcode byLength}. */
export interface ByLengthOptions {
  /** Applied when `seq.length <= threshold`. */
  short: Augmenter;
  /** Applied when `seq.length > threshold`. */
  long: Augmenter;
}

/**
 * CoSeRec's length-aware augmentation: `short` for sequences of length
 * `<= threshold`, `long` otherwise. CoSeRec uses
 * `short = randomChoice([insert, substitute])` (informative augmentations
 * for short sequences) and `long = randomChoice(all five)`.
 *
 * @example
 * ```ts
 * import { byLength } from "./combine.ts";
 * import { crop } from "./crop.ts";
 * import { mask } from "./mask.ts";
 * import { makeRng } from "../util/rng.ts";
 * const aug = byLength(3, { short: mask({ gamma: 1, maskId: 9 }), long: crop({ eta: 0.5 }) });
 * if (aug(Int32Array.of(1, 2), makeRng(0)).join() !== "9,9") throw new Error();
 * if (aug(Int32Array.of(1, 2, 3, 4), makeRng(0)).length !== 2) throw new Error();
 * ```
 */
export function byLength(
  threshold: number,
  opts: ByLengthOptions,
): Augmenter {
  checkKeys("byLength", opts, ["short", "long"]);
  if (!Number.isInteger(threshold) || threshold < 0) {
    throw new ConfigError(
      "byLength.threshold",
      "an integer >= 0",
      String(threshold),
    );
  }
  const { short, long } = opts;
  if (typeof short !== "function" || typeof long !== "function") {
    throw new ConfigError(
      "byLength",
      "augmenters 'short' and 'long'",
      `${typeof short}, ${typeof long}`,
    );
  }
  return (seq, rng) =>
    seq.length <= threshold ? short(seq, rng) : long(seq, rng);
}
