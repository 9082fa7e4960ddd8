// Contrastive building blocks and the CL4SRec / SRMA recipes.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { infoNCE } from "../lib/losses/infonce.ts";
import { weighted } from "../lib/losses/combine.ts";
import { keptLayers } from "../lib/nn/ffn_stack.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { trainBatches } from "../lib/data/batch.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/build.ts";
import { makeRng } from "../lib/util/rng.ts";
import { makeProgress } from "../lib/util/progress.ts";
import {
  assertGradCheck,
  assertSpecCovers,
  checkObjective,
  type GradSpec,
  joinSpecs,
  perturbParams,
  sasrecSpec,
} from "./_gradcheck.ts";
import { disposeTree } from "../lib/optim/transform.ts";
import { runTraining } from "../lib/experiment.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./_assert.ts";

await initBackend("cpu");

Deno.test("InfoNCE equals a hand computation on a 3x2 example (dot, t = 1 and t = 0.5)", () => {
  const a = [[1, 0], [0, 1], [1, 1]];
  const b = [[1, 1], [0, 2], [-1, 0]];
  const views = [...a, ...b]; // 2N = 6 views; positive of i is i +- 3
  const hand = (t: number) => {
    let sum = 0;
    for (let i = 0; i < 6; i++) {
      const p = (i + 3) % 6;
      const dot = (x: number[], y: number[]) => x[0] * y[0] + x[1] * y[1];
      let denom = 0;
      for (let j = 0; j < 6; j++) {
        if (j !== i) denom += Math.exp(dot(views[i], views[j]) / t);
      }
      sum += -(dot(views[i], views[p]) / t - Math.log(denom));
    }
    return sum / 6;
  };
  for (const t of [1, 0.5]) {
    const got =
      infoNCE(tf.tensor2d(a), tf.tensor2d(b), { temperature: t }).dataSync()[0];
    assertAlmostEquals(got, hand(t), 1e-5);
  }
});

Deno.test("InfoNCE: cosine similarity and masked extra negatives match a hand computation", () => {
  const a = [[3, 4]], b = [[4, 3]];
  const extra = [[0, 1], [1, 0]];
  // cosine: views u=(.6,.8), v=(.8,.6); extras e0=(0,1), e1=(1,0); row 0 may use e0 only, row 1 e1 only
  const u = [0.6, 0.8], v = [0.8, 0.6];
  const dot = (x: number[], y: number[]) => x[0] * y[0] + x[1] * y[1];
  const row = (x: number[], y: number[], e: number[]) =>
    -(dot(x, y) - Math.log(Math.exp(dot(x, y)) + Math.exp(dot(x, e))));
  const hand = (row(u, v, extra[0]) + row(v, u, extra[1])) / 2;
  const got = infoNCE(tf.tensor2d(a), tf.tensor2d(b), {
    similarity: "cosine",
    extraNegatives: tf.tensor2d(extra),
    extraMask: tf.tensor2d([[1, 0], [0, 1]]),
  }).dataSync()[0];
  assertAlmostEquals(got, hand, 1e-5);
});

Deno.test("weighted: total is the weighted sum; every term is reported", () => {
  const out = weighted({
    rec: [1, tf.scalar(2)],
    cl: [0.5, tf.scalar(3)],
    off: [0, tf.scalar(100)],
  });
  assertAlmostEquals(out.total.dataSync()[0], 3.5, 1e-6);
  assertEquals(Object.keys(out.terms).sort(), ["cl", "off", "rec"]);
});

Deno.test("layer dropping keeps exactly K - M distinct layers, each layer dropped sometimes", () => {
  const rng = makeRng(4);
  for (const [K, M] of [[2, 1], [4, 1], [4, 3], [3, 0]]) {
    const dropped = new Array(K).fill(0);
    for (let i = 0; i < 200; i++) {
      const keep = keptLayers(K, M, rng);
      assertEquals(keep.length, K - M);
      assertEquals(new Set(keep).size, K - M);
      assert(
        keep.every((k, j) => k >= 0 && k < K && (j === 0 || keep[j - 1] < k)),
      );
      for (let k = 0; k < K; k++) if (!keep.includes(k)) dropped[k]++;
    }
    if (M > 0) {
      assert(
        dropped.every((c) => c > 0),
        `K=${K} M=${M}: some layer never dropped`,
      );
    }
  }
  assertThrows(() => keptLayers(2, 2, rng), RangeError, "M < K");
});

Deno.test("SRMA: the complement encoder is frozen; the encoder and the extra layers train", async () => {
  const ds = synthetic({ seed: 2, numUsers: 120, numItems: 60 });
  const split = leaveOneOut(ds, { maxLen: 10 });
  const cfg = makeConfig({
    method: "srma",
    hidden: 16,
    heads: 2,
    maxLen: 10,
    batchSize: 64,
    complement: "gru",
    complementEpochs: 1,
    augment: "crop,mask,reorder,insert,substitute",
  });
  const rng = makeRng(0);
  const model = buildModel(cfg, split, rng);
  await model.prepare!(split, rng, makeProgress({ enabled: false }));
  const snap = (prefix: string) =>
    Object.fromEntries(
      Object.entries(model.params).filter(([k]) => k.startsWith(prefix)).map((
        [k, v],
      ) => [k, Array.from(v.dataSync())]),
    );
  const comp0 = snap("comp/"), enc0 = snap("enc."), drop0 = snap("drop.");
  assert(Object.keys(comp0).length > 0 && Object.keys(drop0).length > 0);
  for (const b of trainBatches(split, { batchSize: 64, rng })) {
    await model.step(b, { rng, epoch: 1, split });
  }
  assertEquals(snap("comp/"), comp0);
  assert(
    JSON.stringify(snap("enc.")) !== JSON.stringify(enc0),
    "encoder did not change",
  );
  assert(
    JSON.stringify(snap("drop.")) !== JSON.stringify(drop0),
    "extra FFN layers did not change",
  );
  model.dispose();
});

