import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerKernelFixes } from "../lib/backend/kernel_fixes.ts";
import { assert, assertAlmostEquals, assertEquals } from "./_assert.ts";
import { mulberry32, randFloats, randInts } from "./_rng.ts";

tf.env().set("IS_TEST", true);
registerKernelFixes();
registerKernelFixes(); // idempotent

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assertAlmostEquals(actual[i], expected[i], tol, `${what}[${i}]`);
  }
}

/** Reference segment sum: ids of shape [n], x of shape [n, ...inner]. */
function segmentSumRef(
  x: ArrayLike<number>,
  ids: Int32Array,
  numSegments: number,
  inner: number,
): Float64Array {
  const out = new Float64Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < inner; j++) out[ids[i] * inner + j] += x[i * inner + j];
  }
  return out;
}

/** Reference batched matmul with transposes and batch broadcasting (rank 2 or 3). */
function matMulRef(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  ta: boolean,
  tb: boolean,
): { values: Float64Array; shape: number[] } {
  const ar = aShape.length, br = bShape.length;
  const aB = ar === 3 ? aShape[0] : 1, bB = br === 3 ? bShape[0] : 1;
  const [a0, a1] = aShape.slice(-2), [b0, b1] = bShape.slice(-2);
  const m = ta ? a1 : a0, k = ta ? a0 : a1, n = tb ? b0 : b1;
  assertEquals(tb ? b1 : b0, k, "reference inner dims");
  const batch = Math.max(aB, bB);
  const values = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = (aB === 1 ? 0 : p) * a0 * a1, bo = (bB === 1 ? 0 : p) * b0 * b1;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = ta ? a[ao + q * a1 + i] : a[ao + i * a1 + q];
          const bv = tb ? b[bo + j * b1 + q] : b[bo + q * b1 + j];
          s += av * bv;
        }
        values[(p * m + i) * n + j] = s;
      }
    }
  }
  const shape = ar === 3 || br === 3 ? [batch, m, n] : [m, n];
  return { values, shape };
}

