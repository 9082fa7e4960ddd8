/**
 * What the training loop needs from a method: parameters, optimiser states,
 * a step, and a scorer for evaluation. A method (lib/methods) builds one of
 * these from blocks.
 *
 * @module
 */
import type { SplitDataset, TrainBatch } from "../data/types.ts";
import type { Encoder } from "../nn/encoder.ts";
import type { Params } from "../nn/params.ts";
import type { StateTree } from "../optim/transform.ts";
import type { Objective } from "../optim/stepper.ts";
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
