// The fused Adam kernel (webgpu; lavapipe here) against the f32 TypeScript
// reference, and adam() on webgpu (fused) against adam() on cpu (the
// composed tfjs ops) over three steps with weight decay: same moments,
// updates and parameters within float rounding.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import {
  adamReference,
  fusedAdamAvailable,
  fusedAdamStep,
} from "../lib/backend/adam_kernel.ts";
import { adam, applyUpdates, disposeTree } from "../lib/optim/transform.ts";
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

async function threeSteps(
  backend: "cpu" | "webgpu",
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
    await initBackend("cpu");
  },
});