function numDataIds(): number {
  return tf.engine().backend.numDataIds();
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`${backend}: unsortedSegmentSum matches a reference (ranks 1-3, float32 and int32)`, async () => {
    await tf.setBackend(backend);
    const r = mulberry32(11);
    const before = numDataIds();
    for (const inner of [[], [5], [3, 4]]) {
      for (const dtype of ["float32", "int32"] as const) {
        const n = 200, numSegments = 37;
        const innerSize = inner.reduce((p, q) => p * q, 1);
        const ids = randInts(n, numSegments, r);
        const xv = dtype === "int32"
          ? Int32Array.from(
            { length: n * innerSize },
            () => Math.floor(r() * 20) - 10,
          )
          : randFloats(n * innerSize, r);
        const x = tf.tensor(xv, [n, ...inner], dtype);
        const idT = tf.tensor1d(ids, "int32");
        const out = tf.unsortedSegmentSum(x, idT, numSegments);
        assertEquals(out.shape, [numSegments, ...inner], "shape");
        assertEquals(out.dtype, dtype, "dtype");
        const want = segmentSumRef(xv, ids, numSegments, innerSize);
        assertClose(
          await out.data() as Float32Array,
          want,
          1e-4,
          `${dtype} rank ${inner.length + 1}`,
        );
        tf.dispose([x, idT, out]);
      }
    }
    assertEquals(numDataIds(), before, "no leaked tensor data");
  });

  Deno.test(`${backend}: unsortedSegmentSum keeps empty segments at zero, and handles n = 0`, async () => {
    await tf.setBackend(backend);
    const out = tf.unsortedSegmentSum(
      tf.tensor2d([1, 2, 3, 4], [2, 2]),
      tf.tensor1d([3, 3], "int32"),
      5,
    );
    assertEquals(Array.from(await out.data()), [0, 0, 0, 0, 0, 0, 4, 6, 0, 0]);
    const empty = tf.unsortedSegmentSum(
      tf.zeros([0, 3]),
      tf.tensor1d([], "int32"),
      2,
    );
    assertEquals(Array.from(await empty.data()), [0, 0, 0, 0, 0, 0]);
  });

  Deno.test(`${backend}: gradient of tf.gather (embedding lookup) is a scatter-add`, async () => {
    await tf.setBackend(backend);
    const r = mulberry32(5);
    const items = 300, d = 16, batch = 8, len = 30;
    const tableV = randFloats(items * d, r);
    const idx = randInts(batch * len, 20, r); // few distinct ids: many duplicates
    const wV = randFloats(batch * len * d, r);
    const table = tf.tensor2d(tableV, [items, d]);
    const idT = tf.tensor2d(idx, [batch, len], "int32");
    const w = tf.tensor3d(wV, [batch, len, d]);
    const before = numDataIds();
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idT), w)))(
      table,
    );
    assertEquals(g.shape, [items, d]);
    const want = segmentSumRef(wV, idx, items, d);
    assertClose(await g.data() as Float32Array, want, 1e-4, "gather gradient");
    g.dispose();
    assertEquals(numDataIds(), before, "no leaked tensor data");
    tf.dispose([table, idT, w]);
  });

  Deno.test(`${backend}: matMul with every transpose combination matches a triple loop`, async () => {
    await tf.setBackend(backend);
    const r = mulberry32(9);
    const m = 13, k = 21, n = 17, batch = 3;
    const shapeOf = (
      rows: number,
      cols: number,
      t: boolean,
      bat?: number,
    ): number[] => {
      const s = t ? [cols, rows] : [rows, cols];
      return bat === undefined ? s : [bat, ...s];
    };
    const cases: [number | undefined, number | undefined][] = [
      [undefined, undefined],
      [batch, batch],
      [batch, 1], // broadcast b's batch
      [1, batch], // broadcast a's batch
      [batch, undefined], // rank 3 x rank 2
    ];
    const before = numDataIds();
    for (const [ab, bb] of cases) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const aShape = shapeOf(m, k, ta, ab), bShape = shapeOf(k, n, tb, bb);
          const av = randFloats(aShape.reduce((p, q) => p * q, 1), r);
          const bv = randFloats(bShape.reduce((p, q) => p * q, 1), r);
          const a = tf.tensor(av, aShape), b = tf.tensor(bv, bShape);
          const out = tf.matMul(a, b, ta, tb);
          const want = matMulRef(av, aShape, bv, bShape, ta, tb);
          const what = `a${JSON.stringify(aShape)} b${
            JSON.stringify(bShape)
          } ta=${ta} tb=${tb}`;
          assertEquals(out.shape, want.shape, `${what}: shape`);
          assertClose(
            await out.data() as Float32Array,
            want.values,
            1e-4,
            what,
          );
          tf.dispose([a, b, out]);
        }
      }
    }
    assertEquals(numDataIds(), before, "no leaked tensor data");
  });

  Deno.test(`${backend}: fused matMul with transposes and bias matches a triple loop`, async () => {
    await tf.setBackend(backend);
    const r = mulberry32(3);
    const m = 9, k = 12, n = 7;
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const aShape = ta ? [k, m] : [m, k], bShape = tb ? [n, k] : [k, n];
        const av = randFloats(m * k, r),
          bv = randFloats(k * n, r),
          biasV = randFloats(n, r);
        const a = tf.tensor2d(av, aShape as [number, number]);
        const b = tf.tensor2d(bv, bShape as [number, number]);
        const bias = tf.tensor1d(biasV);
        const out = tf.fused.matMul({
          a,
          b,
          transposeA: ta,
          transposeB: tb,
          bias,
          activation: "relu",
        });
        const want = matMulRef(av, aShape, bv, bShape, ta, tb).values.map((
          v,
          i,
        ) => Math.max(0, v + biasV[i % n]));
        assertClose(
          await out.data() as Float32Array,
          want,
          1e-4,
          `fused ta=${ta} tb=${tb}`,
        );
        tf.dispose([a, b, bias, out]);
      }
    }
  });
}

