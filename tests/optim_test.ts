/**
 * Optimisers (optax-style transformations) and steppers: Adam against a
 * float64 reference, composition order, clipping, weight decay, frozen
 * parameters, explicit state, and the non-finite-loss guard.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { rowChunks, trainBatches } from "../lib/data/batch.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/build.ts";
import type { Model } from "../lib/training/model.ts";
import { sampleNegatives } from "../lib/training/negatives.ts";
import {
  adam,
  addDecayedWeights,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  disposeTree,
  gradients,
  jointStepper,
  type LossFn,
  objectiveValue,
  scale,
  scaleByAdam,
  type StateTree,
  type TensorMap,
} from "../lib/optim/mod.ts";
import type { Params } from "../lib/nn/params.ts";
import { NonFiniteLossError } from "../lib/util/errors.ts";
import { makeRng } from "../lib/util/rng.ts";
import {
  type StoredTensor,
  treeFromJson,
  treeToJson,
} from "../lib/training/checkpoint.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "./_assert.ts";

await initBackend("cpu");

const vals = (t: tf.Tensor) => Array.from(t.dataSync());

/** Adam with bias correction in float64, as in Kingma & Ba (2015), Alg. 1. */
class RefAdam {
  m: number[];
  v: number[];
  t = 0;
  constructor(
    n: number,
    readonly lr: number,
    readonly b1 = 0.9,
    readonly b2 = 0.999,
    readonly eps = 1e-8,
    readonly wd = 0,
  ) {
    this.m = new Array(n).fill(0);
    this.v = new Array(n).fill(0);
  }
  /** Returns the new parameters. */
  step(p: number[], g: number[]): number[] {
    this.t++;
    const c1 = 1 - this.b1 ** this.t, c2 = 1 - this.b2 ** this.t;
    return p.map((pi, i) => {
      this.m[i] = this.b1 * this.m[i] + (1 - this.b1) * g[i];
      this.v[i] = this.b2 * this.v[i] + (1 - this.b2) * g[i] * g[i];
      const u = (this.m[i] / c1) / (Math.sqrt(this.v[i] / c2) + this.eps);
      return pi - this.lr * (u + this.wd * pi);
    });
  }
}

function assertClose(a: number[], b: number[], tol: number, what: string) {
  assertEquals(a.length, b.length, `${what}: length`);
  a.forEach((x, i) => assertAlmostEquals(x, b[i], tol, `${what}[${i}]`));
}

// ------------------------------------------------------------------- Adam

Deno.test("adam: the first three updates match a float64 Adam with bias correction", () => {
  const w = tf.variable(tf.tensor1d([1, -2, 0.5, 3]));
  const grads = [
    [0.3, -1.2, 0.01, 4],
    [-0.5, -0.8, 0.02, 2],
    [0.1, 0.4, -0.03, -1],
  ];
  const lr = 0.01;
  const tx = adam(lr);
  const ref = new RefAdam(4, lr);
  let p = [1, -2, 0.5, 3];
  let state = tx.init({ w });
  for (const [step, g] of grads.entries()) {
    const gt = tf.tensor1d(g);
    const [u, next] = tx.update({ w: gt }, state, { w });
    gt.dispose();
    disposeTree(state);
    state = next;
    applyUpdates({ w }, u);
    p = ref.step(p, g);
    // float32 parameters: ~1e-7 relative rounding per step.
    assertClose(vals(w), p, 1e-6, `step ${step + 1}`);
  }
  // The first step of Adam is -lr * sign(g) (up to eps): a quick sanity
  // check that the reference itself is Adam and not, e.g., SGD.
  const r = new RefAdam(2, 0.1);
  assertClose(r.step([0, 0], [5, -0.001]), [-0.1, 0.1], 1e-4, "first step");
  disposeTree(state);
  w.dispose();
});

