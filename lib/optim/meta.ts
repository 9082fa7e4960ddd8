/**
 * A two-stage ("meta") stepper for two parameter groups with two objectives,
 * as in MCLRec's Algorithm 1 (`mclrec.txt`, Sec. 3.2):
 *
 * 1. stage 1 differentiates the first objective w.r.t. the first group only
 *    (the second group is frozen: no gradient reaches it) and applies the
 *    first transformation's updates;
 * 2. stage 2 then calls the second objective, so everything it computes from
 *    the first group (e.g. the encoder's output) is recomputed with the
 *    updated weights, differentiates it w.r.t. the second group only, and
 *    applies the second transformation's updates.
 *
 * That call order is the whole "re-encode" contract: stage 2's objective
 * must compute from the parameters it is given, never from values cached by
 * stage 1. Each group has its own optimiser state; the stepper's state is a
 * record `{[first.name]: state1, [second.name]: state2}`, so a model can keep
 * it as its `optStates` and checkpoints hold both.
 *
 * @module
 */
import type { Params } from "../nn/params.ts";
import type { GradientTransformation, StateTree } from "./transform.ts";
import {
  jointStepper,
  type Objective,
  type Stepper,
  type StepResult,
} from "./stepper.ts";

/** One parameter group of a {@linkcode metaStepper}. */
export interface StepGroup<B> {
  /** The group's name: its optimiser state's key, and stage 2's term prefix. */
  name: string;
  /** Names of the parameters this group updates. */
  trainable: string[];
  /** The objective this group descends. */
  loss: Objective<B>;
  /** The group's own optimiser. */
  tx: GradientTransformation;
}

/** A two-stage stepper; its optimiser state is a record of the two groups'. */
export interface MetaStepper<B> extends Stepper<B> {
  /** The two groups' names, stage 1 first. */
  names: [string, string];
  /** The two stages as one-group steppers (each takes its group's state). */
  stages: [Stepper<B>, Stepper<B>];
}

/**
 * Stage 1 then stage 2 on each batch. The step's terms are stage 1's (with
 * its `total`) plus stage 2's prefixed with the second group's name (e.g.
 * `augmenters.total`). The two groups must not share parameters.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { metaStepper } from "./meta.ts";
 * import { scale } from "./transform.ts";
 * import { makeRng } from "../util/rng.ts";
 * // a follows b; b is pulled towards 2 - a.
 * const params = { a: tf.variable(tf.scalar(0)), b: tf.variable(tf.scalar(5)) };
 * const sq = (x: tf.Tensor) => tf.square(x) as tf.Scalar;
 * const s = metaStepper(
 *   { name: "first", trainable: ["a"], tx: scale(-0.25), // plain gradient descent
 *     loss: (p) => { const l = sq(tf.sub(p.a, p.b)); return { total: l, terms: { l } }; } },
 *   { name: "second", trainable: ["b"], tx: scale(-0.25),
 *     loss: (p) => { const l = sq(tf.sub(tf.add(p.a, p.b), 2)); return { total: l, terms: { l } }; } },
 * );
 * let st = s.init(params);
 * for (let i = 0; i < 100; i++) st = (await s.step(params, st, null, makeRng(i))).optState;
 * const [a, b] = [params.a.dataSync()[0], params.b.dataSync()[0]];
 * if (Math.abs(a - 1) > 1e-3 || Math.abs(b - 1) > 1e-3) throw new Error(`${a} ${b}`);
 * ```
 */
export function metaStepper<B>(
  first: StepGroup<B>,
  second: StepGroup<B>,
): MetaStepper<B> {
  if (first.name === second.name) {
    throw new Error(
      `metaStepper: expected two group names, found '${first.name}' twice`,
    );
  }
  const own = new Set(first.trainable);
  const shared = second.trainable.filter((n) => own.has(n));
  if (shared.length > 0) {
    throw new Error(
      `metaStepper: expected disjoint parameter groups, found ${
        shared.slice(0, 3).join(", ")
      }${
        shared.length > 3 ? ", ..." : ""
      } in both '${first.name}' and '${second.name}'`,
    );
  }
  const s1 = jointStepper(first.loss, first.tx, first.trainable);
  const s2 = jointStepper(second.loss, second.tx, second.trainable);
  const n1 = first.name, n2 = second.name;
  return {
    names: [n1, n2],
    stages: [s1, s2],
    trainable: [...first.trainable, ...second.trainable],
    init: (params: Params): StateTree => ({
      [n1]: s1.init(params),
      [n2]: s2.init(params),
    }),
    step: async (
      params,
      optState,
      batch,
      rng,
      deferred,
    ): Promise<StepResult> => {
      const st = optState as Record<string, StateTree>;
      for (const n of [n1, n2]) {
        if (!(n in st)) {
          throw new Error(
            `metaStepper: expected an optimiser state for '${n}', found keys ${
              Object.keys(st).join(", ") || "(none)"
            }`,
          );
        }
      }
      const r1 = await s1.step(params, st[n1], batch, rng, deferred);
      let r2: StepResult;
      try {
        if (deferred) deferred.prefix = `${n2}.`;
        r2 = await s2.step(params, st[n2], batch, rng, deferred);
      } catch (e) {
        // Keep the caller's record usable: stage 1's new state replaces the
        // one it consumed.
        st[n1] = r1.optState;
        throw e;
      } finally {
        if (deferred) deferred.prefix = "";
      }
      const terms = { ...r1.terms };
      for (const [k, v] of Object.entries(r2.terms)) terms[`${n2}.${k}`] = v;
      return { optState: { [n1]: r1.optState, [n2]: r2.optState }, terms };
    },
  };
}
