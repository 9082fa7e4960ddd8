/**
 * The report's content from finished runs: tables (metrics for all, head
 * and tail users, by target popularity, beyond accuracy; mean ± std over
 * seeds; p-values against a baseline) and figures (training curves, one
 * chart per metric across variants, S4Rec's clusters, embedding
 * projections, augmented views). Only data in, a `ReportDoc` out: what needs
 * a model (projections) comes in as `pictures`.
 *
 * @module
 */
import type { GroupedMetrics } from "../eval/metrics.ts";
import type { ClusterReport } from "../eval/cluster_report.ts";
import { formatMeanStd, meanStd } from "../stats/describe.ts";
import {
  type ClusterSeries,
  clusterSizes,
  type EpochPoint,
  headRateBoxes,
  metricAcrossVariants,
  type ProjectedPoint,
  projectionScatter,
  type SeedValue,
  trainingCurves,
  type ViewPair,
  viewPairs,
} from "./charts.ts";
import { renderSvg } from "./render.ts";
import type { SignificanceRow } from "../significance.ts";
import {
  type Figure,
  htmlTable,
  type ReportDoc,
  type Section,
} from "./html.ts";

/** What the report needs of one finished run (a subset of `result.json`). */
export interface RunResult {
  /** The config (method, seed, data, ...). */
  config: { method: string; seed: number };
  /** The data summary. */
  data: { name: string; users: number; items: number; actions: number };
  /** Per-epoch losses and validation metrics. */
  epochs: EpochPoint[];
  /** Best validation epoch. */
  bestEpoch: number;
  /** Test metrics at the best epoch. */
  test?: GroupedMetrics;
  /** Mean seconds per training epoch. */
  secondsPerEpoch: number;
  /** The backend, for the header. */
  backend?: { name?: string };
  /** Clusters (S4Rec). */
  clusters?: ClusterReport;
}

/** One run of one variant under one seed. */
export interface RunRecord {
  /** Variant name ("run" for a plain `train`). */
  variant: string;
  /** Seed. */
  seed: number;
  /** Its result. */
  result: RunResult;
}

/** Pictures that need the trained model (computed by `pictures.ts`). */
export interface ModelPictures {
  /** Variant the pictures are of. */
  variant: string;
  /** Seed of the run they come from. */
  seed: number;
  /** UMAP of sequence embeddings, one point per sampled user. */
  points: { x: number; y: number }[];
  /** Colourings of the points: name -> label per point (e.g. "cluster", "planted intent"). */
  colorings: Record<string, string[]>;
  /** The two views of a sample of users (contrastive methods). */
  views?: { pairs: ViewPair[]; note: string };
}

/** Everything a report is made of. */
export interface ReportInput {
  /** Title. */
  title: string;
  /** Runs (all variants, all seeds). */
  runs: RunRecord[];
  /** Baseline variant of the significance tests. */
  baseline?: string;
  /** Paired tests against the baseline. */
  significance?: SignificanceRow[];
  /** Model pictures (projections, views), when computed. */
  pictures?: ModelPictures[];
  /** Extra lines for the header (commands, notes). */
  notes?: string[];
}

const KS = [5, 10, 20];
const ACCURACY = ["HR", "NDCG", "MRR"];
const BEYOND = ["Coverage", "AveragePopularity", "Gini", "TailPercentage"];
const GROUPS: [keyof GroupedMetrics, string][] = [
  ["all", "all users"],
  ["head", "head users"],
  ["tail", "tail users"],
  ["headItem", "users with a head-item target"],
  ["tailItem", "users with a tail-item target"],
];
/** The metrics drawn across variants, as [group, metric, label]. */
const COMPARED: [keyof GroupedMetrics, string, string][] = [
  ["all", "HR@20", "HR@20"],
  ["all", "NDCG@20", "NDCG@20"],
  ["all", "MRR@20", "MRR@20"],
  ["all", "NDCG@10", "NDCG@10"],
  ["head", "NDCG@20", "head users: NDCG@20"],
  ["tail", "NDCG@20", "tail users: NDCG@20"],
  ["headItem", "NDCG@20", "head-item targets: NDCG@20"],
  ["tailItem", "NDCG@20", "tail-item targets: NDCG@20"],
  ["all", "Coverage@20", "Coverage@20"],
  ["all", "AveragePopularity@20", "AveragePopularity@20"],
  ["all", "Gini@20", "Gini@20"],
  ["all", "TailPercentage@20", "TailPercentage@20"],
];

