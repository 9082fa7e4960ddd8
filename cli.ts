/**
 * The seqssl command line: `train`, `eval`, `recommend`, `export`, `compare`,
 * `tune`, `report`, `config`.
 *
 * ```sh
 * deno run -A cli.ts train                       # SASRec on the embedded synthetic data
 * deno run -A cli.ts train --method srma --help  # SRMA's keys, defaults and docs
 * deno run -A cli.ts train --data ../shared/data/Beauty.txt --out runs/beauty
 * deno run -A cli.ts eval --checkpoint runs/beauty/best.ckpt --data ../shared/data/Beauty.txt
 * deno run -A cli.ts recommend --checkpoint runs/beauty/best.ckpt --data ... --k 20 --output recs.tsv
 * deno run -A cli.ts export --checkpoint runs/beauty/best.ckpt --format onnx --output model.onnx
 * deno run -A cli.ts train --seeds 1,2,3 --out runs/sasrec --report   # mean ± std, report.html
 * deno run -A cli.ts compare --grid g.yaml --seeds 1,2,3 --baseline SASRec --out runs/g --report
 * deno run -A cli.ts report runs/g                  # report.html from a run or comparison folder
 * deno run -A cli.ts compare --grid bench/repro/srma_ablation.yaml --data ... --out runs/ablation
 * deno run -A cli.ts tune --space space.yaml --trials 20 --out runs/tune   # validation-chosen settings
 * deno run -A cli.ts config --method srma --set dropK=3   # the effective config, as YAML
 * ```
 *
 * @module
 */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from "node:util";
import denoJson from "./deno.json" with { type: "json" };
import { initBackend } from "./lib/backend/init.ts";
import { evaluateModel, loadModel, runTraining } from "./lib/experiment.ts";
import { recommend } from "./lib/eval/recommend.ts";
import { itemLabel } from "./lib/serving/catalogue.ts";
import { loadServingModel, readServingCheckpoint } from "./lib/serving/load.ts";
import { exportCheckpoint } from "./lib/serving/export.ts";
import { parseRequests } from "./lib/serving/requests.ts";
import { answerRequests } from "./lib/serving/respond.ts";
import {
  parseSetting,
  parseSettingValue,
  type TrainConfig,
} from "./lib/training/config.ts";
import {
  type ConfigLayer,
  makeConfig,
  resolveConfig,
} from "./lib/config/resolve.ts";
import { readYamlFile, yamlLayer } from "./lib/config/yaml_file.ts";
import { commonHelp, configYaml, methodHelp } from "./lib/config/describe.ts";
import { methods } from "./lib/methods/registry.ts";
import { makeProgress } from "./lib/util/progress.ts";
import { writeFileAtomic, writeTextFileAtomic } from "./lib/util/atomic.ts";
import type { GroupedMetrics } from "./lib/eval/metrics.ts";
import {
  gridBackend,
  gridConfigs,
  markdownTable,
  parseSeeds,
  runComparison,
} from "./lib/compare.ts";
import {
  parseOnly,
  parseSpace,
  runTune,
  trialConfigs,
  trialTable,
} from "./lib/tune.ts";
import { metricTable } from "./lib/eval/format.ts";
import { reportFromFolder } from "./lib/report/from_folder.ts";
import type { Progress } from "./lib/util/progress.ts";

/** The version, from deno.json. */
export const VERSION: string = denoJson.version;