Deno.test("gradients through matMul agree between cpu and wasm", async () => {
  const r = mulberry32(21);
  const av = randFloats(6 * 10 * 8, r), bv = randFloats(6 * 8 * 5, r);
  const grads: Float32Array[][] = [];
  for (const backend of ["cpu", "wasm"]) {
    await tf.setBackend(backend);
    const a = tf.tensor3d(av, [6, 10, 8]), b = tf.tensor3d(bv, [6, 8, 5]);
    const f = (x: tf.Tensor, y: tf.Tensor): tf.Tensor =>
      tf.sum(tf.square(tf.matMul(x, y)));
    const [ga, gb] = tf.grads(f)([a, b]);
    grads.push([
      await ga.data() as Float32Array,
      await gb.data() as Float32Array,
    ]);
    tf.dispose([a, b, ga, gb]);
  }
  assertClose(grads[1][0], grads[0][0], 1e-3, "dA");
  assertClose(grads[1][1], grads[0][1], 1e-3, "dB");
  assert(grads[0][0].some((v) => v !== 0), "gradient is not all zeros");
});

Deno.test("wasm: Sum over leading axes (the fixed path) and over other axes matches a reference", async () => {
  await tf.setBackend("wasm");
  const r = mulberry32(7);
  const shape = [5, 3, 4];
  const xs = randFloats(60, r);
  const ref = (axes: number[]) => {
    // brute force: index -> output index with the reduced axes dropped
    const outShape = shape.filter((_, i) => !axes.includes(i));
    const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 3; j++) {
        for (let k = 0; k < 4; k++) {
          const idx = [i, j, k].filter((_, a) => !axes.includes(a));
          let o = 0;
          for (let a = 0; a < idx.length; a++) o = o * outShape[a] + idx[a];
          out[o] += xs[(i * 3 + j) * 4 + k];
        }
      }
    }
    return out;
  };
  const x = tf.tensor3d(xs, [5, 3, 4]);
  for (const axes of [[0], [0, 1], [1], [2], [1, 2], [-3], [0, 2]]) {
    const norm = axes.map((a) => (a < 0 ? a + 3 : a));
    for (const keepDims of [false, true]) {
      const y = tf.sum(x, axes, keepDims);
      const expectShape = shape.map((d, i) =>
        norm.includes(i) ? (keepDims ? 1 : 0) : d
      ).filter((d) => d !== 0);
      assertEquals(y.shape, expectShape, `axes ${axes} keepDims ${keepDims}`);
      assertClose(await y.data(), ref(norm), 1e-5, `sum over ${axes}`);
      y.dispose();
    }
  }
  // the gradient of a broadcast bias add is such a sum
  const b = tf.variable(tf.zeros([4]));
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.add(x, b), x)), [
    b,
  ]);
  assertClose(await grads[b.name].data(), ref([0, 1]), 1e-5, "bias grad");
  tf.dispose([x, b, grads[b.name]]);
});

