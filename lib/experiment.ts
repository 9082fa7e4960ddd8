/**
 * One experiment end to end: load data (a file or the embedded synthetic
 * default), split, build the method's model, train, and report everything
 * as JSON. The CLI is a thin layer over this module.
 *
 * @module
 */
import type { SequenceDataset, SplitDataset } from "./data/types.ts";
import { readSequenceFile } from "./data/read_sequences.ts";
import { readInteractionFile } from "./data/read_interactions.ts";
import { leaveOneOut } from "./data/split.ts";
import { synthetic } from "./data/synthetic.ts";
import type { GroupedMetrics } from "./eval/metrics.ts";
import { evaluate } from "./eval/evaluate.ts";
import { buildModel } from "./methods/mod.ts";
import type { TrainConfig } from "./training/config.ts";
import { upgradeConfig } from "./config/legacy.ts";
import { type EpochRecord, fit, restoreParams } from "./training/fit.ts";
import type { Model } from "./training/model.ts";
import { loadCheckpoint } from "./training/checkpoint.ts";
import {
  checkFiniteParams,
  checkpointConfig,
  dataMismatch,
} from "./training/checkpoint_checks.ts";
import { openOutDir } from "./training/out_dir.ts";
import { checkStepFits } from "./training/memory.ts";
import { ConfigError, DataError } from "./util/errors.ts";
import type { Progress } from "./util/progress.ts";
import { makeRng } from "./util/rng.ts";
import { writeTextFileAtomic } from "./util/atomic.ts";
import type { BackendInfo } from "./backend/init.ts";
import {
  type ClusterReport,
  clusterReport,
  hasClusters,
} from "./eval/cluster_report.ts";

/** The synthetic generator's option names -> the config keys that set them. */
const SYNTH_KEYS: Record<string, string> = {
  numUsers: "synthUsers",
  numItems: "synthItems",
  numIntents: "synthIntents",
  noise: "synthNoise",
};

/**
 * The dataset a config names: `cfg.data` read as `cfg.format`, or the
 * embedded synthetic default when `cfg.data` is empty.
 *
 * @example
 * ```ts
 * import { loadDataset } from "./experiment.ts";
 * import { makeConfig } from "./config/resolve.ts";
 * const ds = await loadDataset(makeConfig({ synthUsers: 50, synthItems: 80 }));
 * if (ds.sequences.length !== 50) throw new Error();
 * ```
 */
export async function loadDataset(cfg: TrainConfig): Promise<SequenceDataset> {
  if (!cfg.data) {
    try {
      return synthetic({
        seed: cfg.seed,
        numUsers: cfg.synthUsers,
        numItems: cfg.synthItems,
        numIntents: cfg.synthIntents,
        noise: cfg.synthNoise,
        maxLen: Math.min(60, cfg.synthItems),
      });
    } catch (e) {
      // The generator names its own options; the user set the synth* keys.
      const key = e instanceof ConfigError ? SYNTH_KEYS[e.key] : undefined;
      if (!key) throw e;
      throw ConfigError.problem(
        key,
        (e as ConfigError).message.replace(/^config key '[^']*': /, "") +
          (key === "synthItems"
            ? ` (4 items per planted intent: synthIntents is ${cfg.synthIntents})`
            : ""),
      );
    }
  }
  if (cfg.format === "interactions") {
    const ds = await readInteractionFile(cfg.data, {
      userColumn: cfg.userColumn,
      itemColumn: cfg.itemColumn,
      timeColumn: cfg.timeColumn,
      kCore: cfg.kCore,
    });
    // Below 3, kCore keeps users that leave-one-out cannot split.
    const short = ds.sequences.findIndex((s) => s.length < 3);
    if (short >= 0) {
      const n = ds.sequences.filter((s) => s.length < 3).length;
      throw new DataError(
        cfg.data,
        0,
        `at least 3 interactions for every user after ${cfg.kCore}-core ` +
          `filtering (leave-one-out needs 3)`,
        `${ds.sequences[short].length} for user '${ds.userIds[short]}'${
          n > 1 ? ` and ${n - 1} more users with fewer than 3` : ""
        }; set kCore to 3 or more, which drops such users`,
      );
    }
    return ds;
  }
  return await readSequenceFile(cfg.data);
}