Deno.test("scaleByAdam: state is {count, mu, nu} with the raw (uncorrected) moments", () => {
  const w = tf.variable(tf.tensor1d([0, 0]));
  const tx = scaleByAdam({ b1: 0.5, b2: 0.75 });
  const s0 = tx.init({ w }) as { count: number; mu: TensorMap; nu: TensorMap };
  assertEquals(s0.count, 0);
  assertEquals(vals(s0.mu.w), [0, 0]);
  const g = tf.tensor1d([2, -4]);
  const [u, s1raw] = tx.update({ w: g }, s0, { w });
  const s1 = s1raw as { count: number; mu: TensorMap; nu: TensorMap };
  // m = 0.5 * 0 + 0.5 * g = [1, -2]; v = 0.25 * g^2 = [1, 4]
  // m_hat = m / (1 - .5) = g; v_hat = v / (1 - .75) = g^2; u = g / |g| = sign
  assertEquals(s1.count, 1);
  assertClose(vals(s1.mu.w), [1, -2], 1e-7, "mu");
  assertClose(vals(s1.nu.w), [1, 4], 1e-7, "nu");
  assertClose(vals(u.w), [1, -1], 1e-6, "update");
  // update consumes neither the old state nor the grads
  assert(!(s0.mu.w as tf.Tensor).isDisposed, "old state disposed by update");
  assert(!g.isDisposed, "grads disposed by update");
  disposeTree([s0, s1, u, g] as unknown as StateTree);
  w.dispose();
});

Deno.test("scaleByAdam: a parameter without a gradient keeps its moments", () => {
  const a = tf.variable(tf.tensor1d([1])), b = tf.variable(tf.tensor1d([1]));
  const tx = scaleByAdam();
  const s0 = tx.init({ a, b });
  const ga = tf.tensor1d([1]), gb = tf.tensor1d([2]);
  const [u1, s1] = tx.update({ a: ga, b: gb }, s0, { a, b });
  const [u2, s2] = tx.update({ a: ga }, s1, { a, b });
  const st1 = s1 as { mu: TensorMap }, st2 = s2 as { mu: TensorMap };
  assertEquals(Object.keys(u2), ["a"]);
  assertEquals(vals(st2.mu.b), vals(st1.mu.b));
  assertAlmostEquals(vals(st2.mu.b)[0], 0.2, 1e-7); // 0.1 * 2
  disposeTree([s0, s1, s2, u1, u2, ga, gb] as unknown as StateTree);
  a.dispose();
  b.dispose();
});

// ------------------------------------------------------------------- chain

Deno.test("chain applies transformations left to right", () => {
  const g = { w: tf.tensor1d([3, 4]) }; // norm 5
  // scale then clip: [6, 8] (norm 10) clipped to norm 1 -> [0.6, 0.8]
  const a = chain(scale(2), clipByGlobalNorm(1));
  const [ua] = a.update(g, a.init({}), {});
  assertClose(vals(ua.w), [0.6, 0.8], 1e-6, "scale, clip");
  // clip then scale: [0.6, 0.8] * 2 = [1.2, 1.6]
  const b = chain(clipByGlobalNorm(1), scale(2));
  const [ub] = b.update(g, b.init({}), {});
  assertClose(vals(ub.w), [1.2, 1.6], 1e-6, "clip, scale");
  // the input gradients survive the chain
  assert(!g.w.isDisposed, "chain disposed its input");
  assertEquals(vals(g.w), [3, 4]);
  disposeTree([ua, ub, g] as unknown as StateTree);
});

Deno.test("chain: the state is the list of the pieces' states, in order", () => {
  const w = tf.variable(tf.zeros([2]));
  const tx = chain(scale(3), scaleByAdam(), clipByGlobalNorm(10));
  const s0 = tx.init({ w }) as StateTree[];
  assert(Array.isArray(s0) && s0.length === 3, "three states");
  assertEquals(s0[0], 0);
  assertEquals((s0[1] as { count: number }).count, 0);
  assertEquals(s0[2], 0);
  const g = tf.tensor1d([1, -1]);
  const [u, s1] = tx.update({ w: g }, s0, { w });
  assertEquals(((s1 as StateTree[])[1] as { count: number }).count, 1);
  disposeTree([s0, s1, u, g] as unknown as StateTree);
  w.dispose();
});

// ------------------------------------------------------- clipByGlobalNorm

