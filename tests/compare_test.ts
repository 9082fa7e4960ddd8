/**
 * Comparisons: grid checking, `only` (a grid split across processes that
 * share an output folder), and the CLI's `compare` end to end.
 */
import { initBackend } from "../lib/backend/init.ts";
import { gridConfigs } from "../lib/compare.ts";
import { main } from "../cli.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

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
  assertEquals(all.c.layers, 1);
  // overrides (the command line) win over the grid
  assertEquals(all.a.heads, 2);
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
    ) as { variant: string; report: { test: unknown } }[];
    assertEquals(rowsJson[1].report.test, two.test);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