function usage(): string {
  return `seqssl ${VERSION}: self-supervised sequential recommendation

usage:
  deno run -A cli.ts train [options]
  deno run -A cli.ts eval --checkpoint FILE [--data FILE] [--backend B] [--json]
  deno run -A cli.ts recommend --checkpoint FILE [--data FILE] [--k 20] --output FILE
  deno run -A cli.ts recommend --checkpoint FILE --input FILE|- [--k 20] [--output FILE]
  deno run -A cli.ts export --checkpoint FILE --format onnx|npy --output FILE [--k 20]
  deno run -A cli.ts compare --grid FILE [--only NAME]... [--seeds 1,2,3] [--baseline NAME]
                    [--data FILE] [--out DIR] [--resume] [--report] [--json]
  deno run -A cli.ts tune --space FILE --out DIR [--trials N] [--hours H] [--only I/K]
                    [--seeds 1,2,3] [--no-final] [--data FILE] [--set K=V]... [--json]
  deno run -A cli.ts report PATH [--out DIR] [--baseline NAME] [--data FILE] [--no-pictures]
  deno run -A cli.ts config [train options]   print the effective config as YAML
  deno run -A cli.ts COMMAND --help | --version

train options:
  --method NAME       ${
    methods().map((m) => m.name).join(", ")
  } (default sasrec);
                      train --method NAME --help lists its keys
  --preset NAME       the method's named regime under every other setting:
                      paper = its paper's (README, Paper regimes); none (default)
  --data FILE         data file; default: the embedded synthetic data set
  --format F          sequences (user item item ..., default) | interactions (CSV/TSV)
  --config FILE       YAML config (any config key); flags override it
  --backend B         auto (default) | webgpu | wasm | cpu
  --epochs N          most epochs (default 200; 20 on the embedded synthetic data)
  --seed N            seed of every random choice
  --out DIR           write checkpoints and result.json to DIR
  --resume            continue from DIR/last.ckpt
  --json              print one JSON result on stdout, no progress
  --set KEY=VALUE     any config key of the run (repeatable), e.g. --set lr=0.0005
  --seeds 1,2,3       train once per seed (in DIR/seed-<s>, each resumable) and
                      report mean ± std (DIR/table.md, DIR/results.json)
  --report            write DIR/report.html and DIR/figures/*.svg at the end

compare: trains every variant of a YAML grid ({base: {...}, variants: {name: {...}}})
  on the same data, each in DIR/<variant> (resumable), and writes DIR/table.md and
  DIR/results.json; --data, --format, --backend, --epochs, --seed, --set apply to all.
  --only NAME (repeatable) trains just those variants, so that processes or machines
  sharing DIR can split a grid; a last run without --only, with --resume, skips the
  finished variants and writes the whole table. --seeds 1,2,3 runs every variant
  once per seed (DIR/<variant>/seed-<s>; splittable the same way, or by giving each
  process some of the seeds) and reports mean ± std; --baseline NAME adds paired
  tests (t-test, Wilcoxon signed-rank) of each variant against NAME on per-user
  NDCG@20 and HR@20, paired over users and seeds; --report writes DIR/report.html.
  Every variant runs on one backend.

tune: a hyper-parameter search over a YAML space ({base: {...}, search: grid |
  random, seed: N, params: {key: [values] | {min, max, log}}}; ranges need
  search: random). Each trial trains with early stopping on validation in
  DIR/trial-<i> (a finished trial is skipped, an interrupted one resumes);
  --trials N caps the trials (random search: N draws, default 20), --hours H
  starts no trial after H hours; --only I/K runs trials i with (i-1) mod K = I-1,
  so K processes sharing DIR split them. When every trial has finished, the one
  with the best VALIDATION NDCG@20 is chosen (test figures are never used) and,
  unless --no-final, re-run with --seeds (default 1,2,3) in DIR/final/seed-<s>
  and reported as mean ± std. With datasets: [FILE, ...] in the space, every
  trial trains on each (DIR/trial-<i>/<name>) and the choice is the trial whose
  validation NDCG@20 is nearest the best trial's on every data set (the largest
  smallest ratio); the final seeds run on each. DIR/tune.json holds the space, every trial's
  config and validation figures, the choice and the final runs.

report: writes PATH/report.html (one self-contained page: inline SVG, nothing
  fetched) and PATH/figures/*.svg from a run's folder (result.json), a
  train --seeds or compare folder (results.json), or either file; the
  embedding pictures are computed from each variant's first-seed best.ckpt
  (--data replaces the data file recorded in it; --no-pictures skips them).
`;
}

