// The fused attention on webgpu (lavapipe here) against a float64 TypeScript
// reference, values and dQ, dK, dV: causal and padding masks with fully
// masked rows (no NaN), heads 1 and 2, row counts that are no multiple of the
// workgroup (128), one query row (a last-position-only block), a broadcast
// mask, dropout on and off. The reference's own gradient is checked by
// central differences in float64, and the fused kernels against the composed
// tfjs ops with the same counter-based dropout on webgpu and on cpu (the same
// elements dropped on both). Skips without an adapter.
import * as tf from "@tensorflow/tfjs";
import { initBackend, probeWebGpu } from "../lib/backend/init.ts";
import {
  fusedAttention,
  fusedAttentionAvailable,
} from "../lib/backend/attention_kernel.ts";
import { attentionMaskInto } from "../lib/backend/attention_mask.ts";
import {
  counterDropout,
  dropoutConstants,
  dropoutHash,
} from "../lib/backend/counter_dropout.ts";
import {
  causalSelfAttention,
  initSasrecBlock,
  sasrecNames,
} from "../lib/nn/sasrec.ts";
import type { Params } from "../lib/nn/params.ts";
import { makeRng } from "../lib/util/rng.ts";
import { assert } from "./_assert.ts";
import { mulberry32 } from "./_rng.ts";

const adapter = await probeWebGpu();
if (!adapter) {
  console.log(
    "SKIPPED: no WebGPU adapter; the fused attention cases did not run",
  );
}

interface Case {
  B: number;
  H: number;
  Q: number;
  L: number;
  dh: number;
  rate: number;
  seed: number;
  /** [B, L] left-padded ids (0 = padding); the mask is built from them. */
  ids: Int32Array;
  /** Mask batch 1: one [1, 1, Q, L] mask for every entry (ids row 0). */
  broadcast?: boolean;
}

interface Data {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  mask: Float64Array;
  dy: Float64Array;
}

/** Inputs in f32-representable values; the mask from the case's ids. */
function dataOf(c: Case, seed: number): Data {
  const u = mulberry32(seed);
  const rand = (n: number) =>
    Float64Array.from({ length: n }, () => Math.fround(u() * 2 - 1));
  const BH = c.B * c.H;
  const mb = c.broadcast ? 1 : c.B;
  const m = attentionMaskInto(
    c.ids,
    mb,
    c.L,
    c.Q,
    new Float32Array(mb * c.Q * c.L),
  );
  return {
    q: rand(BH * c.Q * c.dh),
    k: rand(BH * c.L * c.dh),
    v: rand(BH * c.L * c.dh),
    mask: Float64Array.from(m),
    dy: rand(BH * c.Q * c.dh),
  };
}

/** The dropout factor of element i, from the counter-based generator. */
function keepOf(c: Case): (i: number) => number {
  if (c.rate === 0) return () => 1;
  const { threshold, scale } = dropoutConstants(c.rate);
  return (i) => dropoutHash(c.seed, i) >= threshold ? scale : 0;
}

/**
 * y = (softmax(s q k^T + M) * K) v and, for the objective sum(y * dy), its
 * gradients, in float64, through the probabilities step by step (not with
 * the kernels' D = dy . y shortcut).
 */
