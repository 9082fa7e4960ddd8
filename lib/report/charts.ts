/**
 * The report's figures as Vega-Lite specs (data inline), one function per
 * kind of figure. Rendering is `render.ts`'s business; these only shape data.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";

/** One epoch of a training run, as `result.json` records it. */
export interface EpochPoint {
  /** 1-based epoch. */
  epoch: number;
  /** Mean of each loss term over the epoch. */
  loss: Record<string, number>;
  /** Validation metrics (all users), when evaluated. */
  valid?: Record<string, number>;
}

/** Options of {@linkcode trainingCurves}. */
export interface TrainingCurvesOptions {
  /** Validation metrics to draw (default HR@20, NDCG@20, MRR@20). */
  metrics?: string[];
  /** Title. */
  title?: string;
}

/**
 * Each loss term (one panel each, own y scale) and the validation metrics
 * per epoch, the best epoch marked by a dashed rule.
 *
 * @example
 * ```ts
 * import { trainingCurves } from "./charts.ts";
 * const spec = trainingCurves([
 *   { epoch: 1, loss: { total: 3, rec: 2, cl: 1 }, valid: { "NDCG@20": 0.1 } },
 *   { epoch: 2, loss: { total: 2, rec: 1.5, cl: 0.5 }, valid: { "NDCG@20": 0.2 } },
 * ], 2, { metrics: ["NDCG@20"] });
 * const s = JSON.stringify(spec);
 * if (!s.includes('"term":"cl"') || !s.includes('"datum":2')) throw new Error();
 * ```
 */
export function trainingCurves(
  epochs: EpochPoint[],
  bestEpoch: number,
  opts: TrainingCurvesOptions = {},
): TopLevelSpec {
  const metrics = opts.metrics ?? ["HR@20", "NDCG@20", "MRR@20"];
  const loss = epochs.flatMap((e) =>
    Object.entries(e.loss).map(([term, value]) => ({
      epoch: e.epoch,
      term,
      value,
    }))
  );
  const valid = epochs.flatMap((e) =>
    metrics.filter((m) => e.valid?.[m] !== undefined).map((metric) => ({
      epoch: e.epoch,
      metric,
      value: e.valid![metric],
    }))
  );
  const terms = [...new Set(loss.map((l) => l.term))].sort((a, b) =>
    a === "total" ? -1 : b === "total" ? 1 : a < b ? -1 : a > b ? 1 : 0
  );
  const x = {
    field: "epoch",
    type: "quantitative" as const,
    axis: { tickMinStep: 1 },
  };
  const best = bestEpoch > 0
    ? [{
      mark: { type: "rule" as const, strokeDash: [4, 3], color: "#888" },
      encoding: { x: { datum: bestEpoch, type: "quantitative" as const } },
    }]
    : [];
  return {
    title: opts.title ?? "Training curves",
    vconcat: [
      {
        data: { values: loss },
        facet: {
          field: "term",
          type: "nominal",
          sort: terms,
          title: "loss terms (mean over each epoch's batches)",
        },
        columns: terms.length <= 4 ? terms.length : 3,
        spec: {
          width: 170,
          height: 110,
          layer: [
            {
              mark: { type: "line", point: true },
              encoding: {
                x,
                y: {
                  field: "value",
                  type: "quantitative",
                  scale: { zero: false },
                  title: null,
                },
              },
            },
            ...best,
          ],
        },
        resolve: { scale: { y: "independent" } },
      },
      {
        data: { values: valid },
        width: 420,
        height: 180,
        title: `validation (all users)${
          bestEpoch > 0 ? `; best epoch ${bestEpoch} dashed` : ""
        }`,
        layer: [
          {
            mark: { type: "line", point: true },
            encoding: {
              x,
              y: { field: "value", type: "quantitative", title: null },
              color: { field: "metric", type: "nominal", title: "metric" },
            },
          },
          ...best,
        ],
      },
    ],
  } as TopLevelSpec;
}

/** One value of a metric: a variant under one seed. */
export interface SeedValue {
  /** Variant name. */
  variant: string;
  /** Seed. */
  seed: number;
  /** The metric's value. */
  value: number;
}

