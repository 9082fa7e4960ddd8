// The S4Rec recipe: its loss terms, where gradients go (prototypes learn
// from L_clust only; the view part's intents are detached), the K-means
// variant, resume, and intent recovery on the synthetic default.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { trainBatches } from "../lib/data/batch.ts";
import { configFor, makeConfig } from "../lib/config/resolve.ts";
import type { TrainConfig } from "../lib/training/config.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { fit } from "../lib/training/fit.ts";
import { loadDataset } from "../lib/experiment.ts";
import { headTailAdversary, s4rec } from "../lib/methods/s4rec.ts";
import { buildModel } from "../lib/methods/mod.ts";
import { disposeTree } from "../lib/optim/transform.ts";
import {
  assertGradCheck,
  assertSpecCovers,
  checkObjective,
  joinSpecs,
  perturbParams,
  sasrecSpec,
  termGradientNorms,
} from "./_gradcheck.ts";
import { clusterReport, hasClusters, nmi } from "../lib/eval/cluster_report.ts";
import { makeRng, shuffle } from "../lib/util/rng.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

await initBackend("wasm");

const SMALL = {
  method: "s4rec",
  hidden: 16,
  heads: 2,
  layers: 1,
  maxLen: 12,
  batchSize: 64,
  clusters: 8,
  augment: "mask,crop,reorder,insert",
};
const small = leaveOneOut(synthetic({ numUsers: 200, numItems: 80 }), {
  maxLen: 12,
});

function firstBatch(cfg: TrainConfig) {
  return trainBatches(small, {
    batchSize: cfg.batchSize,
    rng: makeRng(1),
    maxLen: cfg.maxLen,
  })[0];
}

Deno.test("s4rec: a step reports rec, clust, adv, cl, ckd (all finite) in both clusterings; registered as a method", async () => {
  for (const clustering of ["online", "kmeans"] as const) {
    const cfg = makeConfig({ ...SMALL, clustering });
    const rng = makeRng(0);
    const model = buildModel(cfg, small, rng);
    try {
      assert(hasClusters(model));
      assertEquals(
        "s4rec.prototypes" in model.params,
        clustering === "online",
      );
      const terms = await model.step(firstBatch(cfg), {
        rng,
        epoch: 1,
        split: small,
      });
      assertEquals(
        Object.keys(terms).sort(),
        ["adv", "ckd", "cl", "clust", "rec", "total"],
      );
      for (const v of Object.values(terms)) assert(Number.isFinite(v));
    } finally {
      model.dispose();
    }
  }
  // S4Rec contrasts last positions only: clEmbedding is not one of its keys.
  assertThrows(
    () => configFor(s4rec, { ...SMALL, clEmbedding: "flatten" }),
    ConfigError,
    "'clEmbedding': not a key of method 's4rec' (it belongs to cl4srec, srma, mclrec)",
  );
});

// A tiny S4Rec whose every term has a weight of its own (lambda != 1, so
// the gradient reversal's accounting below is tested with its weight).
// tau1 = 0.5, not 0.1: at 0.1 L_clust's curvature makes a central
// difference with step 1e-2 off by 7% (5.82 against 5.46 along item_emb's
// gradient; 5.46 again with step 1e-3).
const TINY = {
  method: "s4rec",
  hidden: 8,
  heads: 2,
  layers: 1,
  maxLen: 6,
  batchSize: 8,
  clusters: 4,
  dropout: 0.3,
  attnDropout: 0.3,
  clusterWeight: 0.5,
  clusterTemperature: 0.5,
  clWeight: 0.7,
  distillWeight: 0.6,
  advWeight: 0.8,
  clTemperature: 0.5,
  augment: "mask,crop,reorder,insert",
};
const tinySplit = leaveOneOut(
  synthetic({ seed: 5, numUsers: 40, numItems: 40, maxLen: 20 }),
  { maxLen: 6 },
);
const TERMS = ["rec", "clust", "adv", "cl", "ckd"];
const ADV_TENSORS = ["s4rec.adv.w", "s4rec.adv.b"];

/** A tiny S4Rec with moved weights, its intents set, and a prepared batch. */
async function tinyS4rec(clustering: "online" | "kmeans") {
  const cfg = configFor(s4rec, { ...TINY, clustering });
  const rng = makeRng(3);
  const model = s4rec.build(cfg, tinySplit, rng);
  perturbParams(model.params);
  await model.onEpochStart?.(1, tinySplit, makeRng(4)); // K-means intents
  const batch = model.prepareBatch!(
    trainBatches(tinySplit, { batchSize: 8, rng })[0],
    { rng: makeRng(1), epoch: 1, split: tinySplit },
  );
  return { cfg, model, batch };
}

