/**
 * The training loop: epochs of steps, validation NDCG@20 every `evalEvery`
 * epochs, early stopping with a patience, test metrics at the best
 * validation epoch, atomic checkpoints, and resume.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { SplitDataset } from "../data/types.ts";
import { trainBatches } from "../data/batch.ts";
import { evaluate } from "../eval/evaluate.ts";
import type { GroupedMetrics, Metrics } from "../eval/metrics.ts";
import { DivergedLossError, NonFiniteLossError } from "../util/errors.ts";
import { writeTestRanks } from "./test_ranks.ts";
import { makeProgress, type Progress } from "../util/progress.ts";
import { type Rng, rngFromState, type RngState } from "../util/rng.ts";
import type { TrainConfig } from "./config.ts";
import type { Model } from "./model.ts";
import {
  type Checkpoint,
  loadCheckpoint,
  saveCheckpoint,
  type StoredTensor,
  storeTensor,
  treeFromJson,
  treeToJson,
} from "./checkpoint.ts";
import { disposeTree } from "../optim/transform.ts";
import { DeferredTerms, type ReadStep } from "../optim/deferred.ts";
import { dataFingerprint } from "../data/fingerprint.ts";
import {
  checkFiniteParams,
  checkResumable,
  dataMismatch,
} from "./checkpoint_checks.ts";

/** One epoch's record. */
export interface EpochRecord {
  /** 1-based epoch. */
  epoch: number;
  /** Mean of every loss term over the epoch's batches. */
  loss: Record<string, number>;
  /**
   * Seconds of training: the epoch's steps plus the model's per-epoch
   * preparation (`onEpochStart`, e.g. S4Rec's K-means intents).
   */
  trainSeconds: number;
  /** Of `trainSeconds`, the per-epoch preparation (when the model has one). */
  epochStartSeconds?: number;
  /** Validation metrics (all users), when evaluated this epoch. */
  valid?: Metrics;
  /** Seconds of the validation pass. */
  evalSeconds?: number;
}

/** What a finished (or interrupted) run gives. */
export interface FitResult {
  /** Per-epoch records. */
  history: EpochRecord[];
  /** Epoch with the best validation NDCG@20 (0 if never evaluated). */
  bestEpoch: number;
  /** Validation metrics at the best epoch. */
  bestValid?: GroupedMetrics;
  /** Test metrics at the best epoch. */
  test?: GroupedMetrics;
  /** Last epoch run. */
  lastEpoch: number;
  /** True if early stopping ended the run. */
  stoppedEarly: boolean;
  /** True if the run reached its end (max epochs or early stop). */
  finished: boolean;
  /** Wall seconds of this process's part of the run. */
  wallSeconds: number;
  /**
   * Wall seconds of the whole run across resumed processes (each process's
   * time in `fit` up to its last checkpoint, plus this one's).
   */
  totalWallSeconds: number;
  /**
   * Mean seconds of training per epoch: the steps plus the model's
   * per-epoch preparation (`onEpochStart`); evaluation not included.
   */
  secondsPerEpoch: number;
}

/** Options of {@linkcode fit}. */
export interface FitOptions {
  /** Folder for `last.ckpt` and `best.ckpt`; none are written without it. */
  outDir?: string;
  /**
   * Continue from `outDir/last.ckpt`: `true` if it exists (a fresh start
   * otherwise), `"required"` fails when it does not.
   */
  resume?: boolean | "required";
  /** Resume even from a checkpoint of other data (a warning instead of an error). */
  force?: boolean;
  /** Progress display (default: a silent one). */
  progress?: Progress;
  /** Stop this process after this many epochs (as if interrupted). */
  stopAfterEpochs?: number;
  /** Called after each epoch with its record. */
  onEpoch?: (rec: EpochRecord) => void;
  /**
   * On webgpu, read the loss terms back every this many steps (and at the
   * end of each epoch) instead of after every step: steps stay queued on
   * the device meanwhile, and a device-side gate stops every update after a
   * non-finite loss until it is read and reported. 1 reads every step.
   * @default 16
   */
  readEvery?: number;
}

const SELECT = "NDCG@20";

interface LoopState {
  epoch: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestScore: number;
  bestValid?: GroupedMetrics;
  test?: GroupedMetrics;
  badEvals: number;
  stoppedEarly: boolean;
  /** Wall seconds of the earlier processes of a resumed run (checkpointed). */
  priorWallSeconds?: number;
  /**
   * Total loss of the run's first batch, the reference of the divergence
   * check (absent in checkpoints of earlier versions: then the first batch
   * after resuming).
   */
  firstLoss?: number;
}

