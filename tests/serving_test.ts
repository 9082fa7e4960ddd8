/**
 * Serving a trained model: checkpoints keep the item names of an
 * interactions file and `recommend` writes them (item i's name is
 * `itemIds[i]`); `export` writes the ONNX graph and the `.npy` item table;
 * `recommend --input` answers JSON Lines requests for new sequences.
 */
import { initBackend } from "../lib/backend/init.ts";
import { main } from "../cli.ts";
import {
  decodeCheckpoint,
  encodeCheckpoint,
} from "../lib/training/checkpoint.ts";
import { loadServingModel } from "../lib/serving/load.ts";
import { recommend } from "../lib/eval/recommend.ts";
import { assert, assertEquals } from "./_assert.ts";

await initBackend("cpu");

interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Run the CLI in this process, capturing what it prints. */
async function cli(args: string[]): Promise<Captured> {
  const out: string[] = [], err: string[] = [];
  const { log, error, warn, info } = console;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(" "));
  console.info = console.log;
  console.error = (...a: unknown[]) => void err.push(a.map(String).join(" "));
  console.warn = console.error;
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn, info });
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_serving_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const TINY = [
  "--backend",
  "cpu",
  "--epochs",
  "1",
  "--set",
  "hidden=8",
  "--set",
  "heads=1",
  "--set",
  "maxLen=6",
];

/**
 * A hand-made interaction log: six named items. Items are numbered by first
 * appearance, walking users in order of their first row (a, c, b, d), each
 * oldest first: tea=1, mug=2, cake=3, pan=4, fork=5, spoon=6.
 */
const LOG = [
  "user,item,timestamp",
  "a,tea,10",
  "c,spoon,2",
  "a,mug,11",
  "c,fork,1",
  "a,cake,12",
  "c,tea,3",
  "b,pan,5",
  "c,mug,4",
  "b,cake,4",
  "a,pan,13",
  "b,fork,6",
  "d,mug,1",
  "d,spoon,2",
  "d,pan,3",
  "b,tea,7",
].join("\n") + "\n";

/** Each user's items in the log. */
const SEEN: Record<string, string[]> = {
  a: ["tea", "mug", "cake", "pan"],
  b: ["cake", "pan", "fork", "tea"],
  c: ["fork", "spoon", "tea", "mug"],
  d: ["mug", "spoon", "pan"],
};
const ALL = ["tea", "mug", "cake", "pan", "fork", "spoon"];

/** Train on the hand-made log in `dir`; returns the best checkpoint's path. */
async function trainOnLog(dir: string): Promise<string> {
  await Deno.writeTextFile(`${dir}/log.csv`, LOG);
  const t = await cli([
    "train",
    "--data",
    `${dir}/log.csv`,
    "--format",
    "interactions",
    "--set",
    "kCore=1",
    "--out",
    `${dir}/run`,
    "--json",
    ...TINY,
  ]);
  assertEquals(t.code, 0, `train failed: ${t.err}`);
  return `${dir}/run/best.ckpt`;
}

Deno.test("item names: the checkpoint keeps them, recommend writes item i's name as itemIds[i]", async () => {
  await withTempDir(async (dir) => {
    const ckpt = await trainOnLog(dir);
    for (const f of ["best.ckpt", "last.ckpt"]) {
      const ck = decodeCheckpoint(await Deno.readFile(`${dir}/run/${f}`), f);
      assertEquals(ck.meta.itemIds, ["", ...ALL], f);
    }
    // k = every item: each user's line is exactly the items it has not seen
    // (history is excluded by internal id, so a shifted name table shows a
    // seen item or the padding's empty name)
    const recs = `${dir}/recs.tsv`;
    const check = async (label: string) => {
      const lines = (await Deno.readTextFile(recs)).trim().split("\n");
      assertEquals(lines.shift(), "user\titems");
      const got = Object.fromEntries(lines.map((l) => {
        const [u, items] = l.split("\t");
        return [u, items.split(" ").sort()];
      }));
      for (const [u, seen] of Object.entries(SEEN)) {
        assertEquals(
          got[u],
          ALL.filter((x) => !seen.includes(x)).sort(),
          `${label}: user ${u}`,
        );
      }
    };
    let r = await cli([
      "recommend",
      "--checkpoint",
      ckpt,
      "--backend",
      "cpu",
      "--k",
      "6",
      "--output",
      recs,
    ]);
    assertEquals(r.code, 0, `recommend failed: ${r.err}`);
    await check("with names");

    // A checkpoint of an earlier version (no itemIds) still loads: recommend
    // takes the names from the data, serving falls back to internal ids.
    const ck = decodeCheckpoint(await Deno.readFile(ckpt), ckpt);
    delete ck.meta.itemIds;
    const old = `${dir}/old.ckpt`;
    await Deno.writeFile(old, encodeCheckpoint(ck));
    r = await cli([
      "recommend",
      "--checkpoint",
      old,
      "--backend",
      "cpu",
      "--k",
      "6",
      "--output",
      recs,
    ]);
    assertEquals(r.code, 0, `recommend (old checkpoint) failed: ${r.err}`);
    await check("old checkpoint");
    const withNames = await loadServingModel(ckpt);
    const without = await loadServingModel(old);
    try {
      assertEquals(withNames.catalogue, { numItems: 6, names: ["", ...ALL] });
      assertEquals(without.catalogue, { numItems: 6 });
    } finally {
      withNames.model.dispose();
      without.model.dispose();
    }
  });
});

