/**
 * A finite-difference check of a model's whole objective, shared by the
 * method tests: the weights are moved off the N(0, 0.02) start (so that
 * derivatives are well above float32 finite-difference noise, see
 * tests/gradcheck_test.ts), and for every parameter tensor the analytic
 * directional derivative along its own gradient (= the gradient's norm) is
 * compared with a central difference of the objective's value.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../lib/nn/params.ts";
import {
  gradients,
  type Objective,
  objectiveValue,
  type TensorMap,
} from "../lib/optim/mod.ts";
import { makeRng } from "../lib/util/rng.ts";

/** Replace every weight by U(-0.4, 0.4) (gains: 1 + that), seeded. */
export function perturbParams(params: Params, seed = 9): void {
  const wr = makeRng(seed);
  for (const [name, v] of Object.entries(params)) {
    const noise = Float32Array.from(
      { length: v.size },
      () => (wr.next() - 0.5) * 0.8,
    );
    const base = name.endsWith(".g") ? 1 : 0;
    const t = tf.tensor(noise.map((x) => base + x), v.shape);
    v.assign(t);
    t.dispose();
  }
}

/** What {@linkcode checkObjective} found. */
export interface GradCheckResult {
  /** Parameters whose gradient was large enough to check. */
  checked: number;
  /** One line per parameter whose derivatives disagree. */
  bad: string[];
  /** The analytic gradients (the caller disposes them). */
  grads: TensorMap;
}

/**
 * Check `objective`'s gradient w.r.t. `names` on `batch`: |numeric -
 * analytic| <= 2e-2 max(|a|, |n|) + 2e-4 with step 1e-2; parameters whose
 * gradient norm is below 1e-3 (zero by construction, e.g. an attention key
 * bias) are skipped. The same seed drives dropout in every evaluation.
 */
export async function checkObjective<B>(
  objective: Objective<B>,
  params: Params,
  batch: B,
  names: string[],
  seed = 7,
): Promise<GradCheckResult> {
  const value = () => objectiveValue(objective, params, batch, makeRng(seed));
  const { grads } = await gradients(
    objective,
    params,
    batch,
    makeRng(seed),
    names,
  );
  const eps = 1e-2, bad: string[] = [];
  let checked = 0;
  for (const name of names) {
    const v = params[name];
    const g = grads[name];
    const gn = tf.norm(g).dataSync()[0];
    if (gn < 1e-3) continue;
    const orig = v.clone();
    const dir = tf.div(g, gn);
    const step = tf.mul(dir, eps);
    v.assign(tf.add(orig, step));
    const lp = value();
    v.assign(tf.sub(orig, step));
    const lm = value();
    v.assign(orig);
    tf.dispose([orig, dir, step]);
    const numeric = (lp - lm) / (2 * eps);
    if (
      !(Math.abs(numeric - gn) <= 2e-2 * Math.max(gn, Math.abs(numeric)) + 2e-4)
    ) {
      bad.push(`${name}: analytic ${gn}, numeric ${numeric}`);
    }
    checked++;
  }
  return { checked, bad, grads };
}
