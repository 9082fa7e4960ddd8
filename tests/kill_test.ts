// kill -9 and resume, for real: the CLI as a subprocess on small synthetic
// data is SIGKILLed mid-epoch, during the best.ckpt write and during the
// last.ckpt write (the last two hit exactly with the SEQSSL_TEST_KILL_IN_WRITE
// hook of lib/util/atomic.ts, which SIGKILLs the process after half of the
// temporary file is written); each folder is then resumed with --resume and
// must end with the test metrics of an unbroken run, with no temporary file
// and no lock left behind.
import { assert, assertEquals } from "./_assert.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;
const RUN = [
  "train",
  "--backend",
  "wasm",
  "--epochs",
  "4",
  "--seed",
  "5",
  ...[
    "synthUsers=300",
    "synthItems=60",
    "hidden=16",
    "maxLen=20",
    "batchSize=32",
    "patience=50",
  ].flatMap((s) => ["--set", s]),
];

function cli(
  args: string[],
  env: Record<string, string> = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, "-A", CLI, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finish(p: Deno.ChildProcess): Promise<Deno.CommandOutput> {
  const o = await p.output();
  return o;
}

interface Result {
  bestEpoch: number;
  test: unknown;
  epochs: { valid?: { "NDCG@20": number } }[];
}

async function result(dir: string): Promise<Result> {
  return JSON.parse(await Deno.readTextFile(`${dir}/result.json`));
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

async function resumeAndCompare(dir: string, want: Result): Promise<void> {
  const o = await finish(cli([...RUN, "--out", dir, "--resume"]));
  const err = new TextDecoder().decode(o.stderr);
  assertEquals(o.code, 0, err);
  assert(err.includes(`resumed from ${dir}/last.ckpt`), err);
  assert(err.includes("took over the lock of pid"), err);
  const got = await result(dir);
  assertEquals(got.bestEpoch, want.bestEpoch);
  assertEquals(got.test, want.test);
  assertEquals(names(dir), [
    "best.ckpt",
    "last.ckpt",
    "result.json",
    "test_ranks.json",
  ]);
  // The per-user test ranks are the unbroken run's too.
  assertEquals(
    await Deno.readTextFile(`${dir}/test_ranks.json`),
    await Deno.readTextFile(`${dir}/../whole/test_ranks.json`),
  );
}

Deno.test("kill -9 mid-epoch, during the best.ckpt write and during the last.ckpt write; --resume ends as an unbroken run", async () => {
  const root = await Deno.makeTempDir({ prefix: "seqssl-kill-" });
  try {
    // The unbroken run.
    const whole = `${root}/whole`;
    const o = await finish(cli([...RUN, "--out", whole]));
    assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
    const want = await result(whole);
    // Epochs that wrote best.ckpt: the second such write is killed below.
    let best = -Infinity;
    const improved = want.epochs.flatMap((e, i) => {
      const v = e.valid?.["NDCG@20"] ?? -Infinity;
      if (v > best) best = v;
      return v === best ? [i + 1] : [];
    });
    assert(improved.length >= 2, `best.ckpt written only at ${improved}`);

    // 1. SIGKILL from outside, mid-epoch: after epoch 2's line, during epoch 3.
    const mid = `${root}/mid`;
    const p = cli([...RUN, "--out", mid]);
    const reader = p.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("epoch 2 loss")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    assert(seen.includes("epoch 2 loss"), seen);
    await new Promise((r) => setTimeout(r, 150));
    p.kill("SIGKILL");
    const status = await p.status;
    assertEquals(status.signal, "SIGKILL");
    reader.releaseLock();
    await p.stdout.cancel();
    assert(names(mid).includes("seqssl.lock"), `${names(mid)}`);
    await resumeAndCompare(mid, want);

    // 2 and 3. The process kills itself inside an atomic write.
    for (
      const [file, nth] of [["best.ckpt", 2], ["last.ckpt", 2]] as const
    ) {
      const dir = `${root}/${file}`;
      const k = await finish(
        cli([...RUN, "--out", dir], {
          SEQSSL_TEST_KILL_IN_WRITE: `${file}:${nth}`,
        }),
      );
      assertEquals(k.signal, "SIGKILL", `${file}: not killed`);
      const left = names(dir);
      assert(
        left.some((n) => n.startsWith(`${file}.tmp-`)),
        `${file}: no half-written temp file: ${left}`,
      );
      assert(left.includes("seqssl.lock"), `${left}`);
      await resumeAndCompare(dir, want);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
