/**
 * Optimisers as composable gradient transformations, in the style of optax:
 * a transformation is a pair of pure functions `init(params) -> state` and
 * `update(grads, state, params) -> [updates, newState]`; `chain` composes
 * them; `applyUpdates` adds the updates to the parameters.
 *
 * State is an explicit value (a tree of tensors and numbers) passed in and
 * returned, never hidden in a closure, so it can be checkpointed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../util/tensor_types.ts";
import type { Params } from "../nn/params.ts";
import {
  fusedAdamAvailable,
  fusedAdamInPlace,
  fusedAdamStep,
} from "../backend/adam_kernel.ts";
import type { Schedule } from "./schedule.ts";
import { adamInPlace, inPlaceAvailable } from "../backend/adam_inplace.ts";

/** Named tensors (gradients, updates, or moments). */
export type TensorMap = Record<string, Tensor>;

/** A tree of tensors and numbers: any optimiser state. */
export type StateTree = Tensor | number | StateTree[] | {
  [k: string]: StateTree;
};

/** An optimiser piece. `update` consumes neither its inputs nor old state. */
export interface GradientTransformation {
  /** The initial state for these parameters. */
  init(params: Params): StateTree;
  /**
   * New updates and new state; the caller disposes the old state. With a
   * `gate` (a device scalar) and {@linkcode GradientTransformation.gated}
   * true: where the gate is 0 the updates are zeros and the state keeps its
   * values (a step after a non-finite loss changes nothing).
   */
  update(
    grads: TensorMap,
    state: StateTree,
    params: Params,
    gate?: Tensor,
  ): [TensorMap, StateTree];
  /** Whether `update` honours a `gate` now (on the active backend). */
  gated?(): boolean;
  /**
   * Whether {@linkcode GradientTransformation.applyInPlace} serves the
   * active backend now.
   */
  inPlace?(): boolean;
  /**
   * The update applied to `params` in place, without update tensors: the
   * parameters change as `update` then `applyUpdates` would change them,
   * and the new state comes back. It may reuse the old state's tensors
   * (written over): dispose the old state with
   * {@linkcode disposeReplaced}, never use it again. Only where
   * `inPlace()` is true; a `gate` as in `update` (where `gated()`).
   */
  applyInPlace?(
    grads: TensorMap,
    state: StateTree,
    params: Params,
    gate?: Tensor,
  ): StateTree;
}

/**
 * Multiply updates by a constant (use `scale(-lr)` last in a chain).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scale } from "./transform.ts";
 * const [u] = scale(-0.1).update({ w: tf.ones([2]) }, 0, {});
 * if (Math.abs(u.w.dataSync()[0] + 0.1) > 1e-7) throw new Error();
 * ```
 */
export function scale(factor: number): GradientTransformation {
  return {
    init: () => 0,
    update: (
      grads,
      state,
    ) => [mapTensors(grads, (g) => tf.mul(g, factor)), state],
  };
}

/**
 * Multiply the updates by `schedule(count)`, count = 1 for the first update
 * (state: the count), as optax's `scale_by_schedule`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleBySchedule } from "./transform.ts";
 * const tx = scaleBySchedule((c) => 10 * c);
 * const g = { w: tf.tensor1d([1, -2]) };
 * const [u1, s1] = tx.update(g, tx.init({}), {});
 * const [u2, s2] = tx.update(g, s1, {});
 * if (u1.w.dataSync().join() !== "10,-20" || u2.w.dataSync().join() !== "20,-40" || s2 !== 2) throw new Error();
 * ```
 */
export function scaleBySchedule(
  schedule: (count: number) => number,
): GradientTransformation {
  return {
    init: () => 0,
    update: (grads, state) => {
      const count = (state as number) + 1;
      const f = schedule(count);
      return [mapTensors(grads, (g) => tf.mul(g, f)), count];
    },
  };
}

