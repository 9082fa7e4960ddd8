/**
 * Significance from runs' test ranks on disk: pairs by (seed, user), both
 * tests per metric, and clear errors for a missing baseline, a seed the
 * baseline lacks, and a run without ranks.
 */
import { significance } from "../lib/significance.ts";
import { writeTestRanks } from "../lib/training/test_ranks.ts";
import { assertAlmostEquals, assertEquals, assertRejects } from "./_assert.ts";

Deno.test("significance: variant against baseline over two seeds, from test_ranks.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Baseline ranks: seed 1 (0, 25, 3), seed 2 (30, 1, 40).
    // Variant ranks:  seed 1 (0, 4, 3),  seed 2 (2, 1, 40).
    // HR@20 differences: 0, +1, 0 | +1, 0, 0 -> mean 2/6; the Wilcoxon
    // test keeps the two non-zero pairs, both +1: a tie (ranks 1.5, 1.5), so
    // the normal approximation: W- = 0, mean 2*3/4 = 1.5, var = 2*3*5/24 -
    // (2^3 - 2)/48 = 1.125, z = -1.5 / sqrt(1.125) = -sqrt(2),
    // p = 2 Phi(-1.41421) = 0.15730.
    // t-test: d = 0 1 0 1 0 0, mean 1/3, sd = sqrt((4 * 1/9 + 2 * 4/9) / 5)
    //   = sqrt(12/45), t = (1/3) / sqrt(12/45 / 6) = 1.5811
    const runs = [
      { variant: "base", seed: 1, dir: `${dir}/b1`, ranks: [0, 25, 3] },
      { variant: "base", seed: 2, dir: `${dir}/b2`, ranks: [30, 1, 40] },
      { variant: "new", seed: 1, dir: `${dir}/n1`, ranks: [0, 4, 3] },
      { variant: "new", seed: 2, dir: `${dir}/n2`, ranks: [2, 1, 40] },
    ];
    for (const r of runs) {
      await Deno.mkdir(r.dir);
      await writeTestRanks(r.dir, 1, Int32Array.from(r.ranks));
    }
    const rows = await significance(runs, "base", { metrics: ["HR@20"] });
    assertEquals(rows.length, 1);
    const [hr] = rows;
    assertEquals([hr.variant, hr.metric, hr.n], ["new", "HR@20", 6]);
    assertAlmostEquals(hr.meanDifference, 1 / 3, 1e-12);
    assertAlmostEquals(hr.t, (1 / 3) / Math.sqrt(12 / 45 / 6), 1e-12);
    assertEquals(hr.wilcoxonW, 0);
    assertAlmostEquals(hr.wilcoxonP, 0.1573, 1e-4);
    // Default metrics: NDCG@20 and HR@20.
    const both = await significance(runs, "base");
    assertEquals(both.map((r) => r.metric), ["NDCG@20", "HR@20"]);

    await assertRejects(
      () => significance(runs, "nope"),
      Error,
      "expected a variant from 'base', 'new', found 'nope'",
    );
    await assertRejects(
      () =>
        significance([
          ...runs.slice(0, 1),
          { variant: "new", seed: 3, dir: `${dir}/n1` },
        ], "base"),
      Error,
      "seeds 3 that baseline 'base' lacks",
    );
    await Deno.mkdir(`${dir}/empty`);
    await assertRejects(
      () =>
        significance(
          [runs[0], { variant: "x", seed: 1, dir: `${dir}/empty` }],
          "base",
        ),
      Error,
      "test_ranks.json: expected the per-user test ranks",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
