// Clustering and S4Rec building blocks: Sinkhorn-Knopp (marginals, no
// gradient through Q), the clustering loss, K-means, NMI and quartiles, the
// gradient reversal layer and the distillation KL.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { sinkhorn, sinkhornKnopp } from "../lib/cluster/sinkhorn.ts";
import {
  clusterCrossEntropy,
  cosineScores,
  onlineClustering,
} from "../lib/cluster/online.ts";
import { kmeans, nearestCentroid } from "../lib/cluster/kmeans.ts";
import { gradReverse, stopGradient } from "../lib/nn/grad_reverse.ts";
import { distillKL } from "../lib/losses/distill.ts";
import { nmi, quartiles } from "../lib/eval/cluster_report.ts";
import { normalArray } from "../lib/nn/params.ts";
import { makeRng } from "../lib/util/rng.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./_assert.ts";

await initBackend("cpu");

/** Cosine similarities of random Gaussian embeddings and prototypes, row-major [B, K]. */
function cosines(B: number, K: number, d: number, seed: number): Float32Array {
  const rng = makeRng(seed);
  return tf.tidy(() =>
    cosineScores(
      tf.tensor2d(normalArray(B * d, 1, rng), [B, d]),
      tf.tensor2d(normalArray(K * d, 1, rng), [K, d]),
    ).dataSync() as Float32Array
  );
}

function marginals(q: Float32Array, B: number, K: number) {
  const rows = new Float64Array(B), cols = new Float64Array(K);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      rows[b] += q[b * K + k];
      cols[k] += q[b * K + k];
    }
  }
  return {
    rowErr: Math.max(...rows.map((x) => Math.abs(x - 1 / B))),
    colErr: Math.max(...cols.map((x) => Math.abs(x - 1 / K))),
  };
}

Deno.test("Sinkhorn: row sums 1/B and column sums 1/K within 1e-4 (B=256, K=128, eps 0.05, converged)", () => {
  const B = 256, K = 128;
  const s = cosines(B, K, 64, 1);
  const q = sinkhornKnopp(s, { rows: B, cols: K }, {
    epsilon: 0.05,
    iterations: 50,
  });
  const { rowErr, colErr } = marginals(q, B, K);
  assert(rowErr < 1e-4, `row sums off by ${rowErr}`);
  assert(colErr < 1e-4, `column sums off by ${colErr}`);
  assert(q.every((x) => x >= 0));
  // SwAV's 3 iterations: rows exact, columns already near 1/K (= 0.0078).
  const q3 = marginals(
    sinkhornKnopp(s, { rows: B, cols: K }, { epsilon: 0.05, iterations: 3 }),
    B,
    K,
  );
  assert(q3.rowErr < 1e-6, `3 iterations: row sums off by ${q3.rowErr}`);
  assert(q3.colErr < 2e-3, `3 iterations: column sums off by ${q3.colErr}`);
});

Deno.test("Sinkhorn: a tiny epsilon (exp underflows) stays finite with exact row sums (log-domain fallback)", () => {
  const B = 64, K = 16;
  const s = cosines(B, K, 16, 2);
  const q = sinkhornKnopp(s, { rows: B, cols: K }, {
    epsilon: 1e-3,
    iterations: 200,
  });
  assert(q.every((x) => Number.isFinite(x) && x >= 0));
  // rows exact; columns converge slowly when epsilon is this small
  const { rowErr } = marginals(q, B, K);
  assert(rowErr < 1e-6, `row sums off by ${rowErr}`);
});

Deno.test("Sinkhorn: the tfjs entry point equals sinkhornKnopp and rejects bad options", () => {
  const B = 32, K = 8;
  const s = cosines(B, K, 8, 3);
  const got = sinkhorn(tf.tensor2d(s, [B, K]), { iterations: 4 }).dataSync();
  const want = sinkhornKnopp(s, { rows: B, cols: K }, { iterations: 4 });
  for (let i = 0; i < want.length; i++) assertEquals(got[i], want[i]);
  assertThrows(() => sinkhornKnopp(s, { rows: B, cols: K }, { epsilon: 0 }));
  assertThrows(() => sinkhornKnopp(s, { rows: B, cols: K }, { iterations: 0 }));
  assertThrows(() => sinkhornKnopp(s, { rows: B, cols: K + 1 }));
});

