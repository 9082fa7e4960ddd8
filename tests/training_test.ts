// End-to-end training behaviour on the embedded synthetic data (wasm):
// the model learns the planted structure, same seed gives the same numbers,
// and an interrupted run resumed from its checkpoint ends where an unbroken
// run ends.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/build.ts";
import { runTraining } from "../lib/experiment.ts";
import { metricsFromRanks } from "../lib/eval/metrics.ts";
import { popularityRanks } from "../lib/eval/popular.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
} from "./_assert.ts";
import { fit } from "../lib/training/fit.ts";
import { makeRng } from "../lib/util/rng.ts";
import { DivergedLossError, NonFiniteLossError } from "../lib/util/errors.ts";
import { loadCheckpoint } from "../lib/training/checkpoint.ts";

const backend = await initBackend("wasm");
const dataset = synthetic({
  seed: 3,
  numUsers: 500,
  numItems: 120,
  numIntents: 6,
});
const base = makeConfig({
  backend: "wasm",
  hidden: 32,
  heads: 2,
  layers: 2,
  dropout: 0.2,
  attnDropout: 0.2,
  lr: 3e-3,
  batchSize: 128,
  epochs: 3,
  patience: 50,
  maxLen: 20,
  seed: 11,
});

Deno.test("SASRec learns the planted structure: test HR@10 far above most-popular", async () => {
  const cfg = makeConfig({ epochs: 8 }, { base });
  const report = await runTraining(cfg, backend, { dataset });
  const split = leaveOneOut(dataset, { maxLen: cfg.maxLen });
  const pop = metricsFromRanks(popularityRanks(split, "test"));
  const hr = report.test!.all["HR@10"];
  console.log(
    `  SASRec test HR@10 ${hr.toFixed(4)} vs most-popular ${
      pop["HR@10"].toFixed(4)
    }`,
  );
  assert(
    hr > 2 * pop["HR@10"],
    `HR@10 ${hr} is not twice most-popular's ${pop["HR@10"]}`,
  );
  assert(
    hr > pop["HR@10"] + 0.15,
    `HR@10 ${hr} is not 0.15 above most-popular's ${pop["HR@10"]}`,
  );
});

Deno.test("same seed, same backend, same data -> same numbers; another seed differs", async () => {
  const a = await runTraining(base, backend, { dataset });
  const b = await runTraining(base, backend, { dataset });
  assertEquals(a.epochs.map((e) => e.loss), b.epochs.map((e) => e.loss));
  assertEquals(a.test, b.test);
  const c = await runTraining(makeConfig({ seed: 12 }, { base }), backend, {
    dataset,
  });
  assert(
    c.epochs[0].loss.total !== a.epochs[0].loss.total,
    "a different seed gave the same loss",
  );
});

