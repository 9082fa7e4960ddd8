/**
 * Serving a trained model: checkpoints keep the item names of an
 * interactions file and `recommend` writes them (item i's name is
 * `itemIds[i]`); `export` writes the ONNX graph and the `.npy` item table;
 * `recommend --input` answers JSON Lines requests for new sequences.
 */
import { initBackend } from "../lib/backend/init.ts";
import {
  decodeCheckpoint,
  encodeCheckpoint,
} from "../lib/training/checkpoint.ts";
import { loadServingModel } from "../lib/serving/load.ts";
import { recommend } from "../lib/eval/recommend.ts";
import { assert, assertEquals } from "./_assert.ts";
import { runCli as cli, withTempDir as withTemp } from "./_cli.ts";

await initBackend("cpu");

const withTempDir = (fn: (dir: string) => Promise<void>) =>
  withTemp(fn, "seqssl_serving_");

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
      assertEquals(lines.shift()?.split("\t")[0], "user");
      const got = Object.fromEntries(lines.map((l) => {
        const [u, ...items] = l.split("\t");
        return [u, items.sort()];
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

/** JSON Lines from a file. */
async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path);
  assert(text.endsWith("\n"), "no final newline");
  return text.trimEnd().split("\n").map((l) => JSON.parse(l));
}

Deno.test("recommend --input: names in, top-k names out, unknown items listed per line, the same top-k as recommend", async () => {
  await withTempDir(async (dir) => {
    const ckpt = await trainOnLog(dir);
    // no data needed: the log is gone
    await Deno.remove(`${dir}/log.csv`);
    const input = `${dir}/requests.jsonl`;
    await Deno.writeTextFile(
      input,
      [
        `{"id": "s1", "items": ["tea", "cake"]}`,
        ``,
        `{"id": 2, "items": ["pan", "kettle", "mug", 3]}`,
        `{"id": "none", "items": ["kettle"]}`,
        `{"id": "long", "items": ["tea", "mug", "cake", "pan", "fork", "spoon", "tea", "mug"]}`,
      ].join("\n") + "\n",
    );
    const output = `${dir}/answers.jsonl`;
    const r = await cli([
      "recommend",
      "--checkpoint",
      ckpt,
      "--backend",
      "cpu",
      "--input",
      input,
      "--k",
      "3",
      "--output",
      output,
    ]);
    assertEquals(r.code, 0, `recommend --input failed: ${r.err}`);
    assert(r.out.includes("4 requests, top-3; 3 unknown items"), r.out);
    const answers = await readJsonl(output);
    assertEquals(answers.map((a) => a.id), ["s1", 2, "none", "long"]);
    assertEquals(answers.map((a) => a.unknown), [[], ["kettle", 3], [
      "kettle",
    ], []]);
    // a request with no known item is not scored; one that holds every item
    // has nothing left to recommend
    assertEquals([answers[2].items, answers[2].scores], [[], []]);
    assertEquals([answers[3].items, answers[3].scores], [[], []]);
    // the rest: seqssl's own scorer on the known items, named by the catalogue
    const m = await loadServingModel(ckpt);
    try {
      const want = await recommend(m.model.scorer, [
        Int32Array.of(1, 3), // tea, cake
        Int32Array.of(4, 2), // pan, mug
      ], { k: 3, maxLen: m.config.maxLen, numItems: 6 });
      for (const [a, r0] of [[answers[0], 0], [answers[1], 1]] as const) {
        assertEquals(
          a.items,
          Array.from(want.ids.subarray(r0 * 3, r0 * 3 + 3), (i) => ALL[i - 1]),
        );
        const scores = a.scores as number[];
        scores.forEach((s, j) =>
          assert(Math.abs(s - want.scores[r0 * 3 + j]) < 1e-5, `score ${j}`)
        );
      }
    } finally {
      m.model.dispose();
    }
  });
});

Deno.test("recommend --input: a model without names takes item ids (numbers or digit strings)", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/seqs.txt`,
      "a 1 2 3 4\nb 5 6 7 8\nc 1 2 3 5 6 7\nd 2 4 6 8\ne 8 7 6 5 1\n",
    );
    const t = await cli([
      "train",
      "--data",
      `${dir}/seqs.txt`,
      "--out",
      `${dir}/run`,
      "--json",
      ...TINY,
    ]);
    assertEquals(t.code, 0, `train failed: ${t.err}`);
    const input = `${dir}/in.jsonl`;
    await Deno.writeTextFile(
      input,
      `{"id": "x", "items": [1, "2", 9, "tea", 0, 2.5]}\n`,
    );
    const r = await cli([
      "recommend",
      "--checkpoint",
      `${dir}/run/best.ckpt`,
      "--backend",
      "cpu",
      "--input",
      input,
      "--k",
      "8",
      "--output",
      `${dir}/out.jsonl`,
    ]);
    assertEquals(r.code, 0, `recommend failed: ${r.err}`);
    const [a] = await readJsonl(`${dir}/out.jsonl`);
    assertEquals(a.unknown, [9, "tea", 0, 2.5]);
    assertEquals((a.items as number[]).slice().sort(), [3, 4, 5, 6, 7, 8]);
  });
});

Deno.test("recommend --input: a malformed line is an error naming the file and line; nothing is written", async () => {
  await withTempDir(async (dir) => {
    const ckpt = await trainOnLog(dir);
    const cases: [string, string][] = [
      [
        `{"id": 1, "items": ["tea"]}\n{"id": 2, "items": ["tea"]`,
        ":2: expected a JSON object",
      ],
      [
        `{"id": 1, "items": ["tea"]}\n\n{"id": 3}\n`,
        `:3: expected "items" a list of item names or ids, found no items`,
      ],
      [
        `{"items": ["tea"]}\n`,
        `:1: expected "id" a string or a number, found no id`,
      ],
      [
        `{"id": 1, "items": ["tea", null]}\n`,
        `:1: expected "items" entries that are strings or numbers, found null (entry 2)`,
      ],
      [
        `{"id": 1, "items": ["tea"], "k": 5}\n`,
        `:1: expected only the keys "id" and "items", found key "k"`,
      ],
      [
        `["tea"]\n`,
        `:1: expected a JSON object {"id": ..., "items": [...]}, found ["tea"]`,
      ],
    ];
    for (const [text, want] of cases) {
      const input = `${dir}/bad.jsonl`;
      await Deno.writeTextFile(input, text);
      const r = await cli([
        "recommend",
        "--checkpoint",
        ckpt,
        "--backend",
        "cpu",
        "--input",
        input,
        "--output",
        `${dir}/out.jsonl`,
      ]);
      assertEquals(r.code, 1);
      assertEquals(r.err.split("\n").length, 1, r.err);
      assert(
        r.err.startsWith(`seqssl: error: ${input}${want}`),
        `${JSON.stringify(text)}: ${r.err}`,
      );
      assert(
        !(await Array.fromAsync(Deno.readDir(dir))).some((e) =>
          e.name.startsWith("out.jsonl")
        ),
        "an output file was written",
      );
    }
  });
});

Deno.test("recommend --input -: requests on stdin, answers on stdout", async () => {
  const shop = new URL("./fixtures/shop.csv", import.meta.url).pathname;
  await withTempDir(async (dir) => {
    const t = await cli([
      "train",
      "--data",
      shop,
      "--format",
      "interactions",
      "--out",
      `${dir}/run`,
      "--json",
      ...TINY,
    ]);
    assertEquals(t.code, 0, `train failed: ${t.err}`);
    const p = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../cli.ts", import.meta.url).pathname,
        "recommend",
        "--checkpoint",
        `${dir}/run/best.ckpt`,
        "--backend",
        "cpu",
        "--input",
        "-",
        "--k",
        "4",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(
      new TextEncoder().encode(
        `{"id": "s", "items": ["green-tea", "teapot", "expresso"]}\n`,
      ),
    );
    await w.close();
    const o = await p.output();
    const err = new TextDecoder().decode(o.stderr);
    assertEquals(o.code, 0, err);
    const lines = new TextDecoder().decode(o.stdout).trimEnd().split("\n");
    assertEquals(lines.length, 1);
    const a = JSON.parse(lines[0]);
    assertEquals([a.id, a.items.length, a.unknown], ["s", 4, ["expresso"]]);
    for (const x of a.items) {
      assert(!["green-tea", "teapot"].includes(x), `seen item ${x}`);
    }
    assert(err.includes("1 requests, top-4; 1 unknown items"), err);
  });
});
