/**
 * The report page: one self-contained HTML file (styles inline, figures as
 * inline SVG, no script, nothing fetched when viewed), and each figure also
 * as its own SVG file.
 *
 * @module
 */
import { writeTextFileAtomic } from "../util/atomic.ts";

/** A rendered figure. */
export interface Figure {
  /** File name stem and HTML id (letters, digits, '-' and '_'). */
  id: string;
  /** Caption under the figure. */
  caption: string;
  /** The SVG document. */
  svg: string;
}

/** A part of the report: a heading, some prose, tables and figures. */
export interface Section {
  /** Heading. */
  title: string;
  /** Paragraphs of plain text (escaped). */
  text?: string[];
  /** Tables as HTML (built with {@linkcode htmlTable}). */
  tables?: string[];
  /** Figures. */
  figures?: Figure[];
}

/** A whole report. */
export interface ReportDoc {
  /** Page title and first heading. */
  title: string;
  /** Lines under the title (plain text). */
  meta: string[];
  /** The sections, in order. */
  sections: Section[];
}

/**
 * Escape text for HTML.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * if (escapeHtml('<a & "b">') !== "&lt;a &amp; &quot;b&quot;&gt;") throw new Error();
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/**
 * An HTML table from a header row and body rows (cells are plain text);
 * `caption` goes above it.
 *
 * @example
 * ```ts
 * import { htmlTable } from "./html.ts";
 * const t = htmlTable(["a", "b"], [["1", "<2>"]], "c");
 * if (!t.includes("<th>a</th>") || !t.includes("<td>&lt;2&gt;</td>")) throw new Error(t);
 * ```
 */
export function htmlTable(
  header: string[],
  rows: string[][],
  caption?: string,
): string {
  const th = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) =>
    `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`
  ).join("\n");
  return `<div class="table"><table>${
    caption ? `<caption>${escapeHtml(caption)}</caption>` : ""
  }<thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
p.meta { color: #555; margin: 2px 0; font-size: 13px; }
.table { overflow-x: auto; margin: 12px 0; }
table { border-collapse: collapse; font-size: 12px; }
td { white-space: nowrap; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f4f4f4; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure.chart { margin: 0; display: table; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #555; display: table-caption; caption-side: bottom; }
`;

const ID = /^[A-Za-z0-9_-]+$/;

/**
 * The report as one HTML document.
 *
 * @example
 * ```ts
 * import { reportHtml } from "./html.ts";
 * const html = reportHtml({ title: "t", meta: ["m"], sections: [
 *   { title: "s", figures: [{ id: "f", caption: "c", svg: "<svg></svg>" }] },
 * ] });
 * if (!html.includes('<figure class="chart" id="f"><svg></svg>')) throw new Error(html);
 * if (html.includes("<script") || html.includes("http")) throw new Error("not self-contained");
 * ```
 */
export function reportHtml(doc: ReportDoc): string {
  const parts: string[] = [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(doc.title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(doc.title)}</h1>`,
    ...doc.meta.map((m) => `<p class="meta">${escapeHtml(m)}</p>`),
  ];
  const used = new Set<string>();
  for (const s of doc.sections) {
    let id = slug(s.title);
    for (let i = 2; used.has(id); i++) id = `${slug(s.title)}-${i}`;
    used.add(id);
    parts.push(`<section id="${id}">`);
    parts.push(`<h2>${escapeHtml(s.title)}</h2>`);
    for (const t of s.text ?? []) parts.push(`<p>${escapeHtml(t)}</p>`);
    for (const t of s.tables ?? []) parts.push(t);
    if (s.figures?.length) {
      parts.push('<div class="figures">');
      for (const f of s.figures) {
        if (!ID.test(f.id)) {
          throw new Error(
            `reportHtml: expected a figure id of letters, digits, '-', '_', found '${f.id}'`,
          );
        }
        parts.push(
          `<figure class="chart" id="${f.id}">${
            stripXmlProlog(f.svg)
          }<figcaption>${escapeHtml(f.caption)}</figcaption></figure>`,
        );
      }
      parts.push("</div>");
    }
    parts.push("</section>");
  }
  parts.push("</body></html>");
  return parts.join("\n") + "\n";
}

/** A section id: "s-" and the title's letters and digits. */
function slug(title: string): string {
  return "s-" +
    title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

function stripXmlProlog(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, "");
}

/**
 * Write `dir/report.html` and every figure as `dir/figures/<id>.svg`
 * (each through a temporary file and a rename). Returns the paths written.
 *
 * @example
 * ```ts
 * import { writeReport } from "./html.ts";
 * const dir = await Deno.makeTempDir();
 * const paths = await writeReport(dir, { title: "t", meta: [], sections: [
 *   { title: "s", figures: [{ id: "f", caption: "c", svg: "<svg></svg>" }] },
 * ] });
 * if (paths.length !== 2 || (await Deno.readTextFile(`${dir}/figures/f.svg`)) !== "<svg></svg>") throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeReport(
  dir: string,
  doc: ReportDoc,
): Promise<string[]> {
  const html = reportHtml(doc);
  await Deno.mkdir(`${dir}/figures`, { recursive: true });
  const written: string[] = [];
  for (const s of doc.sections) {
    for (const f of s.figures ?? []) {
      const path = `${dir}/figures/${f.id}.svg`;
      await writeTextFileAtomic(path, f.svg);
      written.push(path);
    }
  }
  await writeTextFileAtomic(`${dir}/report.html`, html);
  written.push(`${dir}/report.html`);
  return written;
}
