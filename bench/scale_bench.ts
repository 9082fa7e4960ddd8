// One point of the scale benchmark: SASRec on synthetic data with ITEMS
// items and USERS users, trained with LOSS (ce or sampled): seconds per
// epoch, full-ranking evaluation time and peak memory. Prints one JSON line.
//
//   deno run -A bench/scale_bench.ts --items 100000 --users 100000 --loss sampled \
//     [--steps 20] [--warmup 2] [--eval-users 5000] [--backend wasm] [--hidden 64] [--threads 1]
//     [--unchecked]
//
// --steps K times K training steps (after --warmup steps) of the epoch's
// batches and extrapolates the epoch from them (steps/epoch x mean step);
// without it the whole epoch runs. --eval-users E times the test evaluation
// (full ranking over all items, history excluded, streamed) on E users and
// extrapolates to all users (the cost is linear in users); without it every
// user is evaluated. The JSON says which figures are measured and which are
// extrapolated. Besides wall seconds, the CPU seconds of the steps and of
// the evaluation (user + system, all threads; BLAS runs one): on a shared
// machine these are what the work cost, wall time being inflated by the
// other jobs. Peak memory: the largest tensor total of one profiled step
// and of the evaluation (tf.profile), the wasm heap after the run (it only
// grows, so it is the run's peak) and the process's resident set.
//
// Before building anything the point is checked with checkStepFits (the
// refusal a `train` run would give): a point that does not fit the backend
// prints {"refused": message}, and with --unchecked runs anyway, with the
// refusal in its JSON (to measure the peaks lib/training/memory.ts's
// estimate is fitted to, where the estimate is near the limit). bench/scale_grid.ts runs a grid of points,
// each in its own process, and writes the README table.
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import process from "node:process";
import { type BackendName, initBackend } from "../lib/backend/init.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { trainBatches } from "../lib/data/batch.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/build.ts";
import { evaluate } from "../lib/eval/evaluate.ts";
import { checkStepFits } from "../lib/training/memory.ts";
import { makeRng } from "../lib/util/rng.ts";

