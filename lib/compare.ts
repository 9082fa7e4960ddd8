/**
 * Comparisons: several named variants of a config trained on the same data,
 * one after another, each resumable, summarised as a Markdown table and JSON.
 * The papers' ablation tables are grids (see `bench/repro/*.yaml`).
 *
 * @module
 */
import type { BackendInfo } from "./backend/init.ts";
import type { SequenceDataset } from "./data/types.ts";
import {
  datasetKey,
  loadDataset,
  runTraining,
  type TrainReport,
} from "./experiment.ts";
import type { TrainConfig } from "./training/config.ts";
import { type ConfigLayer, resolveConfig } from "./config/resolve.ts";
import type { YamlFile } from "./config/yaml_file.ts";
import type { Progress } from "./util/progress.ts";
import { writeTextFileAtomic } from "./util/atomic.ts";
import { formatMeanStd, type MeanStd, meanStd } from "./stats/describe.ts";
import { significance, type SignificanceRow } from "./significance.ts";

/** A grid: shared settings and named variants (each a set of overrides). */
export interface Grid {
  /** Settings every variant starts from. */
  base?: Record<string, unknown>;
  /** Variant name -> overrides of `base`. */
  variants: Record<string, Record<string, unknown>>;
}

/** One run of a comparison: a variant under one seed. */
export interface CompareRow {
  /** Variant name. */
  variant: string;
  /** Seed of the run. */
  seed: number;
  /** Its folder relative to the comparison's (absent without an output folder). */
  dir?: string;
  /** Its full training report. */
  report: TrainReport;
}

/** A variant's metrics over its seeds. */
export interface VariantSummary {
  /** Variant name. */
  variant: string;
  /** Its seeds, in run order. */
  seeds: number[];
  /** Test metrics: group -> metric -> mean, std, n over seeds. */
  test: Record<string, Record<string, MeanStd>>;
  /** Best epoch over seeds. */
  bestEpoch: MeanStd;
  /** Seconds per epoch over seeds. */
  secondsPerEpoch: MeanStd;
}

/** `results.json` of a comparison. */
export interface CompareResults {
  /** Every run. */
  rows: CompareRow[];
  /** Mean ± std over seeds per variant. */
  summary: VariantSummary[];
  /** Baseline of the significance tests. */
  baseline?: string;
  /** Paired tests of each variant against the baseline. */
  significance?: SignificanceRow[];
}

/**
 * Check a parsed grid (from YAML) and build each variant's config; `source`
 * names the file in errors, `overrides` (e.g. `--data`) apply to all. With
 * `only`, just those variants (by name, in the grid's order): a grid can be
 * split across processes or machines that share its output folder, and a
 * last run of the whole grid with `resume` collects the finished variants
 * into one table.
 *
 * @example
 * ```ts
 * import { gridConfigs } from "./compare.ts";
 * const grid = { base: { epochs: 1 }, variants: { a: {}, b: { lr: 0.01 } } };
 * const cfgs = gridConfigs(grid, {});
 * if (cfgs.b.lr !== 0.01 || cfgs.a.epochs !== 1) throw new Error();
 * const justB = gridConfigs(grid, {}, { only: ["b"] });
 * if (Object.keys(justB).join() !== "b") throw new Error();
 * // a base shared by several methods: srma's key applies to srma's variant only
 * const mixed = gridConfigs({ base: { method: "srma", dropK: 3 }, variants: { s: {}, c: { method: "cl4srec" } } }, {});
 * if (!("dropK" in mixed.s) || "dropK" in mixed.c) throw new Error();
 * ```
 */
