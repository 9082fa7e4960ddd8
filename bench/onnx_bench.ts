// ONNX export of a trained checkpoint: file size, and ONNX Runtime's time to
// score every user (the top-20 of the whole sequence, history excluded),
// with onnxruntime-web (wasm, one thread) and onnxruntime-node (native).
//
//   deno run -A bench/onnx_bench.ts CHECKPOINT [DATA]
//
// DATA defaults to the data file recorded in the checkpoint.
import * as ortWeb from "onnxruntime-web";
import * as ortNode from "onnxruntime-node";
import { loadCheckpoint } from "../lib/training/checkpoint.ts";
import { makeConfig } from "../lib/config/resolve.ts";
import { loadDataset } from "../lib/experiment.ts";
import { exportOnnx } from "../lib/export/onnx.ts";
import { servingSpec, weightsOfCheckpoint } from "../lib/export/spec.ts";

// Under `deno bench` (which collects every *_bench.ts) there is nothing to
// run: this is a command-line tool.
async function main(): Promise<void> {
  const [path, data] = Deno.args;
  if (!path) throw new Error("usage: bench/onnx_bench.ts CHECKPOINT [DATA]");
  const ck = await loadCheckpoint(path);
  const cfg = makeConfig({
    ...(ck.meta.config as Record<string, unknown>),
    ...(data ? { data } : {}),
  });
  const ds = await loadDataset(cfg);
  const spec = servingSpec(cfg, ds.numItems);
  let t0 = performance.now();
  const bytes = exportOnnx(spec, weightsOfCheckpoint(ck.tensors), { k: 20 });
  console.log(
    `export: ${(bytes.length / 1e6).toFixed(2)} MB (${bytes.length} bytes) in ${
      ((performance.now() - t0) / 1000).toFixed(2)
    } s; ${ds.sequences.length} users, ${ds.numItems} items, ${spec.encoder}`,
  );

  const BATCH = 512;
  for (
    const [name, ort] of [["onnxruntime-web", ortWeb], [
      "onnxruntime-node",
      ortNode,
    ]] as const
  ) {
    const opts = name === "onnxruntime-node"
      ? { intraOpNumThreads: Number(Deno.env.get("ORT_THREADS") ?? 1) }
      : {};
    const session = await (ort as typeof ortWeb).InferenceSession.create(
      bytes,
      opts,
    );
    const order = ds.sequences.map((_, i) => i)
      .sort((a, b) => ds.sequences[a].length - ds.sequences[b].length);
    t0 = performance.now();
    let checksum = 0;
    for (let a = 0; a < order.length; a += BATCH) {
      const rows = order.slice(a, a + BATCH).map((u) => ds.sequences[u]);
      const width = Math.max(...rows.map((s) => s.length));
      const ids = new BigInt64Array(rows.length * width);
      rows.forEach((s, r) => {
        for (let j = 0; j < s.length; j++) {
          ids[r * width + width - s.length + j] = BigInt(s[j]);
        }
      });
      const out = await session.run({
        items: new (ort as typeof ortWeb).Tensor("int64", ids, [
          rows.length,
          width,
        ]),
      });
      checksum += Number((out.top_ids.data as BigInt64Array)[0]);
    }
    const s = (performance.now() - t0) / 1000;
    console.log(
      `${name}${
        "intraOpNumThreads" in opts ? ` (${opts.intraOpNumThreads} thread)` : ""
      }: ` +
        `${ds.sequences.length} users in ${s.toFixed(2)} s ` +
        `(${
          (ds.sequences.length / s).toFixed(0)
        } users/s, batches of ${BATCH}; checksum ${checksum})`,
    );
    await session.release();
  }
}

if (import.meta.main) await main();
