// Streaming full ranking (lib/eval/stream.ts): the item table scored in
// blocks gives exactly the ranks, metrics and top-k of the one-block pass,
// and the `repeatable` option keeps history items rankable.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/mod.ts";
import { makeRng } from "../lib/util/rng.ts";
import { evaluate, type Scorer } from "../lib/eval/evaluate.ts";
import { recommend } from "../lib/eval/recommend.ts";
import type { SplitDataset } from "../lib/data/types.ts";
import { perturbParams } from "./_gradcheck.ts";
import { assert, assertEquals } from "./_assert.ts";

await initBackend("wasm");

Deno.test("streamed evaluation: the same ranks, metrics and top-k as one block", async () => {
  const ds = synthetic({
    seed: 2,
    numUsers: 400,
    numItems: 230,
    numIntents: 5,
  });
  const cfg = makeConfig({
    hidden: 16,
    heads: 2,
    layers: 1,
    maxLen: 20,
    seed: 4,
  });
  const split = leaveOneOut(ds, { maxLen: cfg.maxLen });
  const model = buildModel(cfg, split, makeRng(cfg.seed));
  perturbParams(model.params);
  try {
    for (const repeatable of [false, true]) {
      for (const which of ["valid", "test"] as const) {
        const one = await evaluate(model.scorer, split, which, {
          batchSize: 64,
          ranker: "cpu",
          repeatable,
        });
        // 64 users x 37 items per block: 7 blocks, the last one partial.
        const streamed = await evaluate(model.scorer, split, which, {
          batchSize: 64,
          ranker: "cpu",
          repeatable,
          maxCells: 64 * 37,
        });
        assertEquals(Array.from(streamed.ranks), Array.from(one.ranks));
        assertEquals(streamed.metrics, one.metrics);
        assert(
          one.metrics.all["HR@20"] > 0,
          "a model that hits nothing tests nothing",
        );
      }
      const a = await recommend(model.scorer, ds.sequences, {
        k: 20,
        maxLen: cfg.maxLen,
        numItems: split.numItems,
        batchSize: 64,
        repeatable,
      });
      const b = await recommend(model.scorer, ds.sequences, {
        k: 20,
        maxLen: cfg.maxLen,
        numItems: split.numItems,
        batchSize: 64,
        repeatable,
        maxCells: 64 * 37,
      });
      assertEquals(Array.from(b.ids), Array.from(a.ids));
      // Scores of a block may differ in the last bit from those of the whole
      // table (a BLAS kernel's edge handling), nowhere near a swap here.
      let worst = 0;
      for (let i = 0; i < a.scores.length; i++) {
        worst = Math.max(worst, Math.abs(a.scores[i] - b.scores[i]));
      }
      assert(worst < 1e-5, `top-k scores differ by ${worst}`);
    }
  } finally {
    model.dispose();
  }
});

/** A scorer with fixed representations: user u's row of `users`, items' rows of `items`. */
function fixedScorer(users: number[][], items: number[][]): Scorer {
  return {
    represent: (input) =>
      tf.tidy(() =>
        tf.gather(
          tf.tensor2d(users),
          tf.tensor1d(
            input.inputs.filter((_, i) => (i + 1) % input.seqLen === 0).map((
              x,
            ) => x - 1),
            "int32",
          ),
        ) as tf.Tensor2D
      ),
    items: () => tf.tensor2d(items),
  };
}

Deno.test("repeatable: a target in its own history can be a hit; by default it never is", async () => {
  // 4 items with scores .9 .2 .5 .7 for the one user (1-d representations);
  // the last input item (1 or 3) picks the user's row, [1] either way.
  const scorer = fixedScorer([[1], [0], [1]], [[.9], [.2], [.5], [.7]]);
  // sequence 1 3 | valid target 1 | test target 4; test history = 1 3 1
  const split: SplitDataset = leaveOneOut({
    name: "t",
    numItems: 4,
    sequences: [Int32Array.of(1, 3, 1, 4)],
    userIds: ["u"],
  }, { maxLen: 5 });
  for (const maxCells of [undefined, 2]) {
    const opts = { ranker: "cpu" as const, batchSize: 1, maxCells };
    // valid: target 1 (score .9) is in its history {1, 3}: excluded, rank =
    // items left = 2; repeatable: nothing above .9, rank 0 (a hit).
    const v = await evaluate(scorer, split, "valid", opts);
    assertEquals(v.ranks[0], 2);
    const vr = await evaluate(scorer, split, "valid", {
      ...opts,
      repeatable: true,
    });
    assertEquals(vr.ranks[0], 0);
    // test: target 4 (.7); history {1, 3}: item 1 (.9) is excluded, rank 0;
    // repeatable: item 1 ranks above it, rank 1.
    const t = await evaluate(scorer, split, "test", opts);
    assertEquals(t.ranks[0], 0);
    const tr = await evaluate(scorer, split, "test", {
      ...opts,
      repeatable: true,
    });
    assertEquals(tr.ranks[0], 1);
  }
});
