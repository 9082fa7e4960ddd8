// Adam in place on wasm (lib/backend/adam_inplace.ts) against the float32
// TypeScript reference (adamReference, then param + update) bit for bit,
// and adam() through the stepper on wasm (in place) against adam()'s
// composed tfjs ops on wasm over three steps: the same parameters and
// moments, bit for bit (and on cpu, whose gradients round differently,
// within 1e-5); tapes' gradients summed in place
// as tf.add sums them; shared memory never written over; no tensor leaks.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { adamReference } from "../lib/backend/adam_kernel.ts";
import {
  adamInPlace,
  addInPlace,
  inPlaceAvailable,
} from "../lib/backend/adam_inplace.ts";
import {
  adam,
  applyUpdates,
  deviceGradients,
  disposeTree,
  jointStepper,
  type LossFn,
  type StateTree,
} from "../lib/optim/mod.ts";
import type { Params } from "../lib/nn/params.ts";
import { makeRng } from "../lib/util/rng.ts";
import { assert } from "./_assert.ts";
import { mulberry32, randFloats } from "./_rng.ts";

function sameBits(a: Float32Array, b: Float32Array, what: string) {
  assert(a.length === b.length, `${what}: lengths ${a.length} vs ${b.length}`);
  const ia = new Int32Array(a.buffer, a.byteOffset, a.length);
  const ib = new Int32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    assert(ia[i] === ib[i], `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name:
    "adamInPlace = the f32 reference then p + u, bit for bit (wd 0 and 0.01)",
  ...opts,
  fn: async () => {
    await initBackend("wasm");
    assert(inPlaceAvailable(), "in place should serve wasm");
    for (const wd of [0, 0.01]) {
      const u = mulberry32(wd === 0 ? 3 : 4), n = 5003;
      const g = randFloats(n, u, -1, 1), m = randFloats(n, u, -0.1, 0.1);
      const v = randFloats(n, u, 0, 0.01), p = randFloats(n, u, -1, 1);
      // some exact zeros and a tiny gradient: eps and sqrt(0) matter there
      g[0] = 0, m[0] = 0, v[0] = 0, g[1] = 1e-30;
      const k = {
        b1: 0.9,
        b2: 0.999,
        eps: 1e-8,
        c1: 1 - 0.9 ** 3,
        c2: 1 - 0.999 ** 3,
        lr: 1e-3,
        wd,
      };
      const ref = adamReference(g, m, v, p, k);
      const pNext = Float32Array.from(p, (x, i) => Math.fround(x + ref.u[i]));
      const P = tf.variable(tf.tensor2d(p, [1, n]));
      const M = tf.tensor2d(m, [1, n]), V = tf.tensor2d(v, [1, n]);
      const G = tf.tensor2d(g, [1, n]);
      const r = adamInPlace(P, M, V, G, k);
      assert(r.m === M && r.v === V, "owned moments are updated in place");
      sameBits(P.dataSync() as Float32Array, pNext, `p (wd ${wd})`);
      sameBits(M.dataSync() as Float32Array, ref.m, `m (wd ${wd})`);
      sameBits(V.dataSync() as Float32Array, ref.v, `v (wd ${wd})`);
      sameBits(G.dataSync() as Float32Array, g, "g is only read");
      tf.dispose([P, M, V, G]);
    }
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "adamInPlace and addInPlace never write over memory another tensor shares",
  ...opts,
  fn: async () => {
    await initBackend("wasm");
    const init = tf.tensor1d([1, 2, 3]);
    const p = tf.variable(init); // shares init's memory
    const m = tf.zeros([3]);
    const mAlias = tf.reshape(m, [3, 1]); // a reshape shares memory on wasm
    const v = tf.zeros([3]);
    const k = {
      b1: 0.9,
      b2: 0.999,
      eps: 1e-8,
      c1: 0.1,
      c2: 0.001,
      lr: 1,
      wd: 0,
    };
    const r = adamInPlace(p, m, v, tf.tensor1d([1, -1, 0]), k);
    assert(init.dataSync().join() === "1,2,3", "the initial tensor is intact");
    assert(Math.abs(p.dataSync()[0]) < 1e-6, `p moved: ${p.dataSync()}`);
    assert(
      r.m !== m && r.v === v,
      "a shared moment is copied, an owned one not",
    );
    assert(m.dataSync().join() === "0,0,0", "the shared moment is intact");
    assert(Math.abs(r.m.dataSync()[0] - 0.1) < 1e-7, `${r.m.dataSync()}`);
    const a = tf.tensor1d([1, 2]), alias = tf.reshape(a, [2, 1]);
    const s = addInPlace(a, tf.tensor1d([1, 1]));
    assert(s !== a && a.dataSync().join() === "1,2", "shared: a new sum");
    assert(s.dataSync().join() === "2,3", `${s.dataSync()}`);
    tf.dispose([init, p, m, mAlias, v, r.m, a, alias, s]);
    await initBackend("cpu");
  },
});

/** A small two-parameter loss, quadratic-ish, with an input lookup. */
const loss: LossFn<null> = (p: Params) => {
  const e = tf.gather(p.table, tf.tensor1d([0, 3, 3, 5], "int32"));
  const t = tf.add(
    tf.sum(tf.square(tf.sub(tf.matMul(e, p.w), 0.3))),
    tf.sum(tf.mul(p.table, 0.01)),
  ) as tf.Scalar;
  return { total: t, terms: { t } };
};

async function threeSteps(
  backend: "cpu" | "wasm",
  how: "stepper" | "composed",
  makeTx = () => adam(0.05, { weightDecay: 0.1 }),
): Promise<Float32Array[]> {
  await initBackend(backend);
  const u = mulberry32(21);
  const params = {
    table: tf.variable(tf.tensor2d(randFloats(8 * 4, u), [8, 4])),
    w: tf.variable(tf.tensor2d(randFloats(4 * 3, u), [4, 3])),
  };
  const tx = makeTx();
  const names = ["table", "w"];
  let state: StateTree = tx.init(params);
  const stepper = jointStepper([loss, loss], tx, names);
  for (let step = 0; step < 3; step++) {
    if (how === "stepper") {
      state = (await stepper.step(params, state, null, makeRng(step)))
        .optState;
    } else {
      const r = deviceGradients([loss, loss], params, null, makeRng(0), names);
      r.packed.dispose();
      const [updates, next] = tx.update(r.grads, state, params);
      disposeTree(r.grads);
      disposeTree(state);
      state = next;
      applyUpdates(params, updates);
    }
  }
  type Moments = Record<string, tf.Tensor>;
  const s = (state as { mu: Moments; nu: Moments }[])[0];
  const last = (state as StateTree[]).at(-1) as number;
  const out = [
    Float32Array.of(last),
    params.table.dataSync() as Float32Array,
    params.w.dataSync() as Float32Array,
    s.mu.table.dataSync() as Float32Array,
    s.nu.table.dataSync() as Float32Array,
    s.mu.w.dataSync() as Float32Array,
  ];
  disposeTree(state);
  tf.dispose([params.table, params.w]);
  return out;
}

Deno.test({
  name:
    "adam() through the stepper on wasm (in place) = its composed ops on wasm bit for bit (and on cpu to 1e-5), 3 steps, 2 tapes",
  ...opts,
  fn: async () => {
    const composedCpu = await threeSteps("cpu", "composed");
    const composedWasm = await threeSteps("wasm", "composed");
    const inPlace = await threeSteps("wasm", "stepper");
    const what = ["last state", "table", "w", "mu.table", "nu.table", "mu.w"];
    what.forEach((w, i) => {
      sameBits(inPlace[i], composedWasm[i], `${w} (wasm)`);
      // cpu's gradients round differently (its own matmul and sums)
      inPlace[i].forEach((x, j) =>
        assert(
          Math.abs(x - composedCpu[i][j]) <= 1e-5,
          `${w}[${j}] (cpu): ${x} vs ${composedCpu[i][j]}`,
        )
      );
    });
    // and the steps moved the parameters from their initial values
    const u = mulberry32(21);
    const table0 = randFloats(8 * 4, u);
    assert(inPlace[1].some((x, i) => Math.abs(x - table0[i]) > 1e-3));
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "adam() under a schedule: in place on wasm = its composed ops on wasm, bit for bit, the schedule's count included",
  ...opts,
  fn: async () => {
    const schedule = () => adam((c: number) => 0.01 * c, { weightDecay: 0.1 });
    const composed = await threeSteps("wasm", "composed", schedule);
    const inPlace = await threeSteps("wasm", "stepper", schedule);
    assert(composed[0][0] === 3, `schedule count ${composed[0][0]}`);
    inPlace.forEach((a, i) => sameBits(a, composed[i], `output ${i}`));
    await initBackend("cpu");
  },
});

Deno.test({
  name: "the in-place stepper on wasm leaks no tensors across steps",
  ...opts,
  fn: async () => {
    await initBackend("wasm");
    const u = mulberry32(5);
    const params = {
      table: tf.variable(tf.tensor2d(randFloats(8 * 4, u), [8, 4])),
      w: tf.variable(tf.tensor2d(randFloats(4 * 3, u), [4, 3])),
    };
    const stepper = jointStepper([loss, loss], adam(0.01), ["table", "w"]);
    let state = stepper.init(params);
    state = (await stepper.step(params, state, null, makeRng(0))).optState;
    const before = tf.memory().numTensors;
    const w0 = params.w.dataSync().slice();
    for (let i = 1; i < 4; i++) {
      state = (await stepper.step(params, state, null, makeRng(i))).optState;
    }
    assert(
      tf.memory().numTensors === before,
      `${tf.memory().numTensors} vs ${before}`,
    );
    assert(params.w.dataSync().some((x, i) => x !== w0[i]), "w did not move");
    disposeTree(state);
    tf.dispose([params.table, params.w]);
    await initBackend("cpu");
  },
});