function reference(c: Case, x: Data) {
  const { B, H, Q, L, dh } = c;
  const s = 1 / Math.sqrt(dh), keep = keepOf(c);
  const BH = B * H;
  const y = new Float64Array(BH * Q * dh);
  const dq = new Float64Array(x.q.length);
  const dk = new Float64Array(x.k.length);
  const dv = new Float64Array(x.v.length);
  for (let bh = 0; bh < BH; bh++) {
    const b = c.broadcast ? 0 : Math.floor(bh / H);
    for (let qi = 0; qi < Q; qi++) {
      const row = bh * Q + qi;
      const z = new Float64Array(L);
      let m = -Infinity;
      for (let j = 0; j < L; j++) {
        let t = 0;
        for (let e = 0; e < dh; e++) {
          t += x.q[row * dh + e] * x.k[(bh * L + j) * dh + e];
        }
        // The mask is added in float32, where -1e9 absorbs any score (the
        // spacing there is 64): a fully masked row is exactly uniform.
        const mk = x.mask[(b * Q + qi) * L + j];
        z[j] = mk === 0 ? t * s : Math.fround(t * s + mk);
        m = Math.max(m, z[j]);
      }
      let sum = 0;
      for (let j = 0; j < L; j++) sum += Math.exp(z[j] - m);
      const p = z.map((zj) => Math.exp(zj - m) / sum);
      const kf = Float64Array.from({ length: L }, (_, j) => keep(row * L + j));
      // forward
      for (let j = 0; j < L; j++) {
        for (let e = 0; e < dh; e++) {
          y[row * dh + e] += p[j] * kf[j] * x.v[(bh * L + j) * dh + e];
        }
      }
      // backward: dW = dy v^T, dP = dW * K, dZ = P (dP - sum P dP)
      const dP = new Float64Array(L);
      for (let j = 0; j < L; j++) {
        let w = 0;
        for (let e = 0; e < dh; e++) {
          w += x.dy[row * dh + e] * x.v[(bh * L + j) * dh + e];
          dv[(bh * L + j) * dh + e] += p[j] * kf[j] * x.dy[row * dh + e];
        }
        dP[j] = w * kf[j];
      }
      let pdp = 0;
      for (let j = 0; j < L; j++) pdp += p[j] * dP[j];
      for (let j = 0; j < L; j++) {
        const dz = p[j] * (dP[j] - pdp) * s;
        for (let e = 0; e < dh; e++) {
          dq[row * dh + e] += dz * x.k[(bh * L + j) * dh + e];
          dk[(bh * L + j) * dh + e] += dz * x.q[row * dh + e];
        }
      }
    }
  }
  return { y, dq, dk, dv };
}

function objective(c: Case, x: Data): number {
  const { y } = reference(c, x);
  let f = 0;
  for (let i = 0; i < y.length; i++) f += y[i] * x.dy[i];
  return f;
}

function tensors(c: Case, x: Data) {
  const BH = c.B * c.H;
  return {
    q: tf.tensor3d(Float32Array.from(x.q), [BH, c.Q, c.dh]),
    k: tf.tensor3d(Float32Array.from(x.k), [BH, c.L, c.dh]),
    v: tf.tensor3d(Float32Array.from(x.v), [BH, c.L, c.dh]),
    mask: tf.tensor4d(Float32Array.from(x.mask), [
      c.broadcast ? 1 : c.B,
      1,
      c.Q,
      c.L,
    ]),
    dy: tf.tensor3d(Float32Array.from(x.dy), [BH, c.Q, c.dh]),
  };
}

type Attn = (
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor4D,
) => tf.Tensor3D;