/**
 * A run whose loss grows past this many times its first batch's (and past
 * this many times 1, for losses that start near 0) has diverged: it stops
 * with a {@linkcode DivergedLossError}. Healthy runs of every method on
 * Beauty and Toys only ever fall below their first loss (bench/results).
 *
 * @example
 * ```ts
 * import { DIVERGENCE_FACTOR } from "./fit.ts";
 * if (DIVERGENCE_FACTOR !== 100) throw new Error(String(DIVERGENCE_FACTOR));
 * ```
 */
export const DIVERGENCE_FACTOR = 100;

/**
 * Settings that may differ between a checkpoint and the run resuming it
 * without changing what is trained: where data and outputs live, how long
 * to train, and how it is computed.
 */
const RESUMABLE_CHANGES = new Set([
  "data",
  "backend",
  "nativeBlas",
  "epochs",
  "patience",
  "evalEvery",
  "evalBatchSize",
]);

/**
 * The training settings of `now` that differ from the checkpoint's `then`
 * (as `key: old -> new`), ignoring {@linkcode RESUMABLE_CHANGES} and keys the
 * checkpoint's version did not have.
 *
 * @example
 * ```ts
 * import { changedSettings } from "./fit.ts";
 * import { makeConfig } from "../config/resolve.ts";
 * const a = makeConfig({ lr: 0.001, epochs: 5 }), b = makeConfig({ lr: 0.01, epochs: 9 });
 * if (changedSettings(a, b).join() !== "lr: 0.001 -> 0.01") throw new Error();
 * ```
 */
export function changedSettings(
  then: Partial<TrainConfig>,
  now: TrainConfig,
): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(now)) {
    if (RESUMABLE_CHANGES.has(k) || !(k in then)) continue;
    const old = (then as Record<string, unknown>)[k];
    if (JSON.stringify(old) !== JSON.stringify(v)) {
      out.push(`${k}: ${JSON.stringify(old)} -> ${JSON.stringify(v)}`);
    }
  }
  return out;
}

async function modelTensors(
  model: Model,
  withOpt: boolean,
): Promise<{ tensors: Record<string, StoredTensor>; opt: unknown }> {
  const tensors: Record<string, StoredTensor> = {};
  for (const [k, v] of Object.entries(model.params)) {
    tensors[`p/${k}`] = await storeTensor(v);
  }
  const opt: Record<string, unknown> = {};
  if (withOpt) {
    for (const [g, s] of Object.entries(model.optStates)) {
      opt[g] = await treeToJson(s, `opt/${g}`, tensors);
    }
  }
  return { tensors, opt };
}

/**
 * Copy stored parameters into a model's variables (shapes must match, and
 * every stored value must be finite).
 *
 * @example
 * ```ts ignore
 * restoreParams(model, (await loadCheckpoint("out/best.ckpt")).tensors, "out/best.ckpt");
 * ```
 */
export function restoreParams(
  model: Model,
  tensors: Record<string, StoredTensor>,
  file: string,
): void {
  checkFiniteParams(tensors, file);
  for (const [k, v] of Object.entries(model.params)) {
    const s = tensors[`p/${k}`];
    if (!s) {
      throw new Error(
        `${file}: expected parameter '${k}', found none (another model?)`,
      );
    }
    if (s.shape.join() !== v.shape.join()) {
      throw new Error(
        `${file}: expected parameter '${k}' of shape [${v.shape}], found [${s.shape}]`,
      );
    }
    v.assign(tfTensor(s));
  }
}

function tfTensor(s: StoredTensor): tf.Tensor {
  return tf.tensor(s.values, s.shape, s.dtype);
}

/**
 * Train `model` on `split` under `cfg`; `rng` drives shuffling, dropout and
 * sampling. Returns the history and the test metrics at the best epoch.
 *
 * @example
 * ```ts ignore
 * import { fit } from "./fit.ts";
 * const result = await fit(model, split, cfg, rng, { outDir: "runs/x" });
 * console.log(result.test?.all["NDCG@20"]);
 * ```
 */
