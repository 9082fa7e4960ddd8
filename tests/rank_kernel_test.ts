// The target-rank kernel (webgpu; lavapipe here) against ranksFromScores,
// the TypeScript rule of lib/eval/rank.ts: ties, repeated and out-of-range
// history ids, the target in the history, a NaN target score, rows with
// no history, more items than invocations.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import { historyCsr, rankTargets } from "../lib/backend/rank_kernel.ts";
import { ranksFromScores } from "../lib/eval/rank.ts";
import { evaluate } from "../lib/eval/evaluate.ts";
import type { SeqInput } from "../lib/nn/encoder.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { assertEquals } from "./_assert.ts";
import { mulberry32, randFloats } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log("SKIPPED: no WebGPU adapter; the rank kernel tests did not run");
}

Deno.test({
  name:
    "SeqsslRankTargets on webgpu = ranksFromScores (ties, repeats, target in history, NaN)",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("webgpu");
    const u = mulberry32(12);
    const B = 37, N = 1001;
    // Scores on a coarse grid so that ties are common.
    const scores = Float32Array.from(
      { length: B * N },
      () => Math.floor(u() * 20) / 4,
    );
    const targets = Int32Array.from(
      { length: B },
      () => 1 + Math.floor(u() * N),
    );
    const hist: Int32Array[] = [];
    for (let r = 0; r < B; r++) {
      const len = r % 5 === 0 ? 0 : Math.floor(u() * 300);
      const h = Int32Array.from(
        { length: len },
        () => Math.floor(u() * (N + 3)),
      );
      if (r % 7 === 1 && len > 0) h[0] = targets[r]; // target in the history
      if (r % 4 === 2 && len > 1) h[1] = h[0]; // a repeated id
      hist.push(h);
    }
    scores[3 * N + targets[3] - 1] = NaN; // a NaN target score
    const expected = ranksFromScores(scores, N, hist, targets);
    const s = tf.tensor2d(scores, [B, N]);
    const ranks = rankTargets(s, targets, historyCsr(hist, N));
    assertEquals(await ranks.data(), expected);
    tf.dispose([s, ranks]);
    await initBackend("cpu");
  },
});

Deno.test({
  name:
    "evaluate with the device ranker = the TypeScript ranker, rows chunked by maxCells",
  ignore: !adapter,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("webgpu");
    const ds = synthetic({ seed: 2, numUsers: 150, numItems: 90, maxLen: 12 });
    const split = leaveOneOut(ds, { maxLen: 12 });
    const d = 8, u = mulberry32(5);
    const items = tf.tensor2d(randFloats(90 * d, u), [90, d]);
    const table = tf.tensor2d(randFloats(91 * d, u), [91, d]);
    // A user's representation is the table's row of their last item.
    const scorer = {
      represent: (b: SeqInput) =>
        tf.gather(
          table,
          tf.tensor1d(
            Int32Array.from(
              { length: b.batchSize },
              (_, r) => b.inputs[r * b.seqLen + b.seqLen - 1],
            ),
            "int32",
          ),
        ) as tf.Tensor2D,
      items: () => tf.clone(items),
    };
    const cpu = await evaluate(scorer, split, "test", {
      ranker: "cpu",
      batchSize: 64,
    });
    for (const maxCells of [1 << 24, 90 * 10 + 5]) {
      const gpu = await evaluate(scorer, split, "test", {
        ranker: "gpu",
        batchSize: 64,
        maxCells,
      });
      assertEquals(gpu.ranks, cpu.ranks, `maxCells ${maxCells}`);
    }
    tf.dispose([items, table]);
    await initBackend("cpu");
  },
});
