/**
 * Hyper-parameter search: a YAML space (a base config, `search: grid` or
 * `random`, and `params`: key -> list of values, or `{min, max, log}` ranges
 * for random search) gives a list of trials; each trial trains with early
 * stopping on validation into `trial-<i>/` (resumable, splittable across
 * processes), the setting with the best VALIDATION NDCG@20 is chosen (the
 * test split is never looked at for the choice), and the choice can be
 * re-run over several seeds.
 *
 * With `datasets` (several data files), every trial trains on each, and the
 * choice is the setting that is best or nearest the best on all of them: a
 * trial's score is the smallest, over the data sets, of its validation
 * NDCG@20 divided by the best trial's on that data set (1 = the best
 * everywhere; 0.97 = within 3% of the best on every data set).
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
import { makeRng } from "./util/rng.ts";
import { writeTextFileAtomic } from "./util/atomic.ts";
import type { Progress } from "./util/progress.ts";
import { type CompareResults, runComparison } from "./compare.ts";

/** A range of a random search: uniform, or log-uniform with `log: true`. */
export interface ParamRange {
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Draw uniformly in log space (min must be > 0). */
  log?: boolean;
}

/** A checked search space. */
export interface Space {
  /** Settings every trial starts from. */
  base: Record<string, unknown>;
  /** Every combination (grid) or independent draws (random). */
  search: "grid" | "random";
  /** Key -> values to try (a list) or a range (random search only). */
  params: Record<string, unknown[] | ParamRange>;
  /** Seed of the random draws. */
  seed: number;
  /** Data files every trial trains on (none: the config's `data`). */
  datasets?: string[];
}

const TOP_KEYS = ["base", "search", "params", "seed", "datasets"];

/**
 * A data file's name in a search's folders and tables: its base name
 * without the extension.
 *
 * @example
 * ```ts
 * import { dataName } from "./tune.ts";
 * if (dataName("../shared/data/Toys_and_Games.txt") !== "Toys_and_Games") throw new Error();
 * if (dataName("C:\\d\\ml-1m.csv") !== "ml-1m") throw new Error();
 * ```
 */
export function dataName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Check a parsed space file; `file` names its lines in messages
 * (`space.yaml:4: params.lr: ...`).
 *
 * @example
 * ```ts
 * import { parseSpace } from "./tune.ts";
 * const s = parseSpace({ search: "random", seed: 3, params: { lr: { min: 1e-4, max: 1e-2, log: true } } });
 * if (s.search !== "random" || s.seed !== 3 || !("lr" in s.params)) throw new Error();
 * let msg = "";
 * try { parseSpace({ search: "grid", params: { lr: { min: 0, max: 1 } } }, { source: "s.yaml" }); } catch (e) { msg = String(e); }
 * if (!msg.includes("s.yaml: params.lr: expected a list of values")) throw new Error(msg);
 * ```
 */