export async function fit(
  model: Model,
  split: SplitDataset,
  cfg: TrainConfig,
  rng: Rng,
  opts: FitOptions = {},
): Promise<FitResult> {
  const t0 = performance.now();
  let prior = 0; // wall seconds of earlier processes (resume)
  const progress = opts.progress ?? makeProgress({ enabled: false });
  const readEvery = opts.readEvery ?? 16;
  if (!Number.isInteger(readEvery) || readEvery < 1) {
    throw new Error(
      `fit: expected readEvery to be a positive integer, found ${readEvery}`,
    );
  }
  const fp = dataFingerprint(split);
  // Original item names (data read from an interactions file), for serving.
  const names = split.itemIds ? { itemIds: split.itemIds } : {};
  let st: LoopState = {
    epoch: 0,
    history: [],
    bestEpoch: 0,
    bestScore: -Infinity,
    badEvals: 0,
    stoppedEarly: false,
  };
  const last = opts.outDir ? `${opts.outDir}/last.ckpt` : undefined;
  const best = opts.outDir ? `${opts.outDir}/best.ckpt` : undefined;
  if (opts.outDir) await Deno.mkdir(opts.outDir, { recursive: true });
  if (opts.resume === "required" && !(last && await exists(last))) {
    throw new Error(
      `${last ?? "--resume"}: expected a checkpoint to resume from, found ` +
        `none; run without --resume to start afresh`,
    );
  }
  if (opts.resume && last && await exists(last)) {
    const ck = await loadCheckpoint(last);
    checkResumable(ck.meta, last);
    const meta = ck.meta as {
      loop: LoopState;
      rng: RngState;
      opt: Record<string, unknown>;
      config: TrainConfig;
    };
    const other = dataMismatch(ck.meta, split, last, split.name);
    if (other && !opts.force) {
      throw new Error(`${other}; pass --force to resume anyway`);
    }
    if (other) progress.log(`warning (--force): ${other}`);
    if (meta.config.method !== cfg.method) {
      throw new Error(
        `${last}: expected a checkpoint of method '${cfg.method}', found '${meta.config.method}'`,
      );
    }
    const changed = changedSettings(meta.config, cfg);
    if (changed.length > 0) {
      progress.log(
        `${last}: resuming with settings that differ from the checkpoint's: ${
          changed.join(", ")
        }`,
      );
    }
    restoreParams(model, ck.tensors, last);
    for (const [g, j] of Object.entries(meta.opt)) {
      disposeTree(model.optStates[g]);
      model.optStates[g] = treeFromJson(j, ck.tensors);
    }
    rng = rngFromState(meta.rng);
    st = meta.loop;
    prior = st.priorWallSeconds ?? 0;
    if (st.bestScore === null) st.bestScore = -Infinity;
    progress.log(`resumed from ${last} at epoch ${st.epoch}`);
  }
  if (st.epoch === 0 && model.prepare) {
    await model.prepare(split, rng, progress);
  }
  const finished = () => st.stoppedEarly || st.epoch >= cfg.epochs;
  let ran = 0;
  let testRanks: Int32Array | undefined;
  while (!finished()) {
    if (opts.stopAfterEpochs !== undefined && ran >= opts.stopAfterEpochs) {
      break;
    }
    const epoch = st.epoch + 1;
    const te = performance.now();
    await model.onEpochStart?.(epoch, split, rng);
    const startSeconds = (performance.now() - te) / 1000;
    const batches = trainBatches(split, {
      batchSize: cfg.batchSize,
      rng,
      maxLen: cfg.maxLen,
      bucket: cfg.bucket,
      samples: cfg.samples,
    });
    const sums: Record<string, number> = {};
    let nb = 0;
    let read = 0; // steps whose terms are summed
    // Terms of step `index` (1-based): summed, checked finite and for
    // divergence.
    const consume = (index: number, terms: Record<string, number>) => {
      for (const [k, v] of Object.entries(terms)) {
        if (!Number.isFinite(v)) {
          progress.end();
          throw new NonFiniteLossError(epoch, index, k, v);
        }
      }
      for (const [k, v] of Object.entries(terms)) sums[k] = (sums[k] ?? 0) + v;
      read++;
      const total = terms.total;
      if (st.firstLoss === undefined) st.firstLoss = total;
      else if (
        Math.abs(total) >
          DIVERGENCE_FACTOR * Math.max(Math.abs(st.firstLoss), 1)
      ) {
        progress.end();
        throw new DivergedLossError(
          epoch,
          index,
          total,
          st.firstLoss,
          cfg.lr,
          DIVERGENCE_FACTOR,
        );
      }
    };
    const consumeAll = (steps: ReadStep[]) => {
      for (const r of steps) {
        if (Object.keys(r.terms).length > 0) consume(r.step, r.terms);
      }
    };
    // On webgpu the steps leave their terms on the device; one read every
    // `readEvery` steps, started while later steps are being queued.
    const deferred = tf.getBackend() === "webgpu" && readEvery > 1
      ? new DeferredTerms()
      : undefined;
    let inflight: Promise<ReadStep[]> | undefined;
    try {
      for (const batch of batches) {
        let terms: Record<string, number>;
        deferred?.beginStep(nb + 1);
        try {
          terms = await model.step(batch, { rng, epoch, split, deferred });
        } catch (e) {
          if (e instanceof NonFiniteLossError) {
            progress.end();
            throw new NonFiniteLossError(epoch, nb + 1, e.term, e.value);
          }
          throw e;
        }
        nb++;
        if (Object.keys(terms).length > 0) consume(nb, terms);
        if (deferred && deferred.pending >= readEvery) {
          if (inflight) consumeAll(await inflight);
          inflight = deferred.flush();
        }
        progress.update(
          epoch,
          cfg.epochs,
          nb,
          batches.length,
          sums.total / Math.max(1, read),
        );
      }
      if (inflight) consumeAll(await inflight);
      if (deferred) consumeAll(await deferred.flush());
    } finally {
      // A throw leaves a read in flight: let it finish before freeing.
      if (inflight) await inflight.catch(() => {});
      deferred?.dispose();
    }
    const rec: EpochRecord = {
      epoch,
      loss: Object.fromEntries(
        Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, read)]),
      ),
      trainSeconds: (performance.now() - te) / 1000,
    };
    if (model.onEpochStart) rec.epochStartSeconds = startSeconds;
    st.epoch = epoch;
    let improved = false;
    if (epoch % cfg.evalEvery === 0 || epoch === cfg.epochs) {
      const v = await evaluate(model.scorer, split, "valid", {
        batchSize: cfg.evalBatchSize,
      });
      rec.valid = v.metrics.all;
      rec.evalSeconds = v.seconds;
      const score = v.metrics.all[SELECT];
      if (score > st.bestScore) {
        improved = true;
        st.bestScore = score;
        st.bestEpoch = epoch;
        st.bestValid = v.metrics;
        const t = await evaluate(model.scorer, split, "test", {
          batchSize: cfg.evalBatchSize,
        });
        st.test = t.metrics;
        testRanks = t.ranks;
        st.badEvals = 0;
      } else {
        st.badEvals++;
        if (st.badEvals >= cfg.patience) st.stoppedEarly = true;
      }
    }
    st.history.push(rec);
    progress.log(
      `epoch ${epoch} loss ${rec.loss.total.toFixed(4)} (${
        rec.trainSeconds.toFixed(1)
      }s)` +
        (rec.valid
          ? ` valid HR@20 ${rec.valid["HR@20"].toFixed(4)} NDCG@20 ${
            rec.valid["NDCG@20"].toFixed(4)
          }` +
            (improved ? " *" : "")
          : ""),
    );
    opts.onEpoch?.(rec);
    if (best && improved) {
      const { tensors } = await modelTensors(model, false);
      await saveCheckpoint(best, {
        meta: {
          kind: "best",
          config: cfg,
          epoch,
          valid: st.bestValid,
          test: st.test,
          dataFingerprint: fp,
          ...names,
        },
        tensors,
      });
      // Each user's test rank at this best epoch, for paired tests.
      await writeTestRanks(opts.outDir!, epoch, testRanks!);
    }
    if (last) {
      const { tensors, opt } = await modelTensors(model, true);
      const ck: Checkpoint = {
        meta: {
          kind: "last",
          config: cfg,
          dataFingerprint: fp,
          ...names,
          loop: {
            ...st,
            priorWallSeconds: prior + (performance.now() - t0) / 1000,
          },
          rng: rng.state(),
          opt,
        },
        tensors,
      };
      await saveCheckpoint(last, ck);
    }
    ran++;
  }
  progress.end();
  const trained = st.history.map((h) => h.trainSeconds);
  const wall = (performance.now() - t0) / 1000;
  return {
    history: st.history,
    bestEpoch: st.bestEpoch,
    bestValid: st.bestValid,
    test: st.test,
    lastEpoch: st.epoch,
    stoppedEarly: st.stoppedEarly,
    finished: finished(),
    wallSeconds: wall,
    totalWallSeconds: prior + wall,
    secondsPerEpoch: trained.length
      ? trained.reduce((a, b) => a + b, 0) / trained.length
      : 0,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
