/**
 * The metrics as a plain-text table for the terminal: accuracy for all,
 * head and tail users and by the target's popularity, beside the
 * beyond-accuracy metrics of the top-k lists.
 *
 * @module
 */
import type { GroupedMetrics } from "./metrics.ts";

const ROWS: [keyof GroupedMetrics, string][] = [
  ["all", "all users"],
  ["head", "head users"],
  ["tail", "tail users"],
  ["headItem", "head-item targets"],
  ["tailItem", "tail-item targets"],
];

const COLUMNS = [
  "HR@10",
  "HR@20",
  "NDCG@10",
  "NDCG@20",
  "MRR@20",
  "Coverage@20",
  "AveragePopularity@20",
  "Gini@20",
  "TailPercentage@20",
];

/**
 * A text table of `m`, one row per group present, the columns present in
 * any group (a metric a group lacks shows "-").
 *
 * @example
 * ```ts
 * import { metricTable } from "./format.ts";
 * const g = { "HR@20": 0.5, "NDCG@20": 0.25 };
 * const t = metricTable({ all: g, head: g, tail: { "HR@20": 0.125 } });
 * const lines = t.split("\n");
 * if (!lines[0].includes("HR@20") || !lines[3].includes("0.1250") || !lines[3].endsWith("-")) throw new Error(t);
 * ```
 */
export function metricTable(m: GroupedMetrics): string {
  const rows = ROWS.filter(([g]) => m[g]);
  const cols = COLUMNS.filter((c) =>
    rows.some(([g]) => m[g]![c] !== undefined)
  );
  const cells = rows.map(([g, label]) => [
    label,
    ...cols.map((c) => {
      const v = m[g]![c];
      if (v === undefined) return "-";
      return c.startsWith("AveragePopularity") ? v.toFixed(2) : v.toFixed(4);
    }),
  ]);
  const header = ["", ...cols];
  const width = header.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => r[i].length))
  );
  const line = (r: string[]) =>
    r.map((c, i) => i === 0 ? c.padEnd(width[0]) : c.padStart(width[i]))
      .join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}
