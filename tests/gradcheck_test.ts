/**
 * Gradient checks of the encoders (SASRec, GRU) with both recommendation
 * losses against central finite differences on the cpu backend (method and
 * tolerances: tests/_gradcheck.ts), plus padding invariance and fully padded
 * rows. Every parameter tensor is named and must receive a gradient, except
 * SASRec's key biases, which must receive none.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { initSasrec } from "../lib/nn/sasrec.ts";
import { initGru } from "../lib/nn/gru.ts";
import {
  encodeLastByLength,
  encodeLastStacked,
  stackInputs,
} from "../lib/nn/by_length.ts";
import type { Encoder, SeqInput } from "../lib/nn/encoder.ts";
import type { Params } from "../lib/nn/params.ts";
import { normalArray } from "../lib/nn/params.ts";
import { bceOneNegative, fullSoftmaxCE, softmaxCE } from "../lib/losses/rec.ts";
import { makeRng } from "../lib/util/rng.ts";
import { disposeTree } from "../lib/optim/transform.ts";
import {
  assertGradCheck,
  assertSpecCovers,
  checkObjective,
  type GradSpec,
  perturbParams,
  sasrecSpec,
} from "./_gradcheck.ts";
import { stopGradient } from "../lib/nn/grad_reverse.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./_assert.ts";

await initBackend("cpu");

const NUM_ITEMS = 7;
// Fixed left-padded batch, B = 3, L = 5; targets = next item, 0 = none.
const BATCH: SeqInput = {
  inputs: Int32Array.from([
    [0, 0, 1, 2, 3],
    [4, 2, 6, 5, 7],
    [0, 0, 0, 6, 3],
  ].flat()),
  batchSize: 3,
  seqLen: 5,
  posOffset: 0,
};
const TARGETS = Int32Array.from([
  [0, 0, 2, 3, 4],
  [2, 6, 5, 7, 1],
  [0, 0, 0, 3, 5],
].flat());
const NEGATIVES = Int32Array.from([
  [0, 0, 5, 7, 1],
  [3, 1, 1, 2, 4],
  [0, 0, 0, 1, 2],
].flat());

type LossKind = "ce" | "bce";

function lossOf(enc: Encoder, params: Params, kind: LossKind): tf.Scalar {
  return tf.tidy(() => {
    const h = enc.encode(params, BATCH);
    const emb = params["item_emb"] as tf.Tensor2D;
    return kind === "ce"
      ? fullSoftmaxCE(h, emb, TARGETS)
      : bceOneNegative(h, emb, TARGETS, NEGATIVES);
  });
}

function tinySasrec(
  seed: number,
  layers = 2,
): { enc: Encoder; params: Params } {
  const params: Params = {};
  const enc = initSasrec(params, {
    numItems: NUM_ITEMS,
    hidden: 8,
    heads: 2,
    layers,
    maxLen: 5,
    dropout: 0,
  }, makeRng(seed));
  return { enc, params };
}

function tinyGru(seed: number): { enc: Encoder; params: Params } {
  const params: Params = {};
  const enc = initGru(params, {
    numItems: NUM_ITEMS,
    hidden: 8,
    maxLen: 5,
    dropout: 0,
  }, makeRng(seed));
  return { enc, params };
}

const dispose = (p: Params) => Object.values(p).forEach((v) => v.dispose());

/** The loss as an objective of the parameters (no batch: it is fixed). */
const objective = (enc: Encoder, kind: LossKind) => (p: Params) => ({
  total: lossOf(enc, p, kind),
  terms: {},
});

for (const kind of ["ce", "bce"] as const) {
  Deno.test(`gradcheck: SASRec with ${kind} loss, every parameter tensor`, async () => {
    const { enc, params } = tinySasrec(1);
    perturbParams(params, 2);
    // item_emb, pos_emb, ln_in (g, b), and per block q/k/v/o, ffn1/ffn2
    // (w, b), ln_attn, ln_ffn (g, b); the key biases get no gradient
    const spec = sasrecSpec(2);
    assertSpecCovers(spec, Object.keys(params));
    const report = await checkObjective(
      objective(enc, kind),
      params,
      null,
      spec,
      {
        seed: 3,
      },
    );
    assertGradCheck(report, `SASRec ${kind}`);
    disposeTree(report.grads);
    dispose(params);
  });

  Deno.test(`gradcheck: GRU with ${kind} loss, every parameter tensor`, async () => {
    const { enc, params } = tinyGru(4);
    perturbParams(params, 5);
    const spec = {
      nonZero: ["item_emb", "gru.wx", "gru.wh", "gru.bx", "gru.bh"],
    };
    assertSpecCovers(spec, Object.keys(params));
    const report = await checkObjective(
      objective(enc, kind),
      params,
      null,
      spec,
      {
        seed: 6,
      },
    );
    assertGradCheck(report, `GRU ${kind}`);
    disposeTree(report.grads);
    dispose(params);
  });
}