/**
 * Adam's moment estimates (Kingma & Ba, 2015) with bias correction; returns
 * `m_hat / (sqrt(v_hat) + eps)`. State: `{count, mu, nu}`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { scaleByAdam } from "./transform.ts";
 * const w = tf.variable(tf.ones([2]));
 * const tx = scaleByAdam();
 * const [u] = tx.update({ w: tf.tensor1d([2, -3]) }, tx.init({ w }), { w });
 * // the first Adam step is sign(g) (up to eps)
 * if (Math.abs(u.w.dataSync()[1] + 1) > 1e-6) throw new Error();
 * ```
 */
export function scaleByAdam(
  opts: { b1?: number; b2?: number; eps?: number } = {},
): GradientTransformation {
  const b1 = opts.b1 ?? 0.9, b2 = opts.b2 ?? 0.999, eps = opts.eps ?? 1e-8;
  return {
    init: (params) => ({
      count: 0,
      mu: mapTensors(params, (p) => tf.zerosLike(p)),
      nu: mapTensors(params, (p) => tf.zerosLike(p)),
    }),
    update: (grads, state) => {
      const s = state as { count: number; mu: TensorMap; nu: TensorMap };
      const count = s.count + 1;
      const c1 = 1 - Math.pow(b1, count), c2 = 1 - Math.pow(b2, count);
      const mu: TensorMap = {}, nu: TensorMap = {}, updates: TensorMap = {};
      for (const [k, g] of Object.entries(grads)) {
        const [m, v, u] = tf.tidy(() => {
          const m = tf.add(tf.mul(s.mu[k], b1), tf.mul(g, 1 - b1));
          const v = tf.add(tf.mul(s.nu[k], b2), tf.mul(tf.square(g), 1 - b2));
          const u = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
          return [m, v, u];
        });
        mu[k] = m;
        nu[k] = v;
        updates[k] = u;
      }
      // Parameters without a gradient this step keep their moments.
      for (const k of Object.keys(s.mu)) {
        if (!(k in grads)) {
          mu[k] = tf.clone(s.mu[k]);
          nu[k] = tf.clone(s.nu[k]);
        }
      }
      return [updates, { count, mu, nu }];
    },
  };
}

/**
 * Add `rate * param` to the updates (decoupled weight decay when placed
 * before `scale(-lr)`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { addDecayedWeights } from "./transform.ts";
 * const w = tf.variable(tf.ones([1]));
 * const [u] = addDecayedWeights(0.5).update({ w: tf.zeros([1]) }, 0, { w });
 * if (u.w.dataSync()[0] !== 0.5) throw new Error();
 * ```
 */
export function addDecayedWeights(rate: number): GradientTransformation {
  return {
    init: () => 0,
    update: (grads, state, params) => [
      mapTensors(
        grads,
        (g, k) => rate === 0 ? tf.clone(g) : tf.add(g, tf.mul(params[k], rate)),
      ),
      state,
    ],
  };
}

/**
 * Scale all updates down so their global L2 norm is at most `maxNorm`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipByGlobalNorm } from "./transform.ts";
 * const [u] = clipByGlobalNorm(1).update({ w: tf.tensor1d([3, 4]) }, 0, {});
 * if (Math.abs(u.w.dataSync()[0] - 0.6) > 1e-6) throw new Error();
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  return {
    init: () => 0,
    update: (grads, state) => {
      // The factor stays a tensor (no read-back inside a step).
      const f = tf.tidy(() => {
        const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
        const norm = tf.sqrt(sq.length ? tf.addN(sq) : tf.scalar(0));
        return tf.minimum(1, tf.div(maxNorm, tf.maximum(norm, 1e-30)));
      });
      const out = mapTensors(grads, (g) => tf.mul(g, f));
      f.dispose();
      return [out, state];
    },
  };
}

/**
 * Compose transformations left to right; the state is the list of states.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { chain, scale, scaleByAdam } from "./transform.ts";
 * const w = tf.variable(tf.ones([2]));
 * const adamLike = chain(scaleByAdam(), scale(-1e-3));
 * const [u, s] = adamLike.update({ w: tf.tensor1d([2, -3]) }, adamLike.init({ w }), { w });
 * // Adam's first step is sign(g) (up to eps), then scaled by -1e-3
 * const v = u.w.dataSync();
 * if (Math.abs(v[0] + 1e-3) > 1e-8 || Math.abs(v[1] - 1e-3) > 1e-8) throw new Error(String(v));
 * if (!Array.isArray(s) || s.length !== 2) throw new Error("expected one state per part");
 * ```
 */
