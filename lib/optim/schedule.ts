/**
 * Learning-rate schedules: functions of the optimiser's step count (1 for
 * the first update), as optax's schedules. A linear warm-up from 0, then a
 * constant rate or a decay (cosine or linear) to a tenth of the peak at the
 * end of training (nanoGPT's floor), measured in epochs of the run's
 * batches.
 *
 * @module
 */
import { countBatches } from "../data/batch.ts";
import type { SplitDataset } from "../data/types.ts";

/** The learning rate at optimiser step `count` (1-based). */
export type Schedule = (count: number) => number;

/** How the rate falls after the warm-up. */
export type Decay = "none" | "cosine" | "linear";

/** Options of {@linkcode warmupDecay}. */
export interface WarmupDecayOptions {
  /** The rate after the warm-up (and before any decay). */
  peak: number;
  /** Steps of linear warm-up from 0 (0 = none). */
  warmupSteps: number;
  /** Decay after the warm-up. */
  decay: Decay;
  /** The step at which the decay reaches its floor (and stays). */
  decaySteps: number;
  /** The floor as a fraction of `peak`. Default 0.1. */
  floor?: number;
}

/**
 * Linear warm-up to `peak` over `warmupSteps`, then constant, or a cosine
 * or linear decay that reaches `floor x peak` at step `decaySteps`.
 *
 * @example
 * ```ts
 * import { warmupDecay } from "./schedule.ts";
 * const s = warmupDecay({ peak: 1, warmupSteps: 4, decay: "cosine", decaySteps: 14 });
 * // warm-up: 1/4, 2/4, ...; then 1 at step 4, halfway (step 9) 0.55, floor 0.1 from 14
 * if (s(1) !== 0.25 || s(4) !== 1 || Math.abs(s(9) - 0.55) > 1e-12 || s(14) !== 0.1 || s(99) !== 0.1) throw new Error();
 * const l = warmupDecay({ peak: 2, warmupSteps: 0, decay: "linear", decaySteps: 10 });
 * if (l(0) !== 2 || Math.abs(l(5) - 1.1) > 1e-12 || l(10) !== 0.2) throw new Error();
 * ```
 */
export function warmupDecay(opts: WarmupDecayOptions): Schedule {
  const { peak, warmupSteps, decay, decaySteps } = opts;
  const low = peak * (opts.floor ?? 0.1);
  return (count) => {
    if (count < warmupSteps) return peak * count / warmupSteps;
    if (decay === "none") return peak;
    const span = decaySteps - warmupSteps;
    const t = span <= 0 ? 1 : Math.min(1, (count - warmupSteps) / span);
    if (t >= 1) return low;
    // The fall so far, as a fraction of (peak - low): 0 at the start.
    const fall = decay === "cosine" ? 0.5 * (1 - Math.cos(Math.PI * t)) : t;
    return peak - (peak - low) * fall;
  };
}

/** The config keys a run's schedule reads. */
export interface ScheduleConfig {
  /** Peak learning rate. */
  lr: number;
  /** Warm-up in epochs (fractions allowed; 0 = none). */
  lrWarmup: number;
  /** Decay after the warm-up, reaching lr / 10 at `epochs`. */
  lrDecay: Decay;
  /** Most epochs: where a decay ends. */
  epochs: number;
  /** Rows per batch. */
  batchSize: number;
  /** Rows: users or prefixes. */
  samples: "sequences" | "prefixes";
}

/**
 * A run's learning rate: the number `cfg.lr` when it is constant (no
 * warm-up, no decay: the optimiser's plain path), else a schedule in steps,
 * with epochs converted through the run's batches per epoch.
 *
 * @example
 * ```ts
 * import { runSchedule } from "./schedule.ts";
 * import { leaveOneOut } from "../data/split.ts";
 * const seq = Int32Array.of(1, 2, 3, 4);
 * const split = leaveOneOut({ name: "t", numItems: 4, sequences: [seq, seq, seq, seq], userIds: ["a", "b", "c", "d"] });
 * const cfg = { lr: 0.01, lrWarmup: 0, lrDecay: "none" as const, epochs: 10, batchSize: 2, samples: "sequences" as const };
 * if (runSchedule(cfg, split) !== 0.01) throw new Error();
 * // 2 batches per epoch: a 1-epoch warm-up is 2 steps; the decay ends at step 20
 * const s = runSchedule({ ...cfg, lrWarmup: 1, lrDecay: "linear" }, split) as (c: number) => number;
 * if (s(1) !== 0.005 || s(2) !== 0.01 || Math.abs(s(20) - 0.001) > 1e-15) throw new Error();
 * ```
 */
export function runSchedule(
  cfg: ScheduleConfig,
  split: SplitDataset,
): number | Schedule {
  if (cfg.lrWarmup === 0 && cfg.lrDecay === "none") return cfg.lr;
  const perEpoch = countBatches(split, {
    batchSize: cfg.batchSize,
    samples: cfg.samples,
  });
  return warmupDecay({
    peak: cfg.lr,
    warmupSteps: Math.round(cfg.lrWarmup * perEpoch),
    decay: cfg.lrDecay,
    decaySteps: cfg.epochs * perEpoch,
  });
}
