// The fused LayerNorm on webgpu (lavapipe here) against a float64
// TypeScript reference, values and the gradients of x, g and b: rank 2 and
// 3 inputs, an odd width, 300 rows (no multiple of the 128-invocation
// workgroups of the row kernels; 64 invocations share out the rows of each
// column sum, some taking 5 rows and some 4), one row; and against the
// composed op that cpu and wasm run. Skips without an adapter.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import {
  fusedLayerNorm,
  fusedLayerNormAvailable,
} from "../lib/backend/layer_norm_kernel.ts";
import { layerNormOp } from "../lib/nn/layers.ts";
import { assert } from "./_assert.ts";
import { mulberry32 } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log(
    "SKIPPED: no WebGPU adapter; the fused LayerNorm cases did not run",
  );
}

interface Case {
  shape: number[];
  seed: number;
}

function dataOf(c: Case) {
  const u = mulberry32(c.seed);
  const d = c.shape[c.shape.length - 1];
  const n = c.shape.reduce((a, b) => a * b, 1);
  const f = (k: number, lo: number, hi: number) =>
    Float64Array.from({ length: k }, () => Math.fround(lo + (hi - lo) * u()));
  // rows with an offset and a spread of their own, as activations have
  const x = f(n, -1, 1).map((v, i) =>
    Math.fround(v * (1 + Math.floor(i / d) % 3) + (Math.floor(i / d) % 5) - 2)
  );
  return { x, g: f(d, 0.5, 1.5), b: f(d, -0.5, 0.5), dy: f(n, -1, 1), d, n };
}

/** y and the gradients of sum(y * dy), in float64, step by step. */
function reference(
  x: Float64Array,
  g: Float64Array,
  b: Float64Array,
  dy: Float64Array,
  d: number,
  eps: number,
) {
  const rows = x.length / d;
  const y = new Float64Array(x.length), dx = new Float64Array(x.length);
  const dg = new Float64Array(d), db = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * d, r * d + d);
    const mean = row.reduce((a, v) => a + v, 0) / d;
    const v = row.reduce((a, t) => a + (t - mean) ** 2, 0) / d;
    const rs = 1 / Math.sqrt(v + eps);
    const xh = Array.from(row, (t) => (t - mean) * rs);
    // dxh = dy g; dvar and dmean by the chain rule through rs and mean
    const dxh = xh.map((_, k) => dy[r * d + k] * g[k]);
    let dvar = 0, dmean = 0;
    for (let k = 0; k < d; k++) {
      dvar += dxh[k] * (row[k] - mean) * -0.5 * rs ** 3;
      dmean -= dxh[k] * rs;
    }
    for (let k = 0; k < d; k++) {
      const i = r * d + k;
      y[i] = g[k] * xh[k] + b[k];
      dx[i] = dxh[k] * rs + dvar * 2 * (row[k] - mean) / d + dmean / d;
      dg[k] += dy[i] * xh[k];
      db[k] += dy[i];
    }
  }
  return { y, dx, dg, db };
}

async function run(
  c: Case,
  data: ReturnType<typeof dataOf>,
  ln: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor,
) {
  const x = tf.tensor(Float32Array.from(data.x), c.shape);
  const g = tf.tensor1d(Float32Array.from(data.g));
  const b = tf.tensor1d(Float32Array.from(data.b));
  const dy = tf.tensor(Float32Array.from(data.dy), c.shape);
  const { value, grads } = tf.valueAndGrads(
    (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(ln(xi, gi, bi), dy)),
  )([x, g, b]);
  const y = ln(x, g, b);
  const out = {
    y: await y.data(),
    dx: await grads[0].data(),
    dg: await grads[1].data(),
    db: await grads[2].data(),
  };
  tf.dispose([x, g, b, dy, y, value, ...grads]);
  return out;
}

type Result = {
  y: ArrayLike<number>;
  dx: ArrayLike<number>;
  dg: ArrayLike<number>;
  db: ArrayLike<number>;
};

function check(name: string, got: Result, want: Result, tol: number): void {
  for (const key of ["y", "dx", "dg", "db"] as const) {
    const a = got[key], b = want[key];
    assert(
      a.length === b.length,
      `${name}: ${key} length ${a.length} vs ${b.length}`,
    );
    for (let i = 0; i < a.length; i++) {
      const err = Math.abs(a[i] - b[i]);
      assert(
        err <= tol * Math.max(1, Math.abs(b[i])),
        `${name}: ${key}[${i}] ${a[i]} vs ${b[i]}`,
      );
    }
  }
}

const CASES: [string, Case][] = [
  ["[3, 5, 7]", { shape: [3, 5, 7], seed: 1 }],
  ["[300, 16]", { shape: [300, 16], seed: 2 }],
  ["[1, 64]", { shape: [1, 64], seed: 3 }],
];

Deno.test("float64 reference: its dx = central differences", () => {
  // eps 1e-6 in float64 on an objective of order 1: truncation ~1e-12,
  // rounding ~1e-10; 1e-7 is far above both and far below a wrong term.
  const data = dataOf({ shape: [4, 6], seed: 5 });
  const f = (x: Float64Array) => {
    const { y } = reference(x, data.g, data.b, data.dy, data.d, 1e-12);
    return y.reduce((a, v, i) => a + v * data.dy[i], 0);
  };
  const { dx } = reference(data.x, data.g, data.b, data.dy, data.d, 1e-12);
  for (let i = 0; i < data.x.length; i++) {
    const p = Float64Array.from(data.x), m = Float64Array.from(data.x);
    p[i] += 1e-6;
    m[i] -= 1e-6;
    const fd = (f(p) - f(m)) / 2e-6;
    assert(Math.abs(fd - dx[i]) <= 1e-7, `dx[${i}] ${dx[i]} vs ${fd}`);
  }
});

Deno.test({
  name:
    "fused LayerNorm on webgpu = float64 reference and the composed op (values, dx, dg, db)",
  ignore: !adapter,
  fn: async () => {
    for (const [name, c] of CASES) {
      const data = dataOf(c);
      await initBackend("webgpu");
      assert(fusedLayerNormAvailable(), "kernels not registered");
      const got = await run(c, data, (x, g, b) => fusedLayerNorm(x, g, b));
      // float32 sums over d <= 64 terms (rows) and 300 terms (dg, db):
      // ~1e-7 relative each; 1e-5 is generous, a wrong term is >= 1e-2.
      check(
        name,
        got,
        reference(data.x, data.g, data.b, data.dy, data.d, 1e-12),
        1e-5,
      );
      await initBackend("cpu");
      assert(!fusedLayerNormAvailable(), "cpu must keep the composed op");
      check(
        `${name} vs composed cpu`,
        got,
        await run(c, data, (x, g, b) => layerNormOp(x, g, b)),
        1e-5,
      );
    }
  },
});
