/**
 * Comparisons: grid checking, `only` (a grid split across processes that
 * share an output folder), and the CLI's `compare` end to end.
 */
import { initBackend } from "../lib/backend/init.ts";
import { gridConfigs } from "../lib/compare.ts";
import type { TrainConfig } from "../lib/training/config.ts";
import { main } from "../cli.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./_assert.ts";

await initBackend("cpu");

const GRID = {
  base: { hidden: 8, heads: 1 },
  variants: { a: {}, "b (lr)": { lr: 0.01 }, c: { layers: 1 } },
};

Deno.test("gridConfigs: base, variant and overrides in that order; only keeps the grid's order", () => {
  const all = gridConfigs(GRID, { heads: 2 });
  assertEquals(Object.keys(all), ["a", "b (lr)", "c"]);
  assertEquals(all["b (lr)"].lr, 0.01);
  assertEquals(all.a.hidden, 8);
  const key = (c: TrainConfig, k: string) => (c as Record<string, unknown>)[k];
  assertEquals(key(all.c, "layers"), 1);
  // overrides (the command line) win over the grid
  assertEquals(key(all.a, "heads"), 2);
  const some = gridConfigs(GRID, {}, { only: ["c", "a"] });
  assertEquals(Object.keys(some), ["a", "c"]);
  assertEquals(some.c, gridConfigs(GRID, {}).c);
});

Deno.test("gridConfigs: bad grids and unknown variant names are errors naming the file", () => {
  assertThrows(
    () => gridConfigs(GRID, {}, { source: "g.yaml", only: ["a", "d"] }),
    Error,
    "g.yaml: expected variant names from 'a', 'b (lr)', 'c', found 'd'",
  );
  assertThrows(
    () => gridConfigs({ base: {} }, {}, { source: "g.yaml" }),
    Error,
    "g.yaml: expected a mapping with 'variants'",
  );
  assertThrows(
    () => gridConfigs({ variants: { a: {} }, extra: 1 }, {}),
    Error,
    "unknown top-level key 'extra'",
  );
  assertThrows(() => gridConfigs({ variants: {} }, {}), Error, "found none");
  assertThrows(
    () => gridConfigs({ variants: { a: { lrr: 1 } } }, {}, { source: "g" }),
    Error,
    "g: variant 'a': lrr",
  );
});

async function quiet(args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const { log, error, warn, info } = console;
  console.log = console.info = () => {};
  console.error = console.warn = (...a: unknown[]) =>
    void err.push(a.map(String).join(" "));
  try {
    return { code: await main(args), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn, info });
  }
}

