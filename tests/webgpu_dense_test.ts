// dense on webgpu (lavapipe here) runs tfjs's fused matmul with the bias in
// the same dispatch: its values and the gradients of x, W and b equal the
// composed matmul + add on cpu (rank 3 input, 37 rows). Skips without an
// adapter.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import { dense, initDense } from "../lib/nn/layers.ts";
import type { Params } from "../lib/nn/params.ts";
import { makeRng } from "../lib/util/rng.ts";
import { assert } from "./_assert.ts";
import { mulberry32 } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log("SKIPPED: no WebGPU adapter; the webgpu dense case did not run");
}

Deno.test({
  name: "dense on webgpu (fused bias) = dense on cpu: values, dx, dW, db",
  ignore: !adapter,
  fn: async () => {
    const results: Float32Array[][] = [];
    for (const backend of ["cpu", "webgpu"] as const) {
      await initBackend(backend);
      const p: Params = {};
      initDense(p, "fc", 6, 5, makeRng(1), 0.5);
      const u = mulberry32(2);
      const rand = (n: number) =>
        Float32Array.from({ length: n }, () => u() * 2 - 1);
      p["fc.b"].assign(tf.tensor1d(rand(5)));
      const x = tf.tensor3d(rand(37 * 6), [37, 1, 6]);
      const r = tf.tensor3d(rand(37 * 5), [37, 1, 5]);
      const f = (xi: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
        const q: Params = {
          "fc.w": w as tf.Variable,
          "fc.b": b as tf.Variable,
        };
        return tf.sum(tf.mul(dense(q, "fc", xi), r));
      };
      const { value, grads } = tf.valueAndGrads(f)([x, p["fc.w"], p["fc.b"]]);
      const y = dense(p, "fc", x);
      results.push([
        (await y.data()) as Float32Array,
        Float32Array.of((await value.data())[0]),
        ...(await Promise.all(grads.map((g) => g.data()))) as Float32Array[],
      ]);
      tf.dispose([x, r, y, value, ...grads, ...Object.values(p)]);
    }
    // sums of 6 (values) and 37 (dW, db) float32 products of magnitude < 1
    const names = ["y", "loss", "dx", "dW", "db"];
    results[0].forEach((want, k) => {
      const got = results[1][k];
      for (let i = 0; i < want.length; i++) {
        assert(
          Math.abs(got[i] - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])),
          `${names[k]}[${i}] webgpu ${got[i]} vs cpu ${want[i]}`,
        );
      }
    });
  },
});