/** The process's CPU seconds so far (user + system, all its threads). */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// Under `deno bench` (which collects every *_bench.ts) there is nothing to
// run: this is a command-line tool.
async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      items: { type: "string" },
      users: { type: "string" },
      loss: { type: "string", default: "sampled" },
      steps: { type: "string" },
      "eval-users": { type: "string" },
      backend: { type: "string", default: "wasm" },
      hidden: { type: "string", default: "64" },
      threads: { type: "string", default: "1" },
      seed: { type: "string", default: "1" },
      warmup: { type: "string", default: "2" },
      unchecked: { type: "boolean", default: false },
    },
    strict: true,
  });
  const int = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`--${name}: expected a positive integer, found '${v}'`);
    }
    return n;
  };
  const items = int("items", values.items);
  const users = int("users", values.users);
  const hidden = int("hidden", values.hidden);
  const threads = int("threads", values.threads);
  const seed = int("seed", values.seed);
  const loss = values.loss;
  if (loss !== "ce" && loss !== "sampled") {
    throw new Error(`--loss: expected ce or sampled, found '${loss}'`);
  }

  const cfg = makeConfig({
    loss,
    hidden,
    heads: 2,
    backend: values.backend,
    seed,
    ...(loss === "sampled" ? { sampledNegatives: 256 } : {}),
  });
  const backend = await initBackend(cfg.backend, { blasThreads: threads });
  const point: Record<string, unknown> = {
    items,
    users,
    loss,
    backend: backend.name,
    blas: backend.nativeBlas ? `OpenBLAS, ${threads} thread(s)` : "none",
    hidden,
    batchSize: cfg.batchSize,
    maxLen: cfg.maxLen,
  };
  const out = (x: Record<string, unknown>) =>
    console.log(JSON.stringify({ ...point, ...x }));
  const rss = () => Deno.memoryUsage().rss;
  let rssPeak = rss();

  let t0 = performance.now();
  const ds = synthetic({
    seed,
    numUsers: users,
    numItems: items,
    maxLen: 60,
  });
  const split = leaveOneOut(ds, { maxLen: cfg.maxLen });
  const dataSeconds = (performance.now() - t0) / 1000;
  const interactions = ds.sequences.reduce((s, x) => s + x.length, 0);
  try {
    checkStepFits(
      { ...cfg, maxTokens: "maxTokens" in cfg ? Number(cfg.maxTokens) : 0 },
      items,
      backend.name as BackendName,
    );
  } catch (e) {
    if (!values.unchecked) {
      out({ interactions, refused: (e as Error).message });
      return;
    }
    point.wouldRefuse = (e as Error).message;
  }

  const rng = makeRng(seed);
  const model = buildModel(cfg, split, rng);
  const batches = trainBatches(split, { batchSize: cfg.batchSize, rng });
  const stepsPerEpoch = batches.length;
  const wanted = values.steps === undefined
    ? stepsPerEpoch
    : Math.min(int("steps", values.steps), stepsPerEpoch);
  const warmup = wanted < stepsPerEpoch
    ? Math.min(Number(values.warmup), stepsPerEpoch - wanted)
    : 0;
  const ctx = { rng, epoch: 1, split };
  for (let i = 0; i < warmup; i++) await model.step(batches[i], ctx);
  t0 = performance.now();
  let c0 = cpuSeconds();
  for (let i = warmup; i < warmup + wanted && i < stepsPerEpoch; i++) {
    await model.step(batches[i], ctx);
    rssPeak = Math.max(rssPeak, rss());
  }
  const timed = Math.min(wanted, stepsPerEpoch - warmup);
  const stepSeconds = (performance.now() - t0) / 1000 / timed;
  const stepCpu = (cpuSeconds() - c0) / timed;
  // One more step under tf.profile for its peak tensor memory (read at once:
  // tfjs reuses the object it returns for the next profile).
  const trainPeak = (await tf.profile(async () => {
    await model.step(batches[(warmup + timed) % stepsPerEpoch], ctx);
  })).peakBytes;
  rssPeak = Math.max(rssPeak, rss());

  const evalUsers = values["eval-users"] === undefined
    ? users
    : Math.min(int("eval-users", values["eval-users"]), users);
  const subset = Int32Array.from({ length: evalUsers }, (_, i) => i);
  let evalSeconds = 0;
  c0 = cpuSeconds();
  const evalPeak = (await tf.profile(async () => {
    const r = await evaluate(model.scorer, split, "test", {
      users: subset,
      batchSize: cfg.evalBatchSize,
    });
    evalSeconds = r.seconds;
  })).peakBytes;
  const evalCpu = cpuSeconds() - c0;
  rssPeak = Math.max(rssPeak, rss());
  // deno-lint-ignore no-explicit-any
  const wasm = (tf.backend() as any).wasm;
  out({
    interactions,
    dataSeconds: +dataSeconds.toFixed(2),
    stepsPerEpoch,
    stepsTimed: timed,
    secondsPerStep: +stepSeconds.toFixed(4),
    cpuSecondsPerStep: +stepCpu.toFixed(4),
    secondsPerEpoch: +(stepSeconds * stepsPerEpoch).toFixed(1),
    epochExtrapolated: timed < stepsPerEpoch,
    evalUsers,
    evalSecondsMeasured: +evalSeconds.toFixed(2),
    evalCpuSecondsMeasured: +evalCpu.toFixed(2),
    evalSeconds: +(evalSeconds * users / evalUsers).toFixed(1),
    evalExtrapolated: evalUsers < users,
    peakTensorMiBTrain: +(trainPeak / 2 ** 20).toFixed(0),
    peakTensorMiBEval: +(evalPeak / 2 ** 20).toFixed(0),
    wasmHeapMiB: wasm
      ? +(wasm.HEAPU8.buffer.byteLength / 2 ** 20).toFixed(0)
      : null,
    rssPeakMiB: +(rssPeak / 2 ** 20).toFixed(0),
  });
  model.dispose();
}

if (import.meta.main) await main();
