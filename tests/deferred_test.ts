// Deferred loss read-back (webgpu; lavapipe here): steps queue their terms
// on the device with no read-back, the terms read later equal the ones a
// reading step returns, and after a non-finite loss the device-side gate
// leaves the weights and the optimiser state as they were before it.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import {
  counterDelta,
  installCounters,
  snapshotCounters,
} from "../lib/backend/counters.ts";
import { DeferredTerms } from "../lib/optim/deferred.ts";
import { jointStepper } from "../lib/optim/stepper.ts";
import { adam, disposeTree, type StateTree } from "../lib/optim/transform.ts";
import type { Params } from "../lib/nn/params.ts";
import { makeRng } from "../lib/util/rng.ts";
import { assert, assertEquals } from "./_assert.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log(
    "SKIPPED: no WebGPU adapter; the deferred read-back tests did not run",
  );
}

// loss = sum((w - batch)^2), with a named term; batch NaN poisons it.
const loss = (p: Params, batch: number) => {
  const sq = tf.sum(tf.square(tf.sub(p.w, batch))) as tf.Scalar;
  return { total: sq, terms: { sq } };
};

async function run(
  batches: number[],
  deferred: boolean,
): Promise<
  {
    w: Float32Array;
    mu: Float32Array;
    terms: Record<string, number>[];
    reads: number;
  }
> {
  const params: Params = { w: tf.variable(tf.tensor1d([1, -2, 3])) };
  const s = jointStepper(loss, adam(0.1), ["w"]);
  let st: StateTree = s.init(params);
  const q = deferred ? new DeferredTerms() : undefined;
  const terms: Record<string, number>[] = [];
  installCounters();
  const c0 = snapshotCounters();
  for (let i = 0; i < batches.length; i++) {
    q?.beginStep(i + 1);
    const r = await s.step(params, st, batches[i], makeRng(i), q);
    st = r.optState;
    if (!q) terms.push(r.terms);
  }
  const reads = counterDelta(c0, snapshotCounters()).readbacks;
  if (q) { for (const r of await q.flush()) terms.push(r.terms); }
  const mu = (st as { mu: Record<string, tf.Tensor> }[])[0].mu.w;
  const out = {
    w: (await params.w.data()) as Float32Array,
    mu: (await mu.data()) as Float32Array,
    terms,
    reads,
  };
  disposeTree(st);
  params.w.dispose();
  q?.dispose();
  return out;
}

Deno.test({
  name:
    "deferred steps on webgpu: no read-back in the steps, the same terms and weights as reading steps",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("webgpu");
    const batches = [0.5, 1, 1.5, 2];
    const eager = await run(batches, false);
    const lazy = await run(batches, true);
    assertEquals(lazy.reads, 0, "read-backs while stepping");
    assert(eager.reads === 4, `a reading step reads once (${eager.reads})`);
    assertEquals(lazy.w, eager.w);
    assertEquals(lazy.terms, eager.terms);
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "deferred steps on webgpu: a NaN loss closes the gate; weights and moments stay as before it",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("webgpu");
    const before = await run([0.5], true);
    const after = await run([0.5, NaN, 1, 2], true);
    // steps 2-4 changed nothing: the gate closed at step 2 and stays closed
    assertEquals(after.w, before.w);
    assertEquals(after.mu, before.mu);
    assert(Number.isNaN(after.terms[1].total), "step 2 reads NaN");
    assert(Number.isFinite(after.terms[2].total), "step 3's loss is finite");
    await initBackend("cpu");
  },
});