Deno.test("s4rec: where each named term's gradient goes: prototypes learn from L_clust only (the views' intents and teacher are detached), the classifier from L_adv only, the encoder from every term", async () => {
  const { model, batch } = await tinyS4rec("online");
  try {
    const names = [
      "item_emb",
      "enc.0.ffn2.w",
      "s4rec.prototypes",
      ...ADV_TENSORS,
    ];
    const norms = await termGradientNorms(
      model.objective!,
      model.params,
      batch,
      TERMS,
      names,
    );
    for (const term of TERMS) {
      const g = norms[term];
      const what = `${term}: ${JSON.stringify(g)}`;
      // the encoder learns from every term (from L_adv through the reversal)
      assert(g["item_emb"] > 1e-4 && g["enc.0.ffn2.w"] > 1e-4, what);
      if (term === "clust") assert(g["s4rec.prototypes"] > 1e-4, what);
      else assertEquals(g["s4rec.prototypes"], 0, what);
      for (const n of ADV_TENSORS) {
        if (term === "adv") assert(g[n] > 1e-4, what);
        else assertEquals(g[n], 0, what);
      }
    }
  } finally {
    model.dispose();
  }
});

for (const clustering of ["online", "kmeans"] as const) {
  Deno.test(`s4rec (${clustering}): the combined objective, every term on, passes a finite-difference gradient check with the gradient reversal accounted for`, async () => {
    const { cfg, model, batch } = await tinyS4rec(clustering);
    try {
      const spec = joinSpecs(sasrecSpec(1), {
        nonZero: [
          ...(clustering === "online" ? ["s4rec.prototypes"] : []),
          ...ADV_TENSORS,
        ],
      });
      assertSpecCovers(spec, model.trainable!);
      const lambda = cfg.advWeight;
      const report = await checkObjective(
        model.objective!,
        model.params,
        batch,
        spec,
        {
          // The reversal layer sits between z and the classifier: the
          // classifier descends lambda L_adv, everything before it ascends
          // it. So the gradient of a tensor before it is the slope of
          // L - 2 lambda L_adv (= the other terms - lambda L_adv); the
          // classifier's is the slope of L. What the objective detaches
          // (Sinkhorn's codes, intents, teacher, scale) is held; the test
          // above checks where each term's gradient goes.
          holdDetached: true,
          slopeOf: (name, total, terms) =>
            ADV_TENSORS.includes(name) ? total : total - 2 * lambda * terms.adv,
        },
      );
      assertGradCheck(report, `S4Rec ${clustering}`);
      disposeTree(report.grads);
    } finally {
      model.dispose();
    }
  });
}

