/**
 * Memory of large catalogues: the full-softmax CE holds one chunk of logits
 * at a time (not the batch's `[R, N]` matrix), its chunk is sized from N,
 * and a run whose step cannot fit the wasm heap is refused before anything
 * is built, with the limit and the remedies.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { ceChunkRows, softmaxCE } from "../lib/losses/rec.ts";
import { runTraining } from "../lib/experiment.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import type { SequenceDataset } from "../lib/data/types.ts";
import { stepMemory, WASM_TENSOR_BYTES } from "../lib/training/memory.ts";
import { assert, assertEquals } from "./_assert.ts";
import { makeRng } from "../lib/util/rng.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { trainBatches } from "../lib/data/batch.ts";
import { buildModel } from "../lib/methods/build.ts";

await initBackend("cpu");

Deno.test("softmaxCE: forward and backward hold one chunk's logits, not the [R, N] matrix; same loss and gradients", async () => {
  const R = 256, N = 2000, d = 8;
  const rng = makeRng(3);
  const h = tf.tensor2d(
    Float32Array.from({ length: R * d }, () => rng.next() * 2 - 1),
    [R, d],
  );
  const items = tf.tensor2d(
    Float32Array.from({ length: N * d }, () => rng.next() * 2 - 1),
    [N, d],
  );
  const targets = Int32Array.from({ length: R }, (_, i) => (i * 37) % N);
  const full = R * N * 4; // bytes of the whole logit matrix
  const run = (chunk: number) =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      softmaxCE(a as tf.Tensor2D, b as tf.Tensor2D, targets, { chunk })
    );
  let result: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    result = run(16)([h, items]);
    return result;
  });
  // 16 rows x N logits and a few copies of them, far below one [R, N]
  assert(
    info.peakBytes < full / 2,
    `peak ${info.peakBytes} bytes, the [R, N] logits are ${full}`,
  );
  const whole = run(R)([h, items]);
  for (const [i, g] of result.entries()) {
    const a = g.dataSync(), b = whole[i].dataSync();
    let worst = 0;
    for (let j = 0; j < a.length; j++) {
      worst = Math.max(worst, Math.abs(a[j] - b[j]));
    }
    assert(worst < 1e-6, `gradient ${i} differs by ${worst}`);
  }
  tf.dispose([h, items, ...result, ...whole]);
});

Deno.test("ceChunkRows: 128 MiB of logits per chunk, 1..2048 rows", () => {
  assertEquals(ceChunkRows(12101), 2048);
  assertEquals(ceChunkRows(16384), 2048);
  assertEquals(ceChunkRows(16385), 2047);
  assertEquals(ceChunkRows(400_000), Math.floor(2 ** 27 / 1_600_000));
  assertEquals(ceChunkRows(2 ** 30), 1);
});

Deno.test("stepMemory: the estimate's parts, hand-computed", () => {
  const m = stepMemory({
    numItems: 100_000,
    hidden: 32,
    positions: 1600,
    loss: "ce",
  });
  assertEquals(m.table, 13 * 100_002 * 32 * 4);
  // the sampled softmax and BCE hold fewer copies (one table lookup fewer
  // in the loss, no real-item slice)
  for (const [loss, k] of [["sampled", 9], ["bce", 11]] as const) {
    const s = stepMemory({
      numItems: 100_000,
      hidden: 32,
      positions: 1600,
      loss,
    });
    assertEquals(s.table, k * 100_002 * 32 * 4);
    assertEquals(s.logits, 0);
    assertEquals(s.total, s.table + s.encoder);
  }
  assertEquals(m.encoder, Math.round(370 * 2 ** 20 / 4));
  assertEquals(m.logits, 335 * 100_000 * 4);
  assertEquals(
    stepMemory({ numItems: 100_000, hidden: 32, positions: 1600, loss: "bce" })
      .logits,
    0,
  );
});

Deno.test("runTraining on wasm refuses a 3,000,000-item catalogue at once, before building anything", async () => {
  // Three users over ids up to 3,000,000: the sequences are tiny, the item
  // table it would take (3,000,002 x 64 floats, 13 copies) is not allocated.
  const N = 3_000_000;
  const ds: SequenceDataset = {
    name: "huge",
    numItems: N,
    sequences: [
      Int32Array.of(1, 2, 3, 4, 5),
      Int32Array.of(N, N - 1, N - 2, 7),
      Int32Array.of(9, 8, 7, 6),
    ],
    userIds: ["a", "b", "c"],
  };
  const before = tf.memory().numTensors;
  let msg = "";
  try {
    await runTraining(makeConfig({ epochs: 1 }), {
      name: "wasm",
      requested: "wasm",
      reason: "test",
    }, { dataset: ds });
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(tf.memory().numTensors, before, "tensors were allocated");
  const need = stepMemory({
    numItems: N,
    hidden: 64,
    positions: 3200,
    loss: "ce",
  });
  assert(need.total > WASM_TENSOR_BYTES);
  assertEquals(
    msg,
    `a training step on 3,000,000 items with hidden 64 needs about ${
      (need.total / 2 ** 30).toFixed(1)
    } GiB of tensors (${
      (need.table / 2 ** 30).toFixed(1)
    } GiB for the item table, its gradient and Adam state), above the wasm ` +
      `backend's 4 GiB heap (3.5 GiB for tensors); train with --backend cpu ` +
      `(no heap cap, slower) or --set hidden=16`,
  );
  assert(!msg.includes("\n"), "more than one line");
});

Deno.test({
  name:
    "a training step's measured peak on wasm is within stepMemory's estimate, for each loss (the item table dominating)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend("wasm");
    try {
      // 60,000 items x d 32 (a 7.3 MiB table), 16 x 20 positions: the
      // table's copies are most of the estimate (9 to 13 of them); the
      // composed Adam's 17 would exceed it.
      const N = 60_000, d = 32;
      const ds = synthetic({ seed: 3, numUsers: 300, numItems: N, maxLen: 20 });
      for (const loss of ["sampled", "bce", "ce"]) {
        const cfg = makeConfig({
          loss,
          hidden: d,
          heads: 2,
          maxLen: 20,
          batchSize: 16,
          seed: 1,
        });
        const split = leaveOneOut(ds, { maxLen: cfg.maxLen });
        const rng = makeRng(1);
        const model = buildModel(cfg, split, rng);
        const batches = trainBatches(split, { batchSize: cfg.batchSize, rng });
        const ctx = { rng, epoch: 1, split };
        await model.step(batches[0], ctx);
        const peak = (await tf.profile(async () => {
          await model.step(batches[1], ctx);
        })).peakBytes;
        model.dispose();
        const est = stepMemory({
          numItems: N,
          hidden: d,
          positions: 16 * 20,
          loss,
        });
        const T = (N + 2) * d * 4;
        assert(peak <= est.total, `${loss}: peak ${peak} above ${est.total}`);
        // (CE's logits term assumes a full chunk of rows; 320 are fewer)
        assert(
          peak > est.total - est.logits - 5 * T,
          `${loss}: peak ${peak} far below the estimate ${est.total}`,
        );
      }
    } finally {
      await initBackend("cpu");
    }
  },
});