const EVAL_USAGE =
  `usage: deno run -A cli.ts eval --checkpoint FILE [--data FILE] [--format F] [--backend B] [--json]

Evaluates a checkpoint (best.ckpt or last.ckpt) on validation and test with the
config it was trained with; --data/--format replace its data file.`;

const RECOMMEND_USAGE =
  `usage: deno run -A cli.ts recommend --checkpoint FILE [--data FILE] [--format F] [--backend B] [--k 20] --output FILE
       deno run -A cli.ts recommend --checkpoint FILE --input FILE|- [--k 20] [--backend B] [--output FILE]

Without --input: writes each training user's top-k unseen items (a TSV: user,
then the items, by their original names when the data has them).

With --input: recommends after new sequences, from the checkpoint alone (no
training data needed). The input is JSON Lines, one request per line:
  {"id": "s1", "items": ["green-tea", "teapot"]}
with the items oldest first, named as in the training data: the original names
when the model was trained from an interactions file (--format interactions),
else the item ids 1..N. The output (--output FILE, or stdout) is JSON Lines, one
answer per request in input order:
  {"id": "s1", "items": [...], "scores": [...], "unknown": [...]}
with the top-k items the sequence does not contain, best first, their scores,
and the request's items the model does not know (left out of the sequence; a
request with no known item gets no items). A malformed line is an error naming
the file and the line, and nothing is written.`;

const EXPORT_USAGE =
  `usage: deno run -A cli.ts export --checkpoint FILE --format onnx|npy --output FILE [--k 20] [--repeatable]

Writes a trained model in a standard format (needs only the checkpoint):

  --format onnx   the encoder and scoring head as one ONNX graph (opset 17), for
                  ONNX Runtime on servers, Triton or browsers. Input 'items':
                  int64 [batch, L], item ids (1..N) left-padded with 0; outputs
                  'top_ids' int64 [batch, k] (best first, the row's own items
                  excluded), 'top_scores' float [batch, k], 'scores' float
                  [batch, N] (column j = item j+1, nothing excluded) and
                  'embedding' float [batch, d]. Item names, when the model was
                  trained from an interactions file, are in the metadata
                  'seqssl.item_names' (a JSON list, entry i = item i).
  --format npy    the item table, float32 [N, d] (row j = item j+1), for
                  approximate-nearest-neighbour indexes: an item's score is
                  its row dotted with the graph's 'embedding'.
  --k N           onnx: the top-k size in the graph (default 20, at most N)
  --repeatable    onnx: keep the row's own items rankable (default: excluded)

The file is written to a temporary name and renamed.`;

function metricLine(name: string, m: GroupedMetrics | undefined): string {
  if (!m) return `${name}: (not evaluated)`;
  const f = (x: number) => x.toFixed(4);
  const a = m.all;
  return `${name}: HR@5 ${f(a["HR@5"])} HR@10 ${f(a["HR@10"])} HR@20 ${
    f(a["HR@20"])
  } ` +
    `NDCG@5 ${f(a["NDCG@5"])} NDCG@10 ${f(a["NDCG@10"])} NDCG@20 ${
      f(a["NDCG@20"])
    } ` +
    `| head NDCG@20 ${f(m.head["NDCG@20"])} tail NDCG@20 ${
      f(m.tail["NDCG@20"])
    }`;
}

/** Epochs on the embedded synthetic data when none are asked for. */
const QUICK_EPOCHS = 20;

