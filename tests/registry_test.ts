/**
 * The method registry and its config schema: keys that belong to another
 * part of the run, misspelt keys with their location, the `config` command,
 * per-method help, configs written by earlier versions, and the README's
 * key table.
 */
import { parse } from "yaml";
import { initBackend } from "../lib/backend/init.ts";
import {
  appliedKeys,
  configFor,
  makeConfig,
  resolveConfig,
} from "../lib/config/resolve.ts";
import { LEGACY_DEFAULTS, upgradeConfig } from "../lib/config/legacy.ts";
import {
  KEY_TABLE_END,
  KEY_TABLE_START,
  keyTable,
} from "../lib/config/describe.ts";
import { methods } from "../lib/methods/registry.ts";
import { gridConfigs } from "../lib/compare.ts";
import { readYamlFile } from "../lib/config/yaml_file.ts";
import { srma } from "../lib/methods/srma.ts";
import { ENCODERS } from "../lib/nn/encoders.ts";
import { COMMON_KEYS } from "../lib/training/config.ts";
import {
  decodeCheckpoint,
  encodeCheckpoint,
} from "../lib/training/checkpoint.ts";
import { ConfigError } from "../lib/util/errors.ts";
import { VERSION } from "../cli.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { runCli as run, withTempDir } from "./_cli.ts";

await initBackend("cpu");

const BUILTIN = ["sasrec", "cl4srec", "srma", "mclrec", "s4rec"];

// ------------------------------------------------------------ key errors

Deno.test("registry: the built-in methods, in order, each with a summary and a paper", () => {
  const names = methods().map((m) => m.name);
  assertEquals(names.slice(0, 5), BUILTIN);
  for (const m of methods()) {
    assert(m.summary.length > 10 && m.paper.length > 3, m.name);
  }
});

Deno.test("config: every method's own key is an error under every other method, naming key, method and owner", () => {
  const own = (name: string) =>
    Object.keys(methods().find((m) => m.name === name)!.keys);
  for (const method of BUILTIN) {
    const mine = new Set(own(method));
    for (const other of BUILTIN) {
      for (const key of own(other)) {
        if (mine.has(key)) continue;
        const owners = BUILTIN.filter((m) => own(m).includes(key));
        const e = assertThrows(
          () =>
            makeConfig({
              method,
              [key]: (methods().find((m) => m.name === other)!.keys as Record<
                string,
                { default: unknown }
              >)[key].default,
            }),
          ConfigError,
          undefined,
          `${key} under ${method}`,
        ) as ConfigError;
        assertEquals(e.key, key);
        assertEquals(
          e.message,
          `config key '${key}': not a key of method '${method}' (it belongs to ${
            owners.join(", ")
          })`,
        );
      }
    }
  }
});

Deno.test("config: the keys that apply are the common ones, the encoder's and the method's, nothing else", () => {
  const srmaGru = [...appliedKeys("srma", "gru").keys()].sort();
  assertEquals(
    srmaGru,
    [
      ...Object.keys(COMMON_KEYS),
      ...Object.keys(srma.keys),
    ].sort(),
  );
  const sasrecSasrec = [...appliedKeys("sasrec", "sasrec").keys()].sort();
  assertEquals(
    sasrecSasrec,
    [
      ...Object.keys(COMMON_KEYS),
      ...Object.keys(ENCODERS.sasrec.keys),
      "maxTokens",
    ].sort(),
  );
  // the SASRec encoder's keys under the GRU
  for (const key of ["layers", "heads", "attnDropout"]) {
    assertThrows(
      () => makeConfig({ encoder: "gru", [key]: 1 }),
      ConfigError,
      `'${key}': not a key of encoder 'gru' (it belongs to encoder sasrec)`,
    );
  }
  // S4Rec neither chunks its next-item loss nor flattens its views
  assertThrows(
    () => makeConfig({ method: "s4rec", maxTokens: 0 }),
    ConfigError,
    "not a key of method 's4rec' (it belongs to sasrec, cl4srec, srma, mclrec)",
  );
});

