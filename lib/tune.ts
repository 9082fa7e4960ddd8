/**
 * Hyper-parameter search: a YAML space (a base config, `search: grid` or
 * `random`, and `params`: key -> list of values, or `{min, max, log}` ranges
 * for random search) gives a list of trials; each trial trains with early
 * stopping on validation into `trial-<i>/` (resumable, splittable across
 * processes), the setting with the best VALIDATION NDCG@20 is chosen (the
 * test split is never looked at for the choice), and the choice can be
 * re-run over several seeds.
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
}

const TOP_KEYS = ["base", "search", "params", "seed"];

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
    validNDCG20: number;
  };
  /** The chosen config re-run with several seeds. */
  final?: CompareResults;
}

/**
 * The trial with the highest validation NDCG@20 among finished ones (the
 * first on ties), or undefined when none has a validation figure.
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
  for (const t of trials) {
    const v = t.valid?.all?.["NDCG@20"];
    if (!t.finished || v === undefined || !Number.isFinite(v)) continue;
    if (!best || v > best.valid!.all["NDCG@20"]) best = t;
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
  const trials: TrialRecord[] = [];
  const record = (i: number, r?: TrainReport): TrialRecord => ({
    trial: i,
    params: settings[i - 1],
    config: configs[i - 1],
    finished: r?.finished ?? false,
    ...(r ? { bestEpoch: r.bestEpoch, valid: r.valid } : {}),
  });
  for (let i = 1; i <= configs.length; i++) {
    trials.push(record(i, await readFinished(`${opts.outDir}/trial-${i}`)));
  }
  const res: TuneResults = { space, trials };
  const save = () =>
    writeTextFileAtomic(
      `${opts.outDir}/tune.json`,
      JSON.stringify(res, null, 2) + "\n",
    );
  for (let i = 1; i <= configs.length; i++) {
    if (!inPart(i, opts.only) || trials[i - 1].finished) continue;
    if (
      opts.hours !== undefined &&
      (performance.now() - t0) / 3.6e6 >= opts.hours
    ) {
      opts.progress?.log(
        `-- --hours ${opts.hours} spent: trial ${i} not started`,
      );
      break;
    }
    const cfg = configs[i - 1];
    const key = datasetKey(cfg);
    if (!cache.has(key)) cache.set(key, await loadDataset(cfg));
    opts.progress?.log(
      `== trial ${i}/${configs.length} ${JSON.stringify(settings[i - 1])}`,
    );
    const report = await runTraining(cfg, backend, {
      dataset: cache.get(key),
      outDir: `${opts.outDir}/trial-${i}`,
      resume: true,
      progress: opts.progress,
    });
    trials[i - 1] = record(i, report);
    await save();
  }
  // Trials of other processes may have finished meanwhile.
  for (const t of trials) {
    if (t.finished) continue;
    trials[t.trial - 1] = record(
      t.trial,
      await readFinished(`${opts.outDir}/trial-${t.trial}`),
    );
  }
  if (trials.every((t) => t.finished)) {
    const best = chooseTrial(trials);
    if (best) {
      res.chosen = {
        trial: best.trial,
        params: best.params,
        validNDCG20: best.valid!.all["NDCG@20"],
      };
      await save();
      if (opts.finalSeeds && opts.finalSeeds.length > 0) {
        opts.progress?.log(
          `== final: trial ${best.trial} with seeds ${
            opts.finalSeeds.join(", ")
          }`,
        );
        res.final = await runComparison(
          { [`trial-${best.trial}`]: best.config },
          backend,
          {
            outDir: `${opts.outDir}/final`,
            resume: true,
            progress: opts.progress,
            seeds: opts.finalSeeds,
            runDir: (_, seed) => `seed-${seed}`,
          },
        );
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
 * ```
 */
export function trialTable(res: TuneResults): string {
  const keys = [...new Set(res.trials.flatMap((t) => Object.keys(t.params)))];
  const f = (v: number | undefined) => v === undefined ? "-" : v.toFixed(4);
  const show = (v: unknown) =>
    typeof v === "number" && !Number.isInteger(v)
      ? String(Number(v.toPrecision(4)))
      : String(v);
  const head = `| trial | ${
    keys.join(" | ")
  } | valid HR@20 | valid NDCG@20 | best epoch |`;
  const sep = "|---|" + "---|".repeat(keys.length + 3);
  const lines = res.trials.map((t) =>
    `| ${t.trial}${res.chosen?.trial === t.trial ? " *" : ""} | ${
      keys.map((k) => show(t.params[k])).join(" | ")
    } | ${f(t.valid?.all?.["HR@20"])} | ${f(t.valid?.all?.["NDCG@20"])} | ${
      t.finished ? t.bestEpoch : "not finished"
    } |`
  );
  return [head, sep, ...lines].join("\n") + "\n";
}