Deno.test("gradcheck at the default N(0, 0.02) initialisation agrees too (CE)", async () => {
  // Smaller gradients: agreement within the tolerance is all that can be
  // asked (no minimum gradient norm); the key biases still get none.
  const { enc, params } = tinySasrec(7);
  const report = await checkObjective(
    objective(enc, "ce"),
    params,
    null,
    sasrecSpec(2),
    {
      seed: 8,
      directions: 1,
      minNorm: 0,
    },
  );
  assertGradCheck(report, "SASRec CE at initialisation");
  disposeTree(report.grads);
  dispose(params);
});

Deno.test("the checker fails on a wrong gradient, a missing one and an unexpected one", async () => {
  const params: Params = {
    a: tf.variable(tf.tensor1d([0.3, -0.7, 1.1])),
    b: tf.variable(tf.tensor1d([0.5, 0.2])),
  };
  // sum(a^3) + sum(b^2), with d/da written by hand: right, or 5% too large
  const cube = (k: number) =>
    tf.customGrad(
      ((x: tf.Tensor, save: tf.GradSaveFunc) => {
        save([x]);
        return {
          value: tf.pow(x, 3),
          gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) =>
            tf.mul(dy, tf.mul(3 * k, tf.square(xs))),
        };
      }) as unknown as Parameters<typeof tf.customGrad>[0],
    );
  const f = (k: number, stopB = false) => (p: Params) => ({
    total: tf.add(
      tf.sum(cube(k)(p.a)),
      tf.sum(tf.square(stopB ? stopGradient(p.b) : p.b)),
    ) as tf.Scalar,
    terms: {},
  });
  const run = async (
    k: number,
    spec: GradSpec,
    stopB = false,
    hold = false,
  ) => {
    const r = await checkObjective(f(k, stopB), params, null, spec, {
      holdDetached: hold,
    });
    disposeTree(r.grads);
    return r.bad;
  };
  const both = { nonZero: ["a", "b"] };
  assertEquals(await run(1, both), []);
  const wrong = await run(1.05, both);
  assert(wrong.some((l) => l.startsWith("a#0:")), wrong.join("; "));
  // b detached: the differences disagree with its zero gradient ...
  const missing = await run(1, both, true);
  assert(missing.some((l) => l.startsWith("b#0:")), missing.join("; "));
  assert(missing.some((l) => l.startsWith("b: gradient norm 0 <")));
  // ... unless detached values are held: then "it must receive one" is
  // what catches it
  const held = await run(1, both, true, true);
  assertEquals(held.length, 1, held.join("; "));
  assert(held[0].startsWith("b: gradient norm 0 <"), held[0]);
  const unexpected = await run(1, { nonZero: ["a"], zero: ["b"] });
  assert(
    unexpected.some((l) => l.startsWith("b: expected a zero gradient")),
    unexpected.join("; "),
  );
  dispose(params);
});

// ---------------------------------------------------------------- padding