Deno.test("clipByGlobalNorm: the norm is global over all tensors", () => {
  // a = [3], b = [[4]]: global norm 5 (each alone would be under 5)
  const g = { a: tf.tensor1d([3]), b: tf.tensor2d([[4]]) };
  const [u] = clipByGlobalNorm(1).update(g, 0, {});
  assertClose(vals(u.a), [0.6], 1e-6, "a");
  assertClose(vals(u.b), [0.8], 1e-6, "b");
  assertEquals(u.b.shape, [1, 1]);
  // exactly at the limit and under it: unchanged
  const [same] = clipByGlobalNorm(5).update(g, 0, {});
  assertEquals(vals(same.a), [3]);
  assertEquals(vals(same.b), [4]);
  const [under] = clipByGlobalNorm(100).update(g, 0, {});
  assertEquals(vals(under.b), [4]);
  // zero gradients stay zero (no 0/0)
  const z = { a: tf.zeros([3]) };
  const [uz] = clipByGlobalNorm(1).update(z, 0, {});
  assertEquals(vals(uz.a), [0, 0, 0]);
  disposeTree([g, u, same, under, z, uz] as unknown as StateTree);
});

// ------------------------------------------------------------ weight decay

Deno.test("addDecayedWeights adds rate * param", () => {
  const w = tf.variable(tf.tensor1d([2, -4]));
  const g = { w: tf.tensor1d([1, 1]) };
  const [u] = addDecayedWeights(0.5).update(g, 0, { w });
  assertClose(vals(u.w), [2, -1], 1e-7, "g + 0.5 p");
  const [u0] = addDecayedWeights(0).update(g, 0, { w });
  assertEquals(vals(u0.w), [1, 1]);
  disposeTree([g, u, u0] as unknown as StateTree);
  w.dispose();
});

Deno.test("adam with weightDecay is decoupled (AdamW): decay is not normalised by Adam", () => {
  // zero gradient: Adam's part is 0 / (0 + eps) = 0, so only the decay moves
  // the weights: p' = p - lr * wd * p = (1 - 0.1 * 0.5) p = 0.95 p.
  // (Coupled L2 through Adam would move each weight by ~lr * sign(p).)
  const w = tf.variable(tf.tensor1d([2, -4, 0.001]));
  const tx = adam(0.1, { weightDecay: 0.5 });
  const s0 = tx.init({ w });
  const g = tf.zeros([3]);
  const [u, s1] = tx.update({ w: g }, s0, { w });
  applyUpdates({ w }, u);
  assertClose(vals(w), [1.9, -3.8, 0.00095], 1e-6, "decayed");
  // then three steps with gradients agree with a float64 AdamW reference
  // that took the same zero-gradient first step (Adam's count is now 1).
  const ref = new RefAdam(3, 0.1, 0.9, 0.999, 1e-8, 0.5);
  let p = ref.step([2, -4, 0.001], [0, 0, 0]);
  let state = s1;
  for (const gv of [[1, 2, 3], [-1, 0.5, 0], [0.2, 0.2, -0.2]]) {
    const gt = tf.tensor1d(gv);
    const [u2, next] = tx.update({ w: gt }, state, { w });
    disposeTree(state);
    state = next;
    gt.dispose();
    applyUpdates({ w }, u2);
    p = ref.step(p, gv);
  }
  assertClose(vals(w), p, 1e-5, "AdamW 4 steps");
  disposeTree([s0, state, g] as unknown as StateTree);
  w.dispose();
});

// ----------------------------------------------------------------- steppers

function threeParams(): Params {
  return {
    a: tf.variable(tf.tensor1d([1, -2, 3])),
    b: tf.variable(tf.tensor2d([[0.5, -0.25]])),
    c: tf.variable(tf.scalar(2)),
  };
}

// loss = sum(a^2) * c + sum(b) * c^2 + sum(a) * sum(b): every parameter
// influences the loss, so a frozen one stays put only because it is frozen.
const coupled: LossFn<null> = (p) => {
  const t = tf.tidy(() =>
    tf.addN([
      tf.mul(tf.sum(tf.square(p.a)), p.c),
      tf.mul(tf.sum(p.b), tf.square(p.c)),
      tf.mul(tf.sum(p.a), tf.sum(p.b)),
    ]) as tf.Scalar
  );
  return { total: t, terms: { rec: t } };
};