/** Variants in first-seen order. */
function variantsOf(runs: RunRecord[]): string[] {
  return [...new Set(runs.map((r) => r.variant))];
}

/** A figure id from free text. */
function figureId(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") ||
    "figure";
}

/** "mean ± std" of a metric over runs (or "-" when no run has it). */
function cell(
  runs: RunRecord[],
  group: keyof GroupedMetrics,
  metric: string,
): string {
  const xs = runs.map((r) => r.result.test?.[group]?.[metric]).filter((
    v,
  ): v is number => v !== undefined);
  if (xs.length === 0) return "-";
  const digits = metric.startsWith("AveragePopularity") ? 2 : 4;
  return formatMeanStd(meanStd(xs), digits);
}

/**
 * The metric tables of one variant's runs: accuracy for all, head and tail
 * users and by the target's popularity; beyond-accuracy for all, head and
 * tail users (mean ± std over seeds when there are several).
 *
 * @example
 * ```ts
 * import { metricTables } from "./build.ts";
 * const m = { "HR@5": 0.5, "NDCG@5": 0.25, "MRR@5": 0.2 };
 * const run = { variant: "run", seed: 1, result: {
 *   config: { method: "sasrec", seed: 1 }, data: { name: "d", users: 2, items: 3, actions: 6 },
 *   epochs: [], bestEpoch: 1, secondsPerEpoch: 1, test: { all: m, head: m, tail: m } } };
 * const [acc] = metricTables([run, { ...run, seed: 2 }]);
 * if (!acc.includes("<td>0.5000 ± 0.0000</td>")) throw new Error(acc);
 * ```
 */
export function metricTables(runs: RunRecord[]): string[] {
  const seeds = runs.length > 1 ? ` (mean ± sd over ${runs.length} seeds)` : "";
  const acc = htmlTable(
    ["test", ...ACCURACY.flatMap((m) => KS.map((k) => `${m}@${k}`))],
    GROUPS.filter(([g]) => runs.some((r) => r.result.test?.[g])).map((
      [g, label],
    ) => [
      label,
      ...ACCURACY.flatMap((m) => KS.map((k) => cell(runs, g, `${m}@${k}`))),
    ]),
    `Accuracy at the best validation epoch${seeds}`,
  );
  const beyondRows = GROUPS.slice(0, 3).filter(([g]) =>
    runs.some((r) => r.result.test?.[g]?.["Coverage@20"] !== undefined)
  );
  if (beyondRows.length === 0) return [acc];
  const beyond = htmlTable(
    ["test", ...BEYOND.flatMap((m) => KS.map((k) => `${m}@${k}`))],
    beyondRows.map(([g, label]) => [
      label,
      ...BEYOND.flatMap((m) => KS.map((k) => cell(runs, g, `${m}@${k}`))),
    ]),
    `Beyond accuracy: what the top-k lists hold${seeds}`,
  );
  return [acc, beyond];
}

/**
 * The comparison table: one row per variant, the main metrics as mean ±
 * std over seeds, and with a baseline the p-values of the paired tests on
 * per-user NDCG@20 and HR@20.
 *
 * @example
 * ```ts
 * import { comparisonTable } from "./build.ts";
 * const m = { "HR@20": 0.5, "NDCG@20": 0.25 };
 * const r = (variant: string) => ({ variant, seed: 1, result: {
 *   config: { method: "sasrec", seed: 1 }, data: { name: "d", users: 2, items: 3, actions: 6 },
 *   epochs: [], bestEpoch: 2, secondsPerEpoch: 1.5, test: { all: m, head: m, tail: m } } });
 * const t = comparisonTable([r("a"), r("b")], "a", [
 *   { variant: "b", metric: "NDCG@20", n: 2, meanDifference: 0.01, t: 2.5, tP: 0.0123, wilcoxonW: 0, wilcoxonP: 0.5 },
 * ]);
 * if (!t.includes("<td>0.0123</td>") || !t.includes("<td>baseline</td>")) throw new Error(t);
 * ```
 */
