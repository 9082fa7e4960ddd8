/**
 * A method defined in one file (tests/fixtures/method_fixture.ts) registers
 * and trains through the CLI's own path, with its key checked, documented
 * and in effect.
 */
import "./fixtures/method_fixture.ts";
import { initBackend } from "../lib/backend/init.ts";
import { methods } from "../lib/methods/registry.ts";
import { assert, assertEquals } from "./_assert.ts";
import { runCli as run } from "./_cli.ts";

await initBackend("cpu");

const TINY = [
  "--backend",
  "cpu",
  "--epochs",
  "2",
  "--json",
  "--set",
  "synthUsers=60",
  "--set",
  "synthItems=40",
  "--set",
  "hidden=8",
  "--set",
  "heads=1",
];

Deno.test("a method in one file: registered, in the help, its key checked", async () => {
  assert(methods().some((m) => m.name === "fixture"), "not registered");
  const help = await run(["train", "--help"]);
  assert(help.out.includes("  fixture "), help.out);
  const own = await run(["train", "--method", "fixture", "--help"]);
  assert(own.out.includes("  l2 (default 0.5;"), own.out);
  const other = await run(["train", "--method", "srma", "--set", "l2=1"]);
  assertEquals(
    other.err,
    "seqssl: error: --set l2: not a key of method 'srma' (it belongs to fixture)",
  );
  const bad = await run(["train", "--method", "fixture", "--set", "l2=-1"]);
  assertEquals(
    bad.err,
    "seqssl: error: --set l2: expected a non-negative number, found -1",
  );
});

Deno.test("a method in one file trains through the CLI, and its key acts", async () => {
  const l2Of = async (l2: number) => {
    const r = await run([
      "train",
      "--method",
      "fixture",
      ...TINY,
      "--set",
      `l2=${l2}`,
      // Adam moves each weight by about lr a step: a few steps of 0.01
      // can empty an item table initialised at a scale of 0.02
      "--set",
      "lr=0.01",
      "--set",
      "batchSize=16",
    ]);
    assertEquals(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assertEquals(report.config.method, "fixture");
    assertEquals(report.config.l2, l2);
    assertEquals(Object.keys(report.epochs[1].loss).sort(), [
      "l2",
      "rec",
      "total",
    ]);
    assert(report.test.all["HR@20"] > 0, "nothing learned");
    return report.epochs[1].loss.l2 as number;
  };
  // a strong penalty shrinks the item table: its mean square drops
  const weak = await l2Of(0), strong = await l2Of(1000);
  assert(strong < 0.5 * weak, `l2 term: ${strong} (l2 = 1000) vs ${weak} (0)`);
});