Deno.test("No gradient flows through Q: L_clust's gradient is that of a constant target", () => {
  const rng = makeRng(4);
  const B = 12, K = 5, d = 6;
  const z = tf.tensor2d(normalArray(B * d, 1, rng), [B, d]);
  const mu = tf.tensor2d(normalArray(K * d, 1, rng), [K, d]);
  const opts = { temperature: 0.1, epsilon: 0.05, iterations: 3 };
  // 1. Q itself is not a function of the scores on any tape.
  assertThrows(() =>
    tf.grad((s: tf.Tensor) => tf.sum(sinkhorn(s as tf.Tensor2D, opts)))(
      cosineScores(z, mu),
    )
  );
  // 2. The loss's gradients equal those with the codes frozen as data.
  const codes = onlineClustering(z, mu, opts).codes;
  const frozen = tf.tensor2d(codes.dataSync(), [B, K]);
  const [gz, gm] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    onlineClustering(a as tf.Tensor2D, b as tf.Tensor2D, opts).loss
  )([z, mu]);
  const [fz, fm] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    clusterCrossEntropy(
      cosineScores(a as tf.Tensor2D, b as tf.Tensor2D),
      frozen,
      {
        temperature: 0.1,
      },
    )
  )([z, mu]);
  const maxAbs = (x: tf.Tensor) => Math.max(...Array.from(x.abs().dataSync()));
  assert(maxAbs(gz) > 1e-3 && maxAbs(gm) > 1e-3, "gradients vanished");
  assert(maxAbs(tf.sub(gz, fz)) < 1e-6, "z gradient differs");
  assert(maxAbs(tf.sub(gm, fm)) < 1e-6, "prototype gradient differs");
});

Deno.test("clusterCrossEntropy equals -mean sum q log softmax(s / t) by hand", () => {
  const s = [[0.5, -0.2, 0.1], [0.0, 0.3, -0.4]];
  const q = [[0.2, 0.5, 0.3], [1, 0, 0]];
  const t = 0.5;
  let hand = 0;
  for (let b = 0; b < 2; b++) {
    const z = s[b].map((x) => Math.exp(x / t));
    const sum = z.reduce((a, c) => a + c, 0);
    for (let k = 0; k < 3; k++) hand -= q[b][k] * Math.log(z[k] / sum);
  }
  hand /= 2;
  const got = clusterCrossEntropy(tf.tensor2d(s), tf.tensor2d(q), {
    temperature: t,
  }).dataSync()[0];
  assertAlmostEquals(got, hand, 1e-5);
});

Deno.test("Gradient reversal negates (and scales) gradients exactly; finite differences agree", () => {
  const rng = makeRng(5);
  const x = tf.tensor1d(normalArray(7, 1, rng));
  const w = tf.tensor1d(normalArray(7, 1, rng));
  const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.sin(v), w)) as tf.Scalar;
  const plain = tf.grad(f)(x).dataSync();
  for (const scale of [1, 0.3]) {
    const rev = tf.grad((v: tf.Tensor) => f(gradReverse(v, scale)))(x)
      .dataSync();
    // exact: the reversed gradient is -scale times the plain one (float32)
    for (let i = 0; i < 7; i++) {
      assertEquals(rev[i], Math.fround(plain[i] * Math.fround(-scale)));
    }
  }
  // the forward pass is the identity
  assertEquals(
    Array.from(gradReverse(x, 0.3).dataSync()),
    Array.from(x.dataSync()),
  );
  // finite differences of the (identity-forward) function: reversed sign
  const xs = Array.from(x.dataSync()), ws = Array.from(w.dataSync());
  const F = (v: number[]) =>
    v.reduce((a, vi, i) => a + Math.sin(vi) * ws[i], 0);
  const rev = tf.grad((v: tf.Tensor) => f(gradReverse(v)))(x).dataSync();
  const h = 1e-4;
  for (let i = 0; i < 7; i++) {
    const up = xs.slice(), dn = xs.slice();
    up[i] += h;
    dn[i] -= h;
    const fd = (F(up) - F(dn)) / (2 * h);
    assertAlmostEquals(rev[i], -fd, 1e-5);
  }
  assertThrows(() => gradReverse(x, -1));
});