/** Options shared by `train`, `config` and `compare`. */
const RUN_OPTIONS = {
  data: { type: "string" },
  format: { type: "string" },
  backend: { type: "string" },
  epochs: { type: "string" },
  seed: { type: "string" },
  out: { type: "string" },
  resume: { type: "boolean" },
  json: { type: "boolean" },
  set: { type: "string", multiple: true },
  seeds: { type: "string" },
  report: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Options of `train` and `config`. */
const TRAIN_OPTIONS = {
  ...RUN_OPTIONS,
  method: { type: "string" },
  preset: { type: "string" },
  config: { type: "string" },
} as const;

/**
 * The config layer of the command line: the shared flags (each located at
 * its flag, e.g. `--epochs`) and every `--set KEY=VALUE` (at `--set`).
 */
function flagLayer(values: {
  method?: string;
  preset?: string;
  data?: string;
  format?: string;
  backend?: string;
  epochs?: string;
  seed?: string;
  set?: string[];
}): ConfigLayer {
  const out: Record<string, unknown> = {
    method: values.method,
    preset: values.preset,
    data: values.data,
    format: values.format,
    backend: values.backend,
    epochs: values.epochs === undefined
      ? undefined
      : parseSettingValue(values.epochs),
    seed: values.seed === undefined
      ? undefined
      : parseSettingValue(values.seed),
  };
  const flags = new Set(Object.keys(out).filter((k) => out[k] !== undefined));
  for (const kv of values.set ?? []) {
    const [k, v] = parseSetting(kv);
    out[k] = v;
    flags.delete(k);
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return {
    values: out,
    where: (k) => flags.has(k) ? `--${k}` : "--set",
  };
}

/** The config of a `train` (or `config`) command line: defaults, file, flags. */
/**
 * node:util's parseArgs, except that a negative number after an option that
 * takes a value is that value (`--seed -3`), so the option's own check can
 * say what it expects instead of "ambiguous".
 */
function parseArgs<T extends ParseArgsConfig>(config: T) {
  const options = config.options ?? {};
  const args = [...(config.args ?? [])];
  for (let i = 0; i + 1 < args.length; i++) {
    const m = /^--([^=]+)$/.exec(args[i]);
    if (
      m && options[m[1]]?.type === "string" &&
      /^-(\d|\.\d|Infinity$)/.test(args[i + 1])
    ) {
      args.splice(i, 2, `${args[i]}=${args[i + 1]}`);
    }
  }
  return nodeParseArgs({ ...config, args });
}

async function trainConfig(values: {
  config?: string;
  method?: string;
  epochs?: string;
  set?: string[];
}): Promise<TrainConfig> {
  const file = values.config
    ? yamlLayer(await readYamlFile(values.config))
    : undefined;
  const flags = flagLayer(values);
  const cfg = resolveConfig(file ? [file, flags] : [flags]);
  // The embedded demo data keeps improving slowly for ~100 epochs; unless
  // told otherwise (or a preset names its epochs), train it for QUICK_EPOCHS
  // so the quick start takes minutes.
  if (
    !cfg.data && cfg.preset === "none" && flags.values.epochs === undefined &&
    file?.values.epochs === undefined
  ) {
    return makeConfig({ epochs: QUICK_EPOCHS }, { base: cfg });
  }
  return cfg;
}

function trainHelp(method: string | undefined): string {
  return method === undefined
    ? `${usage()}\n${commonHelp()}`
    : methodHelp(method);
}

async function configCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: TRAIN_OPTIONS, strict: true });
  if (values.help) {
    console.log(
      "usage: deno run -A cli.ts config [train options]\n\n" +
        "Prints the configuration a `train` command line with the same options would\n" +
        "run (defaults, then --config, then flags) as YAML: every key that applies to\n" +
        "its method and encoder, and no other. The output is a valid --config file.",
    );
    return;
  }
  console.log(configYaml(await trainConfig(values)).trimEnd());
}

