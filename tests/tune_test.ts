/**
 * Hyper-parameter search: grid enumeration, reproducible random draws within
 * their ranges, the choice by validation only, resume, and `--only I/K`
 * splitting the trials disjointly; the CLI's `tune` end to end on tiny
 * synthetic data.
 */
import {
  chooseTrial,
  inPart,
  parseOnly,
  parseSpace,
  trialConfigs,
  type TrialRecord,
  trialSettings,
  type TuneResults,
} from "../lib/tune.ts";
import { runCli } from "./_cli.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

Deno.test("tune grid: exactly the product of the lists, first key slowest", () => {
  const space = parseSpace({
    params: { lr: [0.1, 0.01], hidden: [8, 16, 32], dropout: [0.2] },
  });
  const s = trialSettings(space);
  assertEquals(s.length, 2 * 3 * 1);
  assertEquals(s.map((x) => `${x.lr}/${x.hidden}/${x.dropout}`), [
    "0.1/8/0.2",
    "0.1/16/0.2",
    "0.1/32/0.2",
    "0.01/8/0.2",
    "0.01/16/0.2",
    "0.01/32/0.2",
  ]);
  assertEquals(new Set(s.map((x) => JSON.stringify(x))).size, 6);
});

Deno.test("tune random: same seed same draws, another seed others; ranges, log and integers respected", () => {
  const params = {
    lr: { min: 1e-5, max: 1e-1, log: true },
    dropout: { min: 0.1, max: 0.5 },
    layers: { min: 1, max: 3 },
    hidden: [8, 16],
  };
  const a = trialSettings(
    parseSpace({ search: "random", seed: 4, params }),
    400,
  );
  const b = trialSettings(
    parseSpace({ search: "random", seed: 4, params }),
    400,
  );
  const c = trialSettings(
    parseSpace({ search: "random", seed: 5, params }),
    400,
  );
  assertEquals(a, b);
  assert(JSON.stringify(a) !== JSON.stringify(c));
  // a prefix does not depend on how many are drawn
  assertEquals(
    trialSettings(parseSpace({ search: "random", seed: 4, params }), 3),
    a.slice(0, 3),
  );
  const lr = a.map((x) => x.lr as number);
  assert(lr.every((v) => v >= 1e-5 && v <= 1e-1));
  // log-uniform: about a quarter of the draws in each decade pair
  // [1e-5, 1e-4) ... ; uniform would put ~0.1% below 1e-4.
  const low = lr.filter((v) => v < 1e-4).length / lr.length;
  assert(low > 0.15 && low < 0.35, `share below 1e-4: ${low}`);
  const dr = a.map((x) => x.dropout as number);
  assert(dr.every((v) => v >= 0.1 && v <= 0.5));
  assert(dr.some((v) => !Number.isInteger(v * 10)));
  const layers = new Set(a.map((x) => x.layers));
  assertEquals([...layers].sort(), [1, 2, 3]);
  assertEquals([...new Set(a.map((x) => x.hidden))].sort(), [16, 8]);
});

Deno.test("tune: configs check every key through the registry; bad spaces name the key", () => {
  const space = parseSpace({
    base: { method: "srma", hidden: 8 },
    params: { dropK: [2, 3] },
  });
  const cfgs = trialConfigs(space, { epochs: 1 });
  assertEquals(cfgs.map((c) => (c as Record<string, unknown>).dropK), [2, 3]);
  assertEquals(cfgs[0].method, "srma");
  assertThrows(
    () => trialConfigs(parseSpace({ params: { dropK: [1] } }), {}),
    Error,
    "dropK: not a key of method 'sasrec'",
  );
  assertThrows(
    () => parseSpace({ params: { lr: [] } }, { source: "s.yaml" }),
    Error,
    "s.yaml: params.lr: expected at least one value",
  );
  assertThrows(
    () => parseSpace({ search: "random", params: { lr: { min: 2, max: 1 } } }),
    Error,
    "expected finite numbers min <= max",
  );
  assertThrows(() => parseSpace({ base: {} }), Error, "params:");
});

Deno.test("tune: the choice is the argmax of validation NDCG@20, never test", () => {
  const t = (trial: number, v: number, test: number, finished = true) =>
    ({
      trial,
      params: {},
      finished,
      valid: { all: { "NDCG@20": v } },
      test: { all: { "NDCG@20": test } },
    }) as unknown as TrialRecord;
  assertEquals(
    chooseTrial([t(1, 0.10, 0.9), t(2, 0.30, 0.1), t(3, 0.20, 0.5)])?.trial,
    2,
  );
  // an unfinished trial is not chosen; ties keep the first
  assertEquals(
    chooseTrial([t(1, 0.2, 0), t(2, 0.5, 0, false), t(3, 0.2, 0)])?.trial,
    1,
  );
  assertEquals(chooseTrial([]), undefined);
});