function lastRows(h: tf.Tensor3D, n: number): Float32Array {
  // the last n positions of row 0, flattened
  const [, L, d] = h.shape;
  return tf.tidy(() =>
    tf.slice(h, [0, L - n, 0], [1, n, d]).dataSync() as Float32Array
  );
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("SASRec: outputs do not depend on how much left padding there is", () => {
  const { enc, params } = tinySasrec(9);
  perturbParams(params, 10);
  const seq = [3, 5, 2];
  // L = 3 (no padding, positions 2..4 of maxLen 5) ...
  const short = enc.encode(params, {
    inputs: Int32Array.from(seq),
    batchSize: 1,
    seqLen: 3,
    posOffset: 2,
  });
  // ... versus L = 5 with two padding columns, alongside another row.
  const long = enc.encode(params, {
    inputs: Int32Array.from([0, 0, ...seq, 1, 2, 3, 4, 5]),
    batchSize: 2,
    seqLen: 5,
    posOffset: 0,
  });
  const a = lastRows(short, 3), b = lastRows(long, 3);
  assert(maxAbsDiff(a, b) <= 1e-5, `differ by ${maxAbsDiff(a, b)}`);
  // The check can fail: a wrong position offset changes the output.
  const shifted = enc.encode(params, {
    inputs: Int32Array.from(seq),
    batchSize: 1,
    seqLen: 3,
    posOffset: 0,
  });
  assert(
    maxAbsDiff(lastRows(shifted, 1), lastRows(long, 1)) > 1e-3,
    "position embeddings have no effect",
  );
  tf.dispose([short, long, shifted]);
  dispose(params);
});

Deno.test("GRU: outputs do not depend on how much left padding there is", () => {
  const { enc, params } = tinyGru(11);
  perturbParams(params, 12);
  const seq = [3, 5, 2];
  const short = enc.encode(params, {
    inputs: Int32Array.from(seq),
    batchSize: 1,
    seqLen: 3,
    posOffset: 2,
  });
  const long = enc.encode(params, {
    inputs: Int32Array.from([0, 0, ...seq, 1, 2, 3, 4, 5]),
    batchSize: 2,
    seqLen: 5,
    posOffset: 0,
  });
  const a = lastRows(short, 3), b = lastRows(long, 3);
  assert(maxAbsDiff(a, b) <= 1e-5, `differ by ${maxAbsDiff(a, b)}`);
  // the state before the first real item is zero: padding outputs are zeros
  const pad = tf.tidy(() =>
    tf.slice(long, [0, 0, 0], [1, 2, 8]).dataSync() as Float32Array
  );
  assertEquals(Array.from(pad), new Array(16).fill(0));
  // an extra item in front does change the output (the check can fail)
  const longer = enc.encode(params, {
    inputs: Int32Array.from([0, 4, ...seq]),
    batchSize: 1,
    seqLen: 5,
    posOffset: 0,
  });
  assert(maxAbsDiff(lastRows(longer, 1), lastRows(long, 1)) > 1e-3);
  tf.dispose([short, long, longer]);
  dispose(params);
});

Deno.test("a fully padded row gives finite outputs and gradients (SASRec, GRU)", () => {
  for (const make of [tinySasrec, tinyGru]) {
    const { enc, params } = make(13);
    perturbParams(params, 14);
    const input: SeqInput = {
      inputs: Int32Array.from([0, 0, 0, 0, 0, 0, 0, 1, 2, 3]),
      batchSize: 2,
      seqLen: 5,
      posOffset: 0,
    };
    const h = enc.encode(params, input);
    const vals = h.dataSync();
    assert(vals.every(Number.isFinite), `${enc.kind}: non-finite output`);
    if (enc.kind === "gru") {
      // nothing seen: the state is still zero
      assert(vals.slice(0, 40).every((x) => x === 0), "GRU pad row not zero");
    }
    // A loss over the real row only: gradients must be finite everywhere
    // even though the padded row goes through the same computation.
    const targets = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 2, 3, 4]);
    const vars = Object.values(params);
    const { value, grads } = tf.variableGrads(() =>
      fullSoftmaxCE(
        enc.encode(params, input),
        params["item_emb"] as tf.Tensor2D,
        targets,
      ), vars);
    assert(Number.isFinite(value.dataSync()[0]), `${enc.kind}: loss`);
    for (const [n, g] of Object.entries(grads)) {
      assert(g.dataSync().every(Number.isFinite), `${enc.kind}: grad ${n}`);
    }
    // and the real row's output equals encoding it alone
    const alone = enc.encode(params, {
      inputs: Int32Array.from([0, 0, 1, 2, 3]),
      batchSize: 1,
      seqLen: 5,
      posOffset: 0,
    });
    const both = tf.tidy(() => tf.slice(h, [1, 0, 0], [1, 5, 8]));
    assertAlmostEquals(
      maxAbsDiff(
        both.dataSync() as Float32Array,
        alone.dataSync() as Float32Array,
      ),
      0,
      1e-6,
    );
    tf.dispose([h, value, alone, both]);
    tf.dispose(grads);
    dispose(params);
  }
});