export function gridConfigs(
  grid: unknown,
  overrides: Record<string, unknown>,
  opts: {
    source?: string;
    only?: string[];
    /** The grid's YAML file: messages then name the line of a key. */
    file?: YamlFile;
    /** Where an override was set (e.g. `--set`), for messages. */
    overridesWhere?: (key: string) => string | undefined;
  } = {},
): Record<string, TrainConfig> {
  const where = opts.source ?? "grid";
  const g = grid as Grid;
  if (g && typeof g === "object" && Array.isArray(g.variants)) {
    throw new Error(
      `${where}: variants: expected a mapping of names to settings (name: {key: value}), found a list`,
    );
  }
  if (
    !g || typeof g !== "object" || !g.variants || typeof g.variants !== "object"
  ) {
    throw new Error(
      `${where}: expected a mapping with 'variants' (and optional 'base'), found ${
        JSON.stringify(grid)?.slice(0, 60)
      }`,
    );
  }
  for (const k of Object.keys(g)) {
    if (k !== "base" && k !== "variants") {
      throw new Error(
        `${where}: unknown top-level key '${k}' (expected base, variants)`,
      );
    }
  }
  const names = Object.keys(g.variants);
  const unknown = (opts.only ?? []).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `${where}: expected variant names from ${
        names.map((n) => `'${n}'`).join(", ")
      }, found ${unknown.map((n) => `'${n}'`).join(", ")}`,
    );
  }
  const out: Record<string, TrainConfig> = {};
  for (const [name, v] of Object.entries(g.variants)) {
    const at = (...keys: string[]) => {
      const line = opts.file?.line(...keys);
      return line ? `${where}:${line}` : `${where}: variant '${name}'`;
    };
    // The base is shared by variants of several methods: a key of another
    // method is skipped where it does not apply (and must apply somewhere).
    const layers: ConfigLayer[] = [
      { values: g.base ?? {}, where: (k) => at("base", k), skip: "foreign" },
      { values: v ?? {}, where: (k) => at("variants", name, k) },
      { values: overrides, where: opts.overridesWhere },
    ];
    out[name] = resolveConfig(layers);
  }
  for (const k of Object.keys(g.base ?? {})) {
    if (!Object.values(out).some((c) => Object.hasOwn(c, k))) {
      const line = opts.file?.line("base", k);
      throw new Error(
        `${where}${
          line ? `:${line}` : ""
        }: base key '${k}' applies to no variant (their methods: ${
          [...new Set(Object.values(out).map((c) => c.method))].join(", ")
        })`,
      );
    }
  }
  for (const name of Object.keys(out)) {
    if (opts.only && !opts.only.includes(name)) delete out[name];
  }
  if (Object.keys(out).length === 0) {
    throw new Error(`${where}: expected at least one variant, found none`);
  }
  return out;
}

/**
 * Seeds from a comma-separated list (`--seeds 1,2,3`): distinct integers.
 *
 * @example
 * ```ts
 * import { parseSeeds } from "./compare.ts";
 * if (parseSeeds("1, 2,3").join() !== "1,2,3") throw new Error();
 * let msg = "";
 * try { parseSeeds("1,x"); } catch (e) { msg = (e as Error).message; }
 * if (!msg.includes("--seeds") || !msg.includes("'x'")) throw new Error(msg);
 * ```
 */
export function parseSeeds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const bad = parts.filter((p) => !/^-?\d+$/.test(p));
  if (parts.length === 0 || bad.length > 0) {
    throw new Error(
      `--seeds: expected comma-separated integers (e.g. 1,2,3), found ${
        bad.map((b) => `'${b}'`).join(", ") || "nothing"
      }`,
    );
  }
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) {
    throw new Error(`--seeds: expected distinct seeds, found '${text}'`);
  }
  return seeds;
}

/**
 * The one backend of a grid's variants (the CLI initialises it once per
 * process); a grid whose variants ask for different backends or native
 * BLAS settings is an error naming them.
 *
 * @example
 * ```ts
 * import { gridBackend } from "./compare.ts";
 * import { makeConfig } from "./config/resolve.ts";
 * const a = makeConfig({ backend: "wasm" }), b = makeConfig({ backend: "cpu" });
 * if (gridBackend({ a, c: a }).backend !== "wasm") throw new Error();
 * let msg = "";
 * try { gridBackend({ a, b }); } catch (e) { msg = String(e); }
 * if (!msg.includes("'a'") || !msg.includes("'b'")) throw new Error(msg);
 * ```
 */
export function gridBackend(
  configs: Record<string, TrainConfig>,
): Pick<TrainConfig, "backend" | "nativeBlas"> {
  const by = new Map<string, string[]>();
  for (const [name, c] of Object.entries(configs)) {
    const k = `backend ${c.backend}, nativeBlas ${c.nativeBlas}`;
    by.set(k, [...(by.get(k) ?? []), name]);
  }
  if (by.size > 1) {
    throw new Error(
      `compare: expected one backend setting for every variant (one backend per process), found ${
        [...by].map(([k, names]) =>
          `${k} (${names.map((n) => `'${n}'`).join(", ")})`
        ).join(" and ")
      }; set it in 'base' or with --backend, or compare them in separate runs`,
    );
  }
  const first = Object.values(configs)[0];
  return { backend: first.backend, nativeBlas: first.nativeBlas };
}

/** A folder name for a variant. */
function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") ||
    "variant";
}

