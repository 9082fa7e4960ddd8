/**
 * The training configuration (defaults, unknown keys, bad values) and the
 * command line end to end: config and data errors, and one small happy path
 * through `train`, `eval` and `recommend`.
 */
import { initBackend } from "../lib/backend/init.ts";
import {
  COMMON_KEYS,
  parseSetting,
  type TrainConfig,
} from "../lib/training/config.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { SASREC_ENCODER_KEYS } from "../lib/nn/encoders.ts";
import { NEXT_ITEM_KEYS } from "../lib/methods/next_item.ts";
import { defaultsOf } from "../lib/util/keys.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { loadDataset } from "../lib/experiment.ts";
import { readTestRanks } from "../lib/training/test_ranks.ts";
import { metricsFromRanks } from "../lib/eval/metrics.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./_assert.ts";
import { runCli as run, withTempDir as withTemp } from "./_cli.ts";

await initBackend("cpu");

// ------------------------------------------------------------- makeConfig

Deno.test("makeConfig: defaults are the declared ones (common, SASRec encoder, SASRec method), a fresh copy", () => {
  const c = makeConfig();
  assertEquals(c, {
    ...defaultsOf(COMMON_KEYS),
    ...defaultsOf(SASREC_ENCODER_KEYS),
    ...defaultsOf(NEXT_ITEM_KEYS),
  });
  // spot-check the protocol's defaults
  assert(c.encoder === "sasrec");
  assertEquals(
    [c.method, c.hidden, c.layers, c.heads, c.maxLen, c.loss, c.lr],
    ["sasrec", 64, 2, 2, 50, "ce", 1e-3],
  );
  c.hidden = 8;
  assertEquals(makeConfig().hidden, 64);
  assert(Object.isFrozen(COMMON_KEYS.hidden), "declarations are not frozen");
});

Deno.test("makeConfig: overrides replace defaults; undefined values are ignored", () => {
  const c = makeConfig({
    lr: 0.01,
    epochs: 0,
    seed: -3,
    backend: "wasm",
    dropout: 0,
    lrx: undefined,
  });
  assertEquals([c.lr, c.epochs, c.seed, c.backend, c.dropout], [
    0.01,
    0,
    -3,
    "wasm",
    0,
  ]);
  assertEquals(c.hidden, 64);
  // a base config is kept where not overridden
  const base = makeConfig({ hidden: 8, heads: 1 });
  const d = makeConfig({ heads: 4 }, { base });
  assert(d.encoder === "sasrec");
  assertEquals([d.hidden, d.heads], [8, 4]);
});

Deno.test("makeConfig: an unknown key is a ConfigError naming it (and the source)", () => {
  const e = assertThrows(
    () => makeConfig({ lrr: 0.1 }),
    ConfigError,
    "'lrr'",
  ) as ConfigError;
  assertEquals(e.key, "lrr");
  assertEquals(
    e.message,
    "config key 'lrr': unknown key for method 'sasrec'; did you mean 'lr'?",
  );
  assertThrows(
    () => makeConfig({ hiden: 8 }, { source: "exp/beauty.yaml" }),
    ConfigError,
    "exp/beauty.yaml: hiden",
  );
});

Deno.test("parseSetting: numbers, booleans and strings, as --set and the bench take them", () => {
  assertEquals(parseSetting("lr=1e-3"), ["lr", 0.001]);
  assertEquals(parseSetting("clWeight=.5"), ["clWeight", 0.5]);
  assertEquals(parseSetting("mclGamma=-2"), ["mclGamma", -2]);
  assertEquals(parseSetting("batchSize=512"), ["batchSize", 512]);
  assertEquals(parseSetting("dropAtEval=false"), ["dropAtEval", false]);
  // Only the first '=' splits; a value that is not a number stays a string.
  assertEquals(parseSetting("augment=crop,mask"), ["augment", "crop,mask"]);
  assertEquals(parseSetting("note=a=b"), ["note", "a=b"]);
  assertEquals(parseSetting("seed=1.2.3"), ["seed", "1.2.3"]);
  assertThrows(() => parseSetting("lr"), Error, "KEY=VALUE, found 'lr'");
  assertThrows(() => parseSetting("=1"), Error, "KEY=VALUE");
  // The value type is makeConfig's to check.
  assertThrows(
    () => makeConfig(Object.fromEntries([parseSetting("lr=fast")])),
    ConfigError,
    "'lr'",
  );
});