async function train(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: TRAIN_OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(trainHelp(values.method));
    return;
  }
  const cfg = await trainConfig(values);
  if (values.resume && !values.out) {
    throw new Error("--resume: expected --out DIR with a last.ckpt in it");
  }
  if (values.report && !values.out) {
    throw new Error("--report: expected --out DIR (the report goes there)");
  }
  const seeds = values.seeds === undefined
    ? undefined
    : parseSeeds(values.seeds);
  const backend = await initBackend(cfg.backend, {
    nativeBlas: cfg.nativeBlas,
  });
  const json = values.json === true;
  const progress = makeProgress({ enabled: !json });
  if (!json) {
    progress.log(
      `seqssl train: method ${cfg.method}, backend ${backend.name} (${backend.reason}), ` +
        `data ${cfg.data || "embedded synthetic default"}` +
        (seeds ? `, seeds ${seeds.join(", ")}` : ""),
    );
  }
  if (seeds) {
    const res = await runComparison({ [cfg.method]: cfg }, backend, {
      outDir: values.out,
      resume: values.resume,
      progress,
      seeds,
      runDir: (_, seed) => `seed-${seed}`,
    });
    if (json) console.log(JSON.stringify(res));
    else {
      for (const r of res.rows) {
        console.log(`seed ${r.seed}: best epoch ${r.report.bestEpoch}`);
        console.log(metricLine("  test ", r.report.test));
      }
      console.log(markdownTable(res.rows));
    }
    if (values.out && values.report) {
      await writeReportCmd(values.out, { json, progress });
    }
    return;
  }
  const report = await runTraining(cfg, backend, {
    outDir: values.out,
    resume: values.resume ? "required" : false,
    progress,
  });
  if (json) {
    console.log(JSON.stringify(report));
  } else {
    console.log(
      `best epoch ${report.bestEpoch} of ${report.epochs.length}, ` +
        `${report.secondsPerEpoch.toFixed(1)} s/epoch, wall ${
          report.wallSeconds.toFixed(1)
        } s` +
        (report.totalWallSeconds > report.wallSeconds + 1
          ? ` (${report.totalWallSeconds.toFixed(1)} s with earlier processes)`
          : ""),
    );
    console.log(metricLine("valid", report.valid));
    console.log(metricLine("test ", report.test));
    if (report.test) console.log(metricTable(report.test));
    if (values.out) {
      // --epochs 0 trains nothing, so only result.json is written.
      const ckpts = report.epochs.length > 0 ? ", best.ckpt, last.ckpt" : "";
      console.log(`wrote ${values.out}/result.json${ckpts}`);
    }
  }
  if (values.out && values.report) {
    await writeReportCmd(values.out, { json, progress });
  }
}

/** The report of the runs in `dir` (after `train` or `compare` with --report). */
async function writeReportCmd(
  dir: string,
  opts: {
    json: boolean;
    progress: Progress;
    baseline?: string;
    data?: string;
    pictures?: boolean;
    out?: string;
  },
): Promise<void> {
  const written = await reportFromFolder(dir, {
    out: opts.out,
    baseline: opts.baseline,
    data: opts.data,
    pictures: opts.pictures,
    progress: opts.progress,
  });
  const html = written[written.length - 1];
  const msg = `wrote ${html} and ${written.length - 1} figures (SVG)`;
  if (opts.json) console.error(msg);
  else console.log(msg);
}

async function reportCmd(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      out: { type: "string" },
      baseline: { type: "string" },
      data: { type: "string" },
      backend: { type: "string" },
      "no-pictures": { type: "boolean" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    throw new Error(
      `report: expected one PATH (a run's or comparison's folder, result.json or results.json), found ${positionals.length}`,
    );
  }
  const pictures = values["no-pictures"] !== true;
  if (pictures) {
    await initBackend(
      makeConfig({ backend: values.backend ?? "wasm" }).backend,
    );
  }
  await writeReportCmd(positionals[0], {
    json: false,
    progress: makeProgress({ enabled: true }),
    baseline: values.baseline,
    data: values.data,
    pictures,
    out: values.out,
  });
}

async function evalCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: "string" },
      data: { type: "string" },
      format: { type: "string" },
      backend: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(EVAL_USAGE);
    return;
  }
  if (!values.checkpoint) throw new Error("eval: expected --checkpoint FILE");
  const backend = await initBackend(
    makeConfig({ backend: values.backend ?? "auto" }).backend,
  );
  const m = await loadModel(values.checkpoint, {
    data: values.data,
    format: values.format as TrainConfig["format"] | undefined,
  });
  const res = await evaluateModel(m);
  m.model.dispose();
  if (values.json) {
    console.log(
      JSON.stringify({
        checkpoint: values.checkpoint,
        backend,
        data: m.dataset.name,
        ...res,
      }),
    );
  } else {
    console.log(metricLine("valid", res.valid));
    console.log(metricLine("test ", res.test));
    console.log(metricTable(res.test));
  }
}

