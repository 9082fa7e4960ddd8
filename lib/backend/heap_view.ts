/**
 * Reading a float32 tensor's values without a copy where the backend
 * allows it: on `wasm`, a view of the tensor's bytes in the WebAssembly
 * heap; elsewhere the values read back as usual (`data()`). Evaluation
 * reads a 64 MiB block of scores per batch and item block: copying it out
 * of the heap (tfjs's `data()` slices a new buffer, fresh pages each time)
 * cost several times the block's matrix product at 10^6 items.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The wasm backend's bookkeeping this module reads. */
interface WasmHeapBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
}

/**
 * `t`'s float32 values: on wasm a view of the heap, valid only until the
 * next tensor is allocated or `t` is disposed (read it at once, then
 * dispose `t`); on other backends a copy read back.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { readFloats } from "./heap_view.ts";
 * for (const backend of ["cpu", "wasm"]) {
 *   await tf.setBackend(backend);
 *   const t = tf.tensor1d([1.5, -2]);
 *   const v = await readFloats(t);
 *   if (v.length !== 2 || v[0] !== 1.5 || v[1] !== -2) throw new Error(backend);
 *   t.dispose();
 * }
 * await tf.setBackend("cpu");
 * ```
 */
export async function readFloats(t: tf.Tensor): Promise<Float32Array> {
  if (t.dtype !== "float32") {
    throw new Error(`readFloats: expected float32, found ${t.dtype}`);
  }
  if (tf.getBackend() === "wasm") {
    const b = tf.backend() as unknown as WasmHeapBackend;
    const at = b.dataIdMap.get(t.dataId);
    if (at !== undefined) {
      return new Float32Array(b.wasm.HEAPU8.buffer, at.memoryOffset, t.size);
    }
  }
  return (await t.data()) as Float32Array;
}
