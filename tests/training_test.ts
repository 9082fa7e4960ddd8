// End-to-end training behaviour on the embedded synthetic data (wasm):
// the model learns the planted structure, same seed gives the same numbers,
// and an interrupted run resumed from its checkpoint ends where an unbroken
// run ends.
import { initBackend } from "../lib/backend/init.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { makeConfig } from "../lib/training/config.ts";
import { runTraining } from "../lib/experiment.ts";
import { metricsFromRanks } from "../lib/eval/metrics.ts";
import { popularityRanks } from "../lib/eval/popular.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertRejects,
} from "./_assert.ts";
import { sasrec } from "../lib/methods/sasrec.ts";
import { fit } from "../lib/training/fit.ts";
import { makeRng } from "../lib/util/rng.ts";
import { NonFiniteLossError } from "../lib/util/errors.ts";

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
    // the whole run's wall time counts the interrupted process too
    assert(resumed.totalWallSeconds > resumed.wallSeconds);
    assert(
      resumed.totalWallSeconds >=
        resumed.wallSeconds + cut.epochs[0].trainSeconds,
    );
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

Deno.test("a NaN loss stops training with a message naming the epoch, the batch and the term", async () => {
  const split = leaveOneOut(dataset, { maxLen: base.maxLen });
  const cfg = makeConfig({ batchSize: 64, epochs: 2 }, { base });
  const rng = makeRng(0);
  const model = sasrec(cfg, split, rng);
  const batchesPerEpoch = Math.ceil(
    split.train.filter((t) => t.length >= 2).length / 64,
  );
  const realStep = model.step;
  let calls = 0;
  // The second epoch's third batch gets a poisoned loss; the stepper's own
  // check throws before any update, and fit adds where it happened.
  model.step = (batch, ctx) => {
    calls++;
    if (ctx.epoch === 2 && calls > batchesPerEpoch + 2) {
      return Promise.reject(new NonFiniteLossError(0, 0, "rec", NaN));
    }
    return realStep(batch, ctx);
  };
  const dir = await Deno.makeTempDir();
  try {
    const err = await assertRejects(
      () => fit(model, split, cfg, rng, { outDir: dir }),
      NonFiniteLossError,
      "epoch 2, batch 3",
    );
    assert(
      err.message.includes("'rec'") && err.message.includes("NaN"),
      err.message,
    );
    // The last checkpoint is epoch 1's, intact.
    const names = [];
    for await (const f of Deno.readDir(dir)) names.push(f.name);
    assert(
      !names.some((n) => n.includes(".tmp-")),
      `leftover temp file: ${names}`,
    );
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
