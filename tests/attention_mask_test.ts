// The attention-mask kernel on cpu, wasm and webgpu (lavapipe here) equals
// the TypeScript reference and a mask written out by hand, for all queries
// and for the last query only (lastOnly).
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import {
  attentionMaskInto,
  attentionMaskOf,
  MASK_NEG,
} from "../lib/backend/attention_mask.ts";
import { assertEquals } from "./_assert.ts";
import { mulberry32 } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log("SKIPPED: no WebGPU adapter; the webgpu mask case did not run");
}

Deno.test("attentionMaskInto: a 2 x 3 batch by hand", () => {
  const N = Math.fround(MASK_NEG);
  // row 0: [0, 4, 7] (one padding), row 1: [1, 2, 3]
  const m = attentionMaskInto(
    Int32Array.of(0, 4, 7, 1, 2, 3),
    2,
    3,
    3,
    new Float32Array(18),
  );
  assertEquals(Array.from(m), [
    N,
    N,
    N,
    /**/ N,
    0,
    N,
    /**/ N,
    0,
    0, // row 0: key 0 is padding
    0,
    N,
    N,
    /**/ 0,
    0,
    N,
    /**/ 0,
    0,
    0, // row 1: causal only
  ]);
  const last = attentionMaskInto(
    Int32Array.of(0, 4, 7, 1, 2, 3),
    2,
    3,
    1,
    new Float32Array(6),
  );
  assertEquals(Array.from(last), [N, 0, 0, 0, 0, 0]);
});

Deno.test({
  name:
    "SeqsslAttentionMask on cpu, wasm and webgpu = the reference (all queries, last query)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const B = 5, L = 37, u = mulberry32(4);
    const ids = new Int32Array(B * L);
    for (let b = 0; b < B; b++) {
      const pad = Math.floor(u() * L); // left padding of each row
      for (let j = pad; j < L; j++) ids[b * L + j] = 1 + Math.floor(u() * 50);
    }
    const backends: ("cpu" | "wasm" | "webgpu")[] = ["cpu", "wasm"];
    if (adapter) backends.push("webgpu");
    for (const Q of [L, 1]) {
      const ref = attentionMaskInto(ids, B, L, Q, new Float32Array(B * Q * L));
      for (const b of backends) {
        await initBackend(b, b === "wasm" ? { nativeBlas: false } : {});
        const t = tf.tensor2d(ids, [B, L], "int32");
        const m = attentionMaskOf(t, Q);
        assertEquals(m.shape, [B, 1, Q, L], `${b}: shape`);
        assertEquals(await m.data(), ref, `${b}, ${Q} queries`);
        tf.dispose([t, m]);
      }
    }
    await initBackend("cpu");
  },
});