export function chain(
  ...txs: GradientTransformation[]
): GradientTransformation {
  return {
    init: (params) => txs.map((t) => t.init(params)),
    update: (grads, state, params) => {
      const states = state as StateTree[];
      let cur = grads;
      const next: StateTree[] = [];
      txs.forEach((t, i) => {
        const [u, s] = t.update(cur, states[i], params);
        if (cur !== grads) disposeTree(cur);
        cur = u;
        next.push(s);
      });
      return [cur, next];
    },
  };
}

/**
 * Adam with learning rate `lr` (a number, or a schedule of the step count,
 * e.g. `warmupDecay` of `./schedule.ts`) and optional decoupled weight decay.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam } from "./transform.ts";
 * const w = tf.variable(tf.tensor1d([1, 1]));
 * const tx = adam(0.1, { weightDecay: 0.5 });
 * const [u] = tx.update({ w: tf.tensor1d([2, -3]) }, tx.init({ w }), { w });
 * // -lr * (sign(g) + 0.5 * w): -0.15 and 0.05 (up to eps)
 * const v = u.w.dataSync();
 * if (Math.abs(v[0] + 0.15) > 1e-6 || Math.abs(v[1] - 0.05) > 1e-6) throw new Error(String(v));
 * // a schedule: the first step at half the rate
 * const half = adam((c) => c === 1 ? 0.05 : 0.1);
 * const [h] = half.update({ w: tf.tensor1d([2, -3]) }, half.init({ w }), { w });
 * if (Math.abs(h.w.dataSync()[0] + 0.05) > 1e-6) throw new Error();
 * ```
 */
export function adam(
  lr: number | Schedule,
  opts: { b1?: number; b2?: number; eps?: number; weightDecay?: number } = {},
): GradientTransformation {
  const parts = [scaleByAdam(opts)];
  if (opts.weightDecay) parts.push(addDecayedWeights(opts.weightDecay));
  // A constant rate keeps the plain scale (the same ops as before schedules).
  const lrAt = typeof lr === "number" ? () => lr : lr;
  parts.push(
    typeof lr === "number" ? scale(-lr) : scaleBySchedule((c) => -lr(c)),
  );
  const composed = chain(...parts);
  const b1 = opts.b1 ?? 0.9, b2 = opts.b2 ?? 0.999, eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0;
  const constants = (count: number) => ({
    b1,
    b2,
    eps,
    lr: lrAt(count),
    wd,
    c1: 1 - Math.pow(b1, count),
    c2: 1 - Math.pow(b2, count),
  });
  return {
    init: composed.init,
    gated: fusedAdamAvailable,
    inPlace: () => fusedAdamAvailable() || inPlaceAvailable(),
    applyInPlace: (grads, state, params, gate) => {
      // webgpu: one dispatch per tensor writes parameter and moments over;
      // wasm: one pass per tensor on the heap, the same float32 operations
      // as the composed ops, no temporaries (no gate there: the loss is
      // read before the update).
      const onGpu = fusedAdamAvailable();
      if (!onGpu && gate) {
        throw new Error(
          "adam: a gate needs the fused kernel (webgpu); read the loss instead",
        );
      }
      const [s, ...rest] = state as [
        { count: number; mu: TensorMap; nu: TensorMap },
        ...StateTree[],
      ];
      const count = s.count + 1;
      const k = constants(count);
      const mu: TensorMap = { ...s.mu }, nu: TensorMap = { ...s.nu };
      for (const [name, g] of Object.entries(grads)) {
        const r = onGpu
          ? fusedAdamInPlace(params[name], s.mu[name], s.nu[name], g, k, gate)
          : adamInPlace(params[name], s.mu[name], s.nu[name], g, k);
        mu[name] = r.m;
        nu[name] = r.v;
      }
      // A schedule's own step count (the chain's last state) advances with
      // Adam's, as the composed ops advance it.
      const after = typeof lr === "number"
        ? rest
        : [...rest.slice(0, -1), count];
      return [{ count, mu, nu }, ...after];
    },
    update: (grads, state, params, gate) => {
      if (!fusedAdamAvailable()) {
        if (gate) {
          throw new Error(
            "adam: a gate needs the fused kernel (webgpu); read the loss instead",
          );
        }
        return composed.update(grads, state, params);
      }
      // webgpu: the same update and state, three dispatches per tensor.
      const [s, ...rest] = state as [
        { count: number; mu: TensorMap; nu: TensorMap },
        ...StateTree[],
      ];
      const count = s.count + 1;
      const k = constants(count);
      const mu: TensorMap = {}, nu: TensorMap = {}, updates: TensorMap = {};
      for (const [name, g] of Object.entries(grads)) {
        const r = fusedAdamStep(
          g,
          s.mu[name],
          s.nu[name],
          params[name],
          k,
          gate,
        );
        mu[name] = r.m;
        nu[name] = r.v;
        updates[name] = r.u;
      }
      for (const name of Object.keys(s.mu)) {
        if (!(name in grads)) {
          mu[name] = tf.clone(s.mu[name]);
          nu[name] = tf.clone(s.nu[name]);
        }
      }
      return [updates, [{ count, mu, nu }, ...rest]];
    },
  };
}