/**
 * Mean ± std over seeds of every test metric of each variant (variants in
 * first-seen order).
 *
 * @example
 * ```ts
 * import { summarizeRows } from "./compare.ts";
 * const run = (seed: number, v: number) => ({ variant: "a", seed, report: {
 *   test: { all: { "HR@20": v }, head: {}, tail: {} }, bestEpoch: 2, secondsPerEpoch: 1,
 * } });
 * // deno-lint-ignore no-explicit-any
 * const [s] = summarizeRows([run(1, 0.1), run(2, 0.3)] as any);
 * if (s.seeds.join() !== "1,2" || Math.abs(s.test.all["HR@20"].mean - 0.2) > 1e-12) throw new Error();
 * ```
 */
export function summarizeRows(rows: CompareRow[]): VariantSummary[] {
  const variants = [...new Set(rows.map((r) => r.variant))];
  return variants.map((variant) => {
    const rs = rows.filter((r) => r.variant === variant);
    const test: Record<string, Record<string, MeanStd>> = {};
    for (const r of rs) {
      for (const [g, m] of Object.entries(r.report.test ?? {})) {
        for (const k of Object.keys(m ?? {})) {
          test[g] ??= {};
          if (test[g][k]) continue;
          const xs = rs.map((x) =>
            (x.report.test as
              | Record<string, Record<string, number>>
              | undefined)
              ?.[g]?.[k]
          ).filter((v): v is number => v !== undefined);
          test[g][k] = meanStd(xs);
        }
      }
    }
    return {
      variant,
      seeds: rs.map((r) => r.seed),
      test,
      bestEpoch: meanStd(rs.map((r) => r.report.bestEpoch)),
      secondsPerEpoch: meanStd(rs.map((r) => r.report.secondsPerEpoch)),
    };
  });
}

/** The table's metric columns: [group, metric, header]. */
const TABLE_COLUMNS: [string, string, string][] = [
  ["all", "HR@5", "HR@5"],
  ["all", "HR@10", "HR@10"],
  ["all", "HR@20", "HR@20"],
  ["all", "NDCG@5", "NDCG@5"],
  ["all", "NDCG@10", "NDCG@10"],
  ["all", "NDCG@20", "NDCG@20"],
  ["all", "MRR@20", "MRR@20"],
  ["head", "NDCG@20", "head NDCG@20"],
  ["tail", "NDCG@20", "tail NDCG@20"],
  ["headItem", "NDCG@20", "head-item NDCG@20"],
  ["tailItem", "NDCG@20", "tail-item NDCG@20"],
  ["all", "Coverage@20", "Coverage@20"],
  ["all", "Gini@20", "Gini@20"],
  ["all", "TailPercentage@20", "Tail%@20"],
];

/**
 * The comparison as a Markdown table: test metrics at the best validation
 * epoch (mean ± std over seeds when a variant has several), best epoch and
 * speed; with a baseline, the mean difference and the p-values of the
 * paired t-test and Wilcoxon test on per-user NDCG@20.
 *
 * @example
 * ```ts
 * import { markdownTable } from "./compare.ts";
 * if (!markdownTable([]).startsWith("| variant")) throw new Error();
 * ```
 */
export function markdownTable(
  rows: CompareRow[],
  opts: { baseline?: string; significance?: SignificanceRow[] } = {},
): string {
  const summary = summarizeRows(rows);
  const cols = TABLE_COLUMNS.filter(([g, m]) =>
    summary.some((s) => s.test[g]?.[m])
  );
  const tested = opts.baseline !== undefined;
  const head = "| variant | seeds | " +
    cols.map(([, , h]) => h).join(" | ") + " | best epoch | s/epoch |" +
    (tested ? " Δ NDCG@20 | p (t-test) | p (Wilcoxon) |" : "");
  const sep = "|---|---|" + "---|".repeat(cols.length + 2) +
    (tested ? "---|---|---|" : "");
  const p = (x: number) => x < 1e-4 ? x.toExponential(1) : x.toFixed(4);
  const lines = summary.map((s) => {
    const cells = cols.map(([g, m]) => {
      const v = s.test[g]?.[m];
      return v ? formatMeanStd(v) : "-";
    });
    let line = `| ${s.variant} | ${s.seeds.join(",")} | ${
      cells.join(" | ")
    } | ${formatMeanStd(s.bestEpoch, 1)} | ${
      formatMeanStd(s.secondsPerEpoch, 1)
    } |`;
    if (tested) {
      const sig = opts.significance?.find((x) =>
        x.variant === s.variant && x.metric === "NDCG@20"
      );
      line += s.variant === opts.baseline
        ? " baseline | | |"
        : sig
        ? ` ${sig.meanDifference.toFixed(4)} | ${p(sig.tP)} | ${
          p(sig.wilcoxonP)
        } |`
        : " - | - | - |";
    }
    return line;
  });
  return [head, sep, ...lines].join("\n") + "\n";
}

