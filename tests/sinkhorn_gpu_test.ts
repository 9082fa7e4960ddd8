// The WGSL Sinkhorn-Knopp kernel agrees with the TypeScript one, on a raw
// WebGPU device and through the tfjs webgpu backend (the training path).
// Runs where a WebGPU adapter exists (CI installs Mesa's lavapipe); says so
// clearly when skipped.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { probeWebGpu } from "../lib/backend/webgpu_probe.ts";
import { SinkhornGpu } from "../lib/cluster/sinkhorn_gpu.ts";
import { sinkhorn, sinkhornKnopp } from "../lib/cluster/sinkhorn.ts";
import { onlineClustering } from "../lib/cluster/online.ts";
import { normalArray } from "../lib/nn/params.ts";
import { makeRng } from "../lib/util/rng.ts";
import { assert, assertThrows } from "./_assert.ts";

const adapter = (await probeWebGpu()) !== undefined;
if (!adapter) {
  console.log(
    "SKIPPED: no WebGPU adapter; the WGSL Sinkhorn tests did not run",
  );
}

/** Cosines of random unit vectors (as the clustering layer produces). */
function cosines(B: number, K: number, d: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  const z = normalArray(B * d, 1, rng), m = normalArray(K * d, 1, rng);
  const norm = (x: Float32Array, i: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += x[i * d + t] ** 2;
    return Math.sqrt(s);
  };
  const out = new Float32Array(B * K);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += z[b * d + t] * m[k * d + t];
      out[b * K + k] = s / (norm(z, b) * norm(m, k));
    }
  }
  return out;
}

/** Largest difference of the codes B * Q (rows summing to 1). */
function codeDiff(a: ArrayLike<number>, b: ArrayLike<number>, B: number) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) * B);
  return m;
}

const CASES: [number, number, number, number][] = [
  // B, K, iterations, epsilon
  [512, 128, 3, 0.05], // S4Rec's batch, K and SwAV's Sinkhorn settings
  [256, 128, 3, 0.05],
  [300, 7, 40, 0.05], // more rows than threads per column pass, odd K
  [5, 600, 3, 0.1], // K > threads
];

Deno.test({
  name:
    "WGSL Sinkhorn = TypeScript Sinkhorn within 1e-5 (codes B*Q), raw device",
  ignore: !adapter,
  fn: async () => {
    const gpu = await SinkhornGpu.create();
    try {
      for (const [B, K, iterations, epsilon] of CASES) {
        const s = cosines(B, K, 32, B + K);
        const want = sinkhornKnopp(s, { rows: B, cols: K }, {
          iterations,
          epsilon,
        });
        const got = await gpu.run(s, { rows: B, cols: K }, {
          iterations,
          epsilon,
        });
        const diff = codeDiff(got, want, B);
        assert(diff < 1e-5, `${B}x${K}: codes differ by ${diff}`);
      }
      assertThrows(() =>
        gpu.dispatch(
          gpu.device.createBuffer({ size: 16, usage: 0x80 }),
          { rows: 4, cols: 4 },
        )
      );
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name:
    "tfjs webgpu backend: sinkhorn() runs the WGSL kernel, matches TypeScript within 1e-5, carries no gradient",
  ignore: !adapter,
  fn: async () => {
    await initBackend("webgpu");
    try {
      assert(tf.getBackend() === "webgpu");
      for (const [B, K, iterations, epsilon] of CASES) {
        const s = cosines(B, K, 16, 7 * B + K);
        const want = sinkhornKnopp(s, { rows: B, cols: K }, {
          iterations,
          epsilon,
        });
        const q = sinkhorn(tf.tensor2d(s, [B, K]), { iterations, epsilon });
        const diff = codeDiff(await q.data(), want, B);
        assert(diff < 1e-5, `${B}x${K}: codes differ by ${diff}`);
        q.dispose();
      }
      // no gradient path from the scores to Q
      assertThrows(() =>
        tf.grad((x: tf.Tensor) => tf.sum(sinkhorn(x as tf.Tensor2D)))(
          tf.tensor2d(cosines(8, 4, 8, 1), [8, 4]),
        )
      );
      // the clustering layer trains on this backend (gradients are finite)
      const rng = makeRng(3);
      const z = tf.tensor2d(normalArray(64 * 16, 1, rng), [64, 16]);
      const mu = tf.tensor2d(normalArray(8 * 16, 1, rng), [8, 16]);
      const [gz, gm] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        onlineClustering(a as tf.Tensor2D, b as tf.Tensor2D).loss
      )([z, mu]);
      for (const g of [gz, gm]) {
        const v = await g.data();
        assert(v.every(Number.isFinite) && v.some((x) => x !== 0));
      }
    } finally {
      await initBackend("cpu");
    }
  },
});
