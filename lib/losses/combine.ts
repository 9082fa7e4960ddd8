/**
 * Loss combinators: named terms with weights, summed, each term kept for
 * reporting per batch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Scalar } from "../util/tensor_types.ts";

/** What a loss function returns: the total and its named parts. */
export interface LossOutput {
  /** The scalar that is differentiated. */
  total: Scalar;
  /** Named terms for reporting (e.g. `{rec, cl}`); may include `total`. */
  terms: Record<string, Scalar>;
}

/** A term's weight and value. */
export type WeightedTerm = [weight: number, value: Scalar];

/**
 * `total = sum_k w_k * term_k`; terms with weight 0 are reported but add
 * nothing (and no gradient).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { weighted } from "./combine.ts";
 * const out = weighted({ rec: [1, tf.scalar(2)], cl: [0.1, tf.scalar(5)] });
 * if (Math.abs(out.total.dataSync()[0] - 2.5) > 1e-6) throw new Error();
 * ```
 */
export function weighted(terms: Record<string, WeightedTerm>): LossOutput {
  let total: Scalar | undefined;
  const named: Record<string, Scalar> = {};
  for (const [name, [w, v]] of Object.entries(terms)) {
    named[name] = v;
    if (w === 0) continue;
    const part = w === 1 ? v : tf.mul(v, w) as Scalar;
    total = total ? tf.add(total, part) as Scalar : part;
  }
  return { total: total ?? tf.scalar(0), terms: named };
}