Deno.test("jointStepper changes only the trainable parameters; others are bit-identical", async () => {
  const params = threeParams();
  const before = {
    a: params.a.dataSync().slice(),
    b: params.b.dataSync().slice(),
    c: params.c.dataSync().slice(),
  };
  const st = jointStepper(coupled, adam(0.1), ["a", "c"]);
  assertEquals(st.trainable, ["a", "c"]);
  let state = st.init(params);
  // the optimiser holds moments for the trainable parameters only
  const adamState = (state as StateTree[])[0] as { mu: TensorMap };
  assertEquals(Object.keys(adamState.mu).sort(), ["a", "c"]);
  for (let i = 0; i < 3; i++) {
    const res = await st.step(params, state, null, makeRng(i));
    state = res.optState;
    assert(Number.isFinite(res.terms.total), "total reported");
    assertEquals(res.terms.total, res.terms.rec);
  }
  assertEquals(params.b.dataSync(), before.b, "frozen b moved");
  assertNotEquals(params.a.dataSync(), before.a, "a did not move");
  assertNotEquals(params.c.dataSync(), before.c, "c did not move");
  disposeTree(state);
  disposeTree(params as unknown as StateTree);
});

Deno.test("jointStepper: Adam through the stepper matches the float64 reference", async () => {
  // loss = sum(w^2 * k) with k = [1, 3]: grad = 2 k w (depends on w, so the
  // stepper must differentiate at the current weights each step).
  const w = tf.variable(tf.tensor1d([1, -0.5]));
  const k = tf.tensor1d([1, 3]);
  const st = jointStepper<null>(
    (p) => {
      const t = tf.tidy(() => tf.sum(tf.mul(tf.square(p.w), k)) as tf.Scalar);
      return { total: t, terms: {} };
    },
    adam(0.05),
    ["w"],
  );
  let state = st.init({ w });
  const ref = new RefAdam(2, 0.05);
  let p = [1, -0.5];
  for (let i = 0; i < 3; i++) {
    const r = await st.step({ w }, state, null, makeRng(0));
    state = r.optState;
    assertAlmostEquals(r.terms.total, p[0] ** 2 + 3 * p[1] ** 2, 1e-6, "loss");
    p = ref.step(p, [2 * p[0], 6 * p[1]]);
    assertClose(vals(w), p, 1e-6, `step ${i + 1}`);
  }
  disposeTree(state);
  k.dispose();
  w.dispose();
});

function isPlainTree(x: unknown): boolean {
  if (x instanceof tf.Tensor) return true;
  if (typeof x === "number") return true;
  if (Array.isArray(x)) return x.every(isPlainTree);
  if (x && typeof x === "object") {
    const proto = Object.getPrototypeOf(x);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(x).every(isPlainTree);
  }
  return false;
}

Deno.test("optimiser state is a plain tree that round-trips and resumes identically", async () => {
  const run = async (split: boolean): Promise<Float32Array> => {
    const params = threeParams();
    const st = jointStepper(
      coupled,
      chain(clipByGlobalNorm(5), adam(0.05, { weightDecay: 0.01 })),
      ["a", "b", "c"],
    );
    let state = st.init(params);
    assert(isPlainTree(state), "init state is not a plain tree");
    for (let i = 0; i < 4; i++) {
      state = (await st.step(params, state, null, makeRng(i))).optState;
      assert(isPlainTree(state), "state after a step is not a plain tree");
      if (split && i === 1) {
        // serialise (as a checkpoint would), drop, rebuild, continue
        const tensors: Record<string, StoredTensor> = {};
        const json = JSON.parse(
          JSON.stringify(await treeToJson(state, "opt", tensors)),
        );
        disposeTree(state);
        state = treeFromJson(json, tensors);
      }
    }
    const out = Float32Array.from([
      ...params.a.dataSync(),
      ...params.b.dataSync(),
      ...params.c.dataSync(),
    ]);
    disposeTree(state);
    disposeTree(params as unknown as StateTree);
    return out;
  };
  assertEquals(await run(true), await run(false));
});

