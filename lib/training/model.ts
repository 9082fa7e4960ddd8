/**
 * What the training loop needs from a method: parameters, optimiser states,
 * a step, and a scorer for evaluation; and {@linkcode makeModel}, the one
 * builder of these, so a method (lib/methods) gives only its losses, its
 * stepper and its batch preparation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { SplitDataset, TrainBatch } from "../data/types.ts";
import type { Encoder } from "../nn/encoder.ts";
import type { Params } from "../nn/params.ts";
import { disposeParams } from "../nn/params.ts";
import { disposeTree, type StateTree } from "../optim/transform.ts";
import type { Objective, Stepper } from "../optim/stepper.ts";
import type { MetaStepper } from "../optim/meta.ts";
import type { DeferredTerms } from "../optim/deferred.ts";
import type { Scorer } from "../eval/evaluate.ts";
import type { Rng } from "../util/rng.ts";
import type { Progress } from "../util/progress.ts";

/** Where in training a step happens. */
export interface StepContext {
  /** Generator for dropout seeds, augmentations, negatives. */
  rng: Rng;
  /** 1-based epoch. */
  epoch: number;
  /** The data (for negatives, item correlations, head/tail labels). */
  split: SplitDataset;
  /**
   * Where a step may leave its loss terms on the device instead of reading
   * them (webgpu; see lib/optim/deferred.ts): a step that does returns no
   * terms, and the caller reads them from here.
   */
  deferred?: DeferredTerms;
}

/** A trainable recommender. */
export interface Model {
  /** Method name ("sasrec", ...). */
  method: string;
  /** The main sequence encoder. */
  encoder: Encoder;
  /** All parameters, trainable and frozen. */
  params: Params;
  /** Optimiser states by group name; replaced by `step`. */
  optStates: Record<string, StateTree>;
  /** One training step; returns the loss terms' values (incl. `total`). */
  step(batch: TrainBatch, ctx: StepContext): Promise<Record<string, number>>;
  /** Scores for evaluation and recommendation. */
  scorer: Scorer;
  /**
   * Called once before the first epoch of a fresh run (not on resume, whose
   * checkpoint holds its outcome): e.g. pre-training a frozen encoder.
   */
  prepare?(split: SplitDataset, rng: Rng, progress: Progress): Promise<void>;
  /** Called at the start of each epoch (e.g. K-means intents). */
  onEpochStart?(
    epoch: number,
    split: SplitDataset,
    rng: Rng,
  ): Promise<void> | void;
  /** Frees every tensor the model holds. */
  dispose(): void;
  /**
   * The batch the objective sees (views, negatives added), drawn from
   * `ctx.rng`; for tests and tools that evaluate `objective` directly.
   */
  prepareBatch?(batch: TrainBatch, ctx: StepContext): TrainBatch;
  /** The differentiable objective `step` descends (for gradient checks). */
  objective?: Objective<unknown>;
  /** Names of the parameters `objective` is differentiated w.r.t. */
  trainable?: string[];
}

/** What {@linkcode makeModel} builds a model from. */
export interface ModelSpec<B extends TrainBatch> {
  /** Method name. */
  method: string;
  /** The main sequence encoder. */
  encoder: Encoder;
  /** All parameters, trainable and frozen. */
  params: Params;
  /**
   * The step: a joint stepper (one optimiser state, kept as `main`) or a
   * meta stepper (one state per group, kept under the groups' names).
   */
  stepper: Stepper<B> | MetaStepper<B>;
  /** The objective the stepper descends (for gradient checks). */
  objective: Objective<B>;
  /** The batch the objective sees (views, negatives), drawn from `ctx.rng`. */
  prepareBatch(batch: TrainBatch, ctx: StepContext): B;
  /** Scores for evaluation. */
  scorer: Scorer;
  /** Parameters `objective` is differentiated w.r.t. (default: the stepper's). */
  trainable?: string[];
  /** Run before each step's batch is prepared (e.g. a first clustering). */
  beforeStep?(ctx: StepContext): Promise<void> | void;
  /** See {@linkcode Model.prepare}. */
  prepare?: Model["prepare"];
  /** See {@linkcode Model.onEpochStart}. */
  onEpochStart?: Model["onEpochStart"];
  /** Frees what the method holds besides parameters and optimiser states. */
  dispose?(): void;
}

/**
 * The model of a method: optimiser state(s) from the stepper, a step that
 * prepares the batch and descends the objective, and a dispose that frees
 * parameters and states.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { makeModel } from "./model.ts";
 * import { jointStepper } from "../optim/stepper.ts";
 * import { scale } from "../optim/transform.ts";
 * import { makeRng } from "../util/rng.ts";
 * import type { Encoder } from "../nn/encoder.ts";
 * import type { Params } from "../nn/params.ts";
 * const params: Params = { w: tf.variable(tf.scalar(3)) };
 * const loss = (p: Params) => {
 *   const sq = tf.square(p.w) as tf.Scalar;
 *   return { total: sq, terms: { sq } };
 * };
 * const model = makeModel({
 *   method: "toy", encoder: {} as Encoder, params,
 *   stepper: jointStepper(loss, scale(-0.25), ["w"]), objective: loss,
 *   prepareBatch: (b) => b,
 *   scorer: { represent: () => tf.zeros([1, 1]), items: () => tf.zeros([1, 1]) },
 * });
 * const batch = { users: Int32Array.of(0), inputs: Int32Array.of(1), targets: Int32Array.of(1), batchSize: 1, seqLen: 1, posOffset: 0 };
 * const terms = await model.step(batch, { rng: makeRng(0), epoch: 1, split: {} as never });
 * // one gradient step on w^2 at w = 3: w -= 0.25 * 6
 * if (terms.sq !== 9 || params.w.dataSync()[0] !== 1.5 || !("main" in model.optStates)) throw new Error();
 * model.dispose();
 * ```
 */
export function makeModel<B extends TrainBatch>(spec: ModelSpec<B>): Model {
  const { stepper, params } = spec;
  // A meta stepper's state is the record of its groups' states; a joint
  // stepper's is kept as `main`. Either way checkpoints hold one entry per
  // optimiser state.
  const grouped = "stages" in stepper;
  const init = stepper.init(params);
  const model: Model = {
    method: spec.method,
    encoder: spec.encoder,
    params,
    optStates: grouped ? asRecord(init) : { main: init },
    objective: spec.objective as Objective<unknown>,
    trainable: spec.trainable ?? stepper.trainable,
    prepareBatch: (batch, ctx) => spec.prepareBatch(batch, ctx),
    step: async (batch, ctx) => {
      await spec.beforeStep?.(ctx);
      const b = spec.prepareBatch(batch, ctx);
      const state = grouped ? model.optStates : model.optStates.main;
      const res = await stepper.step(params, state, b, ctx.rng, ctx.deferred);
      if (grouped) model.optStates = asRecord(res.optState);
      else model.optStates.main = res.optState;
      return res.terms;
    },
    scorer: spec.scorer,
    dispose: () => {
      disposeParams(params);
      for (const s of Object.values(model.optStates)) disposeTree(s);
      spec.dispose?.();
    },
  };
  if (spec.prepare) model.prepare = spec.prepare;
  if (spec.onEpochStart) model.onEpochStart = spec.onEpochStart;
  return model;
}

function asRecord(state: StateTree): Record<string, StateTree> {
  if (
    typeof state === "number" || Array.isArray(state) ||
    state instanceof tf.Tensor
  ) {
    throw new Error(
      "makeModel: expected a meta stepper's state to be a record of group states",
    );
  }
  return state;
}
