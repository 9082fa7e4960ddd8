// Streaming full ranking (lib/eval/stream.ts): the item table scored in
// blocks gives exactly the ranks, metrics and top-k of the one-block pass,
// and the `repeatable` option keeps history items rankable; the fused
// rank-and-top-k pass equals a plain sort (ties, history, NaN).
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
import { itemBlocks, streamRanksAndTopK } from "../lib/eval/stream.ts";
import { perturbParams } from "./_gradcheck.ts";
import { mulberry32 } from "./_rng.ts";
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

/**
 * The plain reference: every item's score, history dropped, a full sort by
 * (score descending, id ascending); the rank counts items strictly above
 * the target; a target in its history or with a NaN score ranks last.
 */
function plainRanking(
  scores: number[],
  history: Int32Array,
  target: number,
  k: number,
): { rank: number; top: number[] } {
  const N = scores.length;
  const hist = new Set(Array.from(history).filter((x) => x >= 1 && x <= N));
  const t = scores[target - 1];
  const kept: number[] = [];
  for (let id = 1; id <= N; id++) if (!hist.has(id)) kept.push(id);
  const rank = hist.has(target) || Number.isNaN(t)
    ? N - hist.size
    : kept.filter((id) => id !== target && scores[id - 1] > t).length;
  const top = kept.filter((id) => !Number.isNaN(scores[id - 1]))
    .sort((a, b) => scores[b - 1] - scores[a - 1] || a - b).slice(0, k);
  while (top.length < k) top.push(0);
  return { rank, top };
}

Deno.test("streamRanksAndTopK = a plain sort, with ties, repeated and out-of-range history ids, a target in its history, NaN scores, short lists", async () => {
  const u = mulberry32(11);
  const N = 53, d = 3, B = 9, k = 7;
  // small integers: every product is exact, so ties are real ties
  const int = () => Math.floor(u() * 5) - 2;
  const items = Array.from({ length: N }, () => Array.from({ length: d }, int));
  items[40] = [NaN, 0, 0]; // item 41 scores NaN for everyone
  const reps = Array.from({ length: B }, () => Array.from({ length: d }, int));
  reps[8] = [0, 0, 0]; // every item ties (0) for user 8, except NaN
  const targets = Int32Array.from(
    { length: B },
    () => 1 + Math.floor(u() * N),
  );
  targets[3] = 41; // a NaN target
  const histories = Array.from(
    { length: B },
    () => Int32Array.from({ length: 6 }, () => Math.floor(u() * (N + 3))),
  );
  histories[2] = Int32Array.of(targets[2], targets[2], 0, N + 2); // target in it
  histories[5] = new Int32Array(0);
  // user 6: everything but two items is history: a short top-k list
  histories[6] = Int32Array.from({ length: N - 2 }, (_, i) => i + 3);
  const itemsT = tf.tensor2d(items);
  const repsT = tf.tensor2d(reps);
  for (const width of [N, 10, 1]) {
    const blocks = itemBlocks(itemsT, width);
    const got = await streamRanksAndTopK(
      repsT,
      itemsT,
      blocks.blocks,
      histories,
      targets,
      k,
    );
    blocks.dispose();
    for (let r = 0; r < B; r++) {
      const scores = items.map((it) =>
        it.reduce((s, x, j) => s + x * reps[r][j], 0)
      );
      const want = plainRanking(scores, histories[r], targets[r], k);
      assertEquals(
        got.ranks[r],
        want.rank,
        `rank of user ${r}, width ${width}`,
      );
      assertEquals(
        Array.from(got.ids.subarray(r * k, (r + 1) * k)),
        want.top,
        `top-${k} of user ${r}, width ${width}`,
      );
    }
  }
  tf.dispose([itemsT, repsT]);
});