Deno.test("cli compare: --only trains a subset; a last run with --resume collects the whole table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_compare_" });
  try {
    const grid = `${dir}/grid.yaml`;
    await Deno.writeTextFile(
      grid,
      [
        "base: { hidden: 8, heads: 1, maxLen: 10, synthUsers: 60, synthItems: 40 }",
        "variants:",
        "  one layer: { layers: 1 }",
        "  two layers: { layers: 2 }",
        "",
      ].join("\n"),
    );
    const out = `${dir}/out`;
    const common = ["--grid", grid, "--backend", "cpu", "--epochs", "1"];
    const bad = await quiet(["compare", ...common, "--only", "three layers"]);
    assert(bad.code !== 0 && bad.err.includes("'three layers'"), bad.err);

    const first = await quiet([
      "compare",
      ...common,
      "--only",
      "two layers",
      "--out",
      out,
      "--json",
    ]);
    assertEquals(first.code, 0, first.err);
    const folders = (await Array.fromAsync(Deno.readDir(out)))
      .filter((e) => e.isDirectory).map((e) => e.name);
    assertEquals(folders, ["two-layers"]);
    const partial = await Deno.readTextFile(`${out}/table.md`);
    assertEquals(partial.trim().split("\n").length, 3, partial);
    const two = JSON.parse(
      await Deno.readTextFile(`${out}/two-layers/result.json`),
    );
    assertEquals(two.config.layers, 2);

    const all = await quiet([
      "compare",
      ...common,
      "--out",
      out,
      "--resume",
      "--json",
    ]);
    assertEquals(all.code, 0, all.err);
    const table = await Deno.readTextFile(`${out}/table.md`);
    const rows = table.trim().split("\n").slice(2);
    assertEquals(rows.map((r) => r.split("|")[1].trim()), [
      "one layer",
      "two layers",
    ]);
    // The finished variant was not trained again: same test metrics.
    const rowsJson = JSON.parse(
      await Deno.readTextFile(`${out}/results.json`),
    ).rows as { variant: string; report: { test: unknown } }[];
    assertEquals(rowsJson[1].report.test, two.test);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli compare --seeds --baseline --report; train --seeds; report from a folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_seeds_" });
  try {
    const grid = `${dir}/grid.yaml`;
    await Deno.writeTextFile(
      grid,
      [
        "base: { hidden: 8, heads: 1, maxLen: 10, synthUsers: 60, synthItems: 40 }",
        "variants:",
        "  base: { layers: 1 }",
        "  deeper: { layers: 2 }",
        "",
      ].join("\n"),
    );
    const out = `${dir}/out`;
    const common = ["--grid", grid, "--backend", "cpu", "--epochs", "1"];
    const bad = await quiet([
      "compare",
      ...common,
      "--out",
      out,
      "--baseline",
      "nope",
    ]);
    assert(bad.code !== 0 && bad.err.includes("'nope'"), bad.err);
    const badSeeds = await quiet(["compare", ...common, "--seeds", "1,x"]);
    assert(badSeeds.err.includes("--seeds") && badSeeds.err.includes("'x'"));

    // Split by seeds across two processes, then collect with --resume.
    const one = await quiet([
      "compare",
      ...common,
      "--out",
      out,
      "--seeds",
      "1",
    ]);
    assertEquals(one.code, 0, one.err);
    const all = await quiet([
      "compare",
      ...common,
      "--out",
      out,
      "--seeds",
      "1,2",
      "--baseline",
      "base",
      "--resume",
      "--report",
    ]);
    assertEquals(all.code, 0, all.err);
    for (const v of ["base", "deeper"]) {
      for (const s of [1, 2]) {
        const r = JSON.parse(
          await Deno.readTextFile(`${out}/${v}/seed-${s}/result.json`),
        );
        assertEquals(r.config.seed, s);
      }
    }
    const res = JSON.parse(await Deno.readTextFile(`${out}/results.json`));
    assertEquals(
      res.rows.map((r: { variant: string; seed: number }) =>
        `${r.variant}/${r.seed}`
      ),
      ["base/1", "deeper/1", "base/2", "deeper/2"],
    );
    assertEquals(res.baseline, "base");
    // NDCG@20 and HR@20 of 'deeper' against 'base', 60 users x 2 seeds
    assertEquals(
      res.significance.map((s: { metric: string; n: number }) =>
        `${s.metric}:${s.n}`
      ),
      ["NDCG@20:120", "HR@20:120"],
    );
    for (const s of res.significance) {
      assert(s.tP >= 0 && s.tP <= 1 && s.wilcoxonP >= 0 && s.wilcoxonP <= 1);
    }
    // mean ± std over seeds is the mean of the runs' own numbers
    const [b1, b2] = res.rows.filter((r: { variant: string }) =>
      r.variant === "base"
    );
    const mean = (b1.report.test.all["NDCG@20"] +
      b2.report.test.all["NDCG@20"]) / 2;
    assertAlmostEquals(res.summary[0].test.all["NDCG@20"].mean, mean, 1e-12);
    const table = await Deno.readTextFile(`${out}/table.md`);
    assert(table.includes(" ± ") && table.includes("| baseline |"), table);
    const html = await Deno.readTextFile(`${out}/report.html`);
    assert(html.includes("p (t) NDCG@20"), "p-values in the report");
    assert(html.includes('id="metric-ndcg-20"'));
    assert(html.includes('id="umap-deeper-planted-intent"'));

    // train --seeds: DIR/seed-<s>, the report, and `report` again elsewhere.
    const tout = `${dir}/train`;
    const t = await quiet([
      "train",
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
      "--seeds",
      "3,4",
      "--out",
      tout,
      "--report",
    ]);
    assertEquals(t.code, 0, t.err);
    const tres = JSON.parse(await Deno.readTextFile(`${tout}/results.json`));
    assertEquals(tres.rows.map((r: { dir: string }) => r.dir), [
      "seed-3",
      "seed-4",
    ]);
    const again = await quiet([
      "report",
      `${tout}/seed-3`,
      "--out",
      `${dir}/r`,
      "--no-pictures",
    ]);
    assertEquals(again.code, 0, again.err);
    const single = await Deno.readTextFile(`${dir}/r/report.html`);
    assert(single.includes("users with a tail-item target"));
    assert(!single.includes("umap-"), "no pictures asked for");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