/**
 * Every setting {@linkcode loadDataset} reads: two configs with the same
 * key load the same dataset (`compare` loads it once).
 *
 * @example
 * ```ts
 * import { datasetKey } from "./experiment.ts";
 * import { makeConfig } from "./config/resolve.ts";
 * const a = makeConfig({ data: "x.csv", format: "interactions" });
 * if (datasetKey(a) === datasetKey(makeConfig({ data: "x.csv", format: "interactions", kCore: 10 }))) throw new Error();
 * if (datasetKey(a) !== datasetKey(makeConfig({ data: "x.csv", format: "interactions", lr: 0.1 }))) throw new Error();
 * ```
 */
export function datasetKey(cfg: TrainConfig): string {
  return JSON.stringify([
    cfg.data,
    cfg.format,
    cfg.userColumn,
    cfg.itemColumn,
    cfg.timeColumn,
    cfg.kCore,
    cfg.seed,
    cfg.synthUsers,
    cfg.synthItems,
    cfg.synthIntents,
    cfg.synthNoise,
  ]);
}

/** Summary of a dataset for reports. */
export interface DataSummary {
  /** Name. */
  name: string;
  /** Users. */
  users: number;
  /** Items. */
  items: number;
  /** Interactions. */
  actions: number;
}

/**
 * Counts of a dataset.
 *
 * @example
 * ```ts
 * import { summarize } from "./experiment.ts";
 * const s = summarize({ name: "t", numItems: 3, sequences: [new Int32Array([1, 2])], userIds: ["a"] });
 * if (s.actions !== 2) throw new Error();
 * ```
 */
export function summarize(ds: SequenceDataset): DataSummary {
  return {
    name: ds.name,
    users: ds.sequences.length,
    items: ds.numItems,
    actions: ds.sequences.reduce((s, x) => s + x.length, 0),
  };
}

/** The machine-readable result of a training run (`--json`, result.json). */
export interface TrainReport {
  /** The full config used. */
  config: TrainConfig;
  /** The backend that ran it. */
  backend: BackendInfo;
  /** The data. */
  data: DataSummary;
  /** Per-epoch loss, timing and validation metrics. */
  epochs: EpochRecord[];
  /** Epoch with the best validation NDCG@20. */
  bestEpoch: number;
  /** Validation metrics at the best epoch (all, head, tail). */
  valid?: GroupedMetrics;
  /** Test metrics at the best epoch (all, head, tail). */
  test?: GroupedMetrics;
  /** Early stopping ended the run. */
  stoppedEarly: boolean;
  /** The run reached its end (false if it was cut short). */
  finished: boolean;
  /** Wall seconds of this process's run (data loading included). */
  wallSeconds: number;
  /**
   * Wall seconds of the whole run across resumed processes (their time in
   * training and evaluation; this process's data loading included).
   */
  totalWallSeconds: number;
  /**
   * Mean seconds of training per epoch: steps plus per-epoch preparation
   * (`onEpochStart`, e.g. S4Rec's K-means), without evaluation.
   */
  secondsPerEpoch: number;
  /** Which sequence embedding and regime were used, for results tables. */
  notes: string[];
  /**
   * For methods with clusters (S4Rec): per-cluster head rates as quartiles,
   * cluster sizes, and on data with planted intents the NMI against them.
   */
  clusters?: ClusterReport;
}