/**
 * One metric across variants: the mean over seeds as a bar, one standard
 * deviation as an error bar, each seed as a dot. Variants keep the order
 * they first appear in.
 *
 * @example
 * ```ts
 * import { metricAcrossVariants } from "./charts.ts";
 * const spec = metricAcrossVariants("NDCG@20", [
 *   { variant: "a", seed: 1, value: 0.1 }, { variant: "a", seed: 2, value: 0.12 },
 *   { variant: "b", seed: 1, value: 0.2 }, { variant: "b", seed: 2, value: 0.18 },
 * ]);
 * if (!JSON.stringify(spec).includes('"extent":"stdev"')) throw new Error();
 * ```
 */
export function metricAcrossVariants(
  metric: string,
  values: SeedValue[],
  opts: { title?: string } = {},
): TopLevelSpec {
  const order = [...new Set(values.map((v) => v.variant))];
  const x = {
    field: "variant",
    type: "nominal" as const,
    sort: order,
    title: null,
    axis: { labelAngle: -30 },
  };
  return {
    title: {
      text: opts.title ?? metric,
      subtitle: "mean ± sd over seeds; dots: seeds",
    },
    data: { values },
    width: { step: 38 },
    height: 150,
    layer: [
      {
        mark: { type: "bar", color: "#9ecae1" },
        encoding: {
          x,
          y: {
            aggregate: "mean",
            field: "value",
            type: "quantitative",
            title: null,
          },
        },
      },
      {
        mark: { type: "errorbar", extent: "stdev", ticks: true },
        encoding: {
          x,
          y: { field: "value", type: "quantitative", title: null },
        },
      },
      {
        mark: { type: "point", filled: true, size: 18, color: "#08519c" },
        encoding: {
          x,
          y: { field: "value", type: "quantitative", title: null },
          tooltip: [{ field: "seed" }, { field: "value", format: ".4f" }],
        },
      },
    ],
  } as TopLevelSpec;
}

/** The clusters of one model: sizes and head sequences per cluster. */
export interface ClusterSeries {
  /** Variant (or run) name. */
  variant: string;
  /** Sequences per cluster. */
  sizes: number[];
  /** Head sequences per cluster (same length as sizes). */
  heads: number[];
}

/**
 * Cluster sizes, largest first, one line per variant (log scale when sizes
 * span two orders of magnitude).
 *
 * @example
 * ```ts
 * import { clusterSizes } from "./charts.ts";
 * const spec = clusterSizes([{ variant: "s4rec", sizes: [1, 5, 3], heads: [0, 1, 1] }]);
 * const rows = (spec as { data: { values: { rank: number; size: number }[] } }).data.values;
 * if (rows[0].size !== 5 || rows[2].rank !== 3) throw new Error();
 * ```
 */
export function clusterSizes(series: ClusterSeries[]): TopLevelSpec {
  const values = series.flatMap((s) =>
    [...s.sizes].sort((a, b) => b - a).map((size, i) => ({
      variant: s.variant,
      rank: i + 1,
      size,
    }))
  );
  const positive = values.map((v) => v.size).filter((v) => v > 0);
  const spread = positive.length > 0
    ? Math.max(...positive) / Math.min(...positive)
    : 1;
  return {
    title: "Cluster sizes (clusters ordered by size)",
    data: { values },
    width: 420,
    height: 180,
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "rank", type: "quantitative", title: "cluster (by size)" },
      y: {
        field: "size",
        type: "quantitative",
        title: "training sequences",
        scale: spread >= 100 ? { type: "symlog" } : {},
      },
      color: { field: "variant", type: "nominal" },
    },
  } as TopLevelSpec;
}

/**
 * Box plots of the per-cluster head rate (share of head sequences in each
 * non-empty cluster; S4Rec's Figure 3), one box per variant, the overall
 * head rate as a dashed line: a model that separates head from tail users
 * spreads its boxes towards 0 and 1.
 *
 * @example
 * ```ts
 * import { headRateBoxes } from "./charts.ts";
 * const spec = headRateBoxes([{ variant: "s4rec", sizes: [2, 0, 4], heads: [1, 0, 1] }], 0.2);
 * const rows = (spec as { layer: { data?: { values: { rate: number }[] } }[] }).layer[0].data!.values;
 * if (rows.length !== 2 || rows[0].rate !== 0.5 || rows[1].rate !== 0.25) throw new Error();
 * ```
 */
