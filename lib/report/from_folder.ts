/**
 * A report from what runs left on disk: a `train` folder (`result.json`),
 * a `train --seeds` or `compare` folder (`results.json`), or a
 * `result.json`/`results.json` file. The pictures that need a model are
 * computed from each variant's first-seed `best.ckpt`.
 *
 * @module
 */
import { loadModel, type TrainReport } from "../experiment.ts";
import { augmenterFromConfig } from "../methods/views.ts";
import { significance, type SignificanceRow } from "../significance.ts";
import type { Progress } from "../util/progress.ts";
import { buildReport, type ModelPictures, type RunRecord } from "./build.ts";
import { writeReport } from "./html.ts";
import { modelPictures } from "./pictures.ts";

/** One finished run found on disk. */
export interface FolderRun {
  /** Variant name (the method's name for a plain `train`). */
  variant: string;
  /** Seed. */
  seed: number;
  /** Its folder (result.json, best.ckpt, test_ranks.json). */
  dir: string;
  /** Its result. */
  result: TrainReport;
}

/** What a folder of runs holds. */
export interface FolderRuns {
  /** The folder the report goes to by default. */
  root: string;
  /** The runs. */
  runs: FolderRun[];
  /** Baseline of stored significance tests. */
  baseline?: string;
  /** Stored significance tests. */
  significance?: SignificanceRow[];
}

