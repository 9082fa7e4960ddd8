// Seconds per Beauty epoch of every method, interleaved: each round runs
// every method on the same batch before moving to the next batch, so a
// shared or throttled machine slows all methods alike and the ratios hold.
// `deno bench` runs one case after another, which a changing load skews.
//
//   OPENBLAS_NUM_THREADS=1 deno run -A bench/epoch_ratios.ts [ce|bce] [rounds] [variant ...]
//
// A variant is a method name, optionally with config keys:
// `s4rec:clustering=kmeans` (default: every method); with `samples=prefixes`
// on every variant, the batches are prefix batches. Each round also runs
// every model's start-of-epoch work (S4Rec's K-means pass), timed into its
// epoch. The batches are the length-stratified sample of 22 of the epoch's 88
// bucketed batches that bench/train_bench.ts uses; s/epoch = mean step x 88
// + the start-of-epoch time.
import { initBackend } from "../lib/backend/init.ts";
import { parseSetting } from "../lib/training/config.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/build.ts";
import { methods as registered } from "../lib/methods/mod.ts";
import { makeRng } from "../lib/util/rng.ts";
import { beautySplit, epochSample } from "./_beauty.ts";

const loss = (Deno.args[0] ?? "bce") as "ce" | "bce";
const rounds = Number(Deno.args[1] ?? 3);
if (!["ce", "bce"].includes(loss) || !(rounds >= 1)) {
  throw new Error("usage: epoch_ratios.ts [ce|bce] [rounds >= 1]");
}
const backend = await initBackend("wasm");
const { split, source } = await beautySplit();
console.log(`bench data: ${source}`);
const specs = Deno.args.length > 2
  ? Deno.args.slice(2)
  : registered().map((m) => m.name);
const configOf = (spec: string) => {
  const [method, keys = ""] = spec.split(":");
  const set = Object.fromEntries(
    keys.split(",").filter(Boolean).map(parseSetting),
  );
  return { method, cfg: makeConfig({ method, loss, ...set }) };
};
// Every variant steps the same batches: one row per sequence, or (all with
// `samples=prefixes`) one per prefix; the baseline SASRec trains on the same.
const variants = specs.map(configOf);
const modes = [...new Set(variants.map((v) => v.cfg.samples))];
if (modes.length > 1) {
  throw new Error(
    `epoch_ratios: expected one samples setting for every variant, found ${
      modes.join(" and ")
    }`,
  );
}
const samples = modes[0] ?? "sequences";
const baseline = samples === "prefixes" ? "sasrec:samples=prefixes" : "sasrec";
if (!specs.includes(baseline)) {
  specs.unshift(baseline);
  variants.unshift(configOf(baseline));
}
const { epoch, sample } = epochSample(split, 22, samples);
const methods = specs;
const models = variants.map((v) => buildModel(v.cfg, split, makeRng(0)));
for (const m of models) {
  await m.onEpochStart?.(1, split, makeRng(0));
  await m.step(sample[11], { rng: makeRng(0), epoch: 1, split });
}
const perRound = methods.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  const sums = methods.map(() => 0);
  const starts = methods.map(() => 0);
  for (let k = 0; k < models.length; k++) {
    const t0 = performance.now();
    await models[k].onEpochStart?.(r + 1, split, makeRng(r));
    starts[k] = (performance.now() - t0) / 1000;
  }
  for (let i = 0; i < sample.length; i++) {
    for (let k = 0; k < models.length; k++) {
      const t0 = performance.now();
      await models[k].step(sample[i], { rng: makeRng(i), epoch: 1, split });
      sums[k] += performance.now() - t0;
    }
  }
  sums.forEach((s, k) =>
    perRound[k].push((s / sample.length / 1000) * epoch.length + starts[k])
  );
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(perRound[methods.indexOf(baseline)]);
console.log(
  `${loss.toUpperCase()} regime, backend ${backend.name}, ${samples}, ${epoch.length} batches per epoch, ${rounds} interleaved rounds`,
);
console.log(
  "| method | s/epoch (median) | rounds | vs SASRec |\n|---|---|---|---|",
);
methods.forEach((m, k) => {
  const med = median(perRound[k]);
  console.log(
    `| ${m} | ${med.toFixed(1)} | ${
      perRound[k].map((x) => x.toFixed(1)).join(" ")
    } | ${(med / base).toFixed(2)}x |`,
  );
});
for (const m of models) m.dispose();