export function headRateBoxes(
  series: ClusterSeries[],
  overall: number,
): TopLevelSpec {
  const values = series.flatMap((s) =>
    s.sizes.flatMap((size, c) =>
      size > 0 ? [{ variant: s.variant, rate: s.heads[c] / size }] : []
    )
  );
  return {
    title: "Per-cluster head rate",
    width: { step: 60 },
    height: 200,
    layer: [
      {
        data: { values },
        mark: { type: "boxplot", extent: "min-max", size: 30 },
        encoding: {
          x: {
            field: "variant",
            type: "nominal",
            title: null,
            sort: series.map((s) => s.variant),
          },
          y: {
            field: "rate",
            type: "quantitative",
            scale: { domain: [0, 1] },
            title: "head sequences / cluster size",
          },
        },
      },
      {
        data: { values: [{ overall }] },
        mark: { type: "rule", strokeDash: [4, 3], color: "#d62728" },
        encoding: { y: { field: "overall", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
}

/** A point of a 2-D projection. */
export interface ProjectedPoint {
  /** First coordinate. */
  x: number;
  /** Second coordinate. */
  y: number;
  /** Category to colour by (cluster, intent, view). */
  group: string;
}

/**
 * A 2-D projection (UMAP) of embeddings, coloured by a category.
 *
 * @example
 * ```ts
 * import { projectionScatter } from "./charts.ts";
 * const spec = projectionScatter([{ x: 0, y: 1, group: "0" }], { title: "t", colorTitle: "intent" });
 * if (!JSON.stringify(spec).includes('"title":"intent"')) throw new Error();
 * ```
 */
export function projectionScatter(
  points: ProjectedPoint[],
  opts: { title: string; colorTitle: string },
): TopLevelSpec {
  const groups = new Set(points.map((p) => p.group)).size;
  return {
    title: opts.title,
    data: { values: points },
    width: 300,
    height: 300,
    mark: { type: "circle", size: 14, opacity: 0.75 },
    encoding: {
      x: { field: "x", type: "quantitative", axis: null },
      y: { field: "y", type: "quantitative", axis: null },
      color: {
        field: "group",
        type: "nominal",
        title: opts.colorTitle,
        scale: { scheme: groups > 10 ? "category20" : "category10" },
        legend: groups > 20 ? null : {},
      },
    },
  } as TopLevelSpec;
}

/** One user's two augmented views, projected. */
export interface ViewPair {
  /** User index (pairs are linked by it). */
  user: number;
  /** First view. */
  a: { x: number; y: number };
  /** Second view. */
  b: { x: number; y: number };
}

/**
 * The two augmented views of a sample of users, projected together: view 1
 * and view 2 as two colours, each positive pair linked by a grey line.
 *
 * @example
 * ```ts
 * import { viewPairs } from "./charts.ts";
 * const spec = viewPairs([{ user: 3, a: { x: 0, y: 0 }, b: { x: 1, y: 1 } }], "views");
 * const s = JSON.stringify(spec);
 * if (!s.includes('"detail"') || !s.includes('"view":"view 2"')) throw new Error();
 * ```
 */
export function viewPairs(pairs: ViewPair[], title: string): TopLevelSpec {
  const values = pairs.flatMap((p) => [
    { user: p.user, view: "view 1", x: p.a.x, y: p.a.y },
    { user: p.user, view: "view 2", x: p.b.x, y: p.b.y },
  ]);
  const x = { field: "x", type: "quantitative" as const, axis: null };
  const y = { field: "y", type: "quantitative" as const, axis: null };
  return {
    title,
    data: { values },
    width: 300,
    height: 300,
    layer: [
      {
        mark: { type: "line", color: "#bbb", strokeWidth: 0.8 },
        encoding: { x, y, detail: { field: "user", type: "nominal" } },
      },
      {
        mark: { type: "circle", size: 22, opacity: 0.85 },
        encoding: {
          x,
          y,
          color: { field: "view", type: "nominal", title: "view" },
        },
      },
    ],
  } as TopLevelSpec;
}
