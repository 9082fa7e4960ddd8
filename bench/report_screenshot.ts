/**
 * Save a PNG screenshot of a report (or of one element of it) from headless
 * Chromium, so a person can look at it without opening the HTML:
 *
 *   deno run -A bench/report_screenshot.ts runs/x/report.html out.png \
 *     [--element "#s-results"] [--width 1280] [--scale 1]
 *
 * Prints the console errors, requests and figure sizes it found.
 */
import { parseArgs } from "node:util";
import { hasChromium, openReport } from "../lib/report/_browser.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    element: { type: "string" },
    width: { type: "string" },
    scale: { type: "string" },
  },
});
if (positionals.length !== 2) {
  console.error(
    "usage: report_screenshot.ts REPORT.html OUT.png [--element CSS] [--width PX] [--scale F]",
  );
  Deno.exit(2);
}
if (!hasChromium()) {
  console.error("report_screenshot: no Chromium (apt-get install chromium)");
  Deno.exit(1);
}
const [html, png] = positionals;
const check = await openReport(html, {
  screenshot: png,
  element: values.element,
  width: values.width ? Number(values.width) : undefined,
  scale: values.scale ? Number(values.scale) : undefined,
});
const small = check.figures.filter((f) => !(f.width > 0 && f.height > 0));
console.log(
  `${png}: ${
    (await Deno.stat(png)).size
  } bytes; ${check.figures.length} figures (${small.length} without a size), ${check.errors.length} errors, ${check.requests.length} requests`,
);
for (const e of check.errors) console.log(`  error: ${e}`);
for (const r of check.requests) console.log(`  request: ${r}`);