Deno.test("losses ignore positions whose target is 0", () => {
  const { enc, params } = tinySasrec(15);
  perturbParams(params, 16);
  const h = enc.encode(params, BATCH);
  const emb = params["item_emb"] as tf.Tensor2D;
  // Only one real target: equals a hand computation of -log softmax at it.
  const t = new Int32Array(15);
  t[9] = 4; // row 1, last column
  const ce = fullSoftmaxCE(h, emb, t).dataSync()[0];
  const hv = tf.tidy(() => tf.slice(h, [1, 4, 0], [1, 1, 8]).dataSync());
  const E = emb.arraySync() as number[][];
  const logits = E.slice(1, NUM_ITEMS + 1).map((e) =>
    e.reduce((s, x, i) => s + x * hv[i], 0)
  );
  const mx = Math.max(...logits);
  const lse = mx + Math.log(logits.reduce((s, z) => s + Math.exp(z - mx), 0));
  assertAlmostEquals(ce, lse - logits[3], 1e-4);
  // BCE at that position: softplus(-pos) + softplus(neg)
  const n = new Int32Array(15);
  n[9] = 6;
  const bce = bceOneNegative(h, emb, t, n).dataSync()[0];
  const sp = (x: number) => Math.log1p(Math.exp(x));
  assertAlmostEquals(bce, sp(-logits[3]) + sp(logits[5]), 1e-4);
  // no real targets at all: 0, not NaN
  assertEquals(fullSoftmaxCE(h, emb, new Int32Array(15)).dataSync()[0], 0);
  h.dispose();
  dispose(params);
});

/**
 * `f` and `g` give the same `[B, d]` output (within 1e-5) and the same
 * gradients of `sum(output * w)` w.r.t. every parameter (within 1e-4 of the
 * largest entry, at least 1).
 */
function assertSameOutputsAndGrads(
  params: Params,
  f: () => tf.Tensor,
  g: () => tf.Tensor,
  w: tf.Tensor,
  what: string,
): void {
  const a = f(), b = g();
  const diff = maxAbsDiff(
    a.dataSync() as Float32Array,
    b.dataSync() as Float32Array,
  );
  assert(diff <= 1e-5, `${what}: outputs differ by ${diff}`);
  const ga = tf.variableGrads(
    () => tf.sum(tf.mul(f(), w)) as tf.Scalar,
    Object.values(params),
  );
  const gb = tf.variableGrads(
    () => tf.sum(tf.mul(g(), w)) as tf.Scalar,
    Object.values(params),
  );
  let checked = 0;
  for (const name of Object.keys(ga.grads)) {
    const x = ga.grads[name].dataSync() as Float32Array;
    const y = gb.grads[name].dataSync() as Float32Array;
    const scale = Math.max(1, ...Array.from(x, Math.abs));
    assert(
      maxAbsDiff(x, y) <= 1e-4 * scale,
      `${what} ${name}: gradients differ by ${maxAbsDiff(x, y)}`,
    );
    checked++;
  }
  assert(checked >= 3, `${what}: only ${checked} gradients`);
  tf.dispose([
    a,
    b,
    ga.value,
    gb.value,
    ...Object.values(ga.grads),
    ...Object.values(gb.grads),
  ]);
}

Deno.test("lastOnly: the last position's output and its gradients equal the full pass's (SASRec 1 and 2 blocks, GRU)", () => {
  for (
    const { enc, params } of [tinySasrec(21), tinySasrec(22, 1), tinyGru(23)]
  ) {
    perturbParams(params, 24);
    const last = enc.encode(params, BATCH, { lastOnly: true });
    assertEquals(last.shape, [3, 1, 8]);
    last.dispose();
    const w = tf.tensor3d(normalArray(3 * 8, 1, makeRng(25)), [3, 1, 8]);
    assertSameOutputsAndGrads(
      params,
      () => tf.slice(enc.encode(params, BATCH), [0, 4, 0], [3, 1, 8]),
      () => enc.encode(params, BATCH, { lastOnly: true }),
      w,
      enc.kind,
    );
    w.dispose();
    dispose(params);
  }
});