export function parseSpace(
  value: unknown,
  opts: { source?: string; file?: YamlFile } = {},
): Space {
  const src = opts.source ?? opts.file?.path ?? "space";
  const at = (...keys: string[]) => {
    const line = opts.file?.line(...keys);
    return line ? `${src}:${line}` : src;
  };
  if (!isRecord(value)) {
    throw new Error(
      `${src}: expected a mapping with 'params' (and optional 'base', 'search', 'seed'), found ${
        JSON.stringify(value)?.slice(0, 60)
      }`,
    );
  }
  for (const k of Object.keys(value)) {
    if (!TOP_KEYS.includes(k)) {
      throw new Error(
        `${at(k)}: unknown top-level key '${k}' (expected ${
          TOP_KEYS.join(", ")
        })`,
      );
    }
  }
  const search = value.search ?? "grid";
  if (search !== "grid" && search !== "random") {
    throw new Error(
      `${at("search")}: search: expected grid or random, found ${
        JSON.stringify(search)
      }`,
    );
  }
  const seed = value.seed ?? 1;
  if (typeof seed !== "number" || !Number.isInteger(seed)) {
    throw new Error(
      `${at("seed")}: seed: expected an integer, found ${JSON.stringify(seed)}`,
    );
  }
  const base = value.base ?? {};
  if (!isRecord(base)) {
    throw new Error(
      `${at("base")}: base: expected a mapping of config keys, found ${
        JSON.stringify(base)?.slice(0, 60)
      }`,
    );
  }
  const params = value.params;
  if (!isRecord(params) || Object.keys(params).length === 0) {
    throw new Error(
      `${
        at("params")
      }: params: expected a mapping of config keys to lists of values${
        search === "random" ? " or {min, max, log} ranges" : ""
      }, found ${JSON.stringify(params)?.slice(0, 60) ?? "nothing"}`,
    );
  }
  const out: Record<string, unknown[] | ParamRange> = {};
  for (const [k, v] of Object.entries(params)) {
    const where = `${at("params", k)}: params.${k}`;
    if (Array.isArray(v)) {
      if (v.length === 0) {
        throw new Error(`${where}: expected at least one value, found []`);
      }
      out[k] = v;
      continue;
    }
    if (search === "grid" || !isRecord(v)) {
      throw new Error(
        `${where}: expected a list of values${
          search === "random" ? " or a {min, max, log} range" : ""
        }, found ${JSON.stringify(v)?.slice(0, 60)}${
          search === "grid" && isRecord(v)
            ? " (ranges need search: random)"
            : ""
        }`,
      );
    }
    for (const rk of Object.keys(v)) {
      if (!["min", "max", "log"].includes(rk)) {
        throw new Error(
          `${where}: unknown range key '${rk}' (expected min, max, log)`,
        );
      }
    }
    const { min, max, log } = v;
    if (
      typeof min !== "number" || typeof max !== "number" ||
      !Number.isFinite(min) || !Number.isFinite(max) || min > max
    ) {
      throw new Error(
        `${where}: expected finite numbers min <= max, found min ${
          JSON.stringify(min)
        }, max ${JSON.stringify(max)}`,
      );
    }
    if (log !== undefined && typeof log !== "boolean") {
      throw new Error(
        `${where}: log: expected true or false, found ${JSON.stringify(log)}`,
      );
    }
    if (log && min <= 0) {
      throw new Error(
        `${where}: expected min > 0 for a log range, found min ${min}`,
      );
    }
    out[k] = { min, max, ...(log ? { log } : {}) };
  }
  const datasets = value.datasets;
  if (datasets !== undefined) {
    const where = `${at("datasets")}: datasets`;
    if (
      !Array.isArray(datasets) || datasets.length === 0 ||
      !datasets.every((d) => typeof d === "string" && d.trim() !== "")
    ) {
      throw new Error(
        `${where}: expected a list of data file paths, found ${
          JSON.stringify(datasets)?.slice(0, 60)
        }`,
      );
    }
    const names = datasets.map(dataName);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) {
      throw new Error(
        `${where}: expected data files with different names (each gets trial-<i>/<name>), found '${twice}' twice`,
      );
    }
    if (base.data !== undefined) {
      throw new Error(
        `${at("base", "data")}: base.data: not with datasets (${
          at("datasets")
        }): the trials train on each of the datasets`,
      );
    }
    return { base, search, params: out, seed, datasets };
  }
  return { base, search, params: out, seed };
}

/**
 * Each trial's settings (the `params` part): for a grid, every combination
 * (the first key varies slowest); for a random search, `n` draws from the
 * seed (trial i's draw does not depend on `n`). A range whose min and max
 * are integers draws integers (log-uniform ones rounded).
 *
 * @example
 * ```ts
 * import { trialSettings } from "./tune.ts";
 * const g = trialSettings({ base: {}, search: "grid", seed: 1, params: { a: [1, 2], b: ["x", "y", "z"] } });
 * if (g.length !== 6 || g[1].b !== "y" || g[3].a !== 2) throw new Error();
 * const space = { base: {}, search: "random" as const, seed: 7, params: { lr: { min: 1e-4, max: 1e-1, log: true } } };
 * const r = trialSettings(space, 5);
 * if (JSON.stringify(r) !== JSON.stringify(trialSettings(space, 5))) throw new Error();
 * if (r.some((s) => (s.lr as number) < 1e-4 || (s.lr as number) > 1e-1)) throw new Error();
 * ```
 */
