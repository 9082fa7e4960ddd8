// The fused full-softmax cross-entropy on webgpu (lavapipe here) against a
// float64 TypeScript reference (loss, dH, dE) on random data with padding
// targets, tied logits, an item count that is no multiple of anything, R = 1
// and several backward chunks; and against tf's composed CE (softmaxCE on
// the gathered rows and sliced table) on webgpu. The forward kernel is tiled
// (4 rows per workgroup, 64 invocations sharing out the items): R = 37 and
// R = 6 end in a partial tile, N = 5 leaves most invocations without an
// item, N = 70 gives some invocations two, and a tile of padding rows only
// must still write its zeros. Skips without an adapter.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import {
  fusedSoftmaxCE,
  fusedSoftmaxCEAvailable,
} from "../lib/backend/softmax_ce_kernel.ts";
import { realPositions, softmaxCE } from "../lib/losses/rec.ts";
import { mulberry32 } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log("SKIPPED: no WebGPU adapter; the fused CE cases did not run");
}

/** Loss, dH and dE of the mean CE in float64 (dy = 1). */
function reference(
  H: Float64Array,
  E: Float64Array,
  t: Int32Array,
  R: number,
  d: number,
): { loss: number; dH: Float64Array; dE: Float64Array } {
  const N = E.length / d - 2;
  const count = t.filter((v) => v !== 0).length;
  const dH = new Float64Array(R * d), dE = new Float64Array(E.length);
  let loss = 0;
  for (let r = 0; r < R; r++) {
    if (t[r] === 0) continue;
    const z = new Float64Array(N + 2);
    let m = -Infinity;
    for (let j = 1; j <= N; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += H[r * d + k] * E[j * d + k];
      z[j] = s;
      m = Math.max(m, s);
    }
    let s = 0;
    for (let j = 1; j <= N; j++) s += Math.exp(z[j] - m);
    const lse = m + Math.log(s);
    loss += (lse - z[t[r]]) / count;
    for (let j = 1; j <= N; j++) {
      const g = (Math.exp(z[j] - lse) - (j === t[r] ? 1 : 0)) / count;
      for (let k = 0; k < d; k++) {
        dH[r * d + k] += g * E[j * d + k];
        dE[j * d + k] += g * H[r * d + k];
      }
    }
  }
  return { loss, dH, dE };
}

function randomCase(seed: number, R: number, N: number, d: number) {
  const u = mulberry32(seed);
  const H = Float64Array.from(
    { length: R * d },
    () => Math.fround(u() * 2 - 1),
  );
  const E = Float64Array.from(
    { length: (N + 2) * d },
    () => Math.fround(u() * 2 - 1),
  );
  const t = Int32Array.from({ length: R }, () => Math.floor(u() * (N + 1)));
  if (t.every((v) => v === 0)) t[0] = 1;
  return { H, E, t };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function fused(
  H: Float64Array,
  E: Float64Array,
  t: Int32Array,
  R: number,
  d: number,
  chunk?: number,
) {
  const h = tf.tensor2d(Float32Array.from(H), [R, d]);
  const e = tf.tensor2d(Float32Array.from(E), [E.length / d, d]);
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
    fusedSoftmaxCE(a as tf.Tensor2D, b as tf.Tensor2D, t, { chunk })
  )([h, e]);
  const out = {
    loss: (await value.data())[0],
    dH: await grads[0].data(),
    dE: await grads[1].data(),
  };
  tf.dispose([h, e, value, ...grads]);
  return out;
}

function check(
  name: string,
  got: { loss: number; dH: ArrayLike<number>; dE: ArrayLike<number> },
  want: { loss: number; dH: ArrayLike<number>; dE: ArrayLike<number> },
  tol: number,
) {
  const dl = Math.abs(got.loss - want.loss);
  const dh = maxDiff(got.dH, want.dH), de = maxDiff(got.dE, want.dE);
  if (
    !(dl <= tol * Math.max(1, Math.abs(want.loss)) && dh <= tol && de <= tol)
  ) {
    throw new Error(`${name}: |dloss| ${dl}, |ddH| ${dh}, |ddE| ${de}`);
  }
}

