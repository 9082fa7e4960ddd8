// The fused GELU on webgpu (lavapipe here) against a float64 reference with
// an accurate erf (its Taylor series), values and gradient, on 1,000 points
// in (-4, 4) plus 0 and +-1 (no multiple of the 128-invocation workgroup),
// and against the composed op on webgpu and on cpu. Skips without an
// adapter.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import { fusedGelu, fusedGeluAvailable } from "../lib/backend/gelu_kernel.ts";
import { gelu } from "../lib/nn/layers.ts";
import { assert } from "./_assert.ts";
import { mulberry32 } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log("SKIPPED: no WebGPU adapter; the fused GELU cases did not run");
}

/** erf by its Taylor series: for |z| < 3 the terms' cancellation costs
 * under 1e-12 in float64. */
function erf(z: number): number {
  let term = z, sum = z;
  for (let n = 1; n < 200; n++) {
    term *= -z * z / n;
    sum += term / (2 * n + 1);
  }
  return 2 / Math.sqrt(Math.PI) * sum;
}

const u = mulberry32(7);
const xs = [
  0,
  1,
  -1,
  ...Array.from({ length: 1000 }, () => Math.fround(8 * u() - 4)),
];
const dys = xs.map(() => Math.fround(2 * u() - 1));

function reference() {
  const y = xs.map((x) => x * 0.5 * (1 + erf(x / Math.SQRT2)));
  const dx = xs.map((x, i) =>
    dys[i] *
    (0.5 * (1 + erf(x / Math.SQRT2)) +
      x * Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI))
  );
  return { y, dx };
}

async function run(f: (x: tf.Tensor) => tf.Tensor) {
  const x = tf.tensor1d(xs), dy = tf.tensor1d(dys);
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor) =>
    tf.sum(tf.mul(f(a), dy))
  )([x]);
  const y = f(x);
  const out = { y: await y.data(), dx: await grads[0].data() };
  tf.dispose([x, dy, y, value, ...grads]);
  return out;
}

function check(
  name: string,
  got: { y: ArrayLike<number>; dx: ArrayLike<number> },
  want: { y: ArrayLike<number>; dx: ArrayLike<number> },
  tol: number,
) {
  for (const key of ["y", "dx"] as const) {
    for (let i = 0; i < xs.length; i++) {
      const err = Math.abs(got[key][i] - want[key][i]);
      assert(
        err <= tol,
        `${name}: ${key} at x = ${xs[i]}: ${got[key][i]} vs ${want[key][i]}`,
      );
    }
  }
}

Deno.test("the reference erf: erf(1) and erf(2) to 1e-12", () => {
  assert(Math.abs(erf(1) - 0.8427007929497149) < 1e-12, String(erf(1)));
  assert(Math.abs(erf(2) - 0.9953222650189527) < 1e-12, String(erf(2)));
});

Deno.test({
  name:
    "fused GELU on webgpu = float64 reference and the composed op (webgpu, cpu)",
  ignore: !adapter,
  fn: async () => {
    await initBackend("webgpu");
    assert(fusedGeluAvailable(), "kernels not registered");
    const got = await run(fusedGelu);
    // erf's approximation is within 1.5e-7, Phi within 7.5e-8, times
    // |x| < 4 and |dy| < 1, plus float32 rounding (~5e-7 at |y| < 4):
    // 2e-6 bounds both, a wrong term (a missing x phi(x)) is >= 1e-2.
    check("reference", got, reference(), 2e-6);
    assert(got.y[0] === 0, "GELU(0) must be 0");
    // tfjs's composed op on webgpu runs the same erf approximation
    const x = tf.tensor1d(xs);
    const onGpu = tf.mul(
      tf.mul(x, 0.5),
      tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))),
    );
    const yc = await onGpu.data();
    tf.dispose([x, onGpu]);
    for (let i = 0; i < xs.length; i++) {
      assert(
        Math.abs(got.y[i] - yc[i]) <= 1e-6,
        `x = ${xs[i]}: ${got.y[i]} vs ${yc[i]}`,
      );
    }
    await initBackend("cpu");
    assert(!fusedGeluAvailable(), "cpu must keep the composed op");
    check("composed cpu", got, await run(gelu), 2e-6);
  },
});