export function comparisonTable(
  runs: RunRecord[],
  baseline?: string,
  significance: SignificanceRow[] = [],
): string {
  const cols = COMPARED.filter(([g, m]) =>
    runs.some((r) => r.result.test?.[g]?.[m] !== undefined)
  );
  const tested = baseline ? ["NDCG@20", "HR@20"] : [];
  const header = [
    "variant",
    "seeds",
    ...cols.map(([, , label]) => label),
    "best epoch",
    "s/epoch",
    ...tested.flatMap((m) => [`Δ ${m}`, `p (t) ${m}`, `p (W) ${m}`]),
  ];
  const p = (x: number) => x < 1e-4 ? x.toExponential(1) : x.toFixed(4);
  const rows = variantsOf(runs).map((v) => {
    const rs = runs.filter((r) => r.variant === v);
    const row = [
      v,
      rs.map((r) => r.seed).join(","),
      ...cols.map(([g, m]) => cell(rs, g, m)),
      formatMeanStd(meanStd(rs.map((r) => r.result.bestEpoch)), 1),
      formatMeanStd(meanStd(rs.map((r) => r.result.secondsPerEpoch)), 1),
    ];
    for (const m of tested) {
      if (v === baseline) {
        row.push("baseline", "", "");
        continue;
      }
      const s = significance.find((x) => x.variant === v && x.metric === m);
      row.push(
        s ? s.meanDifference.toFixed(4) : "-",
        s ? p(s.tP) : "-",
        s ? p(s.wilcoxonP) : "-",
      );
    }
    return row;
  });
  return htmlTable(
    header,
    rows,
    `Test metrics at the best validation epoch, mean ± sd over seeds${
      baseline
        ? `; paired tests against '${baseline}' over users and seeds (t: paired t-test, W: Wilcoxon signed-rank), Δ = variant - baseline`
        : ""
    }`,
  );
}

/** The ClusterSeries of the runs that have clusters (first seed of each variant). */
function clusterSeries(runs: RunRecord[]): ClusterSeries[] {
  const out: ClusterSeries[] = [];
  for (const v of variantsOf(runs)) {
    const r = runs.find((x) => x.variant === v && x.result.clusters);
    const c = r?.result.clusters;
    if (c?.clusterHeads) {
      out.push({ variant: v, sizes: c.clusterSizes, heads: c.clusterHeads });
    }
  }
  return out;
}

/**
 * Render every figure and table of the report.
 *
 * @example
 * ```ts
 * import { buildReport } from "./build.ts";
 * const m = { "HR@20": 0.5, "NDCG@20": 0.25, "MRR@20": 0.2 };
 * const doc = await buildReport({ title: "t", runs: [{ variant: "run", seed: 1, result: {
 *   config: { method: "sasrec", seed: 1 }, data: { name: "d", users: 2, items: 3, actions: 6 },
 *   epochs: [{ epoch: 1, loss: { total: 1 }, valid: m }], bestEpoch: 1, secondsPerEpoch: 1,
 *   test: { all: m, head: m, tail: m } } }] });
 * const figures = doc.sections.flatMap((s) => s.figures ?? []);
 * if (figures.length !== 1 || !figures[0].svg.startsWith("<svg")) throw new Error();
 * ```
 */