Deno.test({
  name:
    "fused CE on webgpu = float64 reference (padding, ties, odd N, R=1, chunks)",
  ignore: !adapter,
  fn: async () => {
    await initBackend("webgpu");
    if (!fusedSoftmaxCEAvailable()) throw new Error("kernels not registered");
    // loss ~ log N and gradient entries ~ 1/count: 1e-5 is f32 accumulation
    // error over d = 16 and N <= 301 terms, far below a wrong softmax.
    for (
      const [seed, R, N, d, chunk] of [
        [1, 37, 301, 16, undefined],
        [2, 37, 301, 16, 10], // 4 chunks, the last of 7 rows
        [3, 1, 5, 8, undefined], // R = 1
        [4, 64, 129, 12, 64],
      ] as [number, number, number, number, number | undefined][]
    ) {
      const { H, E, t } = randomCase(seed, R, N, d);
      if (R > 1) t[0] = t[1] = 0; // padding rows
      if (R > 1 && t[2] === 0) t[2] = 1;
      check(
        `seed ${seed}`,
        await fused(H, E, t, R, d, chunk),
        reference(H, E, t, R, d),
        1e-5,
      );
    }
    // a first tile of padding rows only, then a partial tile; N = 70 > 64
    {
      const R = 6, N = 70, d = 5;
      const { H, E } = randomCase(5, R, N, d);
      const t = Int32Array.of(0, 0, 0, 0, 70, 1);
      check(
        "padding tile",
        await fused(H, E, t, R, d),
        reference(H, E, t, R, d),
        1e-5,
      );
    }
    // ties: every item has the same embedding -> loss = log N exactly, the
    // gradient of H is 0 (softmax - onehot sums to 0 against equal rows).
    {
      const R = 3, N = 7, d = 4;
      const E = new Float64Array((N + 2) * d).fill(0.5);
      const H = Float64Array.from({ length: R * d }, (_, i) => (i % 5) / 5);
      const t = Int32Array.of(3, 0, 7);
      const got = await fused(H, E, t, R, d);
      if (Math.abs(got.loss - Math.log(N)) > 1e-6) {
        throw new Error(`ties: ${got.loss} vs log 7`);
      }
      check("ties", got, reference(H, E, t, R, d), 1e-6);
    }
    // the mask token row (N + 1) and padding row 0 get no gradient even
    // where their logits are the largest.
    {
      const R = 2, N = 3, d = 2;
      const E = Float64Array.of(9, 9, 1, 0, 0, 1, 1, 1, 9, 9);
      const H = Float64Array.of(1, 2, -1, 0.5);
      const t = Int32Array.of(2, 3);
      const got = await fused(H, E, t, R, d);
      check("mask row", got, reference(H, E, t, R, d), 1e-5);
      for (const j of [0, N + 1]) {
        if (got.dE[j * d] !== 0 || got.dE[j * d + 1] !== 0) {
          throw new Error(`row ${j} got a gradient`);
        }
      }
    }
  },
});

Deno.test({
  name: "fused CE on webgpu = tf's composed softmaxCE on webgpu",
  ignore: !adapter,
  fn: async () => {
    await initBackend("webgpu");
    const R = 50, N = 211, d = 24;
    const { H, E, t } = randomCase(7, R, N, d);
    const got = await fused(H, E, t, R, d, 16);
    const pos = realPositions(t);
    const h = tf.tensor2d(Float32Array.from(H), [R, d]);
    const e = tf.tensor2d(Float32Array.from(E), [N + 2, d]);
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
      softmaxCE(
        tf.gather(a, tf.tensor1d(pos, "int32")) as tf.Tensor2D,
        tf.slice(b, [1, 0], [N, d]) as tf.Tensor2D,
        Int32Array.from(pos, (i) => t[i] - 1),
      )
    )([h, e]);
    check("composed", got, {
      loss: (await value.data())[0],
      dH: await grads[0].data(),
      dE: await grads[1].data(),
    }, 1e-5);
    tf.dispose([h, e, value, ...grads]);
  },
});