/** Options of {@linkcode runTraining}. */
export interface RunOptions {
  /** Output folder (checkpoints, result.json); nothing is written without it. */
  outDir?: string;
  /**
   * Resume from `outDir/last.ckpt`: `true` if it exists (else start
   * afresh), `"required"` fails when it does not.
   */
  resume?: boolean | "required";
  /** Resume even from a checkpoint of other data (a warning, not an error). */
  force?: boolean;
  /** Progress display. */
  progress?: Progress;
  /** Stop after this many epochs in this process (as if interrupted). */
  stopAfterEpochs?: number;
  /** A dataset to use instead of loading `cfg.data`. */
  dataset?: SequenceDataset;
}

/**
 * Refuse data with nothing to train on: when every user has exactly 3
 * items, the last two are the validation and test targets and the one left
 * has no next item, so no training pair exists.
 */
function checkTrainable(split: SplitDataset, cfg: TrainConfig): void {
  if (split.train.some((t) => t.length >= 2)) return;
  throw new DataError(
    cfg.data || "synthetic data",
    0,
    "at least one user with 4 or more items (each user's last two items are " +
      "the validation and test targets, and a training pair needs two more)",
    `every one of the ${split.train.length} users with 3 items`,
  );
}

/**
 * Train `cfg.method` on `cfg`'s data with the already initialised backend.
 * With `outDir`, the folder is checked writable and readable and locked for
 * this run before any training (see `openOutDir`); data errors, and a
 * training step that cannot fit the backend's memory (`checkStepFits`),
 * come before anything is written or built.
 *
 * @example
 * ```ts ignore
 * import { initBackend } from "./backend/init.ts";
 * import { runTraining } from "./experiment.ts";
 * import { makeConfig } from "./config/resolve.ts";
 * const backend = await initBackend("wasm");
 * const report = await runTraining(makeConfig({ epochs: 2 }), backend);
 * console.log(report.test?.all["NDCG@20"]);
 * ```
 */
export async function runTraining(
  cfg: TrainConfig,
  backend: BackendInfo,
  opts: RunOptions = {},
): Promise<TrainReport> {
  const t0 = performance.now();
  const ds = opts.dataset ?? await loadDataset(cfg);
  const split = leaveOneOut(ds, { maxLen: cfg.maxLen });
  checkTrainable(split, cfg);
  checkStepFits(
    { ...cfg, maxTokens: "maxTokens" in cfg ? Number(cfg.maxTokens) : 0 },
    split.numItems,
    backend.name,
  );
  if (opts.resume === "required") {
    const last = opts.outDir ? `${opts.outDir}/last.ckpt` : undefined;
    if (!last || !await Deno.stat(last).then(() => true, () => false)) {
      throw new Error(
        `--resume: expected ${
          last ?? "--out DIR with a last.ckpt"
        } to resume from, found ${
          last ? "none" : "no --out"
        }; run without --resume to start afresh`,
      );
    }
  }
  const out = opts.outDir
    ? await openOutDir(opts.outDir, `seqssl train (${cfg.method})`)
    : undefined;
  try {
    for (const note of out?.notes ?? []) opts.progress?.log(note);
    return await trainIn(cfg, backend, opts, ds, split, t0);
  } finally {
    out?.release();
  }
}

