// The scale benchmark's driver: runs points of bench/scale_bench.ts, each in
// its own process (a fresh wasm heap), appending their JSON lines to
// DIR/points.jsonl, and prints the README's scale table from them.
//
//   deno run -A bench/scale_grid.ts run [--dir bench/results/scale] [--grid small|full]
//   deno run -A bench/scale_grid.ts table [--dir bench/results/scale]
//
// `--grid small` (the default) is what a shared 2-core machine can afford:
// 10^4 and 10^5 items with 10^5 users, a fixed number of steps and a subset
// of users evaluated, extrapolated to the epoch and to every user (the JSON
// marks which); 10^6 items at d = 64 (refused on wasm at once) and at d = 32
// with a few steps. `--grid full` runs every cell of 10^4..10^6 items x 10^5,
// 10^6 users, each loss, whole epochs and every user (hours to days on one
// machine). Runs are niced; points already in points.jsonl are skipped.
//
// The table: each measured cell as measured, and every cell of the 10^4..10^6
// x 10^5..10^6 grid not measured extrapolated from the measured ones of its
// loss and hidden size (marked "~"): seconds per step and evaluation seconds
// per user those of the measured point with the same items (other users),
// else linear in the items (fitted through the measured points); steps per
// epoch = ceil(users / 256); peak tensors are
// lib/training/memory.ts's estimate there, and a cell the wasm heap cannot
// hold says so (as `train` refuses it).
import { parseArgs } from "node:util";
import { stepMemory, WASM_TENSOR_BYTES } from "../lib/training/memory.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: {
    dir: { type: "string", default: "bench/results/scale" },
    grid: { type: "string", default: "small" },
  },
  allowPositionals: true,
  strict: true,
});
const dir = values.dir!;
const file = `${dir}/points.jsonl`;

/** One point: the scale_bench.ts flags. */
type Point =
  & { items: string; users: string; loss: string }
  & Record<
    string,
    string
  >;

const E4 = "10000", E5 = "100000", E6 = "1000000";
const SMALL: Point[] = [
  { items: E4, users: E5, loss: "sampled" }, // a whole epoch, every user
  { items: E4, users: E5, loss: "ce", steps: "20", "eval-users": "10000" },
  { items: E5, users: E5, loss: "sampled", steps: "20", "eval-users": "5000" },
  { items: E5, users: E5, loss: "ce", steps: "8", "eval-users": "5000" },
  { items: E6, users: E5, loss: "ce" }, // refused on wasm at d = 64
  // 40 steps timed, every user evaluated
  { items: E6, users: E5, loss: "sampled", steps: "40" },
  {
    items: E6,
    users: E5,
    loss: "sampled",
    hidden: "32",
    steps: "6",
    "eval-users": "1000",
  },
  {
    items: E6,
    users: E5,
    loss: "ce",
    hidden: "32",
    steps: "2",
    warmup: "1",
    "eval-users": "1000",
  },
];

function fullGrid(): Point[] {
  const out: Point[] = [];
  for (const items of [E4, E5, E6]) {
    for (const users of [E5, E6]) {
      for (const loss of ["ce", "sampled"]) out.push({ items, users, loss });
    }
  }
  return out;
}

interface Result {
  items: number;
  users: number;
  loss: string;
  hidden: number;
  refused?: string;
  secondsPerStep?: number;
  secondsPerEpoch?: number;
  epochExtrapolated?: boolean;
  evalSeconds?: number;
  evalExtrapolated?: boolean;
  evalUsers?: number;
  peakTensorMiBTrain?: number;
  peakTensorMiBEval?: number;
  wasmHeapMiB?: number | null;
  rssPeakMiB?: number;
  stepsTimed?: number;
  stepsPerEpoch?: number;
  /** Under which code it was measured, when not the current one. */
  note?: string;
}