/** y and the gradients of sum(y * dy) of an attention implementation. */
async function run(c: Case, x: Data, attn: Attn) {
  const t = tensors(c, x);
  const { value, grads } = tf.valueAndGrads(
    (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
      tf.sum(
        tf.mul(
          attn(q as tf.Tensor3D, k as tf.Tensor3D, v as tf.Tensor3D, t.mask),
          t.dy,
        ),
      ),
  )([t.q, t.k, t.v]);
  const y = attn(t.q, t.k, t.v, t.mask);
  const out = {
    y: await y.data(),
    dq: await grads[0].data(),
    dk: await grads[1].data(),
    dv: await grads[2].data(),
  };
  tf.dispose([value, y, ...grads, ...Object.values(t)]);
  return out;
}

/**
 * The fused kernels on the reference's [B * H, n, dh] layout: the heads go
 * side by side ([B, n, H * dh], as the dense layers give them) and back.
 */
const fused = (c: Case): Attn => (q, k, v, mask) => {
  const { B, H, Q, dh } = c;
  const merge = (t: tf.Tensor3D) => {
    const n = t.shape[1];
    const heads = tf.transpose(tf.reshape(t, [B, H, n, dh]), [0, 2, 1, 3]);
    return tf.reshape(heads, [B, n, H * dh]) as tf.Tensor3D;
  };
  const y = fusedAttention(merge(q), merge(k), merge(v), mask, {
    heads: H,
    rate: c.rate,
    seed: c.seed,
  });
  const split = tf.transpose(tf.reshape(y, [B, Q, H, dh]), [0, 2, 1, 3]);
  return tf.reshape(split, [B * H, Q, dh]) as tf.Tensor3D;
};

/** The composed tfjs ops of causalSelfAttention's core, same dropout. */
const composed = (c: Case): Attn => (q, k, v, mask) => {
  const { B, H, Q, L, dh } = c;
  const scores = tf.add(
    tf.reshape(
      tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)),
      [B, H, Q, L],
    ),
    mask,
  );
  let probs = tf.softmax(scores);
  if (c.rate > 0) probs = counterDropout(probs, c.rate, c.seed);
  return tf.matMul(tf.reshape(probs, [B * H, Q, L]), v) as tf.Tensor3D;
};

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert(a.length === b.length, `${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

type Result = Awaited<ReturnType<typeof run>> | ReturnType<typeof reference>;

function check(name: string, got: Result, want: Result, tol: number): void {
  for (const key of ["y", "dq", "dk", "dv"] as const) {
    const d = maxDiff(got[key], want[key]);
    assert(d <= tol, `${name}: ${key} differs by ${d} (tolerance ${tol})`);
  }
}

/** Left-padded ids: row lengths from `lens` (0 = a fully padded row). */
function idsOf(L: number, lens: number[]): Int32Array {
  const ids = new Int32Array(lens.length * L);
  lens.forEach((n, b) => {
    for (let j = L - n; j < L; j++) ids[b * L + j] = 1 + ((b * 7 + j) % 9);
  });
  return ids;
}

const CASES: [string, Case][] = [
  ["H=1, no dropout, padding and an empty row", {
    B: 3,
    H: 1,
    Q: 7,
    L: 7,
    dh: 4,
    rate: 0,
    seed: 0,
    ids: idsOf(7, [7, 3, 0]),
  }],
  ["H=2, dropout 0.3, L=13", {
    B: 2,
    H: 2,
    Q: 13,
    L: 13,
    dh: 3,
    rate: 0.3,
    seed: 17,
    ids: idsOf(13, [13, 5]),
  }],
  ["H=2, dropout 0.5, 154 query rows (2 workgroups, the last partial)", {
    B: 11,
    H: 2,
    Q: 7,
    L: 7,
    dh: 4,
    rate: 0.5,
    seed: 3,
    ids: idsOf(7, [7, 6, 5, 4, 3, 2, 1, 0, 7, 7, 2]),
  }],
  ["H=2, last query only (Q=1), dropout 0.2", {
    B: 3,
    H: 2,
    Q: 1,
    L: 9,
    dh: 5,
    rate: 0.2,
    seed: 8,
    ids: idsOf(9, [9, 1, 0]),
  }],
  ["H=1, broadcast mask [1, 1, Q, L], dropout 0.5", {
    B: 2,
    H: 1,
    Q: 6,
    L: 6,
    dh: 8,
    rate: 0.5,
    seed: 5,
    ids: idsOf(6, [4]),
    broadcast: true,
  }],
];

Deno.test("float64 reference: its gradient = central differences", () => {
  // eps 1e-5 in float64: truncation ~eps^2 = 1e-10, rounding ~1e-16 / eps
  // = 1e-11 on an objective of order 1; 1e-7 is far above both and far
  // below a wrong term (order 0.01-1).
  // Rows with no visible key are left out here (every row sees at least
  // its own position): the kernels, like tfjs's composed ops, give such a
  // row the formal softmax gradient although -1e9 has absorbed its scores.
  for (const [name, base] of [CASES[1], CASES[3]]) {
    const c = { ...base, ids: idsOf(base.L, Array(base.B).fill(base.L)) };
    const x = dataOf(c, 11);
    const r = reference(c, x);
    const eps = 1e-5;
    for (const key of ["q", "k", "v"] as const) {
      const g = key === "q" ? r.dq : key === "k" ? r.dk : r.dv;
      for (let i = 0; i < x[key].length; i += 3) {
        const old = x[key][i];
        x[key][i] = old + eps;
        const fp = objective(c, x);
        x[key][i] = old - eps;
        const fm = objective(c, x);
        x[key][i] = old;
        const fd = (fp - fm) / (2 * eps);
        assert(
          Math.abs(fd - g[i]) <= 1e-7,
          `${name}: d${key}[${i}] ${g[i]} vs finite difference ${fd}`,
        );
      }
    }
  }
});

Deno.test({
  name:
    "fused attention on webgpu = float64 reference (values, dQ, dK, dV; masks, heads 1 and 2, dropout)",
  ignore: !adapter,
  fn: async () => {
    await initBackend("webgpu");
    assert(fusedAttentionAvailable(), "kernels not registered");
    // Scores and outputs are sums of at most 13 products of values in
    // (-1, 1) (times 2 with dropout): float32 rounding gives ~1e-7 per term,
    // so 1e-5 absolute is a generous bound, and a wrong mask, dropout
    // element or gradient term moves the results by 1e-2 or more.
    for (const [name, c] of CASES) {
      const x = dataOf(c, 21);
      const got = await run(c, x, fused(c));
      for (const key of ["y", "dq", "dk", "dv"] as const) {
        assert(got[key].every(Number.isFinite), `${name}: ${key} not finite`);
      }
      check(name, got, reference(c, x), 1e-5);
    }
  },
});

Deno.test({
  name:
    "fused attention = the composed ops with the same counter dropout, on webgpu and on cpu",
  ignore: !adapter,
  fn: async () => {
    for (const [name, c] of [CASES[1], CASES[2]]) {
      const x = dataOf(c, 31);
      await initBackend("webgpu");
      const got = await run(c, x, fused(c));
      check(
        `${name}, composed webgpu`,
        got,
        await run(c, x, composed(c)),
        1e-5,
      );
      await initBackend("cpu");
      check(`${name}, composed cpu`, got, await run(c, x, composed(c)), 1e-5);
    }
  },
});

Deno.test({
  name:
    "causalSelfAttention on webgpu (fused) = on cpu (composed): same dropout seeds drawn in the same order",
  ignore: !adapter,
  fn: async () => {
    const d = 8, B = 3, L = 6;
    const ids = idsOf(L, [6, 2, 0]);
    const outputs: Float32Array[] = [];
    const grads: Float32Array[][] = [];
    for (const backend of ["cpu", "webgpu"] as const) {
      await initBackend(backend);
      const p: Params = {};
      const n = sasrecNames("enc", 1).blocks[0];
      initSasrecBlock(p, n, d, makeRng(0));
      const u = mulberry32(4);
      const x = tf.tensor3d(
        Float32Array.from({ length: B * L * d }, () => u() * 2 - 1),
        [B, L, d],
      );
      const mask = tf.tensor4d(
        attentionMaskInto(ids, B, L, L, new Float32Array(B * L * L)),
        [B, 1, L, L],
      );
      const rng = makeRng(5);
      const opts = { heads: 2, rate: 0.2, attnRate: 0.4, ffnRate: 0, rng };
      // a random weighting (the sum of squares of a LayerNorm output is
      // nearly constant, its gradient nearly 0)
      const r = tf.tensor3d(
        Float32Array.from({ length: B * L * d }, () => u() * 2 - 1),
        [B, L, d],
      );
      const f = (xi: tf.Tensor) =>
        tf.sum(
          tf.mul(causalSelfAttention(p, n, xi as tf.Tensor3D, mask, opts), r),
        );
      const { value, grads: g } = tf.valueAndGrads(f)([x]);
      outputs.push(Float32Array.of((await value.data())[0]));
      grads.push([(await g[0].data()) as Float32Array]);
      // the generator advanced by the same draws on both backends
      outputs.push(Float32Array.of(rng.seed()));
      tf.dispose([x, r, mask, value, ...g, ...Object.values(p)]);
    }
    const [lc, sc, lg, sg] = outputs;
    assert(sc[0] === sg[0], "a different number of seeds was drawn");
    assert(
      Math.abs(lc[0] - lg[0]) <= 1e-5 * Math.abs(lc[0]),
      `loss cpu ${lc[0]} vs webgpu ${lg[0]}`,
    );
    const dg = maxDiff(grads[0][0], grads[1][0]);
    console.log(`  loss ${lc[0]} / ${lg[0]}, dx max difference ${dg}`);
    assert(dg <= 1e-4, `dx differs by ${dg}`);
  },
});