Deno.test("config: a misspelt key names the nearest key of the run", () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ lrr: 0.1 }, "lrr", "lr"],
    [{ hiden: 8 }, "hiden", "hidden"],
    [{ method: "srma", dropk: 3 }, "dropk", "dropK"],
    [{ method: "mclrec", mclbeta: 0.1 }, "mclbeta", "mclBeta"],
    [{ method: "s4rec", cluster: 3 }, "cluster", "clusters"],
  ];
  for (const [values, key, near] of cases) {
    const method = String(values.method ?? "sasrec");
    assertThrows(
      () => makeConfig(values),
      ConfigError,
      `config key '${key}': unknown key for method '${method}'; did you mean '${near}'?`,
    );
  }
  // a misspelt method name too
  assertThrows(
    () => makeConfig({ method: "srmaa" }),
    ConfigError,
    "did you mean 'srma'?",
  );
});

Deno.test("config: layers override in order; the method of the last layer decides which keys apply", () => {
  const cfg = resolveConfig([
    { values: { method: "srma", dropK: 3, lr: 0.01 } },
    { values: { dropM: 2, lr: 0.02 } },
  ]);
  const s = configFor(srma, cfg);
  assertEquals([s.dropK, s.dropM, s.lr], [3, 2, 0.02]);
  // a base config of another method: its keys that do not apply are dropped
  const back = makeConfig({ method: "sasrec" }, { base: s });
  assertEquals(back.lr, 0.02);
  assert(!("dropK" in back), "srma's key kept under sasrec");
  // cross-key checks name the key and where it was set
  assertThrows(
    () =>
      resolveConfig([
        { values: { method: "srma", dropK: 2 }, where: () => "g.yaml:1" },
        { values: { dropM: 2 }, where: () => "--set" },
      ]),
    ConfigError,
    "--set dropM: expected an integer below dropK (2), found 2",
  );
});

Deno.test("grids: a base shared by variants of several methods; every bench/repro grid loads", async () => {
  const grid = {
    base: { method: "srma", dropAtEval: true, lr: 0.01 },
    variants: { srma: {}, cl4srec: { method: "cl4srec" } },
  };
  const c = gridConfigs(grid, {});
  assertEquals((c.srma as Record<string, unknown>).dropAtEval, true);
  assert(!("dropAtEval" in c.cl4srec) && c.cl4srec.lr === 0.01);
  // still an error: a base key no variant has, an unknown key, a variant's
  // own key of another method
  assertThrows(
    () =>
      gridConfigs({ base: { mclBeta: 1 }, variants: { a: {} } }, {}, {
        source: "g.yaml",
      }),
    Error,
    "g.yaml: base key 'mclBeta' applies to no variant (their methods: sasrec)",
  );
  assertThrows(
    () => gridConfigs({ base: { lrr: 1 }, variants: { a: {} } }, {}),
    ConfigError,
    "did you mean 'lr'?",
  );
  assertThrows(
    () => gridConfigs({ variants: { a: { dropK: 1 } } }, {}),
    ConfigError,
    "dropK: not a key of method 'sasrec' (it belongs to srma)",
  );
  for await (
    const e of Deno.readDir(new URL("../bench/repro", import.meta.url))
  ) {
    if (!e.name.endsWith(".yaml")) continue;
    const path = `bench/repro/${e.name}`;
    const file = await readYamlFile(
      new URL(`../${path}`, import.meta.url).pathname,
    );
    const configs = gridConfigs(file.value, {}, { source: path, file });
    assert(Object.keys(configs).length > 1, path);
  }
});

// ------------------------------------------------------------------- CLI

Deno.test("cli: another method's key and a misspelt key are one-line errors naming key, method and nearest key", async () => {
  const other = await run([
    "train",
    "--method",
    "sasrec",
    "--set",
    "neuronMask=0.3",
  ]);
  assertEquals(other.code, 1);
  assertEquals(
    other.err,
    "seqssl: error: --set neuronMask: not a key of method 'sasrec' (it belongs to srma)",
  );
  const typo = await run(["train", "--set", "lrr=0.001"]);
  assertEquals(typo.code, 1);
  assertEquals(
    typo.err,
    "seqssl: error: --set lrr: unknown key for method 'sasrec'; did you mean 'lr'?",
  );
  const flag = await run(["train", "--epochs", "1.5"]);
  assertEquals(
    flag.err,
    "seqssl: error: --epochs: expected a non-negative integer, found 1.5",
  );
});