async function recommendCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: "string" },
      data: { type: "string" },
      format: { type: "string" },
      input: { type: "string" },
      backend: { type: "string" },
      k: { type: "string" },
      output: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(RECOMMEND_USAGE);
    return;
  }
  if (!values.checkpoint) {
    throw new Error("recommend: expected --checkpoint FILE");
  }
  if (values.input !== undefined) {
    for (const flag of ["data", "format"] as const) {
      if (values[flag] !== undefined) {
        throw new Error(
          `--${flag}: expected no --${flag} with --input (new sequences are ` +
            `scored from the checkpoint alone)`,
        );
      }
    }
  } else if (!values.output) {
    throw new Error("recommend: expected --output FILE (or --input FILE|-)");
  }
  const k = values.k === undefined ? 20 : Number(values.k);
  if (!Number.isInteger(k) || k < 1 || k > 1000) {
    throw new Error(`--k: expected an integer in 1..1000, found '${values.k}'`);
  }
  if (values.input !== undefined) {
    await recommendInput(values.checkpoint, values.input, {
      k,
      backend: values.backend,
      output: values.output,
    });
    return;
  }
  await initBackend(makeConfig({ backend: values.backend ?? "auto" }).backend);
  const m = await loadModel(values.checkpoint, {
    data: values.data,
    format: values.format as TrainConfig["format"] | undefined,
  });
  const { ids } = await recommend(m.model.scorer, m.dataset.sequences, {
    k,
    maxLen: m.config.maxLen,
    numItems: m.dataset.numItems,
  });
  m.model.dispose();
  const catalogue = { numItems: m.dataset.numItems, names: m.dataset.itemIds };
  // One item per column: names may hold spaces, never a tab (the reader
  // splits on it) unless quoted in a CSV, which a TSV cannot show.
  const itemName = (i: number) => {
    const name = String(itemLabel(catalogue, i));
    if (/[\t\r\n]/.test(name)) {
      throw new Error(
        `recommend: item ${i}'s name ${
          JSON.stringify(name)
        } holds a tab or line break, which the TSV output cannot show; use recommend --input (JSON Lines)`,
      );
    }
    return name;
  };
  const lines = [
    ["user", ...Array.from({ length: k }, (_, j) => `item${j + 1}`)].join("\t"),
  ];
  m.dataset.userIds.forEach((u, r) => {
    lines.push(
      [
        u,
        ...Array.from(
          ids.subarray(r * k, (r + 1) * k).filter((i) => i > 0),
          itemName,
        ),
      ].join("\t"),
    );
  });
  await writeTextFileAtomic(values.output!, lines.join("\n") + "\n");
  console.log(
    `wrote top-${k} for ${m.dataset.userIds.length} users to ${values.output}`,
  );
}

/** `recommend --input`: JSON Lines requests in, JSON Lines answers out. */
async function recommendInput(
  checkpoint: string,
  input: string,
  opts: { k: number; backend?: string; output?: string },
): Promise<void> {
  const name = input === "-" ? "stdin" : input;
  let text: string;
  try {
    text = input === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(input);
  } catch (e) {
    throw new Error(
      `${name}: expected a readable JSON Lines file, found ${
        (e as Error).message
      }`,
    );
  }
  const requests = parseRequests(text, name);
  await initBackend(makeConfig({ backend: opts.backend ?? "auto" }).backend);
  const m = await loadServingModel(checkpoint);
  let answers;
  try {
    answers = await answerRequests(m.model.scorer, requests, m.catalogue, {
      k: opts.k,
      maxLen: m.config.maxLen,
    });
  } finally {
    m.model.dispose();
  }
  const out = answers.map((a) => JSON.stringify(a) + "\n").join("");
  const unknown = answers.reduce((n, a) => n + a.unknown.length, 0);
  const note = `${answers.length} requests, top-${opts.k}` +
    (unknown > 0
      ? `; ${unknown} unknown items (listed under "unknown" in ${
        answers.filter((a) => a.unknown.length > 0).length
      } answers)`
      : "");
  if (opts.output === undefined || opts.output === "-") {
    await Deno.stdout.write(new TextEncoder().encode(out));
    console.error(note);
  } else {
    await writeTextFileAtomic(opts.output, out);
    console.log(`wrote ${opts.output}: ${note}`);
  }
}