async function readResults(): Promise<Result[]> {
  try {
    return (await Deno.readTextFile(file)).trim().split("\n").filter((l) => l)
      .map((l) => JSON.parse(l));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

const key = (
  p: { items: unknown; users: unknown; loss: unknown; hidden?: unknown },
) => `${p.items}/${p.users}/${p.loss}/${p.hidden ?? 64}`;

async function run(points: Point[]): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const done = new Set((await readResults()).map(key));
  for (const p of points) {
    if (done.has(key(p))) {
      console.error(`skip ${key(p)} (in ${file})`);
      continue;
    }
    const args = Object.entries(p).flatMap(([k, v]) => [`--${k}`, v]);
    console.error(`run ${args.join(" ")}`);
    const o = await new Deno.Command("nice", {
      args: [
        "-n",
        "5",
        Deno.execPath(),
        "run",
        "-A",
        "bench/scale_bench.ts",
        ...args,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const line = new TextDecoder().decode(o.stdout).trim().split("\n").pop();
    if (!o.success || !line?.startsWith("{")) {
      console.error(`  failed (exit ${o.code}): ${line ?? ""}`);
      continue;
    }
    await Deno.writeTextFile(file, line + "\n", { append: true });
    console.error(`  ${line}`);
  }
}

/** Least squares y = a + b x through the points (a constant for one). */
function fit(xs: number[], ys: number[]): (x: number) => number {
  if (xs.length === 1) return () => ys[0];
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const b = sxx > 0 ? sxy / sxx : 0;
  return (x) => my + b * (x - mx);
}

function fmtSeconds(s: number): string {
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 60) return `${(s / 60).toFixed(1)} min`;
  return `${s.toFixed(1)} s`;
}

function fmtMiB(m: number): string {
  return m >= 1024 ? `${(m / 1024).toFixed(1)} GiB` : `${m.toFixed(0)} MiB`;
}

function table(results: Result[]): string {
  const rows: string[] = [
    "| items | users | loss | d | s / epoch | eval (all users) | peak tensors (train) | wasm heap | how |",
    "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  const measured = new Map(results.map((r) => [key(r), r]));
  const n = (x: number) => x.toLocaleString("en-US");
  const cells: {
    items: number;
    users: number;
    loss: string;
    hidden: number;
  }[] = [];
  const hiddens = [...new Set(results.map((r) => r.hidden))].sort((a, b) =>
    b - a
  );
  for (const hidden of hiddens) {
    for (const items of [1e4, 1e5, 1e6]) {
      for (const users of [1e5, 1e6]) {
        for (const loss of ["ce", "sampled"]) {
          if (hidden !== 64 && items < 1e6) continue;
          cells.push({ items, users, loss, hidden });
        }
      }
    }
  }
  for (const c of cells) {
    const head = `| ${n(c.items)} | ${n(c.users)} | ${c.loss} | ${c.hidden} |`;
    const m = measured.get(key(c));
    const shape = {
      numItems: c.items,
      hidden: c.hidden,
      positions: 3200,
      loss: c.loss,
    };
    const est = stepMemory(shape).total;
    if (m?.refused || (!m && est > WASM_TENSOR_BYTES)) {
      rows.push(
        `${head} stops at once | - | ~${
          fmtMiB(est / 2 ** 20)
        } (estimate) | > 4 GiB | ${
          m ? "measured: refused before training" : "refused (estimate)"
        } |`,
      );
      continue;
    }
    if (m) {
      const how = [
        m.epochExtrapolated
          ? `${m.stepsTimed} of ${m.stepsPerEpoch} steps timed`
          : "whole epoch",
        m.evalExtrapolated
          ? `${n(m.evalUsers!)} users evaluated`
          : "every user evaluated",
        ...(m.note ? [m.note] : []),
      ].join("; ");
      rows.push(
        `${head} ${m.epochExtrapolated ? "~" : ""}${
          fmtSeconds(m.secondsPerEpoch!)
        } | ${m.evalExtrapolated ? "~" : ""}${fmtSeconds(m.evalSeconds!)} | ${
          fmtMiB(m.peakTensorMiBTrain!)
        } | ${
          m.wasmHeapMiB ? fmtMiB(m.wasmHeapMiB) : "-"
        } | measured (${how}) |`,
      );
      continue;
    }
    // Extrapolated from the measured points of the same loss and hidden.
    const same = results.filter((r) =>
      r.loss === c.loss && r.hidden === c.hidden && !r.refused &&
      r.secondsPerStep !== undefined
    );
    if (same.length === 0) {
      rows.push(
        `${head} - | - | ~${
          fmtMiB(est / 2 ** 20)
        } (estimate) | - | not measured |`,
      );
      continue;
    }
    // A point of the same catalogue (other users): its own step and
    // per-user evaluation costs; else lines through the items.
    const twin = same.filter((r) => r.items === c.items);
    const basis = twin.length > 0 ? twin : same;
    const step = fit(
      basis.map((r) => r.items),
      basis.map((r) => r.secondsPerStep!),
    );
    const evalPerUser = fit(
      basis.map((r) => r.items),
      basis.map((r) => r.evalSeconds! / r.users),
    );
    const epoch = Math.ceil(c.users / 256) * step(c.items);
    rows.push(
      `${head} ~${fmtSeconds(epoch)} | ~${
        fmtSeconds(evalPerUser(c.items) * c.users)
      } | ~${fmtMiB(est / 2 ** 20)} (estimate) | - | extrapolated${
        twin.length > 0 ? ` from ${n(twin[0].users)} users` : ""
      } |`,
    );
  }
  return rows.join("\n");
}

const cmd = positionals[0] ?? "table";
if (cmd === "run") {
  const grid = values.grid === "full" ? fullGrid() : SMALL;
  await run(grid);
  console.log(table(await readResults()));
} else if (cmd === "table") {
  console.log(table(await readResults()));
} else {
  throw new Error(`expected 'run' or 'table', found '${cmd}'`);
}
