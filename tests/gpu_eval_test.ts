// The WebGPU evaluation path agrees with the CPU path: the WGSL ranking
// kernel against tfjs scores + the TypeScript ranking, and `evaluate` on the
// tfjs webgpu backend with either ranker. Runs where a WebGPU adapter exists
// (CI installs Mesa's lavapipe); says so clearly when skipped.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { GpuRanker } from "../lib/backend/gpu_rank.ts";
import { probeWebGpu } from "../lib/backend/webgpu_probe.ts";
import { ranksFromScores, topKFromScores } from "../lib/eval/rank.ts";
import { evaluate } from "../lib/eval/evaluate.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/build.ts";
import { makeRng } from "../lib/util/rng.ts";
import { runTraining } from "../lib/experiment.ts";
import { normalArray } from "../lib/nn/params.ts";
import { assert, assertEquals } from "./_assert.ts";

const adapter = (await probeWebGpu()) !== undefined;
if (!adapter) {
  console.log(
    "SKIPPED: no WebGPU adapter; the WebGPU evaluation tests did not run",
  );
}

Deno.test({
  name:
    "WGSL ranking = CPU path (tfjs scores + TypeScript top-k): same top-20 ids, scores within 1e-4",
  ignore: !adapter,
  fn: async () => {
    await initBackend("cpu");
    const rng = makeRng(5);
    const U = 200, N = 3000, d = 64, k = 20;
    const queries = normalArray(U * d, 1, rng);
    const items = normalArray(N * d, 0.3, rng);
    const hist: Int32Array[] = [];
    for (let u = 0; u < U; u++) {
      hist.push(
        Int32Array.from(
          new Set(
            Array.from({ length: 1 + rng.int(30) }, () => 1 + rng.int(N)),
          ),
        ).sort(),
      );
    }
    const targets = Int32Array.from(hist, (h) => {
      let t;
      do t = 1 + rng.int(N); while (h.includes(t));
      return t;
    });
    const s = tf.matMul(
      tf.tensor2d(queries, [U, d]),
      tf.tensor2d(items, [N, d]),
      false,
      true,
    );
    const scores = s.dataSync() as Float32Array;
    s.dispose();
    const cpuTop = topKFromScores(scores, N, hist, k);
    const cpuRanks = ranksFromScores(scores, N, hist, targets);
    const offsets = new Int32Array(U + 1);
    hist.forEach((h, u) => offsets[u + 1] = offsets[u] + h.length);
    const ids = new Int32Array(offsets[U]);
    hist.forEach((h, u) => ids.set(h, offsets[u]));
    const ranker = await GpuRanker.create();
    try {
      const gpu = await ranker.rank({
        queries,
        items,
        dim: d,
        history: { offsets, ids },
        targets,
        k,
      });
      assertEquals(Array.from(gpu.topIds), Array.from(cpuTop.ids));
      let worst = 0;
      for (let i = 0; i < gpu.topScores.length; i++) {
        worst = Math.max(worst, Math.abs(gpu.topScores[i] - cpuTop.scores[i]));
      }
      assert(worst < 1e-4, `top-20 scores differ by ${worst}`);
      let diff = 0;
      for (let u = 0; u < U; u++) diff += Math.abs(gpu.ranks![u] - cpuRanks[u]);
      assert(
        diff <= 2,
        `ranks differ by ${diff} in total (float rounding allows a near-tie or two)`,
      );
    } finally {
      ranker.destroy();
    }
  },
});

Deno.test({
  name:
    "evaluate on the webgpu backend: WGSL ranker and TypeScript ranker give the same metrics",
  ignore: !adapter,
  fn: async () => {
    await initBackend("webgpu");
    const ds = synthetic({ seed: 1, numUsers: 150, numItems: 90 });
    const split = leaveOneOut(ds, { maxLen: 20 });
    const cfg = makeConfig({
      hidden: 16,
      heads: 2,
      maxLen: 20,
      backend: "webgpu",
    });
    const model = buildModel(cfg, split, makeRng(0));
    try {
      const g = await evaluate(model.scorer, split, "test", { ranker: "gpu" });
      const c = await evaluate(model.scorer, split, "test", { ranker: "cpu" });
      let diff = 0;
      for (let u = 0; u < g.ranks.length; u++) {
        diff += g.ranks[u] !== c.ranks[u] ? 1 : 0;
      }
      assert(diff <= 1, `${diff} users ranked differently`);
      // The device ranker counts ranks only: accuracy metrics agree, and the
      // beyond-accuracy metrics (which need top-k lists) come from "cpu".
      assert(c.topIds !== undefined && g.topIds === undefined);
      assert(
        "Coverage@20" in c.metrics.all && !("Coverage@20" in g.metrics.all),
      );
      for (const [key, v] of Object.entries(g.metrics.all)) {
        assert(
          Math.abs(v - c.metrics.all[key]) <= 1 / 150,
          `${key}: ${v} vs ${c.metrics.all[key]}`,
        );
      }
    } finally {
      model.dispose();
      await initBackend("cpu");
    }
  },
});

Deno.test({
  name:
    "training runs on the webgpu backend (asynchronous reads only) and learns",
  ignore: !adapter,
  fn: async () => {
    const backend = await initBackend("webgpu");
    try {
      const dataset = synthetic({ seed: 2, numUsers: 120, numItems: 60 });
      const cfg = makeConfig({
        hidden: 16,
        heads: 2,
        maxLen: 20,
        epochs: 3,
        batchSize: 64,
        lr: 5e-3,
      });
      const report = await runTraining(cfg, backend, { dataset });
      const losses = report.epochs.map((e) => e.loss.total);
      assert(losses.every(Number.isFinite), `losses ${losses}`);
      assert(losses[2] < losses[0], `loss did not decrease: ${losses}`);
      assertEquals(report.backend.name, "webgpu");
    } finally {
      await initBackend("cpu");
    }
  },
});