export function trialSettings(
  space: Space,
  n?: number,
): Record<string, unknown>[] {
  const keys = Object.keys(space.params);
  if (space.search === "grid") {
    let out: Record<string, unknown>[] = [{}];
    for (const k of keys) {
      const vs = space.params[k] as unknown[];
      out = out.flatMap((s) => vs.map((v) => ({ ...s, [k]: v })));
    }
    return n === undefined ? out : out.slice(0, n);
  }
  const rng = makeRng(`tune:${space.seed}`);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < (n ?? 1); i++) {
    const s: Record<string, unknown> = {};
    for (const k of keys) {
      const p = space.params[k];
      if (Array.isArray(p)) {
        s[k] = p[rng.int(p.length)];
        continue;
      }
      const u = rng.next();
      const ints = Number.isInteger(p.min) && Number.isInteger(p.max);
      if (p.log) {
        const x = Math.exp(
          Math.log(p.min) + u * (Math.log(p.max) - Math.log(p.min)),
        );
        s[k] = ints ? Math.min(p.max, Math.max(p.min, Math.round(x))) : x;
      } else {
        s[k] = ints
          ? p.min + Math.floor(u * (p.max - p.min + 1))
          : p.min + u * (p.max - p.min);
      }
    }
    out.push(s);
  }
  return out;
}

/**
 * Each trial's full config: defaults, the space's base, the trial's
 * settings, then `overrides` (the command line), every key checked through
 * the registry; a bad key names the space file's line.
 *
 * @example
 * ```ts
 * import { parseSpace, trialConfigs } from "./tune.ts";
 * const space = parseSpace({ base: { hidden: 8 }, params: { lr: [0.01, 0.001] } });
 * const cfgs = trialConfigs(space, { epochs: 2 });
 * if (cfgs.length !== 2 || cfgs[1].lr !== 0.001 || cfgs[0].hidden !== 8 || cfgs[0].epochs !== 2) throw new Error();
 * ```
 */
export function trialConfigs(
  space: Space,
  overrides: Record<string, unknown>,
  opts: {
    n?: number;
    file?: YamlFile;
    overridesWhere?: (key: string) => string | undefined;
  } = {},
): TrainConfig[] {
  const src = opts.file?.path ?? "space";
  const at = (...keys: string[]) => {
    const line = opts.file?.line(...keys);
    return line ? `${src}:${line}` : src;
  };
  return trialSettings(space, opts.n).map((s) => {
    const layers: ConfigLayer[] = [
      { values: space.base, where: (k) => at("base", k) },
      { values: s, where: (k) => at("params", k) },
      { values: overrides, where: opts.overridesWhere },
    ];
    return resolveConfig(layers);
  });
}

/**
 * The part `I/K` of `--only`: trial i (1-based) belongs to part
 * `((i - 1) % K) + 1`, so K processes with parts 1..K share the trials
 * disjointly and cover them all.
 *
 * @example
 * ```ts
 * import { parseOnly, inPart } from "./tune.ts";
 * const p = parseOnly("2/3");
 * if (!inPart(2, p) || inPart(3, p) || !inPart(5, p)) throw new Error();
 * let msg = "";
 * try { parseOnly("4/3"); } catch (e) { msg = String(e); }
 * if (!msg.includes("--only")) throw new Error(msg);
 * ```
 */
export function parseOnly(text: string): { part: number; parts: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const part = m ? Number(m[1]) : NaN, parts = m ? Number(m[2]) : NaN;
  if (!m || parts < 1 || part < 1 || part > parts) {
    throw new Error(
      `--only: expected I/K with 1 <= I <= K (this process runs part I of K), found '${text}'`,
    );
  }
  return { part, parts };
}

/**
 * Whether trial `i` (1-based) is in `part` (all trials without one).
 *
 * @example
 * ```ts
 * import { inPart } from "./tune.ts";
 * const p = { part: 1, parts: 2 };
 * if (!inPart(1, p) || inPart(2, p) || !inPart(3, p) || !inPart(2)) throw new Error();
 * ```
 */
export function inPart(
  i: number,
  part?: { part: number; parts: number },
): boolean {
  return !part || (i - 1) % part.parts === part.part - 1;
}

/** One trial of a search. */
export interface TrialRecord {
  /** Its number (1-based): its folder is `trial-<i>`. */
  trial: number;
  /** Its settings from the space's `params`. */
  params: Record<string, unknown>;
  /** Its full config. */
  config: TrainConfig;
  /** Whether it has finished (in this or an earlier process). */
  finished: boolean;
  /** Best epoch (by validation NDCG@20). */
  bestEpoch?: number;
  /** Validation metrics at the best epoch (one data set). */
  valid?: TrainReport["valid"];
  /** With several data sets: each one's run, by {@linkcode dataName}. */
  perData?: Record<string, DataRun>;
  /**
   * With several data sets, once every trial has finished: the smallest
   * over the data sets of this trial's validation NDCG@20 / the best
   * trial's.
   */
  relative?: number;
}