Deno.test("jointStepper: NaN loss throws NonFiniteLossError and leaves params and state untouched", async () => {
  const params = threeParams();
  let poison = false;
  const loss: LossFn<null> = (p, _b, _r) => {
    const out = coupled(p, null, makeRng(0));
    if (!poison) return out;
    const t = tf.mul(out.total, NaN) as tf.Scalar;
    return { total: t, terms: { rec: t } };
  };
  const st = jointStepper(loss, adam(0.1), ["a", "b", "c"]);
  let state = st.init(params);
  state = (await st.step(params, state, null, makeRng(0))).optState;
  const snap = [
    params.a.dataSync().slice(),
    params.b.dataSync().slice(),
    params.c.dataSync().slice(),
  ];
  const mu = ((state as StateTree[])[0] as { mu: TensorMap }).mu;
  const muSnap = mu.a.dataSync().slice();
  poison = true;
  const e = await assertRejects(
    async () => await st.step(params, state, null, makeRng(1)),
    NonFiniteLossError,
    "is NaN",
  ) as NonFiniteLossError;
  // the total is checked first; any NaN term would do
  assert(["total", "rec"].includes(e.term), `term ${e.term}`);
  assert(Number.isNaN(e.value), `value ${e.value}`);
  assertEquals(params.a.dataSync(), snap[0]);
  assertEquals(params.b.dataSync(), snap[1]);
  assertEquals(params.c.dataSync(), snap[2]);
  // the old state is still alive and unchanged, so training could go on
  assert(!mu.a.isDisposed, "state disposed after a failed step");
  assertEquals(mu.a.dataSync(), muSnap);
  poison = false;
  state = (await st.step(params, state, null, makeRng(2))).optState;
  assertNotEquals(params.a.dataSync(), snap[0]);
  disposeTree(state);
  disposeTree(params as unknown as StateTree);
});

Deno.test("jointStepper: an infinite reported term also stops the step, naming it", async () => {
  const params = threeParams();
  const snap = params.a.dataSync().slice();
  const loss: LossFn<null> = (p) => {
    const out = coupled(p, null, makeRng(0));
    return {
      total: out.total,
      terms: { rec: out.total, cl: tf.scalar(Infinity) },
    };
  };
  const st = jointStepper(loss, adam(0.1), ["a"]);
  const state = st.init(params);
  const e = await assertRejects(
    async () => await st.step(params, state, null, makeRng(0)),
    NonFiniteLossError,
    "'cl'",
  ) as NonFiniteLossError;
  assertEquals(e.term, "cl");
  assertEquals(e.value, Infinity);
  assertEquals(params.a.dataSync(), snap);
  disposeTree(state);
  disposeTree(params as unknown as StateTree);
});

Deno.test("jointStepper does not leak tensors across steps", async () => {
  const params = threeParams();
  const st = jointStepper(
    coupled,
    chain(clipByGlobalNorm(1), adam(0.01, { weightDecay: 0.1 })),
    ["a", "b"],
  );
  let state = st.init(params);
  state = (await st.step(params, state, null, makeRng(0))).optState;
  const n0 = tf.memory().numTensors;
  for (let i = 1; i < 6; i++) {
    state = (await st.step(params, state, null, makeRng(i))).optState;
  }
  assertEquals(tf.memory().numTensors, n0, "tensor count grew");
  disposeTree(state);
  disposeTree(params as unknown as StateTree);
});

Deno.test("rowChunks: fewest near-equal row chunks under maxTokens; per-row and per-cell arrays sliced; weights = share of real targets", () => {
  const B = 5, L = 4;
  const batch = {
    users: Int32Array.from([10, 11, 12, 13, 14]),
    inputs: Int32Array.from({ length: B * L }, (_, i) => i + 1),
    targets: Int32Array.from([
      [0, 0, 1, 1],
      [1, 1, 1, 1],
      [0, 0, 0, 1],
      [0, 1, 1, 1],
      [0, 0, 1, 1],
    ].flat()),
    negatives: Int32Array.from({ length: B * L }, (_, i) => 100 + i),
    batchSize: B,
    seqLen: L,
    posOffset: 1,
  };
  assertEquals(rowChunks(batch, 20).length, 1);
  const cs = rowChunks(batch, 8); // 2 rows per chunk -> 3 chunks
  assertEquals(cs.map((c) => c.batch.batchSize), [1, 2, 2]);
  assertEquals(Array.from(cs[1].batch.users), [11, 12]);
  assertEquals(Array.from(cs[2].batch.negatives), [
    112,
    113,
    114,
    115,
    116,
    117,
    118,
    119,
  ]);
  assertEquals(cs[2].batch.posOffset, 1);
  // real targets 2 | 4 + 1 | 3 + 2 of 12
  assertEquals(cs.map((c) => c.weight), [2 / 12, 5 / 12, 5 / 12]);
});

/** A model's objective differentiated w.r.t. its trainable parameters. */
const modelGradients = (model: Model, batch: unknown) =>
  gradients(
    model.objective!,
    model.params,
    batch,
    makeRng(1),
    model.trainable!,
  );