Deno.test("cli: a key in a YAML file is located by file and line; the flag's method decides", async () => {
  await withTempDir(async (dir) => {
    const f = `${dir}/run.yaml`;
    await Deno.writeTextFile(
      f,
      "# a run\nlr: 0.01\nlrr: 0.3\nepochs: 1\n",
    );
    const typo = await run(["train", "--config", f]);
    assertEquals(
      typo.err,
      `seqssl: error: ${f}:3: lrr: unknown key for method 'sasrec'; did you mean 'lr'?`,
    );
    const g = `${dir}/srma.yaml`;
    await Deno.writeTextFile(g, "method: srma\n\nneuronMask: 0.3\n");
    const other = await run(["train", "--config", g, "--method", "sasrec"]);
    assertEquals(
      other.err,
      `seqssl: error: ${g}:3: neuronMask: not a key of method 'sasrec' (it belongs to srma)`,
    );
    // in a compare grid: the line inside the variant
    const grid = `${dir}/grid.yaml`;
    await Deno.writeTextFile(
      grid,
      "base:\n  hidden: 8\nvariants:\n  a:\n    lr: 0.01\n  b:\n    lrr: 0.01\n",
    );
    const cmp = await run(["compare", "--grid", grid]);
    assertEquals(
      cmp.err,
      `seqssl: error: ${grid}:7: lrr: unknown key for method 'sasrec'; did you mean 'lr'?`,
    );
  });
});

Deno.test("cli config: the effective config (defaults, file, flags) as YAML, only the keys that apply", async () => {
  await withTempDir(async (dir) => {
    const f = `${dir}/run.yaml`;
    await Deno.writeTextFile(f, "method: cl4srec\nlr: 0.01\nclWeight: 0.5\n");
    const r = await run([
      "config",
      "--config",
      f,
      "--set",
      "clWeight=0.25",
      "--data",
      "x.txt",
    ]);
    assertEquals(r.code, 0, r.err);
    const printed = parse(r.out) as Record<string, unknown>;
    const expected = makeConfig({
      method: "cl4srec",
      lr: 0.01,
      clWeight: 0.25,
      data: "x.txt",
    });
    assertEquals(printed, { ...expected });
    assert(r.out.includes("# method cl4srec\n"), r.out);
    assert(!("neuronMask" in printed) && !("mclBeta" in printed), r.out);
    // the output is a config file that gives itself back
    const g = `${dir}/printed.yaml`;
    await Deno.writeTextFile(g, r.out);
    const again = await run(["config", "--config", g]);
    assertEquals(again.out, r.out);
    // the embedded data's quick start trains 20 epochs, as `train` would
    const quick = parse((await run(["config"])).out) as { epochs: number };
    assertEquals(quick.epochs, 20);
  });
});

Deno.test("cli help: after a subcommand, per method, with defaults and docs; --version", async () => {
  const m = await run(["train", "--method", "srma", "--help"]);
  assertEquals(m.code, 0, m.err);
  for (const [k, spec] of Object.entries(srma.keys)) {
    assert(
      m.out.includes(`  ${k} (default ${spec.default};`) ||
        m.out.includes(`  ${k} (default ${JSON.stringify(spec.default)};`),
      `${k} missing in:\n${m.out}`,
    );
  }
  assert(m.out.includes("complementPatience"), "complementPatience");
  assert(!m.out.includes("mclBeta"), "another method's key in srma's help");
  assert(m.out.includes("keys of encoder sasrec"), m.out);
  const t = await run(["train", "--help"]);
  assertEquals(t.code, 0);
  for (const name of BUILTIN) assert(t.out.includes(`  ${name} `), name);
  assert(t.out.includes("lr (default 0.001"), t.out);
  for (const cmd of ["eval", "recommend", "compare", "config"]) {
    const h = await run([cmd, "--help"]);
    assertEquals(h.code, 0, `${cmd}: ${h.err}`);
    assert(h.out.includes("usage"), `${cmd} --help: ${h.out}`);
  }
  const v = await run(["--version"]);
  const denoJson = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  assertEquals(v.out, `seqssl ${denoJson.version}`);
  assertEquals(VERSION, denoJson.version);
  const bad = await run(["train", "--method", "nope", "--help"]);
  assert(bad.code !== 0 && bad.err.includes("'nope'"), bad.err);
});

// ------------------------------------------------------ earlier versions

const LEGACY = JSON.parse(
  await Deno.readTextFile(
    new URL("./fixtures/legacy_configs.json", import.meta.url),
  ),
) as Record<string, { from: string; config: Record<string, unknown> }>;