Deno.test("makeConfig: every bad value type names its key", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ lr: -0.001 }, "lr"],
    [{ lr: 0 }, "lr"],
    [{ lr: "0.001" }, "lr"],
    [{ lr: NaN }, "lr"],
    [{ lr: Infinity }, "lr"],
    [{ lr: null }, "lr"],
    [{ dropout: 1.0 }, "dropout"],
    [{ dropout: -0.1 }, "dropout"],
    [{ attnDropout: 1 }, "attnDropout"],
    [{ synthNoise: 1.5 }, "synthNoise"],
    [{ heads: 3 }, "heads"], // 64 % 3 != 0
    [{ hidden: 10, heads: 4 }, "heads"],
    [{ heads: 0 }, "heads"],
    [{ hidden: 2.5 }, "hidden"],
    [{ hidden: 0 }, "hidden"],
    [{ layers: -1 }, "layers"],
    [{ epochs: -1 }, "epochs"],
    [{ epochs: 1.5 }, "epochs"],
    [{ batchSize: "256" }, "batchSize"],
    [{ weightDecay: -1 }, "weightDecay"],
    [{ seed: 0.5 }, "seed"],
    [{ backend: "tpu" }, "backend"],
    [{ backend: "CPU" }, "backend"],
    [{ loss: "mse" }, "loss"],
    [{ encoder: "lstm" }, "encoder"],
    [{ method: "bert4rec" }, "method"],
    [{ format: "csv" }, "format"],
    [{ data: 3 }, "data"],
    [{ patience: 0 }, "patience"],
  ];
  for (const [overrides, key] of cases) {
    const e = assertThrows(
      () => makeConfig(overrides),
      ConfigError,
      `'${key}'`,
      JSON.stringify(overrides),
    ) as ConfigError;
    assertEquals(e.key, key, JSON.stringify(overrides));
    assert(e.message.includes("expected"), e.message);
  }
  // the value found is quoted in the message
  assertThrows(() => makeConfig({ backend: "tpu" }), ConfigError, '"tpu"');
  assertThrows(
    () => makeConfig({ heads: 3 }),
    ConfigError,
    "divisor of hidden (64)",
  );
});

// -------------------------------------------------------------------- CLI

const TINY = [
  "--backend",
  "cpu",
  "--epochs",
  "1",
  "--set",
  "synthUsers=60",
  "--set",
  "synthItems=40",
  "--set",
  "hidden=8",
  "--set",
  "heads=1",
];

const withTempDir = (fn: (dir: string) => Promise<void>) =>
  withTemp(fn, "seqssl_cli_");

const exists = (p: string) =>
  Deno.stat(p).then(() => true, (e) => {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  });

Deno.test("cli train: a YAML config with an unknown key fails naming the key and file", async () => {
  await withTempDir(async (dir) => {
    const f = `${dir}/exp.yaml`;
    await Deno.writeTextFile(f, "lr: 0.001\nhiden: 16\nepochs: 1\n");
    const r = await run([
      "train",
      "--config",
      f,
      "--out",
      `${dir}/out`,
      ...TINY,
    ]);
    assert(r.code !== 0, "exit code 0");
    assert(r.err.includes("hiden"), `stderr: ${r.err}`);
    assert(r.err.includes(f), `stderr does not name the file: ${r.err}`);
    assertEquals(await exists(`${dir}/out`), false, "out folder was created");
  });
});

Deno.test("cli train: a bad value in the YAML config names the key", async () => {
  await withTempDir(async (dir) => {
    const f = `${dir}/exp.yaml`;
    await Deno.writeTextFile(f, "dropout: 1.0\n");
    const r = await run(["train", "--config", f, ...TINY]);
    assert(r.code !== 0, "exit code 0");
    assert(r.err.includes("dropout"), `stderr: ${r.err}`);
  });
});

