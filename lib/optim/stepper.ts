/**
 * Steppers: a loss function plus an optimiser make a training step.
 *
 * A loss function maps `(params, batch, rng)` to a total scalar and its named
 * terms. `jointStepper` differentiates the total with respect to a chosen set
 * of parameters (the others stay frozen: no gradient reaches them), checks
 * every term is finite, and applies the optimiser's updates.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../nn/params.ts";
import type { Rng } from "../util/rng.ts";
import { NonFiniteLossError } from "../util/errors.ts";
import type {
  GradientTransformation,
  StateTree,
  TensorMap,
} from "./transform.ts";
import { applyUpdates, disposeTree } from "./transform.ts";

import type { LossOutput } from "../losses/combine.ts";
export type { LossOutput };

/** A differentiable objective over parameters and a batch. */
export type LossFn<B> = (params: Params, batch: B, rng: Rng) => LossOutput;

/** A training step's outcome: the new optimiser state and the terms' values. */
export interface StepResult {
  /** The optimiser state after the step (the old one is disposed). */
  optState: StateTree;
  /** Every term's value, plus `total`. */
  terms: Record<string, number>;
}

/** A training step built from a loss and an optimiser. */
export interface Stepper<B> {
  /** Names of the parameters this stepper updates. */
  trainable: string[];
  /** The optimiser's initial state for the trainable parameters. */
  init(params: Params): StateTree;
  /** One update: gradients of the loss, optimiser, in-place parameter update. */
  step(
    params: Params,
    optState: StateTree,
    batch: B,
    rng: Rng,
  ): Promise<StepResult>;
}

/**
 * A loss, or a list of independent parts whose totals add up to the loss.
 * Each part is differentiated on its own gradient tape and the gradients are
 * summed: the same result as one tape, but only one part's intermediates are
 * held at a time (e.g. the next-item branch, then the two contrastive views).
 * Parts must not share random draws that the others depend on.
 */
export type Objective<B> = LossFn<B> | LossFn<B>[];

/**
 * Gradients of `loss` w.r.t. the named parameters, with the terms' values;
 * throws {@linkcode NonFiniteLossError} (batch 0, epoch unknown) when a term
 * is NaN or infinite. The caller disposes the gradients.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gradients } from "./stepper.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params = { w: tf.variable(tf.scalar(3)) };
 * const { grads } = await gradients(
 *   (p) => { const t = tf.square(p.w) as tf.Scalar; return { total: t, terms: {} }; },
 *   params, null, makeRng(0), ["w"],
 * );
 * if (grads.w.dataSync()[0] !== 6) throw new Error();
 * ```
 */
export async function gradients<B>(
  loss: Objective<B>,
  params: Params,
  batch: B,
  rng: Rng,
  names: string[],
): Promise<{ grads: TensorMap; terms: Record<string, number> }> {
  const vars = names.map((n) => {
    const v = params[n];
    if (!v) throw new Error(`stepper: no parameter named '${n}'`);
    return v;
  });
  const parts = Array.isArray(loss) ? loss : [loss];
  const byName: TensorMap = {};
  const terms: Record<string, number> = {};
  let total = 0;
  for (const part of parts) {
    let kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const out = part(params, batch, rng);
      kept = {};
      for (const [k, t] of Object.entries(out.terms)) {
        kept[k] = tf.keep(tf.clone(t));
      }
      return out.total;
    }, vars);
    for (const [k, t] of Object.entries(kept)) {
      // Asynchronous reads: tfjs-webgpu cannot read synchronously in Deno.
      terms[k] = (await t.data())[0];
      t.dispose();
    }
    total += (await value.data())[0];
    value.dispose();
    names.forEach((n, i) => {
      const g = grads[vars[i].name];
      if (!g) return;
      if (byName[n]) {
        const sum = tf.add(byName[n], g);
        byName[n].dispose();
        g.dispose();
        byName[n] = sum;
      } else {
        byName[n] = g;
      }
    });
  }
  // Named terms first, so a non-finite loss is reported by its culprit.
  terms.total = total;
  names.forEach((n, i) => {
    byName[n] ??= tf.zerosLike(vars[i]);
  });
  for (const [k, v] of Object.entries(terms)) {
    if (!Number.isFinite(v)) {
      disposeTree(byName);
      throw new NonFiniteLossError(0, 0, k, v);
    }
  }
  return { grads: byName, terms };
}

/**
 * A stepper that updates `trainable` on `loss` with the transformation `tx`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { jointStepper } from "./stepper.ts";
 * import { adam } from "./transform.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params = { w: tf.variable(tf.scalar(3)) };
 * const s = jointStepper((p) => {
 *   const t = tf.square(p.w) as tf.Scalar;
 *   return { total: t, terms: { sq: t } };
 * }, adam(0.1), ["w"]);
 * let st = s.init(params);
 * for (let i = 0; i < 50; i++) st = (await s.step(params, st, null, makeRng(i))).optState;
 * if (Math.abs(params.w.dataSync()[0]) > 1) throw new Error("did not descend");
 * ```
 */
export function jointStepper<B>(
  loss: Objective<B>,
  tx: GradientTransformation,
  trainable: string[],
): Stepper<B> {
  return {
    trainable,
    init: (params) => tx.init(subset(params, trainable)),
    step: async (params, optState, batch, rng) => {
      const { grads, terms } = await gradients(
        loss,
        params,
        batch,
        rng,
        trainable,
      );
      const [updates, next] = tx.update(
        grads,
        optState,
        subset(params, trainable),
      );
      disposeTree(grads);
      disposeTree(optState);
      applyUpdates(params, updates);
      return { optState: next, terms };
    },
  };
}

/**
 * The named subset of a parameter map.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { subset } from "./stepper.ts";
 * const p = { a: tf.variable(tf.scalar(1)), b: tf.variable(tf.scalar(2)) };
 * if (Object.keys(subset(p, ["a"])).join() !== "a") throw new Error();
 * ```
 */
export function subset(params: Params, names: string[]): Params {
  const out: Params = {};
  for (const n of names) out[n] = params[n];
  return out;
}
