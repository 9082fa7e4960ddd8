/**
 * Finite-difference gradient checks shared by the encoder and method tests.
 *
 * Method: for each named parameter tensor P with analytic gradient g, and
 * for the direction of g itself plus `directions` random unit directions D,
 * the objective is evaluated at P + eps D and P - eps D. The numeric
 * directional derivative is (f+ - f-) / (2 eps); the analytic one is
 * g . (P+ - P-) / (2 eps), with P+ and P- the float32 values actually stored
 * (so the rounding of the perturbation is not counted as error).
 *
 * Tolerance: |analytic - numeric| <= rtol max(|a|, |n|) + atol, with
 * eps = 1e-2, rtol = 2e-2, atol = 2e-4 by default. With an objective of
 * order 1 in float32 (unit roundoff 6e-8), each value carries an absolute
 * error of about 1e-6 after a few hundred operations; divided by 2 eps that
 * is ~5e-5 in the numeric derivative; the truncation error of a central
 * difference is eps^2 / 6 f''' ~ 2e-5 for an O(1) third derivative.
 *
 * A tensor listed as receiving a gradient fails when its gradient's norm is
 * under `minNorm` (default 10 atol: a derivative drowned in float32 noise
 * checks nothing); a tensor listed as zero by construction fails when its
 * gradient is not zero. Weights at the N(0, 0.02) initialisation have
 * gradients of ~1e-5, so the tests first move them (`perturbParams`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../lib/nn/params.ts";
import {
  disposeTree,
  gradients,
  type LossFn,
  type Objective,
  objectiveTapes,
  type TensorMap,
} from "../lib/optim/mod.ts";
import { holdStopGradients } from "../lib/nn/grad_reverse.ts";
import { makeRng } from "../lib/util/rng.ts";
import { mulberry32, randFloats } from "./_rng.ts";
import { assertEquals, AssertionError } from "./_assert.ts";

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** Replace every weight by U(-0.4, 0.4) (gains: 1 + that), seeded. */
export function perturbParams(params: Params, seed = 9): void {
  const r = mulberry32(seed);
  for (const [name, v] of Object.entries(params)) {
    const base = name.endsWith(".g") ? 1 : 0;
    const t = tf.tensor(randFloats(v.size, r, base - 0.4, base + 0.4), v.shape);
    v.assign(t);
    t.dispose();
  }
}

/** Which tensors a check covers, and what each gradient must be. */
export interface GradSpec {
  /** Tensors that must receive a non-zero gradient that matches. */
  nonZero: string[];
  /** Tensors whose gradient is zero by construction (checked to be zero). */
  zero?: string[];
}

/** Tolerances and directions of a check. */
export interface GradCheckOptions {
  /** Random directions per tensor, besides the gradient's own. Default 2. */
  directions?: number;
  /** Seed of the random directions. Default 1. */
  seed?: number;
  /** Finite-difference step. Default 1e-2. */
  eps?: number;
  /** Relative tolerance. Default 2e-2. */
  rtol?: number;
  /** Absolute tolerance. Default 2e-4. */
  atol?: number;
  /** Smallest gradient norm of a `nonZero` tensor. Default 10 atol. */
  minNorm?: number;
}

/** One directional derivative. */
export interface DirectionalCheck {
  /** `tensor#0` along the gradient, `tensor#1`... random directions. */
  name: string;
  /** g . D. */
  analytic: number;
  /** The central difference. */
  numeric: number;
}

/** What a check found. */
export interface GradCheckReport {
  /** Every directional derivative compared. */
  checks: DirectionalCheck[];
  /** One line per failure; empty when the check passed. */
  bad: string[];
}

/**
 * Compare `grads` with central differences of `valueFor(name)()` along the
 * gradient and random directions, for every tensor in `spec` (see the
 * module doc). `valueFor(name)` gives the function whose slope in tensor
 * `name` the gradient must be (usually the objective, for every name).
 */
