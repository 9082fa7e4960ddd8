// Seconds per Beauty epoch of this working tree against another git
// revision, interleaved in one process: for every sampled batch each variant
// steps the old build and the new build one after the other (which goes
// first alternates), so a shared or throttled machine slows both alike.
//
//   OPENBLAS_NUM_THREADS=1 deno run -A bench/ab_steps.ts REF [rounds] [variant ...]
//
// REF is a git revision (e.g. main); it is extracted with `git archive` into
// a temporary folder and imported beside this tree (its tfjs variable-name
// counter is started far away, so the two copies' variables do not clash).
// A variant is a method name with optional config keys, as in
// bench/epoch_ratios.ts (default: sasrec srma); loss is the default CE. The
// batches are bench/_beauty.ts's length-stratified sample of 22 of the 88;
// s/epoch = mean step x epoch length + the start-of-epoch work.
// BEAUTY=path overrides where Beauty.txt is looked for.
import { initBackend } from "../lib/backend/init.ts";
import { parseSetting } from "../lib/training/config.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { buildModel } from "../lib/methods/build.ts";
import { makeRng } from "../lib/util/rng.ts";
import { readSequenceFile } from "../lib/data/read_sequences.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { beautySplit, epochSample } from "./_beauty.ts";
import type { Model } from "../lib/training/model.ts";

const [ref, roundsArg, ...rest] = Deno.args;
const rounds = Number(roundsArg ?? 3);
if (!ref || !(rounds >= 1)) {
  throw new Error("usage: ab_steps.ts REF [rounds >= 1] [variant ...]");
}
const specs = rest.length ? rest : ["sasrec", "srma"];

// The old build, extracted and patched so its variable names do not clash.
const dir = await Deno.makeTempDir({ prefix: "seqssl_ab_" });
const root = new URL("..", import.meta.url).pathname;
const tar = new Deno.Command("sh", {
  args: ["-c", `git -C '${root}' archive '${ref}' | tar -x -C '${dir}'`],
}).outputSync();
if (!tar.success) {
  throw new Error(
    `git archive ${ref}: ${new TextDecoder().decode(tar.stderr)}`,
  );
}
const paramsFile = `${dir}/lib/nn/params.ts`;
const src = Deno.readTextFileSync(paramsFile);
if (!src.includes("let counter = 0;")) {
  throw new Error(`${paramsFile}: expected 'let counter = 0;' to patch`);
}
Deno.writeTextFileSync(
  paramsFile,
  src.replace("let counter = 0;", "let counter = 1_000_000_000;"),
);
const old = {
  build: (await import(`${dir}/lib/methods/build.ts`)) as {
    buildModel: typeof buildModel;
  },
  config: (await import(`${dir}/lib/config/resolve.ts`)) as {
    makeConfig: typeof makeConfig;
  },
  rng: (await import(`${dir}/lib/util/rng.ts`)) as {
    makeRng: typeof makeRng;
  },
};

const backend = await initBackend("wasm");
const beauty = Deno.env.get("BEAUTY");
const { split, source } = beauty
  ? {
    split: leaveOneOut(await readSequenceFile(beauty), { maxLen: 50 }),
    source: beauty,
  }
  : await beautySplit();
const { epoch, sample } = epochSample(split, 22);

interface Pair {
  spec: string;
  models: [Model, Model]; // [old, new]
  rngs: [typeof makeRng, typeof makeRng];
  perRound: [number[], number[]];
}
const pairs: Pair[] = specs.map((spec) => {
  const [method, keys = ""] = spec.split(":");
  const set = Object.fromEntries(
    keys.split(",").filter(Boolean).map(parseSetting),
  );
  const oldModel = old.build.buildModel(
    old.config.makeConfig({ method, ...set }),
    split,
    old.rng.makeRng(0),
  );
  const newModel = buildModel(
    makeConfig({ method, ...set }),
    split,
    makeRng(0),
  );
  return {
    spec,
    models: [oldModel, newModel],
    rngs: [old.rng.makeRng, makeRng],
    perRound: [[], []],
  };
});
for (const p of pairs) {
  for (const k of [0, 1]) {
    await p.models[k].onEpochStart?.(1, split, p.rngs[k](0));
    await p.models[k].step(sample[11], { rng: p.rngs[k](0), epoch: 1, split });
  }
}
const load0 = Deno.loadavg();
for (let r = 0; r < rounds; r++) {
  for (const p of pairs) {
    const sums = [0, 0], starts = [0, 0];
    for (const k of [0, 1]) {
      const t0 = performance.now();
      await p.models[k].onEpochStart?.(r + 1, split, p.rngs[k](r));
      starts[k] = (performance.now() - t0) / 1000;
    }
    for (let i = 0; i < sample.length; i++) {
      for (const k of (i + r) % 2 ? [1, 0] : [0, 1]) {
        const t0 = performance.now();
        await p.models[k].step(sample[i], {
          rng: p.rngs[k](i),
          epoch: 1,
          split,
        });
        sums[k] += performance.now() - t0;
      }
    }
    for (const k of [0, 1]) {
      p.perRound[k].push(
        (sums[k] / sample.length / 1000) * epoch.length + starts[k],
      );
    }
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(
  `backend ${backend.name}, ${source}, ${epoch.length} batches per epoch, ${rounds} interleaved rounds; load average ${
    load0.map((x) => x.toFixed(2)).join(" ")
  } before, ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")} after`,
);
console.log(
  `| variant | ${ref} s/epoch (rounds) | this tree s/epoch (rounds) | this / ${ref} |\n|---|---|---|---|`,
);
for (const p of pairs) {
  const [a, b] = p.perRound.map(median);
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
  console.log(
    `| ${p.spec} | ${a.toFixed(1)} (${fmt(p.perRound[0])}) | ${b.toFixed(1)} (${
      fmt(p.perRound[1])
    }) | ${(b / a).toFixed(3)} |`,
  );
  p.models.forEach((m) => m.dispose());
}
await Deno.remove(dir, { recursive: true });
