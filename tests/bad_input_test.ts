// The bad-input corpus (tests/bad_input/): every case of cases.yaml runs the
// CLI as a subprocess and must exit non-zero with ONE line
// `seqssl: error: ...` holding the expected text (with the file and line,
// or the key, where they apply), no stack trace or library noise, and leave
// no new file in its output folder. Each case fails before any training
// (the diverging-loss case trains one tiny epoch); cases run four at a time.
import { parse as parseYaml } from "yaml";
import { synthetic } from "../lib/data/synthetic.ts";
import {
  decodeCheckpoint,
  encodeCheckpoint,
} from "../lib/training/checkpoint.ts";
import { lockFolder } from "../lib/util/lock.ts";
import { assert } from "./_assert.ts";

const HERE = new URL("./bad_input/", import.meta.url).pathname.replace(
  /\/$/,
  "",
);
const CLI = new URL("../cli.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const CONCURRENCY = 4;

/** One case of cases.yaml. */
interface Case {
  /** What it is about. */
  name: string;
  /** The item of issue 16 it shows fixed, if any. */
  issue?: number;
  /** CLI arguments, split on spaces, with {dir}, {tmp} and {out} replaced. */
  args: string;
  /** Deno permission flags, same placeholders (default -A). */
  deno?: string;
  /** A fixture folder copied into {out} first (e.g. a run to resume). */
  outFrom?: string;
  /** The test holds {out}'s lock while the case runs (a second run). */
  holdLock?: boolean;
  /** Texts the error line must contain, in this order. */
  expect: string[];
}

async function run(
  args: string[],
  denoFlags: string[],
  cwd: string,
): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, ...denoFlags, CLI, ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout) + dec.decode(o.stderr) };
}

async function listing(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    out.push(prefix + e.name);
    if (e.isDirectory) {
      out.push(...await listing(`${dir}/${e.name}`, `${prefix}${e.name}/`));
    }
  }
  return out.sort();
}

