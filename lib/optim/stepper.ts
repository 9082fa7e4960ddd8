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
import type { Scalar, Tensor1D } from "../util/tensor_types.ts";
import type { Params } from "../nn/params.ts";
import type { Rng } from "../util/rng.ts";
import { NonFiniteLossError } from "../util/errors.ts";
import type {
  GradientTransformation,
  StateTree,
  TensorMap,
} from "./transform.ts";
import { applyUpdates, disposeReplaced, disposeTree } from "./transform.ts";
import { addInPlace, inPlaceAvailable } from "../backend/adam_inplace.ts";

import type { LossOutput } from "../losses/combine.ts";
import type { TrainBatch } from "../data/types.ts";
import { rowChunks } from "../data/batch.ts";
import { type DeferredTerms, termsFromValues, TOTAL_SLOT } from "./deferred.ts";
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
  /**
   * One update: gradients of the loss, optimiser, in-place parameter update.
   * With `deferred` (and an optimiser that honours its gate), nothing is
   * read back: the terms are queued there and `terms` is empty.
   */
  step(
    params: Params,
    optState: StateTree,
    batch: B,
    rng: Rng,
    deferred?: DeferredTerms,
  ): Promise<StepResult>;
}

/**
 * A loss, or a list of independent parts whose totals add up to the loss.
 * Each part is differentiated on its own gradient tape and the gradients are
 * summed: the same result as one tape, but only one part's intermediates are
 * held at a time (e.g. the next-item branch, then the two contrastive views).
 * Parts must not share random draws that the others depend on.
 */
export type Objective<B> = Part<B> | Part<B>[];

/** One part of an objective: a loss, or a loss run chunk by chunk. */
export type Part<B> = LossFn<B> | ChunkedPart<B>;

/** A loss over a mean of real positions, differentiated by row chunks. */
export interface ChunkedPart<B> {
  /** The loss; called once per chunk with the chunk as its batch. */
  chunked: LossFn<B>;
  /** Split the batch into row chunks of at most this many cells. */
  maxTokens: number;
}

/**
 * Run `part` over row chunks of each batch (at most `maxTokens` rows x
 * columns each, {@linkcode rowChunks}), every chunk on its own gradient
 * tape, its total and terms weighted by its share of the batch's real
 * targets. For a loss that is a mean over real positions (the next-item
 * losses) this is the same loss and gradient as one pass, with the peak
 * memory of the largest chunk. `maxTokens` 0 gives `part` itself (one
 * tape). Do not use it for losses that couple rows (InfoNCE's in-batch
 * negatives, in-batch clustering).
 *
 * @example
 * ```ts ignore
 * const objective = [byRowChunks(recPart, 6400), clPart];
 * ```
 */
export function byRowChunks<B extends TrainBatch>(
  part: LossFn<B>,
  maxTokens: number,
): Part<B> {
  return maxTokens > 0 ? { chunked: part, maxTokens } : part;
}

/**
 * The tapes an objective runs on a batch: `[loss, batch, weight]` per plain
 * part, and per row chunk of a {@linkcode ChunkedPart}.
 *
 * @example
 * ```ts
 * import { objectiveTapes } from "./stepper.ts";
 * const f = () => { throw new Error("not called"); };
 * const batch = {};
 * const tapes = objectiveTapes([f, f], batch);
 * // plain parts: one tape each, on the whole batch, weight 1
 * if (tapes.length !== 2 || !tapes.every(([p, b, w]) => p === f && b === batch && w === 1)) {
 *   throw new Error();
 * }
 * ```
 */
export function objectiveTapes<B>(
  loss: Objective<B>,
  batch: B,
): [LossFn<B>, B, number][] {
  const parts = Array.isArray(loss) ? loss : [loss];
  const tapes: [LossFn<B>, B, number][] = [];
  for (const part of parts) {
    if (typeof part === "function") {
      tapes.push([part, batch, 1]);
      continue;
    }
    const chunks = rowChunks(batch as unknown as TrainBatch, part.maxTokens);
    for (const c of chunks) {
      if (c.weight > 0 || chunks.length === 1) {
        tapes.push([part.chunked, c.batch as B, c.weight]);
      }
    }
  }
  return tapes;
}

/**
 * The value of an objective's total (no gradients), with the same chunking
 * and weights as {@linkcode gradients}: for finite-difference checks. It
 * reads synchronously (cpu and wasm backends; not webgpu in Deno).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { objectiveValue } from "./stepper.ts";
 * import type { Params } from "../nn/params.ts";
 * import { makeRng } from "../util/rng.ts";
 * const p: Params = { w: tf.variable(tf.scalar(3)) };
 * const f = (q: Params) => ({ total: tf.square(q.w) as tf.Scalar, terms: {} });
 * if (objectiveValue([f, f], p, null, makeRng(0)) !== 18) throw new Error();
 * ```
 */