async function exportCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      checkpoint: { type: "string" },
      format: { type: "string" },
      output: { type: "string" },
      k: { type: "string" },
      repeatable: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(EXPORT_USAGE);
    return;
  }
  if (!values.checkpoint) throw new Error("export: expected --checkpoint FILE");
  const format = values.format;
  if (format !== "onnx" && format !== "npy") {
    throw new Error(
      `--format: expected onnx or npy, found ${
        format === undefined ? "none" : `'${format}'`
      }`,
    );
  }
  if (!values.output) throw new Error("export: expected --output FILE");
  if (format === "npy" && (values.k !== undefined || values.repeatable)) {
    throw new Error(
      `${
        values.k !== undefined ? "--k" : "--repeatable"
      }: expected only with --format onnx (the .npy file is the item table)`,
    );
  }
  const sc = await readServingCheckpoint(values.checkpoint);
  const N = sc.catalogue.numItems;
  const k = values.k === undefined ? Math.min(20, N) : Number(values.k);
  if (!Number.isInteger(k) || k < 1 || k > N) {
    throw new Error(
      `--k: expected an integer in 1..${N} (the model's items), found '${values.k}'`,
    );
  }
  const bytes = exportCheckpoint(sc, format, {
    k,
    repeatable: values.repeatable,
  });
  try {
    await writeFileAtomic(values.output, bytes);
  } catch (e) {
    throw new Error(
      `${values.output}: expected a writable file path, found ${
        (e as Error).message
      }`,
    );
  }
  const mb = (bytes.length / 1e6).toFixed(2);
  console.log(
    format === "onnx"
      ? `wrote ${values.output} (${mb} MB): ${sc.config.method} (${sc.config.encoder}), ` +
        `${N} items, top-${k}${values.repeatable ? ", repeatable" : ""}${
          sc.catalogue.names ? ", item names in its metadata" : ""
        }`
      : `wrote ${values.output} (${mb} MB): item table float32 [${N}, ${sc.config.hidden}]`,
  );
}

async function compareCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...RUN_OPTIONS,
      grid: { type: "string" },
      only: { type: "string", multiple: true },
      baseline: { type: "string" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage());
    return;
  }
  if (!values.grid) throw new Error("compare: expected --grid FILE");
  const file = await readYamlFile(values.grid);
  const flags = flagLayer(values);
  const configs = gridConfigs(file.value, flags.values, {
    source: values.grid,
    only: values.only,
    file,
    overridesWhere: flags.where,
  });
  const { backend: wanted, nativeBlas } = gridBackend(configs);
  const backend = await initBackend(wanted, { nativeBlas });
  if (values.report && !values.out) {
    throw new Error("--report: expected --out DIR (the report goes there)");
  }
  const json = values.json === true;
  const progress = makeProgress({ enabled: !json });
  const res = await runComparison(configs, backend, {
    outDir: values.out,
    resume: values.resume,
    progress,
    seeds: values.seeds === undefined ? undefined : parseSeeds(values.seeds),
    baseline: values.baseline,
  });
  if (json) console.log(JSON.stringify(res));
  else {
    console.log(markdownTable(res.rows, {
      baseline: res.baseline,
      significance: res.significance,
    }));
  }
  if (values.out && values.report) {
    await writeReportCmd(values.out, { json, progress });
  }
}

/** Trials of a random search without --trials. */
const DEFAULT_RANDOM_TRIALS = 20;