Deno.test("legacy: the flat configs of bench/results load with the keys of their method and encoder", () => {
  for (const [name, { from, config }] of Object.entries(LEGACY)) {
    const cfg = upgradeConfig(config, from);
    assertEquals(cfg.method, name);
    const applied = appliedKeys(cfg.method, cfg.encoder);
    assertEquals(Object.keys(cfg).sort(), [...applied.keys()].sort(), name);
    // every value of the old config that applies is kept as it was
    for (const k of applied.keys()) {
      if (k in config) {
        assertEquals((cfg as Record<string, unknown>)[k], config[k], k);
      }
    }
  }
  // S4Rec's tau2 = 0.1 survives; its unused maxTokens is dropped
  const s4 = upgradeConfig(LEGACY.s4rec.config, "s4rec.json");
  assertEquals(s4.method, "s4rec");
  assertEquals((s4 as Record<string, unknown>).clTemperature, 0.1);
  assert(!("maxTokens" in s4) && !("clEmbedding" in s4));
});

Deno.test("legacy: a key of another part holding a value other than its old default is an error", () => {
  const old = { ...LEGACY.sasrec.config, neuronMask: 0.3 };
  assertThrows(
    () => upgradeConfig(old, "runs/x/best.ckpt"),
    ConfigError,
    "runs/x/best.ckpt: neuronMask: holds 0.3 (not its old default 0.2), but is not a key of method 'sasrec' (it belongs to srma)",
  );
  const gru = { ...LEGACY.sasrec.config, encoder: "gru", heads: 4 };
  assertThrows(
    () => upgradeConfig(gru, "old.ckpt"),
    ConfigError,
    "old.ckpt: heads: holds 4",
  );
  // at its old default it did nothing, and is dropped; so is a default of
  // an earlier version (dropAtEval was true by default once: the SASRec
  // result in bench/results carries it)
  assertEquals(LEGACY.sasrec.config.dropAtEval, true);
  const ok = upgradeConfig({ ...LEGACY.sasrec.config, encoder: "gru" }, "o");
  assert(ok.encoder === "gru" && !("heads" in ok) && !("dropAtEval" in ok));
});

Deno.test("legacy: a checkpoint holding the old flat config evaluates as it did", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/run`;
    const tiny = [
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
    const t = await run(["train", ...tiny, "--json", "--out", out]);
    assertEquals(t.code, 0, t.err);
    const trained = JSON.parse(t.out);
    // rewrite best.ckpt's config as version 0.1.0 wrote it: every key
    const path = `${out}/best.ckpt`;
    const ck = decodeCheckpoint(await Deno.readFile(path), path);
    // (0.1.0 had no presets and no learning-rate schedule)
    const { preset: _p, lrWarmup: _w, lrDecay: _d, ...current } =
      trained.config;
    const flat = { ...LEGACY_DEFAULTS, ...current };
    assertEquals(Object.keys(flat).length, 66);
    ck.meta.config = flat;
    await Deno.writeFile(path, encodeCheckpoint(ck));
    const e = await run([
      "eval",
      "--checkpoint",
      path,
      "--backend",
      "cpu",
      "--json",
    ]);
    assertEquals(e.code, 0, e.err);
    assertEquals(JSON.parse(e.out).test, trained.test);
    // and one whose other-method key was set is refused, naming it
    ck.meta.config = { ...flat, mclBeta: 0.5 };
    await Deno.writeFile(path, encodeCheckpoint(ck));
    const bad = await run(["eval", "--checkpoint", path, "--backend", "cpu"]);
    assertEquals(bad.code, 1);
    assert(
      bad.err.startsWith(`seqssl: error: ${path}: mclBeta: holds 0.5`) &&
        !bad.err.includes("\n"),
      bad.err,
    );
  });
});

// ---------------------------------------------------------------- README

Deno.test("README: the key table is the registry's (deno task readme rewrites it)", async () => {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const start = readme.indexOf(KEY_TABLE_START);
  const end = readme.indexOf(KEY_TABLE_END);
  assert(start >= 0 && end > start, "README has no key table markers");
  // deno fmt pads the columns: compare cell by cell
  const cells = (table: string) =>
    table.trim().split("\n").filter((l) => !/^\|[\s|:-]+\|$/.test(l)).map((
      l,
    ) => l.split(/(?<!\\)\|/).map((c) => c.trim()));
  assertEquals(
    cells(readme.slice(start + KEY_TABLE_START.length, end)),
    cells(keyTable(methods().filter((m) => BUILTIN.includes(m.name)))),
    "README's key table is out of date: run `deno task readme`",
  );
});