Deno.test("cli train: a malformed data file names file:line and writes no result", async () => {
  await withTempDir(async (dir) => {
    const data = `${dir}/bad.txt`;
    await Deno.writeTextFile(data, "u1 1 2 3 4\nu2 5 six 7\nu3 2 3 4\n");
    const out = `${dir}/out`;
    const r = await run([
      "train",
      "--data",
      data,
      "--out",
      out,
      "--json",
      ...TINY,
    ]);
    assert(r.code !== 0, "exit code 0");
    assert(r.err.includes(`${data}:2`), `stderr: ${r.err}`);
    assert(r.err.includes("six"), `stderr does not show the token: ${r.err}`);
    assertEquals(
      await exists(`${out}/result.json`),
      false,
      "result.json written",
    );
    assertEquals(r.out, "", "something was printed on stdout");
  });
});

Deno.test("cli: unknown flags, unknown --set keys and unknown commands are errors", async () => {
  const bogus = await run(["train", "--bogus"]);
  assert(bogus.code !== 0, "train --bogus: exit code 0");
  assert(bogus.err.includes("bogus"), `stderr: ${bogus.err}`);
  const set = await run(["train", ...TINY, "--set", "lrr=0.1"]);
  assert(set.code !== 0, "--set lrr: exit code 0");
  assert(set.err.includes("lrr"), `stderr: ${set.err}`);
  const setBad = await run(["train", ...TINY, "--set", "lr=-1"]);
  assert(
    setBad.code !== 0 &&
      setBad.err ===
        "seqssl: error: --set lr: expected a positive number, found -1",
    setBad.err,
  );
  const noEq = await run(["train", ...TINY, "--set", "lr"]);
  assert(noEq.code !== 0 && noEq.err.includes("KEY=VALUE"), noEq.err);
  const cmd = await run(["trian"]);
  assert(cmd.code !== 0 && cmd.err.includes("trian"), cmd.err);
  const noCkpt = await run(["eval", "--backend", "cpu"]);
  assert(noCkpt.code !== 0 && noCkpt.err.includes("--checkpoint"), noCkpt.err);
});

type Grouped = Record<
  "all" | "head" | "tail" | "headItem" | "tailItem",
  Record<string, number>
>;

Deno.test("cli: train, then eval and recommend from the best checkpoint", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/run`;
    const t = await run(["train", ...TINY, "--json", "--out", out]);
    assertEquals(t.code, 0, `train failed: ${t.err}`);
    const result = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
    // --json prints the same report on stdout
    const printed = JSON.parse(t.out);
    assertEquals(printed.test, result.test);
    assertEquals(result.config.hidden, 8);
    assertEquals(result.data.users, 60);
    const test = result.test as Grouped;
    const at = (names: string[]) =>
      names.flatMap((m) => [5, 10, 20].map((k) => `${m}@${k}`)).sort();
    const accuracy = at(["HR", "NDCG", "MRR"]);
    const keys = at([
      "HR",
      "NDCG",
      "MRR",
      "Coverage",
      "AveragePopularity",
      "Gini",
      "TailPercentage",
    ]);
    for (const g of ["all", "head", "tail"] as const) {
      assertEquals(Object.keys(test[g]).sort(), keys, g);
      for (const k of keys) {
        const v = test[g][k];
        const max = k.startsWith("AveragePopularity") ? Infinity : 1;
        assert(v >= 0 && v <= max, `${g} ${k} = ${v}`);
      }
      assert(test[g]["NDCG@5"] <= test[g]["HR@5"], `${g}: NDCG@5 > HR@5`);
      assert(test[g]["MRR@5"] <= test[g]["NDCG@5"], `${g}: MRR@5 > NDCG@5`);
      assert(test[g]["HR@5"] <= test[g]["HR@20"], `${g}: HR not monotone`);
      assert(
        test[g]["Coverage@5"] <= test[g]["Coverage@20"],
        `${g}: coverage not monotone`,
      );
    }
    for (const g of ["headItem", "tailItem"] as const) {
      assertEquals(Object.keys(test[g]!).sort(), accuracy, g);
    }
    // test_ranks.json: every user's test rank at the best epoch, from
    // which the reported accuracy follows.
    const { ranks } = await readTestRanks(out);
    assertEquals(ranks.length, 60);
    const fromRanks = metricsFromRanks(ranks);
    for (const k of accuracy) {
      assertAlmostEquals(fromRanks[k], test.all[k], 1e-12, k);
    }
    const files = (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name);
    assert(
      files.includes("best.ckpt") && files.includes("last.ckpt"),
      `files: ${files}`,
    );
    assert(
      !files.some((f) => f.includes(".tmp-")),
      `leftover temp files: ${files}`,
    );

    // eval: same weights, same data, same backend -> the same test metrics
    const e = await run([
      "eval",
      "--checkpoint",
      `${out}/best.ckpt`,
      "--backend",
      "cpu",
      "--json",
    ]);
    assertEquals(e.code, 0, `eval failed: ${e.err}`);
    const ev = JSON.parse(e.out);
    assertEquals(ev.test, result.test);
    assertEquals(ev.valid, result.valid);

    // recommend: a header, then one line per user with 5 new items
    const recs = `${out}/recs.tsv`;
    const r = await run([
      "recommend",
      "--checkpoint",
      `${out}/best.ckpt`,
      "--backend",
      "cpu",
      "--k",
      "5",
      "--output",
      recs,
    ]);
    assertEquals(r.code, 0, `recommend failed: ${r.err}`);
    const lines = (await Deno.readTextFile(recs)).split("\n");
    assertEquals(lines.pop(), "", "no final newline");
    assertEquals(
      lines.shift(),
      ["user", "item1", "item2", "item3", "item4", "item5"].join("\t"),
    );
    const ds = await loadDataset(result.config as TrainConfig);
    assertEquals(lines.length, ds.sequences.length);
    assertEquals(lines.length, 60);
    lines.forEach((line, u) => {
      const [user, ...items] = line.split("\t");
      assertEquals(user, ds.userIds[u], `line ${u + 2}`);
      const ids = items.map(Number);
      const seen = new Set(ds.sequences[u]);
      // 5 items, or every unseen item when fewer are left (with 40 items a
      // heavy synthetic user can have seen 36): never padding, never a repeat
      const unseen = ds.numItems - seen.size;
      assertEquals(ids.length, Math.min(5, unseen), `line ${u + 2}: ${line}`);
      assertEquals(
        new Set(ids).size,
        ids.length,
        `line ${u + 2}: repeated items`,
      );
      for (const id of ids) {
        assert(
          Number.isInteger(id) && id >= 1 && id <= ds.numItems,
          `line ${u + 2}: item ${id}`,
        );
        assert(
          !seen.has(id),
          `line ${u + 2}: item ${id} is in the user's sequence`,
        );
      }
    });
  });
});