export async function buildReport(input: ReportInput): Promise<ReportDoc> {
  const { runs } = input;
  if (runs.length === 0) {
    throw new RangeError("buildReport: expected at least one run, found none");
  }
  const variants = variantsOf(runs);
  const compare = variants.length > 1;
  const first = runs[0].result;
  const seeds = [...new Set(runs.map((r) => r.seed))];
  const sections: Section[] = [];
  const fig = async (
    id: string,
    caption: string,
    spec: Parameters<typeof renderSvg>[0],
  ): Promise<Figure> => ({ id, caption, svg: await renderSvg(spec) });

  // Tables.
  if (compare) {
    sections.push({
      title: "Results",
      tables: [
        comparisonTable(runs, input.baseline, input.significance),
      ],
    });
    const figures: Figure[] = [];
    for (const [g, m, label] of COMPARED) {
      const values: SeedValue[] = runs.flatMap((r) => {
        const v = r.result.test?.[g]?.[m];
        return v === undefined ? [] : [{
          variant: r.variant,
          seed: r.seed,
          value: v,
        }];
      });
      if (values.length === 0) continue;
      figures.push(
        await fig(
          `metric-${figureId(label)}`,
          `${label}: bar = mean over seeds, whisker = ±1 sd, dots = seeds.`,
          metricAcrossVariants(label, values),
        ),
      );
    }
    sections.push({ title: "Metrics across variants", figures });
    for (const v of variants) {
      sections.push({
        title: `Metric tables: ${v}`,
        tables: metricTables(runs.filter((r) => r.variant === v)),
      });
    }
  } else {
    sections.push({ title: "Results", tables: metricTables(runs) });
  }

  // Training curves: the first seed of each variant.
  const curves: Figure[] = [];
  for (const v of variants) {
    const r = runs.find((x) => x.variant === v)!;
    if (r.result.epochs.length === 0) continue;
    curves.push(
      await fig(
        `curves-${figureId(v)}`,
        `${v} (seed ${r.seed}): each loss term and the validation metrics per epoch; dashed: best validation epoch (${r.result.bestEpoch}).`,
        trainingCurves(r.result.epochs, r.result.bestEpoch, {
          title: compare ? `Training curves: ${v}` : "Training curves",
        }),
      ),
    );
  }
  if (curves.length) {
    sections.push({ title: "Training curves", figures: curves });
  }

  // S4Rec's clusters.
  const series = clusterSeries(runs);
  if (series.length) {
    const withC = runs.find((r) => r.result.clusters)!.result.clusters!;
    const text = series.map((s) => {
      const c = runs.find((r) => r.variant === s.variant && r.result.clusters)!
        .result.clusters!;
      return `${s.variant}: ${c.nonEmpty} of ${c.numClusters} clusters non-empty${
        c.nmi !== undefined
          ? `; NMI with the planted intents ${c.nmi.toFixed(3)} (shuffled: ${
            c.nmiShuffled!.toFixed(3)
          })`
          : ""
      }.`;
    });
    sections.push({
      title: "Clusters (intents)",
      text,
      figures: [
        await fig(
          "cluster-sizes",
          "Training sequences per cluster, clusters ordered by size (first seed of each variant).",
          clusterSizes(series),
        ),
        await fig(
          "cluster-head-rate",
          `Share of head sequences in each non-empty cluster (S4Rec's Figure 3); red dashed: the overall head rate (${
            withC.headRateOverall.toFixed(2)
          }), which a cluster mixing head and tail users evenly would have.`,
          headRateBoxes(series, withC.headRateOverall),
        ),
      ],
    });
  }

  // Embedding projections and augmented views.
  for (const p of input.pictures ?? []) {
    const figures: Figure[] = [];
    for (const [name, labels] of Object.entries(p.colorings)) {
      const points: ProjectedPoint[] = p.points.map((q, i) => ({
        x: q.x,
        y: q.y,
        group: labels[i],
      }));
      figures.push(
        await fig(
          `umap-${figureId(p.variant)}-${figureId(name)}`,
          `${p.variant} (seed ${p.seed}): UMAP of ${p.points.length} users' sequence embeddings (test inputs), coloured by ${name}.`,
          projectionScatter(points, {
            title: `${p.variant}: sequence embeddings by ${name}`,
            colorTitle: name,
          }),
        ),
      );
    }
    if (p.views) {
      figures.push(
        await fig(
          `views-${figureId(p.variant)}`,
          `${p.variant} (seed ${p.seed}): ${p.views.note}`,
          viewPairs(p.views.pairs, `${p.variant}: two augmented views`),
        ),
      );
    }
    sections.push({ title: `Embeddings: ${p.variant}`, figures });
  }

  const methods = [...new Set(runs.map((r) => r.result.config.method))];
  const meta = [
    `data: ${first.data.name} (${first.data.users} users, ${first.data.items} items, ${first.data.actions} interactions)`,
    compare
      ? `variants: ${variants.join(", ")} (methods: ${methods.join(", ")})`
      : `method: ${methods.join(", ")}`,
    `seeds: ${seeds.join(", ")}`,
    ...(first.backend?.name ? [`backend: ${first.backend.name}`] : []),
    "evaluation: full ranking over all items, history excluded; test metrics at the best validation epoch (NDCG@20). Head users: the 20% longest training sequences; head items: the 20% most frequent items in training.",
    ...(input.notes ?? []),
  ];
  return { title: input.title, meta, sections };
}
