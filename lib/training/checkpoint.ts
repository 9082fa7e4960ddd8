/**
 * Checkpoints: named tensors and a JSON header in one binary file, written
 * atomically (temp file + rename).
 *
 * Layout: the 8 bytes `SEQSSL1\n`, a little-endian u32 header length, the
 * UTF-8 JSON header `{meta, tensors: [{name, shape, dtype, offset}]}`, then
 * each tensor's raw little-endian data (float32 or int32) at its offset.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor } from "../util/tensor_types.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import type { StateTree } from "../optim/transform.ts";

const MAGIC = new TextEncoder().encode("SEQSSL1\n");

/** Raw tensor data as stored in a checkpoint. */
export interface StoredTensor {
  /** Shape. */
  shape: number[];
  /** "float32" or "int32". */
  dtype: "float32" | "int32";
  /** Values. */
  values: Float32Array | Int32Array;
}

/** A decoded checkpoint. */
export interface Checkpoint {
  /** Free-form JSON metadata (config, epoch, rng state, ...). */
  meta: Record<string, unknown>;
  /** Named tensors. */
  tensors: Record<string, StoredTensor>;
}

/**
 * Encode a checkpoint to bytes.
 *
 * @example
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const bytes = encodeCheckpoint({
 *   meta: { epoch: 3 },
 *   tensors: { w: { shape: [2], dtype: "float32", values: new Float32Array([1, 2]) } },
 * });
 * const back = decodeCheckpoint(bytes, "mem");
 * if (back.tensors.w.values[1] !== 2 || back.meta.epoch !== 3) throw new Error();
 * ```
 */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const entries: {
    name: string;
    shape: number[];
    dtype: string;
    offset: number;
  }[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(ckpt.tensors)) {
    entries.push({ name, shape: t.shape, dtype: t.dtype, offset });
    offset += t.values.byteLength;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ meta: ckpt.meta, tensors: entries }),
  );
  // Pad the header so tensor data is 4-byte aligned.
  const pad = (4 - ((MAGIC.length + 4 + header.length) % 4)) % 4;
  const start = MAGIC.length + 4 + header.length + pad;
  const out = new Uint8Array(start + offset);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length + pad, true);
  out.set(header, MAGIC.length + 4);
  out.fill(0x20, MAGIC.length + 4 + header.length, start);
  for (const [i, t] of Object.values(ckpt.tensors).entries()) {
    out.set(
      new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength),
      start + entries[i].offset,
    );
  }
  return out;
}

/**
 * Decode checkpoint bytes; `file` names the source in errors.
 *
 * @example
 * ```ts
 * import { decodeCheckpoint } from "./checkpoint.ts";
 * let msg = "";
 * try { decodeCheckpoint(new Uint8Array(3), "bad.ckpt"); } catch (e) { msg = String(e); }
 * if (!msg.includes("bad.ckpt")) throw new Error();
 * ```
 */
export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const bad = (what: string) =>
    new Error(`${file}: expected a seqssl checkpoint, found ${what}`);
  if (bytes.length < MAGIC.length + 4) throw bad(`${bytes.length} bytes`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw bad("another file type");
  }
  const hlen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(
    MAGIC.length,
    true,
  );
  const start = MAGIC.length + 4 + hlen;
  if (start > bytes.length) throw bad("a truncated header");
  let header: {
    meta: Record<string, unknown>;
    tensors: { name: string; shape: number[]; dtype: string; offset: number }[];
  };
  try {
    header = JSON.parse(
      new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, start)),
    );
  } catch {
    throw bad("an unreadable header");
  }
  if (
    !header || typeof header !== "object" || !Array.isArray(header.tensors)
  ) {
    throw bad("a header without a tensor list");
  }
  const tensors: Record<string, StoredTensor> = {};
  for (const e of header.tensors) {
    if (
      !e || typeof e.name !== "string" || !Array.isArray(e.shape) ||
      !e.shape.every((d) => Number.isInteger(d) && d >= 0) ||
      !Number.isInteger(e.offset) || e.offset < 0 ||
      (e.dtype !== "float32" && e.dtype !== "int32")
    ) {
      throw bad(`a malformed header entry ${JSON.stringify(e)?.slice(0, 80)}`);
    }
    const n = e.shape.reduce((a, b) => a * b, 1);
    const at = start + e.offset;
    if (at + 4 * n > bytes.length) {
      throw bad(`truncated data for tensor '${e.name}'`);
    }
    const copy = bytes.slice(at, at + 4 * n).buffer;
    tensors[e.name] = {
      shape: e.shape,
      dtype: e.dtype === "int32" ? "int32" : "float32",
      values: e.dtype === "int32"
        ? new Int32Array(copy)
        : new Float32Array(copy),
    };
  }
  return { meta: header.meta, tensors };
}

