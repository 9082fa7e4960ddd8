// Training step and full-ranking evaluation on Beauty-sized shapes, per
// backend. Uses ../shared/data/Beauty.txt when it is there (says so), else a
// synthetic data set of Beauty's size (22,363 users, 12,101 items).
//
//   deno bench -A bench/train_bench.ts
//   SEQSSL_BENCH_BACKENDS=wasm,cpu,webgpu deno bench -A bench/train_bench.ts
//   SEQSSL_BENCH_METHOD_BACKENDS=wasm,webgpu deno bench -A --filter "method" \
//     bench/train_bench.ts      # every method's step per backend
//
// The cpu backend (pure JavaScript) takes tens of seconds per iteration and
// lavapipe's WebGPU is a correctness path, so each slow case runs once.
import {
  type BackendName,
  initBackend,
  probeWebGpu,
} from "../lib/backend/init.ts";
import { trainBatches } from "../lib/data/batch.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/build.ts";
import { methods } from "../lib/methods/mod.ts";
import { evaluate } from "../lib/eval/evaluate.ts";
import { makeRng } from "../lib/util/rng.ts";
import type { Model } from "../lib/training/model.ts";
import type { TrainBatch } from "../lib/data/types.ts";
import { beautySplit, epochSample } from "./_beauty.ts";

const { split, source } = await beautySplit();
console.log(
  `bench data: ${source} (${split.train.length} users, ${split.numItems} items)`,
);

// "wasm" uses native OpenBLAS matmuls when the library and --allow-ffi are
// there; "wasm-noblas" is tfjs-wasm's own matmul (with our kernel fixes).
const wanted = (Deno.env.get("SEQSSL_BENCH_BACKENDS") ??
  "wasm,wasm-noblas,webgpu").split(",");
const available: string[] = [];
for (const b of wanted) {
  if (b === "webgpu" && !(await probeWebGpu())) {
    console.log("bench: no WebGPU adapter, webgpu cases skipped");
    continue;
  }
  if (["wasm", "wasm-noblas", "cpu", "webgpu"].includes(b)) available.push(b);
}
const start = (b: string) =>
  initBackend((b === "wasm-noblas" ? "wasm" : b) as BackendName, {
    nativeBlas: b === "wasm",
  });

const state = new Map<
  string,
  { model: Model; batches: TrainBatch[]; i: number }
>();
for (const loss of ["ce", "bce"] as const) {
  for (const b of available) {
    const slow = !b.startsWith("wasm");
    Deno.bench({
      name: `SASRec train step, B=256, ${loss} [${b}]`,
      group: `train step ${loss}`,
      baseline: b === "wasm",
      n: slow ? 1 : 10,
      warmup: slow ? 0 : 2,
      async fn(t) {
        await start(b);
        const key = `${b}/${loss}`;
        if (!state.has(key)) {
          const cfg = makeConfig({ loss });
          const rng = makeRng(0);
          const model = buildModel(cfg, split, rng);
          state.set(key, {
            model,
            batches: trainBatches(split, { batchSize: 256, rng }),
            i: 0,
          });
        }
        const s = state.get(key)!;
        const rng = makeRng(s.i);
        const batch = s.batches[s.i++ % s.batches.length];
        t.start();
        await s.model.step(batch, { rng, epoch: 1, split });
        t.end();
      },
    });
  }
}

for (const b of available) {
  Deno.bench({
    name: `full-ranking evaluation, ${split.testTarget.length} users [${b}]`,
    group: "evaluation",
    baseline: b === "wasm",
    n: b.startsWith("wasm") ? 3 : 1,
    warmup: b.startsWith("wasm") ? 1 : 0,
    async fn(t) {
      await start(b);
      const key = `${b}/ce`;
      if (!state.has(key)) {
        const cfg = makeConfig({});
        const rng = makeRng(0);
        state.set(key, {
          model: buildModel(cfg, split, rng),
          batches: [],
          i: 0,
        });
      }
      const s = state.get(key)!;
      t.start();
      await evaluate(s.model.scorer, split, "test");
      t.end();
    },
  });
}

// Every method's training step, same data and batches: a length-stratified
// sample of one epoch's batches (sorted by cells, evenly spaced), so that
// seconds per epoch = mean step x batches per epoch. Backends:
// SEQSSL_BENCH_METHOD_BACKENDS (default wasm; cpu and webgpu take a few of
// the sample's batches, spread over the length range).
const SAMPLE = 22;
const { epoch: epochBatches, sample } = epochSample(split, SAMPLE);
console.log(
  `bench: ${epochBatches.length} batches per epoch (batch 256, length bucketing); ` +
    `method steps run a length-stratified sample of ${SAMPLE}: s/epoch = mean x ${epochBatches.length}`,
);
const methodBackends: string[] = [];
for (
  const b of (Deno.env.get("SEQSSL_BENCH_METHOD_BACKENDS") ?? "wasm").split(",")
) {
  if (b === "webgpu" && !(await probeWebGpu())) continue;
  if (["wasm", "wasm-noblas", "cpu", "webgpu"].includes(b)) {
    methodBackends.push(b);
  }
}
for (const b of methodBackends) {
  const slow = !b.startsWith("wasm");
  for (const loss of ["ce", "bce"] as const) {
    for (const method of methods().map((m) => m.name)) {
      let model: Model | undefined;
      let i = 0;
      Deno.bench({
        name: `${method} train step, ${loss} [${b}]`,
        group: `method step ${loss} [${b}]`,
        baseline: method === "sasrec",
        n: slow ? 3 : SAMPLE,
        warmup: slow ? 0 : 2,
        async fn(t) {
          await start(b);
          if (!model) {
            // SRMA's complement encoder is not pre-trained here: its frozen
            // forward pass costs the same either way.
            const cfg = makeConfig({ method, loss });
            model = buildModel(cfg, split, makeRng(0));
          }
          const rng = makeRng(i);
          // slow backends: 3 batches at the 1/6, 1/2 and 5/6 length quantiles
          const k = slow ? [4, 11, 18][i % 3] : i % SAMPLE;
          i++;
          t.start();
          await model.step(sample[k], { rng, epoch: 1, split });
          t.end();
        },
      });
    }
  }
}

// S4Rec's K-means variant re-clusters every training sequence at the start
// of each epoch (embed all of them, then Lloyd iterations); the online
// variant has no such pass. K-means epoch = this + 88 steps.
{
  let model: Model | undefined;
  Deno.bench({
    name: "S4Rec K-means intents, once per epoch (embed + cluster) [wasm]",
    group: "s4rec clustering",
    n: 2,
    warmup: 0,
    async fn(t) {
      await start("wasm");
      model ??= buildModel(
        makeConfig({ method: "s4rec", clustering: "kmeans" }),
        split,
        makeRng(0),
      );
      t.start();
      await model.onEpochStart!(1, split, makeRng(1));
      t.end();
    },
  });
}
