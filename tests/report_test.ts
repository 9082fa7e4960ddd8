/**
 * The report: every figure the input calls for is rendered and written as
 * a standalone SVG, the page is self-contained (no script, no external
 * reference), and the tables hold the numbers they were given.
 */
import { buildReport } from "../lib/report/build.ts";
import { writeReport } from "../lib/report/html.ts";
import { assert, assertEquals } from "./_assert.ts";
import { reportFixture } from "./_report_fixture.ts";

Deno.test("report: every figure rendered, written standalone, and the page self-contained", async () => {
  const doc = await buildReport(reportFixture());
  const ids = doc.sections.flatMap((s) => (s.figures ?? []).map((f) => f.id));
  // 12 metric charts, 3 training curves, cluster sizes and head rates,
  // 2 projections and the views of S4Rec.
  assertEquals(ids.length, 12 + 3 + 2 + 3, ids.join());
  for (
    const id of [
      "metric-ndcg-20",
      "metric-gini-20",
      "curves-s4rec-w-o-adv",
      "cluster-head-rate",
      "umap-s4rec-planted-intent",
      "views-s4rec",
    ]
  ) assert(ids.includes(id), `missing ${id} in ${ids}`);
  assertEquals(new Set(ids).size, ids.length, "duplicate figure ids");
  const dir = await Deno.makeTempDir();
  try {
    const written = await writeReport(dir, doc);
    assertEquals(written.length, ids.length + 1);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    for (const id of ids) {
      const svg = await Deno.readTextFile(`${dir}/figures/${id}.svg`);
      assert(svg.startsWith("<svg") && svg.endsWith("</svg>"), id);
      assert(html.includes(`id="${id}"`), `${id} not in the page`);
    }
    // Self-contained: nothing to run, nothing to fetch.
    assert(!/<script/i.test(html), "a script in the page");
    assert(!/\b(src|href)\s*=\s*"(?!#)/i.test(html), "an external reference");
    assert(!/url\(/i.test(html.replace(/url\(#/g, "")), "a CSS url()");
    // The tables: the baseline row and the p-values given.
    assert(html.includes("<td>baseline</td>"));
    assert(
      html.includes("<td>0.0300</td>") && html.includes("<td>0.0400</td>"),
    );
    // NDCG@20 of SASRec over seeds 1 and 2: 0.1 and 0.11 -> 0.1050 ± 0.0071
    assert(html.includes("<td>0.1050 ± 0.0071</td>"), "mean ± sd");
    // Both S4Rec variants' clusters are in the head-rate box plot.
    const box = doc.sections.flatMap((s) => s.figures ?? []).find((f) =>
      f.id === "cluster-head-rate"
    )!;
    assert(box.svg.includes("S4Rec w/o adv") && box.svg.includes(">S4Rec<"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("report: one run gives the metric tables (all/head/tail, by target popularity, beyond accuracy)", async () => {
  const input = reportFixture();
  const doc = await buildReport({ title: "one", runs: input.runs.slice(0, 1) });
  assertEquals(doc.sections[0].title, "Results");
  const [acc, beyond] = doc.sections[0].tables!;
  for (
    const label of [
      "all users",
      "head users",
      "tail users",
      "users with a head-item target",
      "users with a tail-item target",
    ]
  ) assert(acc.includes(`<td>${label}</td>`), label);
  assert(acc.includes("<th>MRR@20</th>"));
  // HR@20 of the fixture: 0.01 * 20 = 0.2
  assert(acc.includes("<td>0.2000</td>"));
  assert(beyond.includes("<th>TailPercentage@10</th>"));
  assert(beyond.includes("<td>30.00</td>")); // AveragePopularity@20 = 10 + 20
  const figures = doc.sections.flatMap((s) => s.figures ?? []);
  assertEquals(figures.map((f) => f.id), ["curves-sasrec"]);
});