/** A trial's run on one of several data sets. */
export interface DataRun {
  /** Whether it has finished. */
  finished: boolean;
  /** Best epoch (by validation NDCG@20). */
  bestEpoch?: number;
  /** Validation metrics at the best epoch. */
  valid?: TrainReport["valid"];
}

/** `tune.json`. */
export interface TuneResults {
  /** The space as given. */
  space: Space;
  /** Every trial. */
  trials: TrialRecord[];
  /** The trial with the best validation NDCG@20 (when all have finished). */
  chosen?: {
    trial: number;
    params: Record<string, unknown>;
    /** Its validation NDCG@20 (several data sets: their mean). */
    validNDCG20: number;
    /** Several data sets: its score (see {@linkcode TrialRecord.relative}). */
    relative?: number;
  };
  /** The chosen config re-run with several seeds (one data set). */
  final?: CompareResults;
  /** The chosen config re-run with several seeds on each data set. */
  finalByData?: Record<string, CompareResults>;
}

/**
 * Each finished trial's score over several data sets (its `relative`): the
 * smallest, over the data sets, of its validation NDCG@20 divided by the
 * best finished trial's on that data set.
 *
 * @example
 * ```ts
 * import { relativeScores } from "./tune.ts";
 * const run = (v: number) => ({ finished: true, valid: { all: { "NDCG@20": v } } });
 * const t = (trial: number, a: number, b: number) => ({ trial, finished: true, perData: { A: run(a), B: run(b) } });
 * // best on A is 0.4 (trial 1), on B 0.2 (trial 2): 1 -> min(1, .5) = .5; 2 -> min(.75, 1) = .75; 3 -> min(.95, .95)
 * // deno-lint-ignore no-explicit-any
 * const s = relativeScores([t(1, 0.4, 0.1), t(2, 0.3, 0.2), t(3, 0.38, 0.19)] as any);
 * if (s.map((x) => x.toFixed(2)).join() !== "0.50,0.75,0.95") throw new Error(s.join());
 * ```
 */
export function relativeScores(trials: TrialRecord[]): number[] {
  const names = [
    ...new Set(trials.flatMap((t) => Object.keys(t.perData ?? {}))),
  ];
  const v = (t: TrialRecord, n: string) => {
    const r = t.perData?.[n];
    const x = r?.finished ? r.valid?.all?.["NDCG@20"] : undefined;
    return x !== undefined && Number.isFinite(x) ? x : NaN;
  };
  const best = names.map((n) =>
    Math.max(...trials.map((t) => v(t, n)).filter((x) => !Number.isNaN(x)))
  );
  return trials.map((t) => Math.min(...names.map((n, j) => v(t, n) / best[j])));
}

/**
 * The trial with the highest validation NDCG@20 among finished ones (with
 * several data sets: the highest `relative` score), the first on ties, or
 * undefined when none has a figure.
 *
 * @example
 * ```ts
 * import { chooseTrial } from "./tune.ts";
 * const t = (trial: number, v: number) => ({ trial, finished: true, valid: { all: { "NDCG@20": v } } });
 * // deno-lint-ignore no-explicit-any
 * if (chooseTrial([t(1, 0.1), t(2, 0.3), t(3, 0.2)] as any)?.trial !== 2) throw new Error();
 * ```
 */
export function chooseTrial(
  trials: TrialRecord[],
): TrialRecord | undefined {
  let best: TrialRecord | undefined;
  let bestV = -Infinity;
  for (const t of trials) {
    const v = t.perData ? t.relative : t.valid?.all?.["NDCG@20"];
    if (!t.finished || v === undefined || !Number.isFinite(v)) continue;
    if (!best || v > bestV) [best, bestV] = [t, v];
  }
  return best;
}

/** Options of {@linkcode runTune}. */
export interface TuneOptions {
  /** Output folder: `trial-<i>/`, `final/seed-<s>/`, `tune.json`. */
  outDir: string;
  /** Run only this part of the trials (`--only I/K`). */
  only?: { part: number; parts: number };
  /** Start no new trial after this many hours of this process. */
  hours?: number;
  /** Seeds of the final re-run (none: no final run). */
  finalSeeds?: number[];
  /** Progress display. */
  progress?: Progress;
}