/**
 * Write a checkpoint atomically.
 *
 * @example
 * ```ts ignore
 * import { saveCheckpoint } from "./checkpoint.ts";
 * await saveCheckpoint("out/last.ckpt", { meta: {}, tensors: {} });
 * ```
 */
export async function saveCheckpoint(
  path: string,
  ckpt: Checkpoint,
): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(ckpt));
}

/**
 * Read a checkpoint file.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "./checkpoint.ts";
 * const ckpt = await loadCheckpoint("out/best.ckpt");
 * ```
 */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(
      `${path}: expected a readable checkpoint file, found ${
        (e as Error).message
      }`,
    );
  }
  return decodeCheckpoint(bytes, path);
}

/**
 * Read tensors' values for storage.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { storeTensor } from "./checkpoint.ts";
 * if ((await storeTensor(tf.ones([2]))).values[0] !== 1) throw new Error();
 * ```
 */
export async function storeTensor(t: Tensor): Promise<StoredTensor> {
  const dtype = t.dtype === "int32" ? "int32" : "float32";
  // Asynchronous: tfjs-webgpu cannot read synchronously in Deno.
  const values = await t.data();
  return {
    shape: t.shape.slice(),
    dtype,
    values: dtype === "int32"
      ? Int32Array.from(values)
      : Float32Array.from(values),
  };
}

/**
 * Flatten a state tree to JSON with tensors moved into `tensors` under
 * `${prefix}/path` names.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { treeFromJson, treeToJson } from "./checkpoint.ts";
 * const tensors = {};
 * const json = await treeToJson({ count: 2, mu: { w: tf.ones([1]) } }, "opt", tensors);
 * const back = treeFromJson(json, tensors) as { count: number };
 * if (back.count !== 2) throw new Error();
 * ```
 */
export async function treeToJson(
  tree: StateTree,
  prefix: string,
  tensors: Record<string, StoredTensor>,
): Promise<unknown> {
  if (tree instanceof tf.Tensor) {
    tensors[prefix] = await storeTensor(tree);
    return { $tensor: prefix };
  }
  if (Array.isArray(tree)) {
    const out: unknown[] = [];
    for (const [i, t] of tree.entries()) {
      out.push(await treeToJson(t, `${prefix}/${i}`, tensors));
    }
    return out;
  }
  if (typeof tree === "number") return tree;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree)) {
    out[k] = await treeToJson(v, `${prefix}/${k}`, tensors);
  }
  return out;
}

/**
 * Inverse of {@linkcode treeToJson}: rebuilds tensors from stored data.
 *
 * @example
 * ```ts
 * import { treeFromJson } from "./checkpoint.ts";
 * const t = treeFromJson({ n: 2, w: { $tensor: "a" } }, {
 *   a: { shape: [1, 2], dtype: "float32", values: new Float32Array([5, 6]) },
 * }) as { n: number; w: import("@tensorflow/tfjs").Tensor };
 * if (t.n !== 2 || t.w.shape.join() !== "1,2" || t.w.dataSync().join() !== "5,6") {
 *   throw new Error();
 * }
 * ```
 */
export function treeFromJson(
  json: unknown,
  tensors: Record<string, StoredTensor>,
): StateTree {
  if (typeof json === "number") return json;
  if (Array.isArray(json)) return json.map((j) => treeFromJson(j, tensors));
  const obj = json as Record<string, unknown>;
  if (typeof obj.$tensor === "string") {
    const s = tensors[obj.$tensor];
    if (!s) throw new Error(`checkpoint: missing tensor '${obj.$tensor}'`);
    return tf.tensor(s.values, s.shape, s.dtype);
  }
  const out: Record<string, StateTree> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = treeFromJson(v, tensors);
  return out;
}