Deno.test("stopGradient: identity forward, zero gradient", () => {
  const x = tf.tensor1d([1, 2]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(stopGradient(v))))(x);
  assertEquals(Array.from(g.dataSync()), [0, 0]);
  assertEquals(Array.from(stopGradient(x).dataSync()), [1, 2]);
});

Deno.test("distillKL equals a hand computation of KL(softmax(t/tau) || softmax(s/tau)); detached teacher gets no gradient", () => {
  const teacher = [[1, -0.5, 2], [0.3, 0.3, -1]];
  const student = [[0.2, 0.1, -0.4], [1.5, -2, 0]];
  const tau = 0.7;
  const sm = (v: number[]) => {
    const e = v.map((x) => Math.exp(x / tau));
    const s = e.reduce((a, c) => a + c, 0);
    return e.map((x) => x / s);
  };
  let hand = 0;
  for (let b = 0; b < 2; b++) {
    const et = sm(teacher[b]), es = sm(student[b]);
    for (let i = 0; i < 3; i++) hand += et[i] * Math.log(et[i] / es[i]);
  }
  hand /= 2;
  const t = tf.tensor2d(teacher), s = tf.tensor2d(student);
  assertAlmostEquals(
    distillKL(t, s, { temperature: tau }).dataSync()[0],
    hand,
    1e-6,
  );
  // KL of a distribution with itself is 0
  assertAlmostEquals(distillKL(s, s).dataSync()[0], 0, 1e-7);
  const [gt, gs] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    distillKL(stopGradient(a) as tf.Tensor2D, b as tf.Tensor2D, {
      temperature: tau,
    })
  )([t, s]);
  assertEquals(Array.from(gt.dataSync()).every((v) => v === 0), true);
  assert(Array.from(gs.dataSync()).some((v) => Math.abs(v) > 1e-3));
});

Deno.test("K-means: deterministic per seed, recovers separated blobs, no empty cluster", () => {
  const rng = makeRng(6);
  const k = 4, per = 50, dim = 3;
  const data = new Float32Array(k * per * dim);
  const truth = new Int32Array(k * per);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < per; i++) {
      const p = c * per + i;
      truth[p] = c;
      for (let t = 0; t < dim; t++) {
        data[p * dim + t] = (t === c % dim ? 10 * (1 + c) : 0) +
          normalArray(1, 0.3, rng)[0];
      }
    }
  }
  const a = kmeans(data, dim, { k, rng: makeRng(1) });
  const b = kmeans(data, dim, { k, rng: makeRng(1) });
  assertEquals(Array.from(a.assign), Array.from(b.assign));
  assertEquals(Array.from(a.centroids), Array.from(b.centroids));
  assertAlmostEquals(nmi(a.assign, truth), 1, 1e-9);
  assertEquals(
    Array.from(nearestCentroid(data, a.centroids, dim)),
    Array.from(a.assign),
  );
  // more clusters than distinct points: duplicates, still k non-empty clusters
  const dup = new Float32Array([0, 0, 0, 1, 1, 1, 2, 2]);
  const r = kmeans(dup, 1, { k: 3, rng: makeRng(2) });
  assertEquals(new Set(r.assign).size, 3);
  assertThrows(() => kmeans(dup, 1, { k: 9, rng: makeRng(0) }));
});

Deno.test("NMI and quartiles: hand values", () => {
  const a = Int32Array.from([0, 0, 1, 1, 2, 2]);
  assertAlmostEquals(nmi(a, Int32Array.from([1, 1, 0, 0, 2, 2])), 1, 1e-12);
  // b merges two of a's clusters: I = H(b) = log 3 - 2/3 log 2; H(a) = log 3
  const b = Int32Array.from([0, 0, 0, 0, 1, 1]);
  const hb = -(2 / 3) * Math.log(2 / 3) - (1 / 3) * Math.log(1 / 3);
  assertAlmostEquals(nmi(a, b), (2 * hb) / (Math.log(3) + hb), 1e-12);
  const q = quartiles([0, 1, 2, 3]);
  assertEquals([q.min, q.q1, q.median, q.q3, q.max], [0, 0.75, 1.5, 2.25, 3]);
});