async function readFinished(dir: string): Promise<TrainReport | undefined> {
  try {
    const r = JSON.parse(
      await Deno.readTextFile(`${dir}/result.json`),
    ) as TrainReport;
    return r.finished ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Run a search: every trial of this process's part that has not finished
 * (an interrupted one resumes from its `last.ckpt`), then, when every trial
 * has finished, the choice by validation NDCG@20 and its re-run over
 * `finalSeeds`; `outDir/tune.json` ({@linkcode TuneResults}) is written
 * after each trial.
 *
 * @example
 * ```ts ignore
 * const res = await runTune(space, trialConfigs(space, {}), backend, {
 *   outDir: "runs/tune", finalSeeds: [1, 2, 3],
 * });
 * ```
 */
export async function runTune(
  space: Space,
  configs: TrainConfig[],
  backend: BackendInfo,
  opts: TuneOptions,
): Promise<TuneResults> {
  const settings = trialSettings(space, configs.length);
  const t0 = performance.now();
  const cache = new Map<string, SequenceDataset>();
  // One data set (the config's) or each of `space.datasets`: [name, config of trial i].
  const runs = (i: number): [string | undefined, TrainConfig][] =>
    space.datasets
      ? space.datasets.map((d) => [
        dataName(d),
        resolveConfig([{ values: { ...configs[i - 1] } }, {
          values: { data: d },
        }]),
      ])
      : [[undefined, configs[i - 1]]];
  const dirOf = (i: number, name?: string) =>
    `${opts.outDir}/trial-${i}${name === undefined ? "" : `/${name}`}`;
  const read = async (i: number): Promise<TrialRecord> => {
    const base = { trial: i, params: settings[i - 1], config: configs[i - 1] };
    if (!space.datasets) {
      const r = await readFinished(dirOf(i));
      return {
        ...base,
        finished: r?.finished ?? false,
        ...(r ? { bestEpoch: r.bestEpoch, valid: r.valid } : {}),
      };
    }
    const perData: Record<string, DataRun> = {};
    for (const [name] of runs(i)) {
      const r = await readFinished(dirOf(i, name));
      perData[name!] = r
        ? { finished: true, bestEpoch: r.bestEpoch, valid: r.valid }
        : { finished: false };
    }
    return {
      ...base,
      finished: Object.values(perData).every((r) => r.finished),
      perData,
    };
  };
  const trials: TrialRecord[] = [];
  for (let i = 1; i <= configs.length; i++) trials.push(await read(i));
  const res: TuneResults = { space, trials };
  const save = () =>
    writeTextFileAtomic(
      `${opts.outDir}/tune.json`,
      JSON.stringify(res, null, 2) + "\n",
    );
  outer: for (let i = 1; i <= configs.length; i++) {
    if (!inPart(i, opts.only) || trials[i - 1].finished) continue;
    for (const [name, cfg] of runs(i)) {
      if (name !== undefined && trials[i - 1].perData?.[name]?.finished) {
        continue;
      }
      if (
        opts.hours !== undefined &&
        (performance.now() - t0) / 3.6e6 >= opts.hours
      ) {
        opts.progress?.log(
          `-- --hours ${opts.hours} spent: trial ${i}${
            name === undefined ? "" : ` on ${name}`
          } not started`,
        );
        break outer;
      }
      const key = datasetKey(cfg);
      if (!cache.has(key)) cache.set(key, await loadDataset(cfg));
      opts.progress?.log(
        `== trial ${i}/${configs.length}${
          name === undefined ? "" : ` on ${name}`
        } ${JSON.stringify(settings[i - 1])}`,
      );
      await runTraining(cfg, backend, {
        dataset: cache.get(key),
        outDir: dirOf(i, name),
        resume: true,
        progress: opts.progress,
      });
      trials[i - 1] = await read(i);
      await save();
    }
  }
  // Trials of other processes may have finished meanwhile.
  for (const t of trials) {
    if (!t.finished) trials[t.trial - 1] = await read(t.trial);
  }
  if (trials.every((t) => t.finished)) {
    if (space.datasets) {
      relativeScores(trials).forEach((r, j) => trials[j].relative = r);
    }
    const best = chooseTrial(trials);
    if (best) {
      const valids = best.perData
        ? Object.values(best.perData).map((r) => r.valid!.all["NDCG@20"])
        : [best.valid!.all["NDCG@20"]];
      res.chosen = {
        trial: best.trial,
        params: best.params,
        validNDCG20: valids.reduce((a, b) => a + b, 0) / valids.length,
        ...(best.relative === undefined ? {} : { relative: best.relative }),
      };
      await save();
      if (opts.finalSeeds && opts.finalSeeds.length > 0) {
        opts.progress?.log(
          `== final: trial ${best.trial} with seeds ${
            opts.finalSeeds.join(", ")
          }`,
        );
        for (const [name, cfg] of runs(best.trial)) {
          const final = await runComparison(
            { [`trial-${best.trial}`]: cfg },
            backend,
            {
              outDir: `${opts.outDir}/final${
                name === undefined ? "" : `/${name}`
              }`,
              resume: true,
              progress: opts.progress,
              seeds: opts.finalSeeds,
              runDir: (_, seed) => `seed-${seed}`,
            },
          );
          if (name === undefined) res.final = final;
          else res.finalByData = { ...res.finalByData, [name]: final };
        }
      }
    }
  }
  await save();
  return res;
}

/**
 * The trials as a Markdown table: settings, validation HR@20 and NDCG@20,
 * best epoch; the chosen trial marked with `*`.
 *
 * @example
 * ```ts
 * import { trialTable } from "./tune.ts";
 * const t = { trial: 1, params: { lr: 0.01 }, finished: true, bestEpoch: 2, valid: { all: { "NDCG@20": 0.1, "HR@20": 0.2 } } };
 * // deno-lint-ignore no-explicit-any
 * const md = trialTable({ trials: [t], chosen: { trial: 1 } } as any);
 * if (!md.includes("| 1 * | 0.01 | 0.2000 | 0.1000 | 2 |")) throw new Error(md);
 * const run = (v: number, e: number) => ({ finished: true, bestEpoch: e, valid: { all: { "NDCG@20": v } } });
 * const m = { trial: 1, params: { lr: 0.01 }, finished: true, relative: 0.9, perData: { A: run(0.1, 3), B: run(0.2, 5) } };
 * // deno-lint-ignore no-explicit-any
 * const md2 = trialTable({ trials: [m] } as any);
 * if (!md2.includes("| trial | lr | A valid NDCG@20 | B valid NDCG@20 | relative | best epochs |")) throw new Error(md2);
 * if (!md2.includes("| 1 | 0.01 | 0.1000 | 0.2000 | 0.9000 | 3/5 |")) throw new Error(md2);
 * ```
 */
export function trialTable(res: TuneResults): string {
  const keys = [...new Set(res.trials.flatMap((t) => Object.keys(t.params)))];
  const names = [
    ...new Set(res.trials.flatMap((t) => Object.keys(t.perData ?? {}))),
  ];
  const f = (v: number | undefined) => v === undefined ? "-" : v.toFixed(4);
  const show = (v: unknown) =>
    typeof v === "number" && !Number.isInteger(v)
      ? String(Number(v.toPrecision(4)))
      : String(v);
  const figures = names.length === 0
    ? ["valid HR@20", "valid NDCG@20", "best epoch"]
    : [...names.map((n) => `${n} valid NDCG@20`), "relative", "best epochs"];
  const head = `| trial | ${[...keys, ...figures].join(" | ")} |`;
  const sep = "|---|" + "---|".repeat(keys.length + figures.length);
  const cells = (t: TrialRecord) => {
    if (names.length === 0) {
      return [
        f(t.valid?.all?.["HR@20"]),
        f(t.valid?.all?.["NDCG@20"]),
        t.finished ? String(t.bestEpoch) : "not finished",
      ];
    }
    const r = (n: string) => t.perData?.[n];
    return [
      ...names.map((n) => f(r(n)?.valid?.all?.["NDCG@20"])),
      f(t.relative),
      names.map((n) => r(n)?.finished ? String(r(n)!.bestEpoch) : "-").join(
        "/",
      ),
    ];
  };
  const lines = res.trials.map((t) =>
    `| ${t.trial}${res.chosen?.trial === t.trial ? " *" : ""} | ${
      [...keys.map((k) => show(t.params[k])), ...cells(t)].join(" | ")
    } |`
  );
  return [head, sep, ...lines].join("\n") + "\n";
}