Deno.test("s4rec kmeans: onEpochStart sets K unit intents; clusters are deterministic; resume equals an uninterrupted run", async () => {
  const cfg = makeConfig({ ...SMALL, clustering: "kmeans", epochs: 2 });
  const model = s4rec.build(configFor(s4rec, cfg), small, makeRng(0));
  try {
    assertEquals(model.intents(), undefined);
    await model.onEpochStart!(1, small, makeRng(5));
    const mu = model.intents()!;
    assertEquals(mu.shape, [8, 16]);
    const norms = tf.norm(mu, "euclidean", 1).dataSync();
    for (const v of norms) assert(Math.abs(v - 1) < 1e-5);
    mu.dispose();
    const a = await model.clusters.cluster(small.train);
    const b = await model.clusters.cluster(small.train);
    assertEquals(Array.from(a), Array.from(b));
  } finally {
    model.dispose();
  }
  const dir = await Deno.makeTempDir();
  try {
    const run = async (stop?: number, resume = false) => {
      const m = s4rec.build(configFor(s4rec, cfg), small, makeRng(cfg.seed));
      const res = await fit(m, small, cfg, makeRng(cfg.seed), {
        outDir: dir,
        resume,
        stopAfterEpochs: stop,
      });
      const emb = m.params["item_emb"].dataSync().slice();
      m.dispose();
      return { res, emb };
    };
    const straight = await run();
    // the K-means time is recorded, as a part of each epoch's training time
    for (const r of straight.res.history) {
      assert(r.epochStartSeconds !== undefined, "no epochStartSeconds");
      assert(r.epochStartSeconds >= 0);
      assert(r.epochStartSeconds <= r.trainSeconds);
    }
    await Deno.remove(`${dir}/last.ckpt`);
    await run(1);
    const resumed = await run(undefined, true);
    assertEquals(resumed.res.lastEpoch, 2);
    assertEquals(Array.from(resumed.emb), Array.from(straight.emb));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("s4rec on the synthetic default: clusters recover the planted intents far above chance", async () => {
  // Threshold. With K = 16 clusters, 8 intents and n = 3000 users, shuffling
  // the cluster ids across users gives NMI ~ (K-1)(C-1) / (n (H_K + H_C))
  // ~ 0.007 with a spread of ~0.002 (measured below over 20 shuffles).
  // Clusters that each held one intent would score ~0.85; users mix a second
  // intent and 10% noise, so a model only partly trained reaches far less.
  // We ask for NMI >= 0.1: more than 40 spreads above the best shuffle, and
  // at least 10x the mean shuffle. Observed after 6 epochs: 0.3 to 0.4.
  const cfg = makeConfig({
    method: "s4rec",
    hidden: 32,
    maxLen: 20,
    batchSize: 128,
    lr: 2e-3,
    dropout: 0.3,
    attnDropout: 0.3,
    clusters: 16,
    epochs: 6,
    evalEvery: 100,
    augment: "mask,crop,reorder,insert",
  });
  // the CLI's synthetic default: 3000 users, 600 items, 8 intents
  const split = leaveOneOut(await loadDataset(cfg), { maxLen: cfg.maxLen });
  const rng = makeRng(cfg.seed);
  const model = s4rec.build(configFor(s4rec, cfg), split, rng);
  try {
    await fit(model, split, cfg, rng);
    const report = await clusterReport(model.clusters, split);
    const assign = await model.clusters.cluster(split.train);
    const shuffles = Array.from({ length: 20 }, (_, i) =>
      nmi(
        Int32Array.from(shuffle(Array.from(assign), makeRng(100 + i))),
        split.intents!,
      ));
    const chanceMax = Math.max(...shuffles);
    const chanceMean = shuffles.reduce((a, b) => a + b, 0) / shuffles.length;
    console.log(
      `NMI ${report.nmi!.toFixed(3)} (chance: mean ${
        chanceMean.toFixed(4)
      }, max ${
        chanceMax.toFixed(4)
      }), ${report.nonEmpty}/16 clusters used, head rate quartiles ${
        JSON.stringify(report.headRateQuartiles)
      }`,
    );
    assert(report.nmi! >= 0.1, `NMI ${report.nmi}`);
    assert(
      report.nmi! >= 10 * chanceMean,
      `NMI ${report.nmi} vs ${chanceMean}`,
    );
    assert(report.nmi! > chanceMax + 0.05);
    assertEquals(report.clusterSizes.reduce((a, b) => a + b, 0), 3000);
  } finally {
    model.dispose();
  }
});

Deno.test("s4rec adversary: reversed gradient equals minus the finite-difference slope (raw); on unit input it is scale-free and orthogonal to z", () => {
  const rng = makeRng(5);
  const g = () => (rng.next() - 0.5) * 2;
  const p = {
    "s4rec.adv.w": tf.variable(tf.tensor2d([[g(), g()], [g(), g()], [
      g(),
      g(),
    ]])),
    "s4rec.adv.b": tf.variable(tf.tensor1d([g(), g()])),
  };
  const zs = [[0.3, -1.2, 0.8], [1.5, 0.4, -0.7]];
  const labels = tf.tensor1d([1, 0], "int32");
  for (const input of ["raw", "unit"] as const) {
    const f = (z: tf.Tensor2D) => headTailAdversary(p, z, labels, { input });
    const z0 = tf.tensor2d(zs);
    const grad = tf.grad((z: tf.Tensor) => f(z as tf.Tensor2D))(z0)
      .arraySync() as number[][];
    const h = 1e-2;
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const plus = zs.map((r) => r.slice()), minus = zs.map((r) => r.slice());
        plus[i][j] += h;
        minus[i][j] -= h;
        const slope = (f(tf.tensor2d(plus)).dataSync()[0] -
          f(tf.tensor2d(minus)).dataSync()[0]) / (2 * h);
        // gradient reversal: the gradient is exactly minus the loss's slope
        assert(
          Math.abs(grad[i][j] + slope) < 2e-3,
          `${input} [${i},${j}]: grad ${grad[i][j]} vs -slope ${-slope}`,
        );
      }
    }
    if (input === "unit") {
      for (let i = 0; i < 2; i++) {
        const dot = grad[i].reduce((s, v, j) => s + v * zs[i][j], 0);
        assert(Math.abs(dot) < 1e-5, `gradient not orthogonal to z: ${dot}`);
      }
      const scaled = f(tf.mul(z0, 3) as tf.Tensor2D).dataSync()[0];
      assert(Math.abs(scaled - f(z0).dataSync()[0]) < 1e-5);
    } else {
      const scaled = f(tf.mul(z0, 3) as tf.Tensor2D).dataSync()[0];
      assert(Math.abs(scaled - f(z0).dataSync()[0]) > 1e-3);
    }
  }
});