export function objectiveValue<B>(
  loss: Objective<B>,
  params: Params,
  batch: B,
  rng: Rng,
): number {
  let total = 0;
  for (const [part, b, w] of objectiveTapes(loss, batch)) {
    total += w * tf.tidy(() => part(params, b, rng).total.dataSync()[0]);
  }
  return total;
}

/** Gradients and the packed loss terms, still on the device. */
export interface DeviceGradients {
  /** Gradient per trainable name (zeros where none reached it). */
  grads: TensorMap;
  /** Every tape's terms and total, packed `[slots]` (float32). */
  packed: Tensor1D;
  /** The slot names of `packed` (`TOTAL_SLOT` for a tape's total). */
  names: string[];
}

/**
 * Gradients of `loss` w.r.t. the named parameters with every term and
 * total packed in one tensor, nothing read back. The caller disposes both.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { deviceGradients } from "./stepper.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params = { w: tf.variable(tf.scalar(3)) };
 * const r = deviceGradients(
 *   (p) => { const t = tf.square(p.w) as tf.Scalar; return { total: t, terms: { sq: t } }; },
 *   params, null, makeRng(0), ["w"],
 * );
 * if (r.grads.w.dataSync()[0] !== 6 || r.packed.dataSync().join() !== "9,9") throw new Error();
 * ```
 */
export function deviceGradients<B>(
  loss: Objective<B>,
  params: Params,
  batch: B,
  rng: Rng,
  names: string[],
): DeviceGradients {
  const vars = names.map((n) => {
    const v = params[n];
    if (!v) throw new Error(`stepper: no parameter named '${n}'`);
    return v;
  });
  const tapes = objectiveTapes(loss, batch);
  const inPlace = inPlaceAvailable();
  const byName: TensorMap = {};
  const slots: string[] = [];
  const scalars: Scalar[] = [];
  for (const [part, b, w] of tapes) {
    const { value, grads } = tf.variableGrads(() => {
      const out = part(params, b, rng);
      for (const [k, t] of Object.entries(out.terms)) {
        slots.push(k);
        scalars.push(tf.keep(w === 1 ? tf.clone(t) : tf.mul(t, w)));
      }
      return w === 1 ? out.total : tf.mul(out.total, w) as Scalar;
    }, vars);
    slots.push(TOTAL_SLOT);
    scalars.push(value);
    names.forEach((n, i) => {
      const g = grads[vars[i].name];
      if (!g) return;
      if (byName[n]) {
        // On wasm the sum is written over the first tape's gradient.
        const sum = inPlace ? addInPlace(byName[n], g) : tf.add(byName[n], g);
        if (sum !== byName[n]) byName[n].dispose();
        g.dispose();
        byName[n] = sum;
      } else {
        byName[n] = g;
      }
    });
  }
  const packed = tf.stack(scalars) as Tensor1D;
  tf.dispose(scalars);
  names.forEach((n, i) => {
    byName[n] ??= tf.zerosLike(vars[i]);
  });
  return { grads: byName, packed, names: slots };
}

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
  const { grads, packed, names: slots } = deviceGradients(
    loss,
    params,
    batch,
    rng,
    names,
  );
  // Every term's and total's scalar, read back once after the last tape:
  // one device-to-host transfer per step (on webgpu a read is a pipeline
  // stall; tfjs-webgpu cannot read synchronously in Deno at all).
  const values = await packed.data();
  packed.dispose();
  const terms = termsFromValues(slots, values);
  for (const [k, v] of Object.entries(terms)) {
    if (!Number.isFinite(v)) {
      disposeTree(grads);
      throw new NonFiniteLossError(0, 0, k, v);
    }
  }
  return { grads, terms };
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
    step: async (params, optState, batch, rng, deferred) => {
      if (deferred && tx.gated?.() === true) {
        // Nothing read back: the terms wait on the device in `deferred`,
        // and the update is applied only while every term so far is finite.
        const r = deviceGradients(loss, params, batch, rng, trainable);
        const gate = deferred.gateWith(r.packed);
        deferred.add(r.packed, r.names);
        if (tx.inPlace?.() === true && tx.applyInPlace) {
          // webgpu: parameters and moments written over, one dispatch each.
          const next = tx.applyInPlace(
            r.grads,
            optState,
            subset(params, trainable),
            gate,
          );
          disposeTree(r.grads);
          disposeReplaced(optState, next);
          return { optState: next, terms: {} };
        }
        const [updates, next] = tx.update(
          r.grads,
          optState,
          subset(params, trainable),
          gate,
        );
        disposeTree(r.grads);
        disposeTree(optState);
        applyUpdates(params, updates);
        return { optState: next, terms: {} };
      }
      const { grads, terms } = await gradients(
        loss,
        params,
        batch,
        rng,
        trainable,
      );
      if (tx.inPlace?.() === true && tx.applyInPlace) {
        // Parameters and moments written over, no update tensors.
        const next = tx.applyInPlace(
          grads,
          optState,
          subset(params, trainable),
        );
        disposeTree(grads);
        disposeReplaced(optState, next);
        return { optState: next, terms };
      }
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
