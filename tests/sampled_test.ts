/**
 * The sampled-softmax regime (`loss: sampled`): the loss and its log-Q
 * correction against hand-computed values, its gradient against finite
 * differences (tests/_gradcheck.ts), its keys (applying to it only), and
 * that SASRec trained with it learns the synthetic data's planted
 * structure.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import {
  drawNegatives,
  itemProposal,
  sampledSoftmax,
  type SharedNegatives,
} from "../lib/losses/sampled.ts";
import { initSasrec } from "../lib/nn/sasrec.ts";
import type { Params } from "../lib/nn/params.ts";
import { makeRng } from "../lib/util/rng.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { runTraining } from "../lib/experiment.ts";
import { metricsFromRanks } from "../lib/eval/metrics.ts";
import { popularityRanks } from "../lib/eval/popular.ts";
import { disposeTree } from "../lib/optim/mod.ts";
import {
  assertGradCheck,
  assertSpecCovers,
  checkObjective,
  perturbParams,
  sasrecSpec,
} from "./_gradcheck.ts";
import { assert, assertAlmostEquals, assertEquals } from "./_assert.ts";

const backend = await initBackend("wasm");

// Items 1, 2, 3 at (1, 0), (0, 1), (1, 1) (row 0 padding, row 4 the mask
// token); two positions: h = (2, 0) with target 1, h = (0, 1) with target 3.
const EMB = [[0, 0], [1, 0], [0, 1], [1, 1], [9, 9]];
const HIDDEN = [[[2, 0], [0, 1]]];
const TARGETS = Int32Array.of(1, 3);

function loss(negatives: SharedNegatives): number {
  return tf.tidy(() =>
    sampledSoftmax(
      tf.tensor3d(HIDDEN),
      tf.tensor2d(EMB),
      TARGETS,
      negatives,
    ).dataSync()[0]
  );
}

Deno.test("sampled softmax with popularity negatives: the log-Q corrected loss, hand-computed", () => {
  // Training counts 3, 1, 0 -> q = (4, 2, 1) / 7. Negatives: items 2 and 3
  // (S = 2), so log(S q) = log(8/7), log(4/7), log(2/7) for items 1, 2, 3.
  // Position 1 (target 1): corrected logits
  //   z_1 = 2 - log(8/7), z_2 = 0 - log(4/7), z_3 = 2 - log(2/7)
  //   loss = log(1 + e^(z_2 - z_1) + e^(z_3 - z_1)) = log(1 + 2e^-2 + 4)
  // Position 2 (target 3): negative 3 is an accidental hit and drops out:
  //   z_3 = 1 - log(2/7), z_2 = 1 - log(4/7)
  //   loss = log(1 + e^(z_2 - z_3)) = log(1 + 1/2)
  const proposal = itemProposal("popularity", 3, [Int32Array.of(1, 1, 1, 2)]);
  assertEquals(Array.from(proposal.probs), [4 / 7, 2 / 7, 1 / 7]);
  const got = loss({ ids: Int32Array.of(2, 3), proposal });
  const want = (Math.log(5 + 2 * Math.exp(-2)) + Math.log(1.5)) / 2;
  assertAlmostEquals(got, want, 1e-6);
  // Without the correction (all q equal), the same logits give
  // (log(1 + e^-2 + 1) + log(1 + 1)) / 2: the correction changes the loss.
  const uncorrected = (Math.log(2 + Math.exp(-2)) + Math.log(2)) / 2;
  assert(Math.abs(got - uncorrected) > 0.3, `${got} vs ${uncorrected}`);
});

Deno.test("sampled softmax with uniform negatives: the correction is one constant and cancels", () => {
  const proposal = itemProposal("uniform", 3, [Int32Array.of(1, 1, 1, 2)]);
  // logits: position 1: 2 (target), 0, 2; position 2: 1 (target), 1, hit
  const got = loss({ ids: Int32Array.of(2, 3), proposal });
  assertAlmostEquals(
    got,
    (Math.log(2 + Math.exp(-2)) + Math.log(2)) / 2,
    1e-6,
  );
  // a repeated negative counts twice: position 1 over (2, 0, 0)
  const twice = loss({ ids: Int32Array.of(2, 2), proposal });
  assertAlmostEquals(
    twice,
    (Math.log(1 + 2 * Math.exp(-2)) + Math.log(1 + 2)) / 2,
    1e-6,
  );
});

Deno.test("drawNegatives: the same generator state draws the same ids; frequencies follow q", () => {
  const p = itemProposal("popularity", 4, [Int32Array.of(4, 4, 4, 4, 4, 1)]);
  // weights 2, 1, 1, 6 -> q = 0.2, 0.1, 0.1, 0.6
  const a = drawNegatives(p, 20_000, makeRng(5)).ids;
  const b = drawNegatives(p, 20_000, makeRng(5)).ids;
  assertEquals(Array.from(a), Array.from(b));
  for (const [id, q] of [[1, 0.2], [2, 0.1], [3, 0.1], [4, 0.6]]) {
    const f = a.filter((x) => x === id).length / a.length;
    assert(Math.abs(f - q) < 0.015, `item ${id}: ${f} vs ${q}`);
  }
});

Deno.test("gradcheck: SASRec with the sampled softmax (popularity, log-Q corrected), every parameter tensor", async () => {
  const params: Params = {};
  const enc = initSasrec(params, {
    numItems: 7,
    hidden: 8,
    heads: 2,
    layers: 2,
    maxLen: 5,
    dropout: 0,
  }, makeRng(1));
  perturbParams(params, 2);
  const batch = {
    inputs: Int32Array.from([[0, 0, 1, 2, 3], [4, 2, 6, 5, 7]].flat()),
    batchSize: 2,
    seqLen: 5,
    posOffset: 0,
  };
  const targets = Int32Array.from([[0, 0, 2, 3, 4], [2, 6, 5, 7, 1]].flat());
  // popular items 2 and 5; negatives with a repeat and accidental hits
  const proposal = itemProposal("popularity", 7, [
    Int32Array.of(2, 2, 2, 5, 5, 1),
  ]);
  const negatives = { ids: Int32Array.of(2, 5, 5, 7, 3), proposal };
  const spec = sasrecSpec(2);
  assertSpecCovers(spec, Object.keys(params));
  const report = await checkObjective(
    (p: Params) => ({
      total: tf.tidy(() =>
        sampledSoftmax(
          enc.encode(p, batch),
          p.item_emb as tf.Tensor2D,
          targets,
          negatives,
        )
      ),
      terms: {},
    }),
    params,
    null,
    spec,
    { seed: 3 },
  );
  assertGradCheck(report, "SASRec sampled softmax");
  disposeTree(report.grads);
  Object.values(params).forEach((v) => v.dispose());
});

Deno.test("loss: sampled has its keys; they are errors under another loss", () => {
  const cfg = makeConfig({
    loss: "sampled",
    sampledNegatives: 32,
    sampler: "uniform",
  });
  assert(cfg.loss === "sampled");
  assertEquals([cfg.sampledNegatives, cfg.sampler], [32, "uniform"]);
  assert(!("sampler" in makeConfig()), "a CE config holds sampler");
  let msg = "";
  try {
    makeConfig({ sampledNegatives: 32 }, { source: "run.yaml" });
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(
    msg,
    "run.yaml: sampledNegatives: not a key of loss 'ce' (it belongs to loss sampled; set loss=sampled)",
  );
  msg = "";
  try {
    makeConfig({ loss: "sampled", sampler: "zipf" });
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(
    msg,
    `config key 'sampler': expected one of 'uniform', 'popularity', found "zipf"`,
  );
});

Deno.test("SASRec with the sampled softmax learns the planted structure: test HR@10 far above most-popular", async () => {
  const dataset = synthetic({
    seed: 3,
    numUsers: 500,
    numItems: 120,
    numIntents: 6,
  });
  const cfg = makeConfig({
    backend: "wasm",
    loss: "sampled",
    sampledNegatives: 20,
    hidden: 32,
    heads: 2,
    layers: 2,
    dropout: 0.2,
    attnDropout: 0.2,
    lr: 3e-3,
    batchSize: 128,
    epochs: 8,
    patience: 50,
    maxLen: 20,
    seed: 11,
  });
  const report = await runTraining(cfg, backend, { dataset });
  const split = leaveOneOut(dataset, { maxLen: cfg.maxLen });
  const pop = metricsFromRanks(popularityRanks(split, "test"));
  const hr = report.test!.all["HR@10"];
  console.log(
    `  sampled softmax (20 of 120 items) test HR@10 ${
      hr.toFixed(4)
    } vs most-popular ${pop["HR@10"].toFixed(4)}`,
  );
  assert(hr > 2 * pop["HR@10"], `HR@10 ${hr} vs ${pop["HR@10"]}`);
  assert(hr > pop["HR@10"] + 0.15, `HR@10 ${hr} vs ${pop["HR@10"]}`);
  assert(
    report.notes[0].startsWith(
      "regime: sampled softmax, 20 popularity negatives per batch",
    ),
    report.notes[0],
  );
});
