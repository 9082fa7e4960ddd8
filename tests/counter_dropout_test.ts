// Counter-based dropout: the hash against an independent BigInt reference,
// the mask's statistics, and the cpu, wasm and webgpu kernels bit-identical
// to the TypeScript reference (webgpu where an adapter exists; lavapipe
// here), with the gradient equal to the mask.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import {
  applyDropout,
  counterDropout,
  dropoutHash,
  pcgHash,
} from "../lib/backend/counter_dropout.ts";
import { assert, assertEquals } from "./_assert.ts";
import { mulberry32, randFloats } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log(
    "SKIPPED: no WebGPU adapter; the webgpu dropout case did not run",
  );
}

/** PCG-RXS-M-XS in BigInt arithmetic mod 2^32: written from the paper. */
function pcgBig(v: number): number {
  const M = 1n << 32n;
  const state = (BigInt(v) * 747796405n + 2891336453n) % M;
  const shift = (state >> 28n) + 4n;
  const word = (((state >> shift) ^ state) * 277803737n) % M;
  return Number((word >> 22n) ^ word);
}

Deno.test("pcgHash = the BigInt reference on 2,000 values incl. 0 and 2^32-1", () => {
  const u = mulberry32(3);
  const vals = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff];
  for (let i = 0; i < 2000; i++) vals.push(Math.floor(u() * 2 ** 32));
  for (const v of vals) assertEquals(pcgHash(v), pcgBig(v), `v = ${v}`);
  // the element hash is two rounds keyed by the seed's hash
  assertEquals(dropoutHash(5, 9), pcgBig((pcgBig(9) ^ pcgBig(5)) >>> 0));
});

Deno.test("masks: keep share within 4 sigma of 1 - rate; two seeds independent", () => {
  const n = 200_000;
  const ones = new Float32Array(n).fill(1);
  for (const rate of [0.1, 0.5, 0.9]) {
    const a = applyDropout(ones, rate, 1, new Float32Array(n));
    const b = applyDropout(ones, rate, 2, new Float32Array(n));
    let ka = 0, both = 0;
    for (let i = 0; i < n; i++) {
      if (a[i] !== 0) ka++;
      if (a[i] !== 0 && b[i] !== 0) both++;
    }
    const p = 1 - rate;
    const sigma = Math.sqrt(n * p * (1 - p));
    assert(
      Math.abs(ka - n * p) < 4 * sigma,
      `rate ${rate}: kept ${ka} of ${n}`,
    );
    // independent masks: both kept with probability p^2
    const s2 = Math.sqrt(n * p * p * (1 - p * p));
    assert(Math.abs(both - n * p * p) < 4 * s2, `rate ${rate}: both ${both}`);
    // kept values are scaled by f32(1 / (1 - rate))
    assertEquals(a.find((v) => v !== 0), Math.fround(1 / p));
  }
  // consecutive elements are not correlated: P(a_i and a_{i+1}) = p^2
  const a = applyDropout(ones, 0.5, 7, new Float32Array(n));
  let pairs = 0;
  for (let i = 0; i + 1 < n; i++) if (a[i] !== 0 && a[i + 1] !== 0) pairs++;
  assert(Math.abs(pairs - (n - 1) / 4) < 4 * Math.sqrt(n * 0.25 * 0.75));
});

async function kernelOutput(
  backend: "cpu" | "wasm" | "webgpu",
  x: Float32Array,
  shape: number[],
  rate: number,
  seed: number,
): Promise<{ y: Float32Array; grad: Float32Array }> {
  await initBackend(backend, backend === "wasm" ? { nativeBlas: false } : {});
  const xt = tf.tensor(x, shape);
  const w = tf.tensor(x.map((v) => v + 0.5), shape);
  const yt = counterDropout(xt, rate, seed);
  // d/dx sum(dropout(x) * w) = mask * w
  const gt = tf.grad((t: tf.Tensor) =>
    tf.sum(tf.mul(counterDropout(t, rate, seed), w))
  )(xt);
  const y = (await yt.data()) as Float32Array;
  const grad = (await gt.data()) as Float32Array;
  tf.dispose([xt, w, yt, gt]);
  return { y, grad };
}

Deno.test({
  name:
    "SeqsslDropout on cpu, wasm and webgpu: bit-identical to the TypeScript reference, gradient = mask",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const shape = [7, 13, 64]; // 5,824 elements: not a multiple of 128
    const x = randFloats(7 * 13 * 64, mulberry32(11), -2, 2);
    const rate = 0.3, seed = 123456789;
    const ref = applyDropout(x, rate, seed, new Float32Array(x.length));
    const w = x.map((v) => v + 0.5);
    const refGrad = applyDropout(w, rate, seed, new Float32Array(x.length));
    const backends: ("cpu" | "wasm" | "webgpu")[] = ["cpu", "wasm"];
    if (adapter) backends.push("webgpu");
    for (const b of backends) {
      const { y, grad } = await kernelOutput(b, x, shape, rate, seed);
      assertEquals(
        new Uint32Array(y.buffer),
        new Uint32Array(ref.buffer),
        `${b}: values`,
      );
      assertEquals(
        new Uint32Array(grad.buffer),
        new Uint32Array(refGrad.buffer),
        `${b}: gradient`,
      );
    }
    await initBackend("cpu");
  },
});
