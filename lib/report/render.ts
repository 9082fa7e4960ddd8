/**
 * Vega-Lite specs to standalone SVG, with Vega's headless renderer (no DOM,
 * no canvas, nothing fetched).
 *
 * @module
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type { TopLevelSpec } from "vega-lite";

/** Fonts and colours shared by every figure. */
const CONFIG = {
  font: "Helvetica, Arial, sans-serif",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: "start" },
};

/**
 * Render a Vega-Lite spec to an SVG document (a string starting with
 * `<svg`). Inline data only: a spec that names a URL is refused, so a
 * figure never fetches anything.
 *
 * @example
 * ```ts
 * import { renderSvg } from "./render.ts";
 * const svg = await renderSvg({
 *   data: { values: [{ x: 1, y: 2 }, { x: 2, y: 3 }] },
 *   mark: "line",
 *   encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
 * });
 * if (!svg.startsWith("<svg") || !svg.includes("</svg>")) throw new Error(svg.slice(0, 80));
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  if (JSON.stringify(spec).includes('"url"')) {
    throw new Error("renderSvg: expected inline data, found a data url");
  }
  const withConfig = {
    ...spec,
    config: { ...CONFIG, ...(spec.config ?? {}) },
  } as TopLevelSpec;
  const { spec: vgSpec } = compile(withConfig);
  const view = new vega.View(vega.parse(vgSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
