/**
 * The report in a real browser: headless Chromium (Debian's `chromium`)
 * opens report.html; no console or page error, no network request, and
 * every figure rendered with a non-zero size. Skipped, saying so, where
 * Chromium is not installed.
 */
import { buildReport } from "../lib/report/build.ts";
import { writeReport } from "../lib/report/html.ts";
import {
  CHROMIUM_PATH,
  hasChromium,
  openReport,
} from "../lib/report/_browser.ts";
import { assert, assertEquals } from "./_assert.ts";
import { reportFixture } from "./_report_fixture.ts";

const chromium = hasChromium();
if (!chromium) {
  console.log(
    `SKIPPED: report browser test: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set SEQSSL_CHROMIUM)`,
  );
}

Deno.test({
  name:
    "report.html in headless Chromium: no console error, nothing fetched, every figure has a size",
  ignore: !chromium,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const doc = await buildReport(reportFixture());
    const expected = doc.sections.flatMap((s) =>
      (s.figures ?? []).map((f) => f.id)
    );
    const dir = await Deno.makeTempDir();
    try {
      await writeReport(dir, doc);
      const check = await openReport(`${dir}/report.html`);
      assertEquals(check.errors, []);
      assertEquals(check.requests, []);
      assertEquals(check.figures.map((f) => f.id), expected);
      for (const f of check.figures) {
        assert(
          f.width > 50 && f.height > 50,
          `${f.id}: ${f.width}x${f.height}`,
        );
      }
      // The check can fail: a broken figure is caught.
      const broken = (await Deno.readTextFile(`${dir}/report.html`)).replace(
        /<svg[^>]*class="marks"[^>]*>/,
        '<svg width="0" height="0">',
      ).replace("</body>", "<script>console.error('boom')</script></body>");
      await Deno.writeTextFile(`${dir}/broken.html`, broken);
      const bad = await openReport(`${dir}/broken.html`);
      assertEquals(bad.errors, ["console: boom"]);
      assert(bad.figures.some((f) => f.width === 0 || f.height === 0));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
