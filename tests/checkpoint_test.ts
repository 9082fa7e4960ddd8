/**
 * Checkpoint files: byte-exact round trips, state trees, errors that name the
 * file for corrupt or truncated input, and atomic saves.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import {
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type StoredTensor,
  storeTensor,
  treeFromJson,
  treeToJson,
} from "../lib/training/checkpoint.ts";
import { disposeTree, type StateTree } from "../lib/optim/transform.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "./_assert.ts";

await initBackend("cpu");

function sample(metaPad = ""): Checkpoint {
  return {
    meta: {
      epoch: 7,
      config: { lr: 0.001, method: "sasrec", nested: [1, "two", null] },
      note: "ünïcödé ✓" + metaPad,
    },
    tensors: {
      "enc.0.q.w": {
        shape: [2, 3],
        dtype: "float32",
        values: Float32Array.of(
          1.5,
          -0,
          NaN,
          Infinity,
          -Infinity,
          1e-45, // a subnormal
        ),
      },
      ids: {
        shape: [4],
        dtype: "int32",
        values: Int32Array.of(0, -1, 2147483647, -2147483648),
      },
      scalar: { shape: [], dtype: "float32", values: Float32Array.of(3.25) },
      empty: { shape: [0, 5], dtype: "float32", values: new Float32Array(0) },
    },
  };
}

Deno.test("encode/decode round-trips float32 and int32 tensors bit for bit", () => {
  // Header lengths with every remainder mod 4 (the data must stay aligned).
  for (const pad of ["", "x", "xx", "xxx"]) {
    const ck = sample(pad);
    const back = decodeCheckpoint(encodeCheckpoint(ck), "mem.ckpt");
    assertEquals(back.meta, ck.meta, `pad '${pad}'`);
    assertEquals(Object.keys(back.tensors), Object.keys(ck.tensors));
    for (const [name, t] of Object.entries(ck.tensors)) {
      const b = back.tensors[name];
      assertEquals(b.shape, t.shape, name);
      assertEquals(b.dtype, t.dtype, name);
      assertEquals(b.values.constructor, t.values.constructor, name);
      // compare bytes, so -0 vs 0 and NaN payloads count
      assertEquals(
        new Uint8Array(
          b.values.buffer,
          b.values.byteOffset,
          b.values.byteLength,
        ),
        new Uint8Array(
          t.values.buffer,
          t.values.byteOffset,
          t.values.byteLength,
        ),
        name,
      );
    }
    assert(Object.is(back.tensors["enc.0.q.w"].values[1], -0), "-0 lost");
  }
});

Deno.test("decode works on a view into a larger buffer and copies the data", () => {
  const bytes = encodeCheckpoint(sample());
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 1); // odd byte offset
  const view = big.subarray(1, 1 + bytes.length);
  const back = decodeCheckpoint(view, "view.ckpt");
  assertEquals(
    back.tensors.ids.values,
    Int32Array.of(0, -1, 2147483647, -2147483648),
  );
  // mutating the source afterwards does not change the decoded tensors
  big.fill(0);
  assertEquals(back.tensors.scalar.values, Float32Array.of(3.25));
});

Deno.test("tensor subarrays (non-zero byteOffset) are encoded from the right bytes", () => {
  const backing = Float32Array.of(9, 9, 1, 2, 3, 9);
  const ck: Checkpoint = {
    meta: {},
    tensors: {
      w: { shape: [3], dtype: "float32", values: backing.subarray(2, 5) },
    },
  };
  const back = decodeCheckpoint(encodeCheckpoint(ck), "sub.ckpt");
  assertEquals(back.tensors.w.values, Float32Array.of(1, 2, 3));
});

Deno.test("state trees round-trip through treeToJson, the file format and treeFromJson", async () => {
  const tree: StateTree = [
    {
      count: 3,
      mu: { "enc.0.q.w": tf.tensor2d([[1, 2], [3, 4]]), b: tf.tensor1d([-1]) },
      nu: { "enc.0.q.w": tf.tensor2d([[5, 6], [7, 8]]), b: tf.tensor1d([0.5]) },
    },
    0,
    [tf.tensor1d([7, 8], "int32"), 2.5, { deep: tf.scalar(1.25) }],
  ];
  const tensors: Record<string, StoredTensor> = {};
  const json = await treeToJson(tree, "opt", tensors);
  // tensors are moved out under path names; the JSON itself has none
  assertEquals(Object.keys(tensors).sort(), [
    "opt/0/mu/b",
    "opt/0/mu/enc.0.q.w",
    "opt/0/nu/b",
    "opt/0/nu/enc.0.q.w",
    "opt/2/0",
    "opt/2/2/deep",
  ]);
  const bytes = encodeCheckpoint({ meta: { opt: json }, tensors });
  const ck = decodeCheckpoint(bytes, "tree.ckpt");
  const back = treeFromJson(ck.meta.opt, ck.tensors);
  const asPlain = (t: StateTree): unknown => {
    if (t instanceof tf.Tensor) {
      return { dtype: t.dtype, shape: t.shape, v: Array.from(t.dataSync()) };
    }
    if (Array.isArray(t)) return t.map(asPlain);
    if (typeof t === "number") return t;
    return Object.fromEntries(
      Object.entries(t).map(([k, v]) => [k, asPlain(v)]),
    );
  };
  assertEquals(asPlain(back), asPlain(tree));
  assertEquals(
    ((back as StateTree[])[2] as StateTree[])[0] instanceof tf.Tensor,
    true,
  );
  assertEquals(
    (((back as StateTree[])[2] as StateTree[])[0] as tf.Tensor).dtype,
    "int32",
  );
  disposeTree(tree);
  disposeTree(back);
});

Deno.test("treeFromJson names a missing tensor", () => {
  assertThrows(
    () => treeFromJson({ a: { $tensor: "opt/a" } }, {}),
    Error,
    "opt/a",
  );
});

Deno.test("storeTensor copies values and keeps int32", async () => {
  const t = tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32");
  const s = await storeTensor(t);
  assertEquals(s, {
    shape: [2, 2],
    dtype: "int32",
    values: Int32Array.of(1, 2, 3, 4),
  });
  t.dispose();
  assertEquals(s.values, Int32Array.of(1, 2, 3, 4));
});

// ------------------------------------------------------------------ errors

Deno.test("short, foreign, truncated or garbled bytes give an error naming the file", () => {
  const good = encodeCheckpoint(sample());
  const f = "runs/x/best.ckpt";
  assertThrows(() => decodeCheckpoint(new Uint8Array(0), f), Error, f);
  assertThrows(() => decodeCheckpoint(good.slice(0, 5), f), Error, f);
  assertThrows(
    () =>
      decodeCheckpoint(new TextEncoder().encode("user item item\n1 2 3\n"), f),
    Error,
    `${f}: expected a seqssl checkpoint, found another file type`,
  );
  // cut inside the data: the message names the tensor too
  const e = assertThrows(
    () => decodeCheckpoint(good.slice(0, good.length - 1), f),
    Error,
    f,
  );
  assert(e.message.includes("truncated"), e.message);
  // cut inside the header
  assertThrows(() => decodeCheckpoint(good.slice(0, 30), f), Error, f);
  // a header length pointing past the end
  const longHeader = good.slice();
  new DataView(longHeader.buffer).setUint32(8, 0xffffff, true);
  assertThrows(() => decodeCheckpoint(longHeader, f), Error, f);
  // garbage in the header JSON
  const garbled = good.slice();
  garbled[12] = 0x7b; // '{' -> '{{...'
  garbled[13] = 0x7b;
  assertThrows(() => decodeCheckpoint(garbled, f), Error, f);
});

Deno.test({
  name:
    "any single corrupted header byte decodes consistently or fails naming the file",
  fn() {
    const good = encodeCheckpoint({
      meta: { epoch: 2 },
      tensors: {
        w: {
          shape: [2, 2],
          dtype: "float32",
          values: Float32Array.of(1, 2, 3, 4),
        },
      },
    });
    const hlen = new DataView(good.buffer).getUint32(8, true);
    const f = "fuzz.ckpt";
    const failures: string[] = [];
    // JSON-significant replacement characters, at every byte of the length
    // field and the header
    for (let i = 8; i < 12 + hlen; i++) {
      for (
        const ch of [
          0x00,
          0x22,
          0x2c,
          0x2d,
          0x30,
          0x39,
          0x5b,
          0x5d,
          0x7b,
          0x7d,
          0x7a,
        ]
      ) {
        if (good[i] === ch) continue;
        const b = good.slice();
        b[i] = ch;
        const where = `byte ${i} -> '${String.fromCharCode(ch)}'`;
        try {
          const ck = decodeCheckpoint(b, f);
          // whatever decodes must be self-consistent
          for (const [name, t] of Object.entries(ck.tensors)) {
            const n = t.shape.reduce((a, x) => a * x, 1);
            if (
              !t.shape.every((x) => Number.isInteger(x) && x >= 0) ||
              t.values.length !== n
            ) {
              failures.push(
                `${where}: '${name}' decoded with shape [${t.shape}] and ${t.values.length} values`,
              );
            }
          }
        } catch (e) {
          const msg = (e as Error).message;
          if (!msg.includes(f)) failures.push(`${where}: ${msg}`);
        }
      }
    }
    assert(
      failures.length === 0,
      `${failures.length} corruptions were not caught, e.g.\n  ` +
        failures.slice(0, 5).join("\n  "),
    );
  },
});

Deno.test(
  "a structurally wrong but valid-JSON header fails naming the file",
  {},
  () => {
    const withHeader = (json: string) => {
      const h = new TextEncoder().encode(json);
      const out = new Uint8Array(12 + h.length + 16);
      out.set(new TextEncoder().encode("SEQSSL1\n"));
      new DataView(out.buffer).setUint32(8, h.length, true);
      out.set(h, 12);
      return out;
    };
    const f = "struct.ckpt";
    for (
      const json of [
        "{}",
        "null",
        '{"meta":{},"tensors":{}}',
        '{"meta":{},"tensors":[{"name":"w","dtype":"float32","offset":0}]}',
        '{"meta":{},"tensors":[{"name":"w","shape":[2],"dtype":"float32"}]}',
        '{"meta":{},"tensors":[{"name":"w","shape":[-1],"dtype":"float32","offset":0}]}',
        '{"meta":{},"tensors":[{"name":"w","shape":[2],"dtype":"float64","offset":0}]}',
      ]
    ) {
      assertThrows(() => decodeCheckpoint(withHeader(json), f), Error, f, json);
    }
  },
);

Deno.test("loadCheckpoint names the path for a missing or truncated file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_ckpt_" });
  try {
    const missing = `${dir}/nope.ckpt`;
    await assertRejects(() => loadCheckpoint(missing), Error, missing);
    const cut = `${dir}/cut.ckpt`;
    const good = encodeCheckpoint(sample());
    await Deno.writeFile(cut, good.slice(0, good.length - 10));
    await assertRejects(() => loadCheckpoint(cut), Error, cut);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------- atomic save

const listDir = async (dir: string) =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

Deno.test("saveCheckpoint writes atomically: the file, and no leftover temp file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_ckpt_" });
  try {
    const path = `${dir}/best.ckpt`;
    await saveCheckpoint(path, sample());
    assertEquals(await listDir(dir), ["best.ckpt"]);
    assertEquals((await loadCheckpoint(path)).meta, sample().meta);
    // overwriting replaces the content, still without leftovers
    await saveCheckpoint(path, { meta: { epoch: 8 }, tensors: {} });
    assertEquals(await listDir(dir), ["best.ckpt"]);
    assertEquals((await loadCheckpoint(path)).meta, { epoch: 8 });
    assertEquals(
      await Deno.readFile(path),
      encodeCheckpoint({ meta: { epoch: 8 }, tensors: {} }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("saveCheckpoint into a missing folder rejects and creates nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_ckpt_" });
  try {
    const path = `${dir}/not/there/best.ckpt`;
    await assertRejects(() => saveCheckpoint(path, sample()));
    assertEquals(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed rename removes the temp file and keeps the old target", async () => {
  const dir = await Deno.makeTempDir({ prefix: "seqssl_ckpt_" });
  try {
    // the target is a non-empty folder: writing the temp file works, the
    // rename over the folder fails
    const path = `${dir}/best.ckpt`;
    await Deno.mkdir(path);
    await Deno.writeTextFile(`${path}/keep`, "x");
    await assertRejects(() => saveCheckpoint(path, sample()));
    assertEquals(await listDir(dir), ["best.ckpt"]);
    assertEquals(await listDir(path), ["keep"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