Deno.test("wasm: gather of rows (the fixed path) and along other axes matches a reference; gradients too", async () => {
  await tf.setBackend("wasm");
  const r = mulberry32(11);
  const xs = randFloats(7 * 3 * 2, r);
  const x = tf.tensor3d(xs, [7, 3, 2]);
  const idx = Int32Array.from([6, 0, 3, 3, 1, 6]);
  // rows, 2-D indices: [2, 3] + [3, 2]
  const g = tf.gather(x, tf.tensor2d(idx, [2, 3], "int32"));
  assertEquals(g.shape, [2, 3, 3, 2]);
  const expect: number[] = [];
  for (const i of idx) expect.push(...xs.slice(i * 6, i * 6 + 6));
  assertClose(await g.data(), expect, 0, "rows");
  // int32 tables
  const xi = tf.tensor2d(Int32Array.from({ length: 14 }, (_, i) => i * 3), [
    7,
    2,
  ], "int32");
  const gi = tf.gather(xi, tf.tensor1d([5, 2], "int32"));
  assertEquals(gi.dtype, "int32");
  assertEquals(Array.from(await gi.data()), [30, 33, 12, 15]);
  // axis 1 and -1 go to tfjs's own kernel
  const g1 = tf.gather(x, tf.tensor1d([2, 0], "int32"), 1);
  const e1: number[] = [];
  for (let a = 0; a < 7; a++) {
    for (const j of [2, 0]) e1.push(xs[a * 6 + j * 2], xs[a * 6 + j * 2 + 1]);
  }
  assertClose(await g1.data(), e1, 0, "axis 1");
  const gl = tf.gather(x, tf.tensor1d([1], "int32"), -1);
  assertClose(
    await gl.data(),
    Array.from({ length: 21 }, (_, k) => xs[k * 2 + 1]),
    0,
    "axis -1",
  );
  // the embedding-lookup gradient (a scatter-add) is unchanged
  const table = tf.variable(tf.tensor2d(randFloats(10, r), [5, 2]));
  const { grads } = tf.variableGrads(
    () => tf.sum(tf.gather(table, tf.tensor1d([4, 1, 4], "int32"))),
    [table],
  );
  assertClose(
    await grads[table.name].data(),
    [0, 0, 1, 1, 0, 0, 0, 0, 2, 2],
    0,
    "gradient",
  );
  tf.dispose([x, g, xi, gi, g1, gl, table, grads[table.name]]);
});

Deno.test("wasm: clone and data-preserving transposes share memory; other transposes still move data; values intact after the source is disposed", async () => {
  await tf.setBackend("wasm");
  // deno-lint-ignore no-explicit-any
  const backend = tf.backend() as any;
  const refs = (t: tf.Tensor) => backend.refCount(t.dataId) as number;
  const r = mulberry32(12);
  const xs = randFloats(4 * 3, r);
  const x = tf.tensor2d(xs, [4, 3]);
  const c = tf.clone(x);
  assert(c.dataId === x.dataId && refs(x) === 2, "clone shares");
  const same = tf.transpose(x, [0, 1]);
  const row = tf.tensor3d(xs, [1, 4, 3]);
  const moved = tf.transpose(row, [1, 0, 2]); // a size-1 axis moves: no data
  assertEquals(moved.shape, [4, 1, 3]);
  assert(same.dataId === x.dataId && moved.dataId === row.dataId, "shared");
  const t = tf.transpose(x); // [3, 4]: data moves
  assert(t.dataId !== x.dataId, "a real transpose gets its own memory");
  const expectT: number[] = [];
  for (let j = 0; j < 3; j++) {
    for (let i = 0; i < 4; i++) expectT.push(xs[i * 3 + j]);
  }
  assertClose(await t.data(), expectT, 0, "transpose");
  x.dispose();
  row.dispose();
  assertClose(await c.data(), xs, 0, "clone after its source is disposed");
  assertClose(await same.data(), xs, 0, "no-op transpose");
  assertClose(await moved.data(), xs, 0, "size-1 transpose");
  assert(refs(c) === 2, "c and same hold it");
  tf.dispose([c, same, moved, t]);
  // a variable assigned a clone and the gradient through a no-op transpose
  const v = tf.variable(tf.tensor2d(xs, [4, 3]));
  const g = tf.grad((a: tf.Tensor) =>
    tf.sum(tf.mul(tf.transpose(tf.clone(a), [0, 1]), a))
  )(v);
  assertClose(await g.data(), xs.map((z) => 2 * z), 1e-6, "gradient");
  tf.dispose([v, g]);
});