Deno.test("cli with --data: eval reuses the recorded file; recommend skips exhausted slots", async () => {
  await withTempDir(async (dir) => {
    // 8 items; user c has seen 6 of them, so only items 4 and 8 are left
    const data = `${dir}/small.txt`;
    await Deno.writeTextFile(
      data,
      "a 1 2 3 4\nb 5 6 7 8\nc 1 2 3 5 6 7\nd 2 4 6 8\ne 8 7 6 5 1\n",
    );
    const out = `${dir}/run`;
    const t = await run([
      "train",
      "--data",
      data,
      "--out",
      out,
      "--json",
      ...TINY,
    ]);
    assertEquals(t.code, 0, `train failed: ${t.err}`);
    // eval without --data uses the data file recorded in the checkpoint
    const e = await run([
      "eval",
      "--checkpoint",
      `${out}/best.ckpt`,
      "--backend",
      "cpu",
      "--json",
    ]);
    assertEquals(e.code, 0, `eval failed: ${e.err}`);
    const ev = JSON.parse(e.out);
    assertEquals(ev.data, "small");
    assertEquals(ev.test, JSON.parse(t.out).test);
    const recs = `${dir}/recs.tsv`;
    const r = await run([
      "recommend",
      "--checkpoint",
      `${out}/best.ckpt`,
      "--backend",
      "cpu",
      "--k",
      "5",
      "--output",
      recs,
    ]);
    assertEquals(r.code, 0, `recommend failed: ${r.err}`);
    const rows = new Map(
      (await Deno.readTextFile(recs)).trim().split("\n").slice(1).map((l) => {
        const [u, ...items] = l.split("\t");
        return [u, items];
      }),
    );
    assertEquals(rows.get("c")?.sort(), ["4", "8"]);
    assertEquals(rows.get("a")?.length, 4); // 8 - 4 seen
    assertEquals(rows.get("d")?.sort(), ["1", "3", "5", "7"]);
  });
});
