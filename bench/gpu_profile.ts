// What one training step of each method, and one evaluation pass, sends
// across the host-device boundary, and how long it takes:
//
//   deno run -A bench/gpu_profile.ts [--backend B] [--json]
//   deno run -A bench/gpu_profile.ts --beauty            # Beauty-sized shapes
//   deno run -A bench/gpu_profile.ts --methods sasrec-ce,srma --steps 5
//
// Per method (SASRec CE and BCE, CL4SRec, SRMA, MCLRec, S4Rec): tfjs kernels,
// WebGPU compute dispatches and queue submits, bytes uploaded (data buffers;
// kernel-parameter uniforms apart), bytes read back and read-backs (each is a
// point where the host waits for the device), tensors written from and read
// to host arrays, the largest single upload, and wall seconds per step (on
// webgpu the steps leave their loss on the device as fit does, and one read
// of all their terms follows them, inside the timing); then
// the same for one full-ranking validation pass. Counts are per step, the
// mean over `--steps` steps after `--warmup` steps (shader compiles); the
// first step's seconds are shown apart.
//
// The counters wrap the WebGPU prototypes and the tfjs engine
// (lib/backend/counters.ts): on wasm and cpu only the tfjs-level figures
// (kernels, host writes and reads) mean anything.
//
// Defaults are small synthetic sizes so that the software adapter (lavapipe)
// finishes in minutes; --beauty takes Beauty's file from ../shared/data (or
// a synthetic set of its size) with L = 50, B = 256, the real model.
import { parseArgs } from "node:util";
import { type BackendName, initBackend } from "../lib/backend/init.ts";
import { probeWebGpu } from "../lib/backend/init.ts";
import {
  counterDelta,
  type Counters,
  installCounters,
  resetMaxima,
  snapshotCounters,
  uploadHistogram,
} from "../lib/backend/counters.ts";
import { trainBatches } from "../lib/data/batch.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { readSequenceFile } from "../lib/data/read_sequences.ts";
import type { SplitDataset } from "../lib/data/types.ts";
import { evaluate } from "../lib/eval/evaluate.ts";
import { buildModel } from "../lib/methods/mod.ts";
import type { TrainConfig } from "../lib/training/config.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { makeRng } from "../lib/util/rng.ts";
import { DeferredTerms } from "../lib/optim/deferred.ts";

const USAGE = `usage: deno run -A bench/gpu_profile.ts [options]
  --backend B      webgpu (default when an adapter exists, else wasm) | wasm | cpu
  --json           one JSON object on stdout (the table goes to stderr)
  --methods LIST   comma-separated among ${
  ["sasrec-ce", "sasrec-bce", "cl4srec", "srma", "mclrec", "s4rec"].join(", ")
} (default all)
  --steps N        measured steps per method (default 3)
  --warmup N       steps before measuring (default 1)
  --beauty         Beauty's shapes: ../shared/data/Beauty.txt (or synthetic of
                   its size), maxLen 50, batch 256 (override with the flags below)
  --data FILE      a sequences file instead of synthetic data
  --users N        synthetic users (default 512)
  --items N        synthetic items (default 1000)
  --max-len N      longest input (default 20)
  --batch N        training batch (default 64)
  --hidden N       hidden size d (default 64)
  --eval-users N   users in the evaluation pass (default: all)
  --no-eval        skip the evaluation pass
  --set KEY=VALUE  any training config key (repeatable)`;

/** The methods profiled, with the config each one trains with. */
const METHODS: Record<string, Partial<TrainConfig>> = {
  "sasrec-ce": { method: "sasrec", loss: "ce" },
  "sasrec-bce": { method: "sasrec", loss: "bce" },
  cl4srec: { method: "cl4srec" },
  srma: { method: "srma" },
  mclrec: { method: "mclrec" },
  s4rec: { method: "s4rec" },
};

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    backend: { type: "string" },
    json: { type: "boolean", default: false },
    methods: { type: "string" },
    steps: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    beauty: { type: "boolean", default: false },
    data: { type: "string" },
    users: { type: "string" },
    items: { type: "string" },
    "max-len": { type: "string" },
    batch: { type: "string" },
    hidden: { type: "string" },
    "eval-users": { type: "string" },
    "no-eval": { type: "boolean", default: false },
    set: { type: "string", multiple: true, default: [] },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}

