// Presets (`--preset paper`): every preset resolves to a run whose keys carry
// its values; it sits under every given layer; a bad preset value names the
// preset; the CLI's `config` marks what the preset set; the README's list is
// the registry's.
import { assert, assertEquals } from "./_assert.ts";
import { parse } from "yaml";
import "../lib/methods/mod.ts";
import { resolveConfig } from "../lib/config/resolve.ts";
import {
  configYaml,
  presetList,
  PRESETS_END,
  PRESETS_START,
} from "../lib/config/describe.ts";
import { defineMethod, methods } from "../lib/methods/registry.ts";
import { sasrec } from "../lib/methods/sasrec.ts";
import { runCli, withTempDir } from "./_cli.ts";

const BUILTIN = ["sasrec", "cl4srec", "srma", "mclrec", "s4rec"];

Deno.test("every built-in method has a paper preset, and every preset's values are its run's", () => {
  for (const name of BUILTIN) {
    const m = methods().find((d) => d.name === name)!;
    assert(m.presets?.paper, `${name} has no paper preset`);
    for (const [p, preset] of Object.entries(m.presets!)) {
      const cfg = resolveConfig([{ values: { method: name, preset: p } }]);
      assertEquals(cfg.preset, p);
      for (const [k, v] of Object.entries(preset.values)) {
        assertEquals(
          (cfg as unknown as Record<string, unknown>)[k],
          v,
          `${name} --preset ${p}: ${k}`,
        );
      }
      assert(preset.differences.length > 0, `${name}/${p} lists no difference`);
    }
  }
});

Deno.test("the paper presets follow PROTOCOL.md's regimes", () => {
  const cfg = (method: string) =>
    resolveConfig([{
      values: { method, preset: "paper" },
    }]) as unknown as Record<string, unknown>;
  for (const m of ["sasrec", "cl4srec", "srma", "s4rec"]) {
    const c = cfg(m);
    assertEquals([c.loss, c.patience, c.epochs], ["bce", 40, 300], m);
  }
  for (const m of ["cl4srec", "srma", "s4rec"]) {
    const c = cfg(m);
    assertEquals([c.clSimilarity, c.clTemperature], ["dot", 1], m);
  }
  assertEquals(cfg("srma").clEmbedding, "flatten");
  const s4 = cfg("s4rec");
  assertEquals(
    [
      s4.batchSize,
      s4.dropout,
      s4.clusterWeight,
      s4.distillWeight,
      s4.advWeight,
    ],
    [512, 0.5, 0.01, 0.1, 1],
  );
  const mcl = cfg("mclrec");
  assertEquals([mcl.loss, mcl.samples, mcl.batchSize], ["ce", "prefixes", 256]);
  assert(
    Math.abs((mcl.mclGamma as number) - 0.1 * (mcl.mclBeta as number)) < 1e-15,
  );
  // Without a preset, the defaults.
  const plain = resolveConfig([{ values: { method: "srma" } }]);
  assertEquals([plain.preset, plain.loss], ["none", "ce"]);
});

Deno.test("a preset sits under every given layer, and another encoder drops its encoder keys", () => {
  const cfg = resolveConfig([
    { values: { method: "s4rec", preset: "paper", batchSize: 64 } },
    { values: { loss: "ce" } },
  ]) as unknown as Record<string, unknown>;
  assertEquals([cfg.batchSize, cfg.loss, cfg.clusterWeight], [64, "ce", 0.01]);
  // The preset names the preset given last.
  const late = resolveConfig([
    { values: { method: "sasrec", preset: "paper" } },
    { values: { preset: "recbole" } },
  ]);
  assertEquals([late.loss, late.samples], ["ce", "prefixes"]);
  const gru = resolveConfig([
    { values: { method: "sasrec", preset: "paper", encoder: "gru" } },
  ]) as unknown as Record<string, unknown>;
  assertEquals([gru.encoder, gru.loss, "attnDropout" in gru], [
    "gru",
    "bce",
    false,
  ]);
});

Deno.test("a preset's bad value and an unknown preset are errors naming where", () => {
  defineMethod({
    name: "preset_test_method",
    summary: "a method with a broken preset",
    paper: "-",
    keys: sasrec.keys,
    presets: {
      broken: { summary: "x", values: { lr: -1 }, differences: ["x"] },
    },
    build: sasrec.build,
  });
  let msg = "";
  try {
    resolveConfig([{
      values: { method: "preset_test_method", preset: "broken" },
    }]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(
    msg,
    "preset 'broken' of method 'preset_test_method': lr: expected a positive number, found -1",
  );
  try {
    resolveConfig([{
      values: { method: "cl4srec", preset: "recbole" },
      where: () => "run.yaml:2",
    }]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(
    msg,
    "run.yaml:2: preset: expected a preset of method 'cl4srec' ('none', 'paper'), found \"recbole\"",
  );
});

Deno.test("cli config --preset marks the preset's values and reads back as the same config", async () => {
  const r = await runCli([
    "config",
    "--method",
    "srma",
    "--preset",
    "paper",
    "--set",
    "patience=7",
  ]);
  assertEquals(r.code, 0, r.err);
  assert(r.out.includes("loss: bce # preset paper\n"), r.out);
  assert(r.out.includes("patience: 7 # preset paper has 40\n"), r.out);
  assert(r.out.includes("epochs: 300 # preset paper\n"), r.out);
  const cfg = resolveConfig([{
    values: { method: "srma", preset: "paper", patience: 7 },
  }]);
  assertEquals(parse(r.out), JSON.parse(JSON.stringify(cfg)));
  assertEquals(configYaml(cfg), r.out.trimEnd() + "\n");
});

Deno.test("cli train --preset paper trains in the preset's regime and records it", async () => {
  await withTempDir(async (dir) => {
    const r = await runCli([
      "train",
      "--method",
      "sasrec",
      "--preset",
      "paper",
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
      "--out",
      `${dir}/run`,
      "--json",
    ]);
    assertEquals(r.code, 0, r.err);
    const res = JSON.parse(await Deno.readTextFile(`${dir}/run/result.json`));
    assertEquals(
      [res.config.preset, res.config.loss, res.config.patience],
      ["paper", "bce", 40],
    );
    assertEquals(res.epochs?.length ?? res.history?.length ?? 1, 1);
  });
});

Deno.test("README's preset list is the registry's (deno task readme)", async () => {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const start = readme.indexOf(PRESETS_START);
  const end = readme.indexOf(PRESETS_END);
  assert(start >= 0 && end > start, "README has no preset markers");
  const words = (s: string) => s.split(/\s+/).filter((w) => w !== "");
  assertEquals(
    words(readme.slice(start + PRESETS_START.length, end)),
    words(
      presetList(methods().filter((m) => BUILTIN.includes(m.name))),
    ),
    "README's preset list is out of date: run `deno task readme`",
  );
});
