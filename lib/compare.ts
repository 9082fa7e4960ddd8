/**
 * Comparisons: several named variants of a config trained on the same data,
 * one after another, each resumable, summarised as a Markdown table and JSON.
 * The papers' ablation tables are grids (see `bench/repro/*.yaml`).
 *
 * @module
 */
import type { BackendInfo } from "./backend/init.ts";
import type { SequenceDataset } from "./data/types.ts";
import { loadDataset, runTraining, type TrainReport } from "./experiment.ts";
import { makeConfig, type TrainConfig } from "./training/config.ts";
import type { Progress } from "./util/progress.ts";
import { writeTextFileAtomic } from "./util/atomic.ts";

/** A grid: shared settings and named variants (each a set of overrides). */
export interface Grid {
  /** Settings every variant starts from. */
  base?: Record<string, unknown>;
  /** Variant name -> overrides of `base`. */
  variants: Record<string, Record<string, unknown>>;
}

/** One row of a comparison. */
export interface CompareRow {
  /** Variant name. */
  variant: string;
  /** Its full training report. */
  report: TrainReport;
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
 * ```
 */
export function gridConfigs(
  grid: unknown,
  overrides: Record<string, unknown>,
  opts: { source?: string; only?: string[] } = {},
): Record<string, TrainConfig> {
  const where = opts.source ?? "grid";
  const g = grid as Grid;
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
    if (opts.only && !opts.only.includes(name)) continue;
    out[name] = makeConfig({ ...(g.base ?? {}), ...(v ?? {}), ...overrides }, {
      source: `${where}: variant '${name}'`,
    });
  }
  if (Object.keys(out).length === 0) {
    throw new Error(`${where}: expected at least one variant, found none`);
  }
  return out;
}

/** A folder name for a variant. */
function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") ||
    "variant";
}

/**
 * The comparison as a Markdown table (test metrics at the best validation
 * epoch, all users, plus head/tail NDCG@20 and speed).
 *
 * @example
 * ```ts
 * import { markdownTable } from "./compare.ts";
 * if (!markdownTable([]).startsWith("| variant")) throw new Error();
 * ```
 */
export function markdownTable(rows: CompareRow[]): string {
  const head =
    "| variant | HR@5 | HR@10 | HR@20 | NDCG@5 | NDCG@10 | NDCG@20 | head NDCG@20 | tail NDCG@20 | best epoch | s/epoch |";
  const sep = "|---|" + "---|".repeat(10);
  const f = (x: number | undefined) => x === undefined ? "-" : x.toFixed(4);
  const lines = rows.map(({ variant, report: r }) => {
    const t = r.test?.all ?? {};
    return `| ${variant} | ${f(t["HR@5"])} | ${f(t["HR@10"])} | ${
      f(t["HR@20"])
    } | ${f(t["NDCG@5"])} | ` +
      `${f(t["NDCG@10"])} | ${f(t["NDCG@20"])} | ${
        f(r.test?.head["NDCG@20"])
      } | ${f(r.test?.tail["NDCG@20"])} | ` +
      `${r.bestEpoch} | ${r.secondsPerEpoch.toFixed(1)} |`;
  });
  return [head, sep, ...lines].join("\n") + "\n";
}

/**
 * Train every variant in turn (each in `outDir/<variant>`, resumable), then
 * write `outDir/table.md` and `outDir/results.json`.
 *
 * @example
 * ```ts ignore
 * const rows = await runComparison(gridConfigs(grid, {}), backend, { outDir: "runs/ablation" });
 * ```
 */
export async function runComparison(
  configs: Record<string, TrainConfig>,
  backend: BackendInfo,
  opts: { outDir?: string; resume?: boolean; progress?: Progress } = {},
): Promise<CompareRow[]> {
  const rows: CompareRow[] = [];
  const cache = new Map<string, SequenceDataset>();
  for (const [variant, cfg] of Object.entries(configs)) {
    const key = JSON.stringify([
      cfg.data,
      cfg.format,
      cfg.seed,
      cfg.synthUsers,
      cfg.synthItems,
      cfg.synthIntents,
      cfg.synthNoise,
    ]);
    if (!cache.has(key)) cache.set(key, await loadDataset(cfg));
    opts.progress?.log(`== ${variant}`);
    const report = await runTraining(cfg, backend, {
      dataset: cache.get(key),
      outDir: opts.outDir ? `${opts.outDir}/${slug(variant)}` : undefined,
      resume: opts.resume,
      progress: opts.progress,
    });
    rows.push({ variant, report });
    if (opts.outDir) {
      await writeTextFileAtomic(`${opts.outDir}/table.md`, markdownTable(rows));
      await writeTextFileAtomic(
        `${opts.outDir}/results.json`,
        JSON.stringify(rows, null, 2) + "\n",
      );
    }
  }
  return rows;
}