/** Options of {@linkcode runComparison}. */
export interface CompareOptions {
  /** Output folder: each run in `<variant>/` (or `<variant>/seed-<s>/` with seeds). */
  outDir?: string;
  /** Resume (and skip finished runs) from the output folder. */
  resume?: boolean;
  /** Progress display. */
  progress?: Progress;
  /** Run every variant once per seed (default: once, with its own seed). */
  seeds?: number[];
  /** Test every variant against this one (needs `outDir`: the runs' test ranks). */
  baseline?: string;
  /** Folder of one run relative to `outDir` (default as above). */
  runDir?: (variant: string, seed: number) => string;
}

/**
 * Train every variant (once per seed when `seeds` are given: all variants
 * of the first seed, then the next), each in its folder and resumable; after
 * each run write `outDir/table.md` and `outDir/results.json`
 * ({@linkcode CompareResults}), and at the end, with a baseline, the paired
 * tests of every variant against it.
 *
 * @example
 * ```ts ignore
 * const res = await runComparison(gridConfigs(grid, {}), backend, {
 *   outDir: "runs/ablation", seeds: [1, 2, 3], baseline: "SASRec",
 * });
 * ```
 */
export async function runComparison(
  configs: Record<string, TrainConfig>,
  backend: BackendInfo,
  opts: CompareOptions = {},
): Promise<CompareResults> {
  if (opts.baseline !== undefined && !(opts.baseline in configs)) {
    throw new Error(
      `--baseline: expected a variant from ${
        Object.keys(configs).map((v) => `'${v}'`).join(", ")
      }, found '${opts.baseline}'`,
    );
  }
  if (opts.baseline !== undefined && !opts.outDir) {
    throw new Error(
      "--baseline: expected --out DIR (the tests read the runs' ranks)",
    );
  }
  const runDir = opts.runDir ??
    ((v: string, seed: number) =>
      opts.seeds ? `${slug(v)}/seed-${seed}` : slug(v));
  const rows: CompareRow[] = [];
  const cache = new Map<string, SequenceDataset>();
  const plan: [string, TrainConfig][] = opts.seeds
    ? opts.seeds.flatMap((seed) =>
      Object.entries(configs).map(([v, c]): [string, TrainConfig] => [v, {
        ...c,
        seed,
      }])
    )
    : Object.entries(configs);
  const results = (): CompareResults => ({
    rows,
    summary: summarizeRows(rows),
  });
  for (const [variant, cfg] of plan) {
    const key = datasetKey(cfg);
    if (!cache.has(key)) cache.set(key, await loadDataset(cfg));
    opts.progress?.log(
      `== ${variant}${opts.seeds ? ` (seed ${cfg.seed})` : ""}`,
    );
    const dir = opts.outDir ? runDir(variant, cfg.seed) : undefined;
    const report = await runTraining(cfg, backend, {
      dataset: cache.get(key),
      outDir: dir ? `${opts.outDir}/${dir}` : undefined,
      resume: opts.resume,
      progress: opts.progress,
    });
    rows.push({ variant, seed: cfg.seed, ...(dir ? { dir } : {}), report });
    if (opts.outDir) await writeResults(opts.outDir, results());
  }
  const res = results();
  if (opts.baseline !== undefined && opts.outDir) {
    res.baseline = opts.baseline;
    res.significance = await significance(
      rows.map((r) => ({
        variant: r.variant,
        seed: r.seed,
        dir: `${opts.outDir}/${r.dir}`,
      })),
      opts.baseline,
    );
    await writeResults(opts.outDir, res);
  }
  return res;
}

/** Write `dir/table.md` and `dir/results.json`. */
async function writeResults(dir: string, res: CompareResults): Promise<void> {
  await writeTextFileAtomic(
    `${dir}/table.md`,
    markdownTable(res.rows, {
      baseline: res.baseline,
      significance: res.significance,
    }),
  );
  await writeTextFileAtomic(
    `${dir}/results.json`,
    JSON.stringify(res, null, 2) + "\n",
  );
}