/** The results file of several runs (`train --seeds`, `compare`). */
export interface ResultsFile {
  /** Each run: variant, seed, folder (relative to the results file), result. */
  rows: { variant: string; seed: number; dir: string; report: TrainReport }[];
  /** Baseline of the significance tests, when asked for. */
  baseline?: string;
  /** Paired tests against the baseline. */
  significance?: SignificanceRow[];
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function readJson(path: string): Promise<unknown> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${path}: expected JSON, found unparsable text`);
  }
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** A folder name for a variant (as `compare` names them). */
function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") ||
    "variant";
}

function checkReport(x: unknown, where: string): TrainReport {
  const r = x as TrainReport;
  if (
    !r || typeof r !== "object" || !r.config || !Array.isArray(r.epochs) ||
    typeof r.bestEpoch !== "number"
  ) {
    throw new Error(
      `${where}: expected a training result (config, epochs, bestEpoch), found ${
        JSON.stringify(x)?.slice(0, 60)
      }`,
    );
  }
  return r;
}

/**
 * Find the runs at `path`: a `result.json` or `results.json` file, or a
 * folder holding one. A `results.json` of `compare` before seeds existed (a
 * list of `{variant, report}`) is read too, its runs in `<folder>/<variant>`.
 *
 * @example
 * ```ts
 * import { readRuns } from "./from_folder.ts";
 * const dir = await Deno.makeTempDir();
 * const report = { config: { method: "sasrec", seed: 7 }, epochs: [], bestEpoch: 0 };
 * await Deno.writeTextFile(`${dir}/result.json`, JSON.stringify(report));
 * const found = await readRuns(dir);
 * if (found.runs.length !== 1 || found.runs[0].seed !== 7 || found.runs[0].dir !== dir) throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readRuns(path: string): Promise<FolderRuns> {
  path = path.replace(/\/+$/, "") || "/";
  let file = path;
  if (!(await isFile(path))) {
    if (await isFile(`${path}/results.json`)) file = `${path}/results.json`;
    else if (await isFile(`${path}/result.json`)) file = `${path}/result.json`;
    else {
      throw new Error(
        `${path}: expected a run's folder (result.json) or a comparison's (results.json), found neither`,
      );
    }
  }
  const root = dirname(file);
  const data = await readJson(file);
  if (file.endsWith("/result.json") || file === "result.json") {
    const result = checkReport(data, file);
    return {
      root,
      runs: [{
        variant: result.config.method,
        seed: result.config.seed,
        dir: root,
        result,
      }],
    };
  }
  if (Array.isArray(data)) {
    return {
      root,
      runs: data.map((row, i) => {
        const result = checkReport(row?.report, `${file}: row ${i + 1}`);
        return {
          variant: String(row.variant),
          seed: result.config.seed,
          dir: `${root}/${slug(String(row.variant))}`,
          result,
        };
      }),
    };
  }
  const res = data as ResultsFile;
  if (!res || !Array.isArray(res.rows)) {
    throw new Error(
      `${file}: expected 'rows' (a list of runs), found ${
        JSON.stringify(data)?.slice(0, 60)
      }`,
    );
  }
  return {
    root,
    runs: res.rows.map((row, i) => ({
      variant: String(row.variant),
      seed: Number(row.seed),
      dir: `${root}/${row.dir}`,
      result: checkReport(row.report, `${file}: row ${i + 1}`),
    })),
    baseline: res.baseline,
    significance: res.significance,
  };
}

/** Options of {@linkcode reportFromFolder}. */
export interface FolderReportOptions {
  /** Where report.html and figures/ go (default: the runs' folder). */
  out?: string;
  /** Test every variant against this one (from the runs' test ranks). */
  baseline?: string;
  /** Replace the data file recorded in the checkpoints (for the pictures). */
  data?: string;
  /** Compute the pictures that need a model (default true). */
  pictures?: boolean;
  /** Title (default: from the runs). */
  title?: string;
  /** Extra lines for the report's header (e.g. the command). */
  notes?: string[];
  /** Progress messages. */
  progress?: Progress;
}

/**
 * Write the report of the runs at `path` (see {@linkcode readRuns}) and
 * return the paths written. Needs an initialised backend for the pictures;
 * a variant whose checkpoint or data cannot be loaded gets none, and the
 * report says why.
 *
 * @example
 * ```ts ignore
 * await initBackend("wasm");
 * const written = await reportFromFolder("runs/ablation", { baseline: "SASRec" });
 * ```
 */
export async function reportFromFolder(
  path: string,
  opts: FolderReportOptions = {},
): Promise<string[]> {
  const found = await readRuns(path);
  const { runs } = found;
  const baseline = opts.baseline ?? found.baseline;
  let sig = found.significance;
  if (baseline && (baseline !== found.baseline || !sig)) {
    sig = await significance(runs, baseline);
  }
  const notes = [...(opts.notes ?? [])];
  const pictures: ModelPictures[] = [];
  if (opts.pictures ?? true) {
    const variants = [...new Set(runs.map((r) => r.variant))];
    for (const v of variants) {
      const run = runs.find((r) => r.variant === v)!;
      const ckpt = `${run.dir}/best.ckpt`;
      if (!(await isFile(ckpt))) {
        notes.push(`${v}: no pictures (no ${ckpt})`);
        continue;
      }
      opts.progress?.log(`report: pictures of ${v} (seed ${run.seed})`);
      let m;
      try {
        m = await loadModel(ckpt, { data: opts.data });
      } catch (e) {
        notes.push(`${v}: no pictures (${(e as Error).message})`);
        continue;
      }
      try {
        const cfg = m.config as unknown as Record<string, unknown>;
        const augmenter = typeof cfg.augment === "string" &&
            cfg.augment !== "none" && cfg.method !== "sasrec"
          ? augmenterFromConfig(
            cfg as unknown as Parameters<typeof augmenterFromConfig>[0],
            m.split,
          )
          : undefined;
        pictures.push(
          await modelPictures(m.model, m.model.scorer, m.split, {
            variant: v,
            seed: run.seed,
            augmenter,
            viewNote: augmenter
              ? `two views of ${"{n}"} users' sequences under the run's data augmentation (${cfg.augment}), encoded by the trained encoder without dropout and projected together with UMAP; a grey line links each user's positive pair. (Model augmentation, e.g. SRMA's layer dropping or MCLRec's learnable augmenters, is not applied here.)`
              : undefined,
          }),
        );
      } finally {
        m.model.dispose();
      }
    }
  }
  for (const p of pictures) {
    if (p.views) {
      p.views.note = p.views.note.replace("{n}", String(p.views.pairs.length));
    }
  }
  const records: RunRecord[] = runs.map((r) => ({
    variant: r.variant,
    seed: r.seed,
    result: r.result,
  }));
  const variants = [...new Set(runs.map((r) => r.variant))];
  const first = runs[0].result;
  const doc = await buildReport({
    title: opts.title ??
      (variants.length > 1
        ? `seqssl comparison on ${first.data.name}: ${variants.join(", ")}`
        : `seqssl ${first.config.method} on ${first.data.name}`),
    runs: records,
    baseline,
    significance: sig,
    pictures,
    notes,
  });
  return await writeReport(opts.out ?? found.root, doc);
}