async function copyDir(from: string, to: string): Promise<void> {
  for await (const e of Deno.readDir(from)) {
    if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/**
 * Fixtures the corpus refers to as {tmp}/...: a small data file and one of
 * the same size with two items swapped, a one-epoch run on the first, and
 * checkpoints spoiled in each way a user may meet.
 */
async function makeFixtures(tmp: string): Promise<void> {
  const ds = synthetic({ seed: 1, numUsers: 80, numItems: 40, maxLen: 12 });
  const lines = ds.sequences.map((s, u) => `u${u} ${s.join(" ")}`);
  await Deno.writeTextFile(`${tmp}/small.txt`, lines.join("\n") + "\n");
  const s0 = ds.sequences[0];
  const other = [`u0 ${[s0[1], s0[0], ...s0.slice(2)].join(" ")}`];
  await Deno.writeTextFile(
    `${tmp}/small_other.txt`,
    [...other, ...lines.slice(1)].join("\n") + "\n",
  );
  const r = await run(
    [
      "train",
      ...`--data small.txt --epochs 1 --backend wasm --out run --set hidden=8 --set maxLen=12`
        .split(" "),
    ],
    ["-A"],
    tmp,
  );
  assert(r.code === 0, `fixture run failed:\n${r.out}`);
  const best = await Deno.readFile(`${tmp}/run/best.ckpt`);
  const ck = decodeCheckpoint(best, "best.ckpt");
  const nan = structuredClone(ck);
  const name = Object.keys(nan.tensors).find((k) => k.startsWith("p/"))!;
  nan.tensors[name].values[0] = NaN;
  await Deno.writeFile(`${tmp}/nan.ckpt`, encodeCheckpoint(nan));
  await Deno.writeFile(
    `${tmp}/noconfig.ckpt`,
    encodeCheckpoint({ meta: { kind: "best", epoch: 1 }, tensors: ck.tensors }),
  );
  await Deno.writeFile(`${tmp}/truncated.ckpt`, best.subarray(0, 200));
  await Deno.writeTextFile(`${tmp}/text.ckpt`, "epoch: 3\nlr: 0.001\n");
  await Deno.mkdir(`${tmp}/best_as_last`);
  await Deno.writeFile(`${tmp}/best_as_last/last.ckpt`, best);
  await Deno.mkdir(`${tmp}/finished`);
  await copyDir(`${tmp}/run`, `${tmp}/finished`);
  await Deno.mkdir(`${tmp}/truncated_last`);
  await Deno.writeFile(
    `${tmp}/truncated_last/last.ckpt`,
    (await Deno.readFile(`${tmp}/run/last.ckpt`)).subarray(0, 300),
  );
  await Deno.writeTextFile(`${tmp}/a_file`, "not a folder\n");
}

/** Check one case; returns the error line, or throws what went wrong. */
async function check(c: Case, tmp: string): Promise<string> {
  const out = await Deno.makeTempDir({ dir: tmp, prefix: "out-" });
  const cwd = await Deno.makeTempDir({ dir: tmp, prefix: "cwd-" });
  if (c.outFrom) await copyDir(`${tmp}/${c.outFrom}`, out);
  const fill = (s: string) =>
    s.replaceAll("{dir}", HERE).replaceAll("{tmp}", tmp).replaceAll(
      "{out}",
      out,
    );
  const args = c.args.trim().split(/\s+/).map(fill);
  const flags = (c.deno ?? "-A").trim().split(/\s+/).map(fill);
  const before = await listing(out);
  const lock = c.holdLock ? await lockFolder(out, "the corpus test") : null;
  let r: { code: number; out: string };
  try {
    r = await run(args, flags, cwd);
  } finally {
    lock?.release();
  }
  const problems: string[] = [];
  if (r.code === 0) problems.push("exit code 0");
  const errors = r.out.split("\n").filter((l) =>
    l.startsWith("seqssl: error:")
  );
  if (errors.length !== 1) {
    problems.push(`${errors.length} 'seqssl: error:' lines`);
  }
  const line = errors[0] ?? "";
  let at = 0;
  for (const e of c.expect) {
    const i = line.indexOf(fill(e), at);
    if (i < 0) problems.push(`no '${fill(e)}' (in order)`);
    else at = i + fill(e).length;
  }
  if (/^\s+at\s|Stack backtrace|Uncaught|Aborted\(|^\s*error: /m.test(r.out)) {
    problems.push("a stack trace or library noise");
  }
  const after = await listing(out);
  if (after.join("\n") !== before.join("\n")) {
    problems.push(
      `--out changed: [${before}] -> [${after}]`,
    );
  }
  const cwdLeft = await listing(cwd);
  if (cwdLeft.length > 0) problems.push(`files left in cwd: ${cwdLeft}`);
  if (problems.length > 0) {
    throw new Error(
      `case '${c.name}': ${problems.join("; ")}\n--- output:\n${r.out}`,
    );
  }
  return line;
}

Deno.test("bad-input corpus: every case exits non-zero with one clear line, no trace, nothing left in --out", async () => {
  const cases = parseYaml(
    await Deno.readTextFile(`${HERE}/cases.yaml`),
  ) as Case[];
  assert(cases.length >= 40, `only ${cases.length} cases`);
  const names = new Set(cases.map((c) => c.name));
  assert(names.size === cases.length, "two cases share a name");
  const tmp = await Deno.makeTempDir({ prefix: "seqssl-corpus-" });
  try {
    await makeFixtures(tmp);
    const failures: string[] = [];
    const lines: string[] = new Array(cases.length);
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        try {
          lines[i] = await check(cases[i], tmp);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (Deno.env.get("SEQSSL_CORPUS_TABLE")) {
      const cell = (s: string) =>
        s.replaceAll("|", "\\|").replaceAll(tmp, "{tmp}")
          .replaceAll(HERE, "{dir}");
      console.log("| case | issue item | message |\n|---|---|---|");
      cases.forEach((c, i) =>
        console.log(
          `| ${cell(c.name)} | ${c.issue ?? ""} | ${
            cell(lines[i] ?? "FAILED")
          } |`,
        )
      );
    }
    assert(
      failures.length === 0,
      `${failures.length} of ${cases.length} cases failed:\n\n${
        failures.join("\n\n")
      }`,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
