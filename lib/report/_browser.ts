/**
 * Opening a report in headless Chromium (Debian's `chromium`) through
 * `playwright-core`, for the browser test and the screenshot bench: console
 * errors, page errors and every network request are recorded, and each
 * figure's rendered size is measured.
 *
 * @module
 */
import { chromium } from "playwright-core";

/** Where Chromium is looked for: `SEQSSL_CHROMIUM`, else Debian's path. */
export const CHROMIUM_PATH = Deno.env.get("SEQSSL_CHROMIUM") ??
  "/usr/bin/chromium";

/** Whether the Chromium binary exists. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
}

/** The flags Chromium runs with (as root, no GPU, nothing phoning home). */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** What opening a page found. */
export interface PageCheck {
  /** Console messages of type error, and uncaught page errors. */
  errors: string[];
  /** URLs requested other than the page itself. */
  requests: string[];
  /** Per `figure.chart`: its id and the rendered size of its `<svg>`. */
  figures: { id: string; width: number; height: number }[];
}

/** Options of {@linkcode openReport}. */
export interface OpenOptions {
  /** Viewport width in CSS pixels. @default {1280} */
  width?: number;
  /** Save a PNG screenshot here. */
  screenshot?: string;
  /** Screenshot only this element (CSS selector); default the full page. */
  element?: string;
  /** Device scale factor of the screenshot. @default {1} */
  scale?: number;
}

/**
 * Open `htmlPath` in headless Chromium (a fresh profile in a temporary
 * folder, removed afterwards), wait for it to load, and report errors,
 * requests and figure sizes; optionally save a screenshot.
 */
export async function openReport(
  htmlPath: string,
  opts: OpenOptions = {},
): Promise<PageCheck> {
  const url = new URL(`file://${await Deno.realPath(htmlPath)}`).href;
  const profile = await Deno.makeTempDir({ prefix: "seqssl-chromium-" });
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    viewport: { width: opts.width ?? 1280, height: 900 },
    deviceScaleFactor: opts.scale ?? 1,
  });
  try {
    const page = browser.pages()[0] ?? await browser.newPage();
    const errors: string[] = [], requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
    page.on("request", (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    await page.goto(url, { waitUntil: "load" });
    const figures = await page.$$eval("figure.chart", (els) =>
      els.map((el) => {
        const svg = el.querySelector("svg");
        const r = svg?.getBoundingClientRect();
        return { id: el.id, width: r?.width ?? 0, height: r?.height ?? 0 };
      }));
    if (opts.screenshot) {
      if (opts.element) {
        await page.locator(opts.element).first().screenshot({
          path: opts.screenshot,
        });
      } else {
        await page.screenshot({ path: opts.screenshot, fullPage: true });
      }
    }
    return { errors, requests, figures };
  } finally {
    await browser.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