/** The tensors of SRMA's `K` extra FFN layers (layer dropping). */
function dropSpec(K: number): GradSpec {
  const nonZero: string[] = [];
  for (let k = 0; k < K; k++) {
    for (const t of ["ffn1.w", "ffn1.b", "ffn2.w", "ffn2.b", "ln.g", "ln.b"]) {
      nonZero.push(`drop.${k}.${t}`);
    }
  }
  return { nonZero };
}

Deno.test("SRMA's combined objective passes a finite-difference gradient check (dropout, neuron mask, extra layers, complement on); every encoder and extra-layer tensor gets a gradient, the complement none", async () => {
  const ds = synthetic({ seed: 5, numUsers: 40, numItems: 40, maxLen: 20 });
  const split = leaveOneOut(ds, { maxLen: 6 });
  const cfg = makeConfig({
    method: "srma",
    hidden: 8,
    heads: 2,
    layers: 1,
    maxLen: 6,
    dropout: 0.3,
    attnDropout: 0.3,
    neuronMask: 0.3,
    // Both extra layers in both views, and not in the next-item branch: each
    // must receive its gradient through the views alone. (With dropM 1 the
    // layer a view keeps is a draw, so which layers receive one would be
    // too; dropping only picks a subset of these same layers.)
    dropK: 2,
    dropM: 0,
    dropAtEval: false,
    complement: "transformer",
    complementGamma: 0.5,
    clWeight: 0.7,
    batchSize: 8,
  });
  const rng = makeRng(3);
  const model = buildModel(cfg, split, rng);
  perturbParams(model.params);
  const batch = trainBatches(split, { batchSize: 8, rng })[0];
  const prepared = model.prepareBatch!(batch, {
    rng: makeRng(1),
    epoch: 1,
    split,
  });
  const spec = joinSpecs(sasrecSpec(1), dropSpec(2));
  assertSpecCovers(spec, model.trainable!);
  // The complement encoder is frozen: not among the trainable tensors.
  assert(Object.keys(model.params).some((n) => n.startsWith("comp/")));
  const report = await checkObjective(
    model.objective!,
    model.params,
    prepared,
    spec,
  );
  assertGradCheck(report, "SRMA");
  disposeTree(report.grads);
  model.dispose();
});

Deno.test("CL4SRec's objective passes a finite-difference gradient check; every encoder tensor gets a gradient", async () => {
  const ds = synthetic({ seed: 6, numUsers: 40, numItems: 40, maxLen: 20 });
  const split = leaveOneOut(ds, { maxLen: 6 });
  const cfg = makeConfig({
    method: "cl4srec",
    hidden: 8,
    heads: 2,
    layers: 2,
    maxLen: 6,
    dropout: 0.3,
    attnDropout: 0.3,
    clWeight: 0.7,
    batchSize: 8,
  });
  const rng = makeRng(4);
  const model = buildModel(cfg, split, rng);
  perturbParams(model.params);
  const batch = trainBatches(split, { batchSize: 8, rng })[0];
  const prepared = model.prepareBatch!(batch, {
    rng: makeRng(1),
    epoch: 1,
    split,
  });
  const spec = sasrecSpec(2);
  assertSpecCovers(spec, model.trainable!);
  const report = await checkObjective(
    model.objective!,
    model.params,
    prepared,
    spec,
  );
  assertGradCheck(report, "CL4SRec");
  disposeTree(report.grads);
  model.dispose();
});

Deno.test("CL4SRec and SRMA beat SASRec on sparse synthetic data in a short run (wasm)", async () => {
  // Sparse data from the embedded generator (300 users, 500 items, 30% noise):
  // where contrastive regularisation pays. On the dense default data
  // (3,000 users, 600 items) the three are within noise of each other.
  const wasm = await initBackend("wasm");
  try {
    const methods = ["sasrec", "cl4srec", "srma"] as const;
    const mean: Record<string, number> = { sasrec: 0, cl4srec: 0, srma: 0 };
    const seeds = [1, 2];
    for (const seed of seeds) {
      const dataset = synthetic({
        seed,
        numUsers: 300,
        numItems: 500,
        noise: 0.3,
        maxLen: 30,
      });
      for (const method of methods) {
        const cfg = makeConfig({
          method,
          seed,
          batchSize: 64,
          epochs: 8,
          evalEvery: 4,
          patience: 100,
          ...(method === "srma"
            ? { complement: "transformer", complementEpochs: 2 }
            : {}),
        });
        const r = await runTraining(cfg, wasm, { dataset });
        mean[method] += r.test!.all["NDCG@20"] / seeds.length;
      }
    }
    const msg = `test NDCG@20 (mean of 2 seeds): ${JSON.stringify(mean)}`;
    console.log(`  ${msg}`);
    assert(mean.cl4srec > 1.2 * mean.sasrec, msg);
    assert(mean.srma > 1.2 * mean.sasrec, msg);
  } finally {
    await initBackend("cpu");
  }
});