function int(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name}: expected a non-negative integer, found '${v}'`);
    Deno.exit(2);
  }
  return n;
}

const beauty = args.beauty;
const maxLen = int("max-len", args["max-len"], beauty ? 50 : 20);
const batchSize = int("batch", args.batch, beauty ? 256 : 64);
const hidden = int("hidden", args.hidden, 64);
const steps = Math.max(1, int("steps", args.steps, 3));
const warmup = int("warmup", args.warmup, 1);
const methods = (args.methods ?? Object.keys(METHODS).join(",")).split(",");
for (const m of methods) {
  if (!METHODS[m]) {
    console.error(
      `--methods: expected names among ${
        Object.keys(METHODS).join(", ")
      }, found '${m}'`,
    );
    Deno.exit(2);
  }
}
const extra: Record<string, unknown> = {};
for (const s of args.set ?? []) {
  const eq = s.indexOf("=");
  if (eq < 1) {
    console.error(`--set: expected KEY=VALUE, found '${s}'`);
    Deno.exit(2);
  }
  const raw = s.slice(eq + 1);
  const num = Number(raw);
  extra[s.slice(0, eq)] = raw === "true"
    ? true
    : raw === "false"
    ? false
    : raw !== "" && Number.isFinite(num)
    ? num
    : raw;
}

async function loadSplit(): Promise<{ split: SplitDataset; source: string }> {
  const file = args.data ??
    (beauty
      ? new URL("../../shared/data/Beauty.txt", import.meta.url).pathname
      : undefined);
  if (file) {
    try {
      const ds = await readSequenceFile(file);
      return { split: leaveOneOut(ds, { maxLen }), source: file };
    } catch (e) {
      if (args.data) throw e;
    }
  }
  const users = int("users", args.users, beauty ? 22363 : 512);
  const items = int("items", args.items, beauty ? 12101 : 1000);
  const ds = synthetic({
    seed: 0,
    numUsers: users,
    numItems: items,
    maxLen: Math.max(maxLen, 8),
  });
  return {
    split: leaveOneOut(ds, { maxLen }),
    source: `synthetic (${users} users, ${items} items)`,
  };
}

const requested = (args.backend ??
  ((await probeWebGpu()) ? "webgpu" : "wasm")) as BackendName;
const info = await initBackend(requested);
installCounters();
const { split, source } = await loadSplit();
const log = args.json ? console.error : console.log;
log(
  `gpu_profile: backend ${info.name}${
    info.adapter ? ` (${info.adapter})` : ""
  }; data ${source}; L=${maxLen} B=${batchSize} d=${hidden}; ${steps} steps after ${warmup} warm-up`,
);

/** Per-step figures of one method. */
interface StepProfile {
  /** Counters per step (mean over the measured steps). */
  perStep: Record<keyof Counters, number>;
  /** Largest single upload seen in the measured steps, bytes. */
  maxUpload: number;
  /** Uploads per step at least B·L·d bytes (activation-sized; ids are 4 bytes per cell). */
  activationSizedUploads: number;
  /** B·L·d·4 bytes: one float activation of the measured batches. */
  activationBytes: number;
  /** Mean wall seconds per measured step. */
  secondsPerStep: number;
  /** Wall seconds of the first step (shader compiles on webgpu). */
  firstStepSeconds: number;
  /** Upload sizes of the measured steps: [bytes, count per step]. */
  uploadSizes: [number, number][];
  /**
   * On webgpu the steps leave their loss terms on the device; this is the
   * one read of all measured steps' terms after them (seconds included).
   */
  termsRead?: {
    steps: number;
    readbacks: number;
    readbackBytes: number;
    total: number[];
  };
}

function perStep(d: Counters, n: number): Record<keyof Counters, number> {
  const out = {} as Record<keyof Counters, number>;
  for (const [k, v] of Object.entries(d)) {
    out[k as keyof Counters] = k.startsWith("max")
      ? v
      : Math.round((v / n) * 10) / 10;
  }
  return out;
}

async function profileMethod(name: string): Promise<{
  step: StepProfile;
  eval?: { counters: Counters; seconds: number; users: number };
  epochStart?: { counters: Counters; seconds: number };
}> {
  const cfg = makeConfig({
    ...METHODS[name],
    hidden,
    maxLen,
    batchSize,
    ...extra,
  });
  const rng = makeRng(cfg.seed);
  const model = buildModel(cfg, split, rng);
  try {
    let epochStart;
    if (model.onEpochStart) {
      const c0 = snapshotCounters(), t0 = performance.now();
      await model.onEpochStart(1, split, rng);
      epochStart = {
        counters: counterDelta(c0, snapshotCounters()),
        seconds: (performance.now() - t0) / 1000,
      };
    }
    const batches = trainBatches(split, {
      batchSize: cfg.batchSize,
      rng,
      maxLen: cfg.maxLen,
      bucket: cfg.bucket,
      samples: cfg.samples,
    });
    // Measure full batches of the longest kind: the step a GPU sees most.
    const full = batches.filter((b) => b.batchSize === cfg.batchSize)
      .sort((a, b) => b.seqLen - a.seqLen);
    const pool = full.length >= warmup + steps ? full : batches;
    // As fit does on webgpu: steps leave their loss on the device, read
    // after the measured steps (fit reads every 16 steps).
    const deferred = info.name === "webgpu" ? new DeferredTerms() : undefined;
    const ctx = { rng, epoch: 1, split, deferred };
    let first = 0;
    for (let i = 0; i < warmup; i++) {
      const t = performance.now();
      deferred?.beginStep(i);
      await model.step(pool[i % pool.length], ctx);
      if (i === 0) first = (performance.now() - t) / 1000;
    }
    if (deferred) await deferred.flush();
    resetMaxima();
    const c0 = snapshotCounters();
    const t0 = performance.now();
    let cells = 0;
    for (let i = 0; i < steps; i++) {
      const b = pool[(warmup + i) % pool.length];
      cells += b.batchSize * b.seqLen;
      const t = performance.now();
      deferred?.beginStep(warmup + i);
      await model.step(b, ctx);
      if (warmup === 0 && i === 0) first = (performance.now() - t) / 1000;
    }
    const d = counterDelta(c0, snapshotCounters());
    let termsRead;
    if (deferred) {
      const f0 = snapshotCounters();
      const read = await deferred.flush();
      deferred.dispose();
      const f = counterDelta(f0, snapshotCounters());
      termsRead = {
        steps: read.length,
        readbacks: f.readbacks,
        readbackBytes: f.readbackBytes,
        total: read.map((r) => r.terms.total),
      };
    }
    const seconds = (performance.now() - t0) / 1000;
    const meanCells = cells / steps;
    const activationBytes = Math.round(meanCells * cfg.hidden * 4);
    const hist = uploadHistogram();
    const big = hist.filter(([bytes]) => bytes >= meanCells * cfg.hidden)
      .reduce((s, [, n]) => s + n, 0);
    const step: StepProfile = {
      termsRead,
      perStep: perStep(d, steps),
      maxUpload: d.maxUpload,
      activationSizedUploads: Math.round((big / steps) * 10) / 10,
      activationBytes,
      secondsPerStep: seconds / steps,
      firstStepSeconds: first,
      uploadSizes: hist.slice(0, 8).map((
        [b, n],
      ) => [b, Math.round((n / steps) * 10) / 10]),
    };
    let ev;
    if (!args["no-eval"]) {
      const nu = args["eval-users"]
        ? Math.min(int("eval-users", args["eval-users"], 0), split.train.length)
        : split.train.length;
      const users = Int32Array.from({ length: nu }, (_, i) => i);
      // One pass to compile, then the measured one.
      await evaluate(model.scorer, split, "valid", {
        users: users.subarray(0, Math.min(nu, 64)),
        batchSize: cfg.evalBatchSize,
      });
      resetMaxima();
      const e0 = snapshotCounters(), te = performance.now();
      await evaluate(model.scorer, split, "valid", {
        users,
        batchSize: cfg.evalBatchSize,
      });
      ev = {
        counters: counterDelta(e0, snapshotCounters()),
        seconds: (performance.now() - te) / 1000,
        users: nu,
      };
    }
    return { step, eval: ev, epochStart };
  } finally {
    model.dispose();
  }
}

const results: Record<string, Awaited<ReturnType<typeof profileMethod>>> = {};
const mib = (b: number) => (b / 2 ** 20).toFixed(b < 2 ** 20 ? 3 : 1);
log(
  "method       kernels dispatch submits hostW MiB  up MiB  ups  maxUp MiB  act-size  read KiB  syncs  s/step (first)",
);
for (const m of methods) {
  const r = await profileMethod(m);
  results[m] = r;
  const p = r.step.perStep;
  log(
    `${m.padEnd(12)} ${String(p.kernels).padStart(7)} ${
      String(p.dispatches).padStart(8)
    } ${String(p.submits).padStart(7)} ${mib(p.hostWriteBytes).padStart(9)} ${
      mib(p.uploadBytes).padStart(7)
    } ${String(p.uploads).padStart(4)} ${mib(r.step.maxUpload).padStart(10)} ${
      String(r.step.activationSizedUploads).padStart(9)
    } ${
      (Math.max(p.readbackBytes, p.hostReadBytes) / 1024).toFixed(3).padStart(9)
    } ${String(Math.max(p.readbacks, p.hostReads)).padStart(6)}  ${
      r.step.secondsPerStep.toFixed(3)
    } (${r.step.firstStepSeconds.toFixed(2)})`,
  );
  if (r.eval) {
    const e = r.eval.counters;
    log(
      `  eval pass (${r.eval.users} users): kernels ${e.kernels}, dispatches ${e.dispatches}, host writes ${
        mib(e.hostWriteBytes)
      } MiB, up ${mib(e.uploadBytes)} MiB, read back ${
        mib(Math.max(e.readbackBytes, e.hostReadBytes))
      } MiB in ${Math.max(e.readbacks, e.hostReads)} syncs, ${
        r.eval.seconds.toFixed(2)
      } s`,
    );
  }
}
if (args.json) {
  console.log(JSON.stringify(
    {
      backend: info,
      data: source,
      sizes: { maxLen, batchSize, hidden, steps, warmup },
      methods: results,
    },
    null,
    1,
  ));
}