Deno.test("byRowChunks: the same loss value and gradient as one tape (SASRec, CE and BCE, dropout off)", async () => {
  const split = leaveOneOut(
    synthetic({ numUsers: 60, numItems: 40, maxLen: 12 }),
    {
      maxLen: 10,
    },
  );
  const batch = trainBatches(split, {
    batchSize: 16,
    rng: makeRng(3),
    maxLen: 10,
  })[0];
  const negatives = Int32Array.from(
    batch.targets,
    (t) => t === 0 ? 0 : 1 + (t % 39),
  );
  for (const loss of ["ce", "bce"] as const) {
    const results = [];
    for (const maxTokens of [0, 37]) {
      const cfg = makeConfig({
        hidden: 8,
        layers: 1,
        maxLen: 10,
        dropout: 0,
        attnDropout: 0,
        loss,
        maxTokens,
      });
      const model = buildModel(cfg, split, makeRng(0));
      const b = { ...batch, negatives };
      assertEquals(typeof model.objective === "function", maxTokens === 0);
      const g = await modelGradients(model, b);
      results.push({
        value: objectiveValue(model.objective!, model.params, b, makeRng(1)),
        rec: g.terms.rec,
        grads: Object.fromEntries(
          Object.entries(g.grads).map((
            [k, t],
          ) => [k, Array.from(t.dataSync())]),
        ),
      });
      disposeTree(g.grads);
      model.dispose();
    }
    const [one, chunked] = results;
    assertAlmostEquals(chunked.value, one.value, 1e-5);
    assertAlmostEquals(chunked.rec, one.rec, 1e-5);
    assertAlmostEquals(chunked.rec, chunked.value, 1e-5);
    let maxDiff = 0, maxAbs = 0;
    for (const k of Object.keys(one.grads)) {
      for (let i = 0; i < one.grads[k].length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(one.grads[k][i]));
        maxDiff = Math.max(
          maxDiff,
          Math.abs(one.grads[k][i] - chunked.grads[k][i]),
        );
      }
    }
    assert(maxAbs > 1e-3, "gradients too small to compare");
    assert(maxDiff < 1e-6, `${loss}: gradients differ by ${maxDiff}`);
  }
});

Deno.test("samples: prefixes scores only the last position (lastOnly) with the same loss and gradients as the full pass", async () => {
  const split = leaveOneOut(
    synthetic({ numUsers: 40, numItems: 40, maxLen: 12 }),
    { maxLen: 10 },
  );
  const batch = trainBatches(split, {
    batchSize: 16,
    rng: makeRng(3),
    maxLen: 10,
    samples: "prefixes",
  })[0];
  // Each method's own keys (another method's key would be an error).
  const OWN = {
    sasrec: {},
    srma: { neuronMask: 0, complement: "none" },
    mclrec: {},
    s4rec: { clusters: 4 },
  };
  for (const method of ["sasrec", "srma", "mclrec", "s4rec"] as const) {
    for (const loss of ["ce", "bce"] as const) {
      const results = [];
      for (const samples of ["sequences", "prefixes"] as const) {
        const cfg = makeConfig({
          method,
          hidden: 8,
          layers: 2,
          maxLen: 10,
          dropout: 0,
          attnDropout: 0,
          loss,
          samples,
          ...OWN[method],
        });
        const model = buildModel(cfg, split, makeRng(0));
        const ctx = { rng: makeRng(5), epoch: 1, split };
        const b = model.prepareBatch
          ? model.prepareBatch(batch, ctx)
          : loss === "bce"
          ? { ...batch, negatives: sampleNegatives(batch, split, ctx.rng) }
          : batch;
        const g = await modelGradients(model, b);
        results.push({
          rec: g.terms.rec,
          emb: Array.from(g.grads["item_emb"].dataSync()),
        });
        disposeTree(g.grads);
        model.dispose();
      }
      const [full, last] = results;
      assert(Number.isFinite(full.rec) && full.rec > 0, `${method} ${loss}`);
      assertAlmostEquals(last.rec, full.rec, 1e-5);
      let maxDiff = 0, maxAbs = 0;
      for (let i = 0; i < full.emb.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(full.emb[i]));
        maxDiff = Math.max(maxDiff, Math.abs(full.emb[i] - last.emb[i]));
      }
      assert(maxAbs > 1e-4, `${method} ${loss}: gradients too small`);
      assert(
        maxDiff < 1e-5,
        `${method} ${loss}: gradients differ by ${maxDiff}`,
      );
    }
  }
});
