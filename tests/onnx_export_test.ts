// The exported ONNX graph, run by ONNX Runtime (onnxruntime-web's wasm
// build, see README "Dependencies"), gives the same top-20 ids and scores as
// seqssl's own scorer (`recommend`) for 100 users of the synthetic data:
// SASRec and GRU encoders, freshly initialised and with non-trivial
// weights, trained SASRec, and SRMA with its extra layers at evaluation.
import * as ort from "onnxruntime-web";
import { initBackend } from "../lib/backend/init.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import type { TrainConfig } from "../lib/training/config.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/mod.ts";
import { makeRng } from "../lib/util/rng.ts";
import { recommend } from "../lib/eval/recommend.ts";
import { exportOnnx } from "../lib/export/onnx.ts";
import { servingSpec, weightsOfParams } from "../lib/export/spec.ts";
import { fit } from "../lib/training/fit.ts";
import type { Model } from "../lib/training/model.ts";
import { perturbParams } from "./_gradcheck.ts";
import { assert, assertEquals } from "./_assert.ts";

await initBackend("wasm");
const dataset = synthetic({
  seed: 5,
  numUsers: 300,
  numItems: 150,
  numIntents: 5,
});
const base = makeConfig({
  hidden: 16,
  heads: 2,
  layers: 2,
  maxLen: 20,
  dropout: 0.2,
  attnDropout: 0.2,
  batchSize: 64,
  epochs: 2,
  evalEvery: 100,
  seed: 3,
});
const K = 20;
const USERS = 100;

/** Rows of item ids left-padded to `width` (longer rows keep their last items). */
function padded(seqs: Int32Array[], width: number): BigInt64Array {
  const out = new BigInt64Array(seqs.length * width);
  seqs.forEach((s, r) => {
    const n = Math.min(width, s.length);
    for (let j = 0; j < n; j++) {
      out[r * width + width - n + j] = BigInt(s[s.length - n + j]);
    }
  });
  return out;
}

async function roundTrip(
  label: string,
  cfg: TrainConfig,
  prepare: (
    m: Model,
    split: ReturnType<typeof leaveOneOut>,
  ) => Promise<void> | void,
): Promise<void> {
  const split = leaveOneOut(dataset, { maxLen: cfg.maxLen });
  const model = buildModel(cfg, split, makeRng(cfg.seed));
  try {
    await prepare(model, split);
    const seqs = dataset.sequences.slice(0, USERS);
    const want = await recommend(model.scorer, seqs, {
      k: K,
      maxLen: cfg.maxLen,
      numItems: split.numItems,
    });
    const bytes = exportOnnx(
      servingSpec(cfg, split.numItems),
      weightsOfParams(model.params),
      { k: K },
    );
    const session = await ort.InferenceSession.create(bytes);
    // Rows wider than maxLen: the graph reads the last maxLen columns and
    // excludes every item of the row, as `recommend` does.
    const width = Math.max(...seqs.map((s) => s.length));
    const out = await session.run({
      items: new ort.Tensor("int64", padded(seqs, width), [USERS, width]),
    });
    const ids = out.top_ids.data as BigInt64Array;
    const scores = out.top_scores.data as Float32Array;
    let worst = 0;
    let swaps = 0;
    for (let i = 0; i < USERS * K; i++) {
      worst = Math.max(worst, Math.abs(scores[i] - want.scores[i]));
      if (Number(ids[i]) !== want.ids[i]) swaps++;
    }
    console.log(
      `  ${label}: max |score diff| ${
        worst.toExponential(2)
      }, ${swaps} id mismatches`,
    );
    assert(worst <= 1e-4, `${label}: scores differ by ${worst}`);
    assertEquals(swaps, 0, `${label}: top-${K} ids differ`);
    // `scores` holds every item's raw score; `embedding` x table^T gives them.
    assertEquals(out.scores.dims, [USERS, split.numItems]);
    assertEquals(out.embedding.dims, [USERS, cfg.hidden]);
    const all = out.scores.data as Float32Array;
    for (let u = 0; u < USERS; u++) {
      const best = Number(ids[u * K]);
      assertEquals(all[u * split.numItems + best - 1], scores[u * K]);
    }
    await session.release();
  } finally {
    model.dispose();
  }
}

for (const encoder of ["sasrec", "gru"] as const) {
  Deno.test(`ONNX round trip: ${encoder}, initial weights`, async () => {
    await roundTrip(
      `${encoder} init`,
      makeConfig({ encoder }, { base }),
      () => {},
    );
  });
  Deno.test(`ONNX round trip: ${encoder}, non-trivial weights`, async () => {
    await roundTrip(
      `${encoder} perturbed`,
      makeConfig({ encoder }, { base }),
      (m) => perturbParams(m.params),
    );
  });
}

Deno.test("ONNX round trip: SASRec trained 2 epochs", async () => {
  await roundTrip("sasrec trained", base, async (m, split) => {
    await fit(m, split, base, makeRng(base.seed));
  });
});

Deno.test("ONNX round trip: SRMA with its extra layers at evaluation", async () => {
  const cfg = makeConfig({
    method: "srma",
    dropK: 2,
    dropM: 1,
    dropAtEval: true,
    complement: "none",
  }, { base });
  await roundTrip("srma dropAtEval", cfg, (m) => perturbParams(m.params));
});