Deno.test("item names: a checkpoint whose names do not fit its item table is refused naming the file", async () => {
  await withTempDir(async (dir) => {
    const ckpt = await trainOnLog(dir);
    const ck = decodeCheckpoint(await Deno.readFile(ckpt), ckpt);
    ck.meta.itemIds = ["", "fork"];
    const bad = `${dir}/bad.ckpt`;
    await Deno.writeFile(bad, encodeCheckpoint(ck));
    let msg = "";
    try {
      await loadServingModel(bad);
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(
      msg.startsWith(`${bad}: expected 7 item names`),
      `message: ${msg}`,
    );
  });
});

/** The `.npy` header's shape and the float32 values after it. */
function readNpy(bytes: Uint8Array): { shape: number[]; values: Float32Array } {
  const headerLen = bytes[8] | (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
  const dims = /'shape': \(([^)]*)\)/.exec(header)![1];
  assert(header.includes("'descr': '<f4'"), header);
  return {
    shape: dims.split(",").map((x) => x.trim()).filter((x) => x).map(Number),
    values: new Float32Array(bytes.slice(10 + headerLen).buffer),
  };
}

Deno.test("export: the ONNX graph gives recommend's top-k with the item names in its metadata; .npy is the item table", async () => {
  await withTempDir(async (dir) => {
    const ckpt = await trainOnLog(dir);
    const onnxFile = `${dir}/model.onnx`;
    let r = await cli([
      "export",
      "--checkpoint",
      ckpt,
      "--format",
      "onnx",
      "--k",
      "2",
      "--output",
      onnxFile,
    ]);
    assertEquals(r.code, 0, `export onnx failed: ${r.err}`);
    assert(r.out.includes("6 items, top-2, item names in its metadata"), r.out);
    const npyFile = `${dir}/items.npy`;
    r = await cli([
      "export",
      "--checkpoint",
      ckpt,
      "--format",
      "npy",
      "--output",
      npyFile,
    ]);
    assertEquals(r.code, 0, `export npy failed: ${r.err}`);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(),
      ["items.npy", "log.csv", "model.onnx", "run"],
      "temp files left",
    );

    const m = await loadServingModel(ckpt);
    try {
      // .npy: rows 1..N of the item table
      const npy = readNpy(await Deno.readFile(npyFile));
      assertEquals(npy.shape, [6, 8]);
      const table = m.checkpoint.tensors["p/item_emb"].values;
      assertEquals(Array.from(npy.values), Array.from(table.subarray(8, 56)));

      // ONNX: the same top-2 as seqssl's own scorer for each user's sequence
      const ort = await import("onnxruntime-web");
      const session = await ort.InferenceSession.create(
        await Deno.readFile(onnxFile),
      );
      const seqs = Object.values(SEEN).map((s) =>
        Int32Array.from(s, (x) => ALL.indexOf(x) + 1)
      );
      const want = await recommend(m.model.scorer, seqs, {
        k: 2,
        maxLen: m.config.maxLen,
        numItems: 6,
      });
      const width = 4;
      const ids = new BigInt64Array(seqs.length * width);
      seqs.forEach((s, i) =>
        s.forEach((x, j) => ids[i * width + width - s.length + j] = BigInt(x))
      );
      const out = await session.run({
        items: new ort.Tensor("int64", ids, [seqs.length, width]),
      });
      assertEquals(
        Array.from(out.top_ids.data as BigInt64Array, Number),
        Array.from(want.ids),
      );
      const scores = out.top_scores.data as Float32Array;
      for (let i = 0; i < scores.length; i++) {
        assert(Math.abs(scores[i] - want.scores[i]) < 1e-5, `score ${i}`);
      }
      await session.release();
      // the names, entry i naming item i
      const bytes = await Deno.readFile(onnxFile);
      const text = new TextDecoder().decode(bytes);
      assert(
        text.includes(`seqssl.item_names`) &&
          text.includes(JSON.stringify(["", ...ALL])),
        "no item names in the ONNX metadata",
      );
    } finally {
      m.model.dispose();
    }
  });
});