Deno.test("tune --only I/K: disjoint parts that cover every trial", () => {
  for (const k of [1, 2, 3, 5]) {
    const seen: number[] = [];
    for (let part = 1; part <= k; part++) {
      const p = parseOnly(`${part}/${k}`);
      for (let i = 1; i <= 13; i++) if (inPart(i, p)) seen.push(i);
    }
    assertEquals(
      seen.sort((a, b) => a - b),
      Array.from({ length: 13 }, (_, i) => i + 1),
    );
  }
  for (const bad of ["0/2", "3/2", "1/0", "x", "1/2/3"]) {
    assertThrows(() => parseOnly(bad), Error, "--only");
  }
});

Deno.test("cli tune: --only parts, resume skips finished trials, choice by validation, final seeds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_tune_" });
  try {
    const space = `${dir}/space.yaml`;
    await Deno.writeTextFile(
      space,
      [
        "base: { hidden: 8, heads: 1, layers: 1, maxLen: 10, synthUsers: 60, synthItems: 40, epochs: 2 }",
        "search: grid",
        "params:",
        "  lr: [0.01, 0.001]",
        "  dropout: [0.1, 0.3]",
        "",
      ].join("\n"),
    );
    const out = `${dir}/out`;
    const common = [
      "tune",
      "--space",
      space,
      "--backend",
      "cpu",
      "--out",
      out,
      "--json",
    ];
    const part2 = await runCli([...common, "--only", "2/2"]);
    assertEquals(part2.code, 0, part2.err);
    const folders = async () =>
      (await Array.fromAsync(Deno.readDir(out))).filter((e) => e.isDirectory)
        .map((e) => e.name).sort();
    assertEquals(await folders(), ["trial-2", "trial-4"]);
    const partial = JSON.parse(part2.out) as TuneResults;
    assertEquals(partial.chosen, undefined);
    assertEquals(partial.trials.map((t) => t.finished), [
      false,
      true,
      false,
      true,
    ]);
    const mtime = (await Deno.stat(`${out}/trial-2/result.json`)).mtime
      ?.getTime();

    const part1 = await runCli([...common, "--only", "1/2", "--seeds", "1,2"]);
    assertEquals(part1.code, 0, part1.err);
    const res = JSON.parse(part1.out) as TuneResults;
    assertEquals(await folders(), [
      "final",
      "trial-1",
      "trial-2",
      "trial-3",
      "trial-4",
    ]);
    // trial 2 (the other part's) was not trained again
    assertEquals(
      (await Deno.stat(`${out}/trial-2/result.json`)).mtime?.getTime(),
      mtime,
    );
    assertEquals(res.trials[1].valid, partial.trials[1].valid);
    assertEquals(res.trials.map((t) => t.params), [
      { lr: 0.01, dropout: 0.1 },
      { lr: 0.01, dropout: 0.3 },
      { lr: 0.001, dropout: 0.1 },
      { lr: 0.001, dropout: 0.3 },
    ]);
    const v = res.trials.map((t) => t.valid!.all["NDCG@20"]);
    const best = v.indexOf(Math.max(...v)) + 1;
    assertEquals(res.chosen?.trial, best);
    assertEquals(res.final?.rows.map((r) => r.seed), [1, 2]);
    assertEquals(
      res.final?.rows[0].report.config.lr,
      res.trials[best - 1].config.lr,
    );
    const saved = JSON.parse(await Deno.readTextFile(`${out}/tune.json`));
    assertEquals(saved.chosen.trial, best);
    assertEquals(saved.space.params.lr, [0.01, 0.001]);

    // a whole rerun trains nothing new
    const again = await runCli([...common, "--seeds", "1,2"]);
    assertEquals(again.code, 0, again.err);
    assertEquals(JSON.parse(again.out).chosen.trial, best);
    assertEquals(
      (await Deno.stat(`${out}/trial-2/result.json`)).mtime?.getTime(),
      mtime,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tune datasets: bad lists name the space's line; --data is refused with them", async () => {
  assertThrows(
    () => parseSpace({ datasets: ["a/x.txt", "b/x.csv"], params: { lr: [1] } }),
    Error,
    "space: datasets: expected data files with different names (each gets trial-<i>/<name>), found 'x' twice",
  );
  assertThrows(
    () => parseSpace({ datasets: [], params: { lr: [1] } }),
    Error,
    "space: datasets: expected a list of data file paths, found []",
  );
  assertThrows(
    () =>
      parseSpace({
        base: { data: "a.txt" },
        datasets: ["b.txt"],
        params: { lr: [1] },
      }),
    Error,
    "space: base.data: not with datasets (space): the trials train on each of the datasets",
  );
  const dir = await Deno.makeTempDir({ prefix: "seqssl_tune_" });
  try {
    await Deno.writeTextFile(
      `${dir}/space.yaml`,
      "datasets: [a.txt, b.txt]\nparams:\n  lr: [0.01]\n",
    );
    const r = await runCli([
      "tune",
      "--space",
      `${dir}/space.yaml`,
      "--data",
      "c.txt",
      "--out",
      `${dir}/out`,
    ]);
    assertEquals(r.code, 1);
    assertEquals(
      r.err.trim(),
      `seqssl: error: --data: not with a space that lists datasets (${dir}/space.yaml:1): the trials train on each of them`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A small sequence file: each user walks a cycle of the items from its own start. */
function cycleData(users: number, items: number, step: number): string {
  const lines: string[] = [];
  for (let u = 1; u <= users; u++) {
    const len = 8 + (u % 5);
    const seq = Array.from(
      { length: len },
      (_, k) => ((u * 7 + k * step) % items) + 1,
    );
    lines.push(`${u} ${seq.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

Deno.test("cli tune datasets: every trial on each data set, the choice nearest the best on all, final seeds on each", async () => {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_tune_" });
  try {
    await Deno.writeTextFile(`${dir}/A.txt`, cycleData(80, 30, 1));
    await Deno.writeTextFile(`${dir}/B.txt`, cycleData(80, 40, 3));
    const space = `${dir}/space.yaml`;
    await Deno.writeTextFile(
      space,
      [
        `datasets: [${dir}/A.txt, ${dir}/B.txt]`,
        "base: { hidden: 8, heads: 1, layers: 1, maxLen: 10, epochs: 2 }",
        "params:",
        "  lr: [0.01, 0.0003]",
        "",
      ].join("\n"),
    );
    const out = `${dir}/out`;
    const r = await runCli([
      "tune",
      "--space",
      space,
      "--backend",
      "cpu",
      "--out",
      out,
      "--seeds",
      "1",
      "--json",
    ]);
    assertEquals(r.code, 0, r.err);
    const res = JSON.parse(r.out) as TuneResults;
    for (const t of [1, 2]) {
      for (const d of ["A", "B"]) {
        const rep = JSON.parse(
          await Deno.readTextFile(`${out}/trial-${t}/${d}/result.json`),
        );
        assertEquals(rep.config.data, `${dir}/${d}.txt`);
        assertEquals(
          rep.valid.all["NDCG@20"],
          res.trials[t - 1].perData![d].valid!.all["NDCG@20"],
        );
      }
    }
    // relative = min over data sets of NDCG@20 / the best trial's, by hand
    const v = (t: number, d: string) =>
      res.trials[t].perData![d].valid!.all["NDCG@20"];
    const bestA = Math.max(v(0, "A"), v(1, "A"));
    const bestB = Math.max(v(0, "B"), v(1, "B"));
    const rel = [0, 1].map((t) =>
      Math.min(v(t, "A") / bestA, v(t, "B") / bestB)
    );
    assertEquals(res.trials.map((t) => t.relative), rel);
    assertEquals(res.chosen?.trial, rel[0] >= rel[1] ? 1 : 2);
    assertEquals(res.chosen?.relative, Math.max(...rel));
    assertEquals(Object.keys(res.finalByData ?? {}), ["A", "B"]);
    assertEquals(
      res.finalByData!.B.rows[0].report.config.data,
      `${dir}/B.txt`,
    );
    await Deno.stat(`${out}/final/A/seed-1/result.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the search spaces in bench/tune parse and every trial's config resolves", async () => {
  const { readYamlFile } = await import("../lib/config/yaml_file.ts");
  let n = 0;
  for await (
    const e of Deno.readDir(new URL("../bench/tune", import.meta.url))
  ) {
    if (!e.name.endsWith(".yaml")) continue;
    const path = new URL(`../bench/tune/${e.name}`, import.meta.url).pathname;
    const file = await readYamlFile(path);
    const space = parseSpace(file.value, { file });
    const configs = trialConfigs(space, {}, { file, n: 50 });
    assert(configs.length > 1, e.name);
    n++;
  }
  assert(n > 0, "no space in bench/tune");
});

Deno.test("cli tune: a trial folder held by another live run stops this process with the owner named, and nothing of the trial written", async () => {
  const { lockFolder } = await import("../lib/util/lock.ts");
  const dir = await Deno.makeTempDir({ prefix: "seqssl_tune_" });
  try {
    const space = `${dir}/space.yaml`;
    await Deno.writeTextFile(
      space,
      "base: { hidden: 8, heads: 1, layers: 1, maxLen: 10, synthUsers: 60, synthItems: 40, epochs: 1 }\nparams:\n  lr: [0.01, 0.001]\n",
    );
    const out = `${dir}/out`;
    await Deno.mkdir(`${out}/trial-1`, { recursive: true });
    // another process of the same part, mid-trial
    const other = await lockFolder(`${out}/trial-1`, "seqssl tune (other)");
    try {
      const r = await runCli([
        "tune",
        "--space",
        space,
        "--backend",
        "cpu",
        "--out",
        out,
        "--json",
      ]);
      assertEquals(r.code, 1);
      assert(
        r.err.includes(`${out}/trial-1`) &&
          r.err.includes("seqssl tune (other)"),
        r.err,
      );
      assertEquals(r.err.trim().split("\n").length, 1, r.err);
      const left = await Array.fromAsync(Deno.readDir(`${out}/trial-1`));
      assertEquals(left.map((e) => e.name), ["seqssl.lock"]);
    } finally {
      other.release();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
