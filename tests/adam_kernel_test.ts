// The fused Adam kernel (webgpu; lavapipe here) against the f32 TypeScript
// reference, and adam() on webgpu (fused) against adam() on cpu (the
// composed tfjs ops) over three steps with weight decay: same moments,
// updates and parameters within float rounding. The in-place step
// (fusedAdamInPlace: one dispatch per tensor writing parameter and moments
// over) against the same reference, step by step, with and without weight
// decay and a gate, and against the three-dispatch path.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import {
  adamReference,
  fusedAdamAvailable,
  fusedAdamInPlace,
  fusedAdamStep,
} from "../lib/backend/adam_kernel.ts";
import {
  counterDelta,
  installCounters,
  snapshotCounters,
} from "../lib/backend/counters.ts";
import {
  adam,
  applyUpdates,
  disposeReplaced,
  disposeTree,
} from "../lib/optim/transform.ts";
import type { StateTree } from "../lib/optim/transform.ts";
import { assert } from "./_assert.ts";
import { mulberry32, randFloats } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log("SKIPPED: no WebGPU adapter; the fused Adam tests did not run");
}

function close(a: Float32Array, b: Float32Array, tol: number, what: string) {
  assert(a.length === b.length, `${what}: lengths ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    assert(
      d <= tol * Math.max(1, Math.abs(b[i])),
      `${what}[${i}]: ${a[i]} vs ${b[i]}`,
    );
  }
}

Deno.test("adamReference: one step by hand", () => {
  // g = 1, m = 1, v = 4, p = 2, b1 = 0.5, b2 = 0.75, t = 1: c1 = 0.5, c2 = 0.25
  // m' = 0.5 + 0.5 = 1; v' = 3 + 0.25 = 3.25; u = -0.1 * (2 / (sqrt(13) + 0) + 0.5 * 2)
  const r = adamReference(
    Float32Array.of(1),
    Float32Array.of(1),
    Float32Array.of(4),
    Float32Array.of(2),
    { b1: 0.5, b2: 0.75, eps: 0, c1: 0.5, c2: 0.25, lr: 0.1, wd: 0.5 },
  );
  assert(r.m[0] === 1 && r.v[0] === 3.25, `${r.m[0]} ${r.v[0]}`);
  assert(Math.abs(r.u[0] + 0.1 * (2 / Math.sqrt(13) + 1)) < 1e-7, `${r.u[0]}`);
});

Deno.test({
  name:
    "SeqsslAdam on webgpu = the f32 reference (moments exact to 1 ulp, update to 1e-6)",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("webgpu");
    assert(fusedAdamAvailable(), "fused Adam should serve webgpu");
    const u = mulberry32(8), n = 3001;
    const g = randFloats(n, u, -1, 1), m = randFloats(n, u, -0.1, 0.1);
    const v = randFloats(n, u, 0, 0.01), p = randFloats(n, u, -1, 1);
    const k = {
      b1: 0.9,
      b2: 0.999,
      eps: 1e-8,
      c1: 0.19,
      c2: 0.002,
      lr: 1e-3,
      wd: 0.01,
    };
    const ref = adamReference(g, m, v, p, k);
    const t = [g, m, v, p].map((a) => tf.tensor2d(a, [1, n]));
    const out = fusedAdamStep(t[0], t[1], t[2], t[3], k);
    close((await out.m.data()) as Float32Array, ref.m, 1e-7, "m");
    close((await out.v.data()) as Float32Array, ref.v, 1e-7, "v");
    close((await out.u.data()) as Float32Array, ref.u, 1e-6, "u");
    assert(out.u.shape.join() === `1,${n}`, "shape kept");
    tf.dispose([...t, out.m, out.v, out.u]);
    await initBackend("cpu");
  },
});

function constants(step: number, wd: number) {
  const b1 = 0.9, b2 = 0.999;
  return {
    b1,
    b2,
    eps: 1e-8,
    c1: 1 - Math.pow(b1, step),
    c2: 1 - Math.pow(b2, step),
    lr: 1e-2,
    wd,
  };
}

async function read(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

async function inPlaceAgainstReference(n: number, wd: number, seed: number) {
  const u = mulberry32(seed);
  const p = tf.variable(tf.tensor1d(randFloats(n, u, -1, 1)));
  const m = tf.zeros([n]), v = tf.zeros([n]);
  const gate = tf.scalar(1);
  for (let step = 1; step <= 3; step++) {
    // Read before the step: the host copies tfjs caches must not go stale.
    const [p0, m0, v0] = [await read(p), await read(m), await read(v)];
    const g0 = randFloats(n, u, -1, 1);
    const g = tf.tensor1d(g0);
    const k = constants(step, wd);
    const r = fusedAdamInPlace(p, m, v, g, k, step === 2 ? gate : undefined);
    assert(r.m === m && r.v === v, "owned moments are written over");
    const ref = adamReference(g0, m0, v0, p0, k);
    const pRef = ref.u.map((x, i) => Math.fround(p0[i] + x));
    close(await read(m), ref.m, 1e-6, `m step ${step} wd ${wd}`);
    close(await read(v), ref.v, 1e-6, `v step ${step} wd ${wd}`);
    close(await read(p), pRef, 1e-6, `p step ${step} wd ${wd}`);
    g.dispose();
  }
  tf.dispose([p, m, v, gate]);
}

Deno.test({
  name:
    "fusedAdamInPlace on webgpu = the f32 reference over 3 steps (with and without decay, gate 1)",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("webgpu");
    await inPlaceAgainstReference(3001, 0, 3);
    await inPlaceAgainstReference(3001, 0.05, 4);
    // more than 65535 workgroups of 64: the second row of workgroups
    await inPlaceAgainstReference(65535 * 64 + 77, 0.01, 5);
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "fusedAdamInPlace: gate 0 leaves p, m, v bit-identical (NaN gradient); one dispatch per tensor",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("webgpu");
    installCounters();
    const u = mulberry32(11), n = 500;
    const p = tf.variable(tf.tensor1d(randFloats(n, u, -1, 1)));
    const m = tf.tensor1d(randFloats(n, u, -0.1, 0.1));
    const v = tf.tensor1d(randFloats(n, u, 0, 0.01));
    const before = [await read(p), await read(m), await read(v)];
    const g = tf.fill([n], NaN);
    const closed = tf.scalar(0), open = tf.scalar(1);
    const k = constants(4, 0.1);
    fusedAdamInPlace(p, m, v, g, k, closed); // compiles the pipeline
    const c0 = snapshotCounters();
    fusedAdamInPlace(p, m, v, g, k, closed);
    const d = counterDelta(c0, snapshotCounters());
    assert(d.dispatches === 1, `dispatches ${d.dispatches}`);
    assert(d.uploads === 0 && d.readbacks === 0, JSON.stringify(d));
    const after = [await read(p), await read(m), await read(v)];
    for (let j = 0; j < 3; j++) {
      for (let i = 0; i < n; i++) {
        assert(
          Object.is(after[j][i], before[j][i]),
          `tensor ${j}[${i}] changed: ${before[j][i]} -> ${after[j][i]}`,
        );
      }
    }
    // the open gate lets the NaN gradient through: it did reach the kernel
    fusedAdamInPlace(p, m, v, g, k, open);
    assert(Number.isNaN((await read(p))[0]), "open gate applies the step");
    tf.dispose([p, m, v, g, closed, open]);
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "fusedAdamInPlace = the three-dispatch step + add; tensors sharing a buffer keep their values",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("webgpu");
    const u = mulberry32(12), n = 1000;
    const p0 = randFloats(n, u, -1, 1), m0 = randFloats(n, u, -0.1, 0.1);
    const v0 = randFloats(n, u, 0, 0.01), g0 = randFloats(n, u, -1, 1);
    const k = constants(2, 0.02);
    const g = tf.tensor1d(g0);
    const q = tf.variable(tf.tensor1d(p0));
    const mq = tf.tensor1d(m0), vq = tf.tensor1d(v0);
    const three = fusedAdamStep(g, mq, vq, q, k);
    applyUpdates({ q }, { q: three.u });
    const p = tf.variable(tf.tensor1d(p0));
    const m = tf.tensor1d(m0), v = tf.tensor1d(v0);
    // clones share the buffer: writing over it would change them too
    const pc = tf.clone(p), mc = tf.clone(m);
    const r = fusedAdamInPlace(p, m, v, g, k);
    assert(r.m !== m && r.v === v, "a shared moment is copied, not written");
    close(await read(p), await read(q), 1e-6, "p");
    close(await read(r.m), await read(three.m), 1e-6, "m");
    close(await read(r.v), await read(three.v), 1e-6, "v");
    close(await read(pc), p0, 0, "clone of p");
    close(await read(mc), m0, 0, "clone of m");
    close(await read(m), m0, 0, "the shared m itself");
    tf.dispose([g, q, mq, vq, three.m, three.v, p, m, v, pc, mc, r.m]);
    await initBackend("cpu");
  },
});

async function threeSteps(
  backend: "cpu" | "webgpu",
  inPlace = false,
): Promise<Float32Array[]> {
  await initBackend(backend);
  const u = mulberry32(21);
  const params = {
    w: tf.variable(tf.tensor2d(randFloats(40 * 7, u), [40, 7])),
    b: tf.variable(tf.tensor1d(randFloats(7, u))),
  };
  const tx = adam(0.01, { weightDecay: 0.1 });
  let state: StateTree = tx.init(params);
  for (let step = 0; step < 3; step++) {
    const grads = {
      w: tf.tensor2d(randFloats(40 * 7, u), [40, 7]),
      b: tf.tensor1d(randFloats(7, u)),
    };
    if (inPlace) {
      assert(tx.inPlace?.() === true, "in place on webgpu");
      const next = tx.applyInPlace!(grads, state, params);
      disposeReplaced(state, next);
      disposeTree(grads);
      state = next;
      continue;
    }
    const [updates, next] = tx.update(grads, state, params);
    disposeTree(state);
    disposeTree(grads);
    state = next;
    applyUpdates(params, updates);
  }
  const s = (state as { mu: Record<string, tf.Tensor> }[])[0];
  const out = [
    (await params.w.data()) as Float32Array,
    (await params.b.data()) as Float32Array,
    (await s.mu.w.data()) as Float32Array,
  ];
  disposeTree(state);
  tf.dispose([params.w, params.b]);
  return out;
}

Deno.test({
  name:
    "adam() on webgpu (fused) = adam() on cpu (composed ops) over 3 steps with weight decay",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cpu = await threeSteps("cpu");
    const gpu = await threeSteps("webgpu");
    close(gpu[0], cpu[0], 1e-6, "w");
    close(gpu[1], cpu[1], 1e-6, "b");
    close(gpu[2], cpu[2], 1e-6, "mu.w");
    const inPlace = await threeSteps("webgpu", true);
    close(inPlace[0], cpu[0], 1e-6, "w in place");
    close(inPlace[1], cpu[1], 1e-6, "b in place");
    close(inPlace[2], cpu[2], 1e-6, "mu.w in place");
    await initBackend("cpu");
  },
});