Deno.test("resume after an interruption ends with the same metrics as an unbroken run", async () => {
  const dirA = await Deno.makeTempDir();
  const dirB = await Deno.makeTempDir();
  try {
    const unbroken = await runTraining(base, backend, {
      dataset,
      outDir: dirA,
    });
    const cut = await runTraining(base, backend, {
      dataset,
      outDir: dirB,
      stopAfterEpochs: 1,
    });
    assertEquals(cut.finished, false);
    assertEquals(cut.epochs.length, 1);
    const carried = ((await loadCheckpoint(`${dirB}/last.ckpt`)).meta as {
      loop: { priorWallSeconds: number };
    }).loop.priorWallSeconds;
    const resumed = await runTraining(base, backend, {
      dataset,
      outDir: dirB,
      resume: true,
    });
    assertEquals(resumed.finished, true);
    assertEquals(
      resumed.epochs.map((e) => e.loss),
      unbroken.epochs.map((e) => e.loss),
    );
    assertEquals(resumed.test, unbroken.test);
    assertEquals(resumed.bestEpoch, unbroken.bestEpoch);
    // Bookkeeping, not speed: the whole run's wall time is this process's
    // plus what the checkpoint carried over from the interrupted one, which
    // spans that process's epoch and ends before the process did.
    assertAlmostEquals(
      resumed.totalWallSeconds - resumed.wallSeconds,
      carried,
      1e-9,
    );
    assert(carried >= cut.epochs[0].trainSeconds, `carried ${carried}`);
    assert(carried <= cut.totalWallSeconds, `carried ${carried}`);
    assertAlmostEquals(unbroken.totalWallSeconds, unbroken.wallSeconds, 1e-9);
    // Nothing half-written is left behind.
    for await (const f of Deno.readDir(dirB)) {
      assert(!f.name.includes(".tmp-"), `leftover ${f.name}`);
    }
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

Deno.test("a NaN loss stops training through the real stepper, naming the epoch, the batch and the term; no checkpoint holds a non-finite weight", async () => {
  const split = leaveOneOut(dataset, { maxLen: base.maxLen });
  const cfg = makeConfig({ batchSize: 64, epochs: 2 }, { base });
  const rng = makeRng(0);
  const model = buildModel(cfg, split, rng);
  const batchesPerEpoch = Math.ceil(
    split.train.filter((t) => t.length >= 2).length / 64,
  );
  assert(batchesPerEpoch >= 3, `${batchesPerEpoch} batches per epoch`);
  // Before the second epoch's third batch, one weight of the real model
  // becomes NaN; the real step then computes a NaN next-item loss. The
  // stepper must refuse the update and fit must say where it happened.
  const realStep = model.step;
  let calls = 0;
  let before: Map<string, Float32Array> | undefined;
  const emb = model.params["item_emb"];
  model.step = (batch, ctx) => {
    calls++;
    if (calls === batchesPerEpoch + 3) {
      assertEquals(ctx.epoch, 2);
      const v = emb.dataSync().slice();
      v[emb.shape[1]! + 1] = NaN; // item 1, second coordinate
      emb.assign(tf.tensor(v, emb.shape));
      before = new Map(
        Object.entries(model.params).map((
          [k, p],
        ) => [k, p.dataSync().slice() as Float32Array]),
      );
    }
    return realStep(batch, ctx);
  };
  const dir = await Deno.makeTempDir();
  try {
    const err = await assertRejects(
      () => fit(model, split, cfg, rng, { outDir: dir }),
      NonFiniteLossError,
      "at epoch 2, batch 3:",
    );
    assert(err.message.startsWith("loss 'rec' is NaN"), err.message);
    assertEquals(err.message.split("\n").length, 1);
    assertEquals(calls, batchesPerEpoch + 3, "training went on");
    // The failing step changed no weight (the poisoned one stays poisoned).
    for (const [k, p] of Object.entries(model.params)) {
      assertEquals(p.dataSync(), before!.get(k), `${k} was updated`);
    }
    // Epoch 1's checkpoints are there, intact and finite; nothing half-written.
    const names: string[] = [];
    for await (const f of Deno.readDir(dir)) names.push(f.name);
    assertEquals(names.sort(), ["best.ckpt", "last.ckpt", "test_ranks.json"]);
    for (const n of names.filter((f) => f.endsWith(".ckpt"))) {
      const ck = await loadCheckpoint(`${dir}/${n}`);
      assertEquals(
        (ck.meta as { epoch?: number; loop?: { epoch: number } })
          .epoch ?? (ck.meta as { loop: { epoch: number } }).loop.epoch,
        1,
      );
      assert("p/item_emb" in ck.tensors, `${n}: no item_emb`);
      for (const [k, t] of Object.entries(ck.tensors)) {
        const bad = Array.from(t.values).findIndex((x) => !Number.isFinite(x));
        assert(bad < 0, `${n}: ${k}[${bad}] is ${t.values[bad]}`);
      }
    }
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a finite loss that grows past 100 x the first batch's stops training, naming where", async () => {
  const split = leaveOneOut(dataset, { maxLen: base.maxLen });
  const cfg = makeConfig({ batchSize: 64, epochs: 3 }, { base });
  const rng = makeRng(0);
  const model = buildModel(cfg, split, rng);
  const batchesPerEpoch = Math.ceil(
    split.train.filter((t) => t.length >= 2).length / 64,
  );
  const realStep = model.step;
  let calls = 0, first = 0;
  // Epoch 2's first batch reports 50 x the first loss (tolerated), its
  // second 150 x (a divergence).
  model.step = async (batch, ctx) => {
    const terms = await realStep(batch, ctx);
    calls++;
    if (calls === 1) first = terms.total;
    const k = calls - batchesPerEpoch;
    if (k === 1) return { ...terms, total: 50 * first };
    if (k === 2) return { ...terms, total: 150 * first };
    return terms;
  };
  try {
    const err = await assertRejects(
      () => fit(model, split, cfg, rng),
      DivergedLossError,
      "at epoch 2, batch 2, more than 100 x the first batch's",
    ) as DivergedLossError;
    assertAlmostEquals(err.first, first, 1e-6);
    assertAlmostEquals(err.value, 150 * first, 1e-3);
  } finally {
    model.dispose();
  }
});