async function trainIn(
  cfg: TrainConfig,
  backend: BackendInfo,
  opts: RunOptions,
  ds: SequenceDataset,
  split: SplitDataset,
  t0: number,
): Promise<TrainReport> {
  const rng = makeRng(cfg.seed);
  const model = buildModel(cfg, split, rng);
  try {
    const res = await fit(model, split, cfg, rng, {
      outDir: opts.outDir,
      resume: opts.resume,
      force: opts.force,
      progress: opts.progress,
      stopAfterEpochs: opts.stopAfterEpochs,
    });
    const wall = (performance.now() - t0) / 1000;
    const report: TrainReport = {
      config: cfg,
      backend,
      data: summarize(ds),
      epochs: res.history,
      bestEpoch: res.bestEpoch,
      valid: res.bestValid,
      test: res.test,
      stoppedEarly: res.stoppedEarly,
      finished: res.finished,
      wallSeconds: wall,
      totalWallSeconds: res.totalWallSeconds - res.wallSeconds + wall,
      secondsPerEpoch: res.secondsPerEpoch,
      notes: [
        `regime: ${
          cfg.loss === "ce"
            ? "full-softmax cross-entropy"
            : cfg.loss === "sampled"
            ? `sampled softmax, ${cfg.sampledNegatives} ${cfg.sampler} ` +
              "negatives per batch, log-Q corrected,"
            : "BCE, one negative per target"
        } ${
          cfg.samples === "prefixes"
            ? "at the last position of every training prefix"
            : "at every position"
        }`,
        "evaluation: full ranking over all items, history excluded",
      ],
    };
    if (hasClusters(model)) {
      report.clusters = await clusterReport(model.clusters, split, {
        seed: cfg.seed,
      });
    }
    if (opts.outDir) {
      await writeTextFileAtomic(
        `${opts.outDir}/result.json`,
        JSON.stringify(report, null, 2) + "\n",
      );
    }
    return report;
  } finally {
    // A failure inside tfjs can leave it unable to free memory; never let
    // that hide the original error.
    try {
      model.dispose();
    } catch { /* already failing */ }
  }
}

/** A model restored from a checkpoint, with its data. */
export interface LoadedModel {
  /**
   * Set when the checkpoint was trained on other data and `force` was given:
   * the one-line message that would otherwise have been the error.
   */
  dataWarning?: string;
  /** The model with the checkpoint's weights. */
  model: Model;
  /** The split it was trained on (or `data` given). */
  split: SplitDataset;
  /** The config it was trained with. */
  config: TrainConfig;
  /** The dataset. */
  dataset: SequenceDataset;
}

/**
 * Rebuild a model from a checkpoint (`best.ckpt` or `last.ckpt`); `data`
 * overrides the data file recorded in it. Fails with one line naming the
 * file for a checkpoint without its config, with NaN or infinite weights,
 * or trained on other data than the data now read (unless `force`: then
 * `dataWarning` says so).
 *
 * @example
 * ```ts ignore
 * const { model, split } = await loadModel("runs/x/best.ckpt");
 * ```
 */
export async function loadModel(
  path: string,
  opts: {
    data?: string;
    format?: "sequences" | "interactions";
    force?: boolean;
  } = {},
): Promise<LoadedModel> {
  const ck = await loadCheckpoint(path);
  const saved = checkpointConfig(ck.meta, path);
  // Checkpoints of earlier versions hold every key of the old flat config.
  const cfg = upgradeConfig({
    ...saved,
    data: opts.data ?? saved.data,
    format: opts.format ?? saved.format,
  }, path);
  checkFiniteParams(ck.tensors, path);
  const dataset = await loadDataset(cfg);
  const split = leaveOneOut(dataset, { maxLen: cfg.maxLen });
  const other = dataMismatch(
    ck.meta,
    split,
    path,
    cfg.data || "the synthetic data",
  );
  if (other && !opts.force) {
    throw new Error(`${other}; pass --force to use it anyway`);
  }
  const model = buildModel(cfg, split, makeRng(cfg.seed));
  try {
    restoreParams(model, ck.tensors, path);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const out: LoadedModel = { model, split, config: cfg, dataset };
  if (other) out.dataWarning = other;
  return out;
}

/**
 * Evaluate a restored model on validation and test.
 *
 * @example
 * ```ts ignore
 * const { valid, test } = await evaluateModel(await loadModel("runs/x/best.ckpt"));
 * ```
 */
export async function evaluateModel(
  m: LoadedModel,
): Promise<{ valid: GroupedMetrics; test: GroupedMetrics; seconds: number }> {
  const v = await evaluate(m.model.scorer, m.split, "valid", {
    batchSize: m.config.evalBatchSize,
  });
  const t = await evaluate(m.model.scorer, m.split, "test", {
    batchSize: m.config.evalBatchSize,
  });
  return { valid: v.metrics, test: t.metrics, seconds: v.seconds + t.seconds };
}