async function tuneCmd(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      ...RUN_OPTIONS,
      space: { type: "string" },
      trials: { type: "string" },
      hours: { type: "string" },
      only: { type: "string" },
      "no-final": { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage());
    return;
  }
  if (!values.space) throw new Error("tune: expected --space FILE");
  if (!values.out) throw new Error("tune: expected --out DIR");
  if (values.report) {
    throw new Error(
      "--report: not available with tune (run report on DIR/final)",
    );
  }
  const count = (flag: string, text: string | undefined, int: boolean) => {
    if (text === undefined) return undefined;
    const v = Number(text);
    if (
      !/\S/.test(text) || !Number.isFinite(v) || v <= 0 ||
      (int && !Number.isInteger(v))
    ) {
      throw new Error(
        `--${flag}: expected a positive ${
          int ? "integer" : "number"
        }, found '${text}'`,
      );
    }
    return v;
  };
  const trials = count("trials", values.trials, true);
  const hours = count("hours", values.hours, false);
  const only = values.only === undefined ? undefined : parseOnly(values.only);
  const file = await readYamlFile(values.space);
  const space = parseSpace(file.value, { file });
  if (space.datasets && values.data !== undefined) {
    throw new Error(
      `--data: not with a space that lists datasets (${values.space}:${
        file.line("datasets")
      }): the trials train on each of them`,
    );
  }
  const flags = flagLayer(values);
  const configs = trialConfigs(space, flags.values, {
    n: trials ??
      (space.search === "random" ? DEFAULT_RANDOM_TRIALS : undefined),
    file,
    overridesWhere: flags.where,
  });
  const { backend: wanted, nativeBlas } = gridBackend(
    Object.fromEntries(configs.map((c, i) => [`trial ${i + 1}`, c])),
  );
  const backend = await initBackend(wanted, { nativeBlas });
  const json = values.json === true;
  const progress = makeProgress({ enabled: !json });
  const res = await runTune(space, configs, backend, {
    outDir: values.out,
    only,
    hours,
    finalSeeds: values["no-final"]
      ? undefined
      : parseSeeds(values.seeds ?? "1,2,3"),
    progress,
  });
  if (json) console.log(JSON.stringify(res));
  else {
    console.log(trialTable(res));
    if (!res.chosen) {
      const done = res.trials.filter((t) => t.finished).length;
      console.log(
        `${done} of ${res.trials.length} trials finished; run again (without --only) to choose`,
      );
    } else {
      console.log(
        `chosen: trial ${res.chosen.trial} ${
          JSON.stringify(res.chosen.params)
        } (valid NDCG@20 ${res.chosen.validNDCG20.toFixed(4)}${
          res.chosen.relative === undefined
            ? ""
            : ` on average; at least ${
              (100 * res.chosen.relative).toFixed(1)
            }% of the best trial's on every data set`
        })`,
      );
    }
    if (res.final) console.log(markdownTable(res.final.rows));
    for (const [name, final] of Object.entries(res.finalByData ?? {})) {
      console.log(`${name}:\n${markdownTable(final.rows)}`);
    }
    console.log(`wrote ${values.out}/tune.json`);
  }
}

/** Run the CLI with `args`; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  try {
    if (cmd === "train") await train(rest);
    else if (cmd === "eval") await evalCmd(rest);
    else if (cmd === "recommend") await recommendCmd(rest);
    else if (cmd === "export") await exportCmd(rest);
    else if (cmd === "compare") await compareCmd(rest);
    else if (cmd === "tune") await tuneCmd(rest);
    else if (cmd === "report") await reportCmd(rest);
    else if (cmd === "config") await configCmd(rest);
    else if (cmd === "--version" || cmd === "-V" || cmd === "version") {
      console.log(`seqssl ${VERSION}`);
    } else if (
      cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h"
    ) {
      console.log(usage());
      return cmd === undefined ? 1 : 0;
    } else {
      console.error(`seqssl: unknown command '${cmd}'\n\n${usage()}`);
      return 2;
    }
    return 0;
  } catch (e) {
    console.error(`seqssl: error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