export function checkDirectional(
  params: Params,
  grads: TensorMap,
  valueFor: (name: string) => () => number,
  spec: GradSpec,
  opts: GradCheckOptions = {},
): GradCheckReport {
  const eps = opts.eps ?? 1e-2, rtol = opts.rtol ?? 2e-2;
  const atol = opts.atol ?? 2e-4, minNorm = opts.minNorm ?? 10 * atol;
  const directions = opts.directions ?? 2;
  const r = mulberry32(opts.seed ?? 1);
  const zero = new Set(spec.zero ?? []);
  const checks: DirectionalCheck[] = [], bad: string[] = [];
  for (const name of [...spec.nonZero, ...zero]) {
    const v = params[name], g = grads[name];
    if (!v || !g) {
      bad.push(`${name}: ${v ? "no gradient" : "no such parameter"}`);
      continue;
    }
    const gv = g.dataSync() as Float32Array;
    const gn = norm(gv);
    if (zero.has(name)) {
      if (!(gn <= 1e-6)) bad.push(`${name}: expected a zero gradient, ${gn}`);
    } else if (!(gn >= minNorm)) {
      bad.push(
        `${name}: gradient norm ${gn} < ${minNorm}: it must receive one`,
      );
    }
    const orig = v.clone();
    const o = orig.dataSync() as Float32Array;
    const value = valueFor(name);
    for (let d = 0; d <= directions; d++) {
      // direction 0: along the gradient (a wrong scale or sign shows);
      // then random ones (a wrong component shows).
      const dir = d === 0 && gn > 0
        ? Float32Array.from(gv, (x) => x / gn)
        : randFloats(v.size, r);
      if (d > 0 || gn === 0) {
        const n = norm(dir);
        dir.forEach((x, i) => (dir[i] = x / n));
      }
      const plus = Float32Array.from(o, (x, i) => x + eps * dir[i]);
      const minus = Float32Array.from(o, (x, i) => x - eps * dir[i]);
      const tp = tf.tensor(plus, v.shape), tm = tf.tensor(minus, v.shape);
      v.assign(tp);
      const fp = value();
      v.assign(tm);
      const fm = value();
      v.assign(orig);
      tf.dispose([tp, tm]);
      let a = 0;
      for (let i = 0; i < gv.length; i++) a += gv[i] * (plus[i] - minus[i]);
      const c = {
        name: `${name}#${d}`,
        analytic: a / (2 * eps),
        numeric: (fp - fm) / (2 * eps),
      };
      checks.push(c);
      const err = Math.abs(c.analytic - c.numeric);
      const lim = rtol * Math.max(Math.abs(c.analytic), Math.abs(c.numeric)) +
        atol;
      if (!(err <= lim)) {
        bad.push(`${c.name}: analytic ${c.analytic}, numeric ${c.numeric}`);
      }
    }
    orig.dispose();
  }
  return { checks, bad };
}

/**
 * The total and the named terms of an objective (no gradients), with the
 * chunking and weights of `gradients`. Reads synchronously (cpu, wasm).
 */
export function objectiveTerms<B>(
  objective: Objective<B>,
  params: Params,
  batch: B,
  seed: number,
): { total: number; terms: Record<string, number> } {
  const rng = makeRng(seed);
  let total = 0;
  const terms: Record<string, number> = {};
  for (const [part, b, w] of objectiveTapes(objective, batch)) {
    tf.tidy(() => {
      const out = part(params, b, rng);
      total += w * out.total.dataSync()[0];
      for (const [k, t] of Object.entries(out.terms)) {
        terms[k] = (terms[k] ?? 0) + w * t.dataSync()[0];
      }
    });
  }
  return { total, terms };
}

/** Options of {@linkcode checkObjective}. */
export interface ObjectiveCheckOptions extends GradCheckOptions {
  /** Seed of the generator every evaluation starts from (dropout). Default 7. */
  rngSeed?: number;
  /**
   * Hold what the objective detaches (`stopGradient`) at its value at the
   * unmoved parameters, as the gradient holds it. Default false: then a
   * stop-gradient shows as a disagreement, so only objectives that detach
   * something by design (S4Rec's targets) set it, and test separately where
   * each term's gradient goes.
   */
  holdDetached?: boolean;
  /**
   * The value whose slope in tensor `name` the gradient must be, from the
   * objective's total and terms; default the total. (A gradient reversal
   * layer makes the gradient of the tensors before it the slope of another
   * combination of the terms.)
   */
  slopeOf?: (
    name: string,
    total: number,
    terms: Record<string, number>,
  ) => number;
}

/**
 * Check `objective`'s gradient on `batch` w.r.t. the tensors of `spec` (see
 * the module doc). Every evaluation starts from the same generator, so
 * dropout and other draws are the same. Returns the report and the analytic
 * gradients (the caller disposes them).
 */