/**
 * `param += update` for every update, in place on the variables; disposes
 * the updates.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { applyUpdates } from "./transform.ts";
 * const w = tf.variable(tf.ones([1]));
 * applyUpdates({ w }, { w: tf.ones([1]) });
 * if (w.dataSync()[0] !== 2) throw new Error();
 * ```
 */
export function applyUpdates(params: Params, updates: TensorMap): void {
  for (const [k, u] of Object.entries(updates)) {
    const p = params[k];
    if (!p) throw new Error(`applyUpdates: no parameter named '${k}'`);
    const next = tf.add(p, u);
    p.assign(next);
    next.dispose();
    u.dispose();
  }
}

/**
 * Dispose the tensors of `old` that `next` does not hold (after
 * {@linkcode GradientTransformation.applyInPlace}, which may carry tensors
 * over into the new state).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeReplaced } from "./transform.ts";
 * const kept = tf.ones([1]), gone = tf.zeros([1]);
 * disposeReplaced({ a: kept, b: gone }, [{ a: kept }]);
 * if (kept.isDisposed || !gone.isDisposed) throw new Error();
 * ```
 */
export function disposeReplaced(old: StateTree, next: StateTree): void {
  const keep = new Set<Tensor>();
  const collect = (t: StateTree) => {
    if (t instanceof tf.Tensor) keep.add(t);
    else if (Array.isArray(t)) t.forEach(collect);
    else if (t && typeof t === "object") Object.values(t).forEach(collect);
  };
  collect(next);
  const drop = (t: StateTree) => {
    if (t instanceof tf.Tensor) {
      if (!keep.has(t)) t.dispose();
    } else if (Array.isArray(t)) t.forEach(drop);
    else if (t && typeof t === "object") Object.values(t).forEach(drop);
  };
  drop(old);
}

/**
 * Dispose every tensor in a state tree.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { disposeTree } from "./transform.ts";
 * const a = tf.ones([1]), b = tf.zeros([2]);
 * disposeTree({ a, b: [b, 3] });
 * if (!a.isDisposed || !b.isDisposed) throw new Error("expected both disposed");
 * ```
 */
export function disposeTree(tree: StateTree | TensorMap): void {
  if (tree instanceof tf.Tensor) tree.dispose();
  else if (Array.isArray(tree)) tree.forEach(disposeTree);
  else if (tree && typeof tree === "object") {
    Object.values(tree).forEach(disposeTree);
  }
}

function mapTensors<T extends Tensor>(
  m: Record<string, T>,
  f: (t: T, k: string) => Tensor,
): TensorMap {
  const out: TensorMap = {};
  for (const [k, t] of Object.entries(m)) out[k] = tf.tidy(() => f(t, k));
  return out;
}