Deno.test("encodeLastByLength: length groups give the full pass's last position, outputs and gradients (SASRec, GRU)", () => {
  // BATCH's rows have lengths 3, 5, 2 (left-padded): an odd group split
  const input = BATCH;
  for (const { enc, params } of [tinySasrec(31), tinyGru(32)]) {
    perturbParams(params, 33);
    const w = tf.tensor2d(normalArray(3 * 8, 1, makeRng(34)), [3, 8]);
    const full = () =>
      tf.reshape(
        tf.slice(enc.encode(params, input), [0, 4, 0], [3, 1, 8]),
        [3, 8],
      ) as tf.Tensor2D;
    for (const groups of [2, 3]) {
      assertSameOutputsAndGrads(
        params,
        full,
        () => encodeLastByLength(enc, params, input, {}, groups),
        w,
        `${enc.kind} groups ${groups}`,
      );
    }
    w.dispose();
    dispose(params);
  }
});

Deno.test("softmaxCE in one chunk or several equals a plain log-softmax (values and gradients)", () => {
  const r = makeRng(41);
  const R = 7, N = 9, d = 4;
  const h0 = tf.tensor2d(normalArray(R * d, 1, r), [R, d]);
  const it0 = tf.tensor2d(normalArray(N * d, 1, r), [N, d]);
  const targets = Int32Array.from({ length: R }, (_, i) => (i * 5) % N);
  const plain = (h: tf.Tensor, its: tf.Tensor) =>
    tf.neg(
      tf.mean(
        tf.sum(
          tf.mul(
            tf.logSoftmax(tf.matMul(h, its, false, true)),
            tf.oneHot(tf.tensor1d(targets, "int32"), N),
          ),
          1,
        ),
      ),
    ) as tf.Scalar;
  const grads = (f: (h: tf.Tensor, its: tf.Tensor) => tf.Scalar) => {
    const g = tf.grads((h: tf.Tensor, its: tf.Tensor) => f(h, its));
    const [gh, gi] = g([h0, it0]);
    return {
      value: f(h0, it0).dataSync()[0],
      gh: gh.dataSync() as Float32Array,
      gi: gi.dataSync() as Float32Array,
    };
  };
  const ref = grads(plain);
  for (const chunk of [3, 100]) {
    const got = grads((h, its) =>
      softmaxCE(h as tf.Tensor2D, its as tf.Tensor2D, targets, { chunk })
    );
    const what = `chunk ${chunk}`;
    assertAlmostEquals(got.value, ref.value, 1e-5, what);
    assert(maxAbsDiff(got.gh, ref.gh) < 1e-5, `${what}: dh`);
    assert(maxAbsDiff(got.gi, ref.gi) < 1e-5, `${what}: ditems`);
  }
  tf.dispose([h0, it0]);
});

Deno.test("encodeLastStacked: two inputs of different widths in one pass give each one's own last positions, outputs and gradients", () => {
  const a: SeqInput = {
    inputs: Int32Array.from([[0, 1, 2, 3], [4, 2, 6, 5]].flat()),
    batchSize: 2,
    seqLen: 4,
    posOffset: 1,
  };
  const b: SeqInput = {
    inputs: Int32Array.from([[6, 3], [0, 7], [2, 2]].flat()),
    batchSize: 3,
    seqLen: 2,
    posOffset: 3,
  };
  for (const { enc, params } of [tinySasrec(51), tinyGru(52)]) {
    perturbParams(params, 53);
    const w = tf.tensor2d(normalArray(5 * 8, 1, makeRng(54)), [5, 8]);
    const last = (x: SeqInput) =>
      tf.reshape(
        tf.slice(enc.encode(params, x), [0, x.seqLen - 1, 0], [
          x.batchSize,
          1,
          8,
        ]),
        [x.batchSize, 8],
      );
    const separate = () => tf.concat([last(a), last(b)]) as tf.Tensor2D;
    const stacked = () =>
      tf.concat(encodeLastStacked(enc, params, [a, b])) as tf.Tensor2D;
    assertSameOutputsAndGrads(params, separate, stacked, w, enc.kind);
    w.dispose();
    dispose(params);
  }
  // inputs that do not end at the same position are refused
  assertThrows(() => stackInputs([a, { ...b, posOffset: 2 }]));
});