export async function checkObjective<B>(
  objective: Objective<B>,
  params: Params,
  batch: B,
  spec: GradSpec,
  opts: ObjectiveCheckOptions = {},
): Promise<GradCheckReport & { grads: TensorMap }> {
  const seed = opts.rngSeed ?? 7;
  const names = [...spec.nonZero, ...(spec.zero ?? [])];
  const hold = opts.holdDetached ? holdStopGradients() : undefined;
  try {
    const { grads } = await gradients(
      objective,
      params,
      batch,
      makeRng(seed),
      names,
    );
    const slopeOf = opts.slopeOf ?? ((_n, total) => total);
    const report = checkDirectional(
      params,
      grads,
      (name) => () => {
        hold?.replay();
        const { total, terms } = objectiveTerms(objective, params, batch, seed);
        return slopeOf(name, total, terms);
      },
      spec,
      opts,
    );
    return { ...report, grads };
  } finally {
    hold?.release();
  }
}

/** Throw with every failure of a check, one per line. */
export function assertGradCheck(report: GradCheckReport, what: string): void {
  if (report.bad.length > 0) {
    throw new AssertionError(
      `${what}: ${report.bad.length} failures (${report.checks.length} directional derivatives compared):\n  ${
        report.bad.join("\n  ")
      }`,
    );
  }
}

/**
 * The tensors of a SASRec encoder of `layers` blocks under `prefix`, with
 * the item embedding: every one receives a gradient except each block's
 * key bias, which adds q . b_k to all scores of a query row (the softmax
 * ignores it: zero by construction).
 */
export function sasrecSpec(layers: number, prefix = "enc"): GradSpec {
  const nonZero = [
    "item_emb",
    `${prefix}.pos_emb`,
    `${prefix}.ln_in.g`,
    `${prefix}.ln_in.b`,
  ];
  const zero: string[] = [];
  for (let l = 0; l < layers; l++) {
    const b = `${prefix}.${l}`;
    nonZero.push(
      `${b}.q.w`,
      `${b}.q.b`,
      `${b}.k.w`,
      `${b}.v.w`,
      `${b}.v.b`,
      `${b}.o.w`,
      `${b}.o.b`,
      `${b}.ln_attn.g`,
      `${b}.ln_attn.b`,
      `${b}.ffn1.w`,
      `${b}.ffn1.b`,
      `${b}.ffn2.w`,
      `${b}.ffn2.b`,
      `${b}.ln_ffn.g`,
      `${b}.ln_ffn.b`,
    );
    zero.push(`${b}.k.b`);
  }
  return { nonZero, zero };
}

/** Specs together (tensors in both are an error). */
export function joinSpecs(...specs: GradSpec[]): GradSpec {
  return {
    nonZero: specs.flatMap((s) => s.nonZero),
    zero: specs.flatMap((s) => s.zero ?? []),
  };
}

/** Assert a spec names exactly `names` (e.g. a model's trainable tensors). */
export function assertSpecCovers(spec: GradSpec, names: string[]): void {
  const listed = [...spec.nonZero, ...(spec.zero ?? [])];
  assertEquals(listed.length, new Set(listed).size, "a tensor listed twice");
  assertEquals(
    [...listed].sort(),
    [...names].sort(),
    "the checked tensors are not the trainable ones",
  );
}

/**
 * The objective reduced to one named term (unweighted, as the loss reports
 * it): what a part contributes to `term`, zero from parts without it. Draws
 * the same random numbers as the whole objective.
 */
export function termObjective<B>(
  objective: Objective<B>,
  term: string,
): Objective<B> {
  const only = (f: LossFn<B>): LossFn<B> => (p, b, r) => {
    const out = f(p, b, r);
    const t = out.terms[term];
    // A part without the term: a zero that still depends on a parameter
    // (tfjs refuses a loss connected to none), so its gradient is zero.
    const first = Object.values(p)[0];
    return {
      total: t ?? tf.mul(0, tf.sum(first)) as tf.Scalar,
      terms: {},
    };
  };
  const parts = Array.isArray(objective) ? objective : [objective];
  return parts.map((part) =>
    typeof part === "function"
      ? only(part)
      : { chunked: only(part.chunked), maxTokens: part.maxTokens }
  );
}

/**
 * The norm of each named term's gradient w.r.t. each of `names`:
 * `norms[term][name]`. Every term starts from the same generator (seed).
 */
export async function termGradientNorms<B>(
  objective: Objective<B>,
  params: Params,
  batch: B,
  terms: string[],
  names: string[],
  seed = 7,
): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const term of terms) {
    const { grads } = await gradients(
      termObjective(objective, term),
      params,
      batch,
      makeRng(seed),
      names,
    );
    out[term] = Object.fromEntries(
      names.map((n) => [n, norm(grads[n].dataSync())]),
    );
    disposeTree(grads);
  }
  return out;
}
