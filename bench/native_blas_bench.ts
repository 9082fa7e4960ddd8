/**
 * wasm matMul with and without native OpenBLAS (`lib/backend/native_blas.ts`)
 * on SASRec's Beauty shapes: the scoring product [1800,64] x [12101,64]^T and
 * its two backward products, and attention's batched products
 * ([512,50,50] x [512,50,32] and the ones backpropagation adds). "wasm" is
 * seqssl's default wasm path (tfjs's kernel with kernel_fixes.ts's transpose
 * fix). Each name carries the product's GFLOP, so GFLOP/s = GFLOP / time.
 *
 *   deno bench -A bench/native_blas_bench.ts
 *   deno run -A bench/native_blas_bench.ts   # prints a GFLOP/s table instead
 *
 * Needs `--allow-ffi` and OpenBLAS (Debian: libopenblas0-pthread); without
 * them only the wasm cases run.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerKernelFixes } from "../lib/backend/kernel_fixes.ts";
import { loadNativeBlas } from "../lib/backend/openblas.ts";
import {
  registerNativeMatMul,
  unregisterNativeMatMul,
} from "../lib/backend/native_blas.ts";

tf.env().set("IS_TEST", true);
registerKernelFixes();
await tf.setBackend("wasm");
await tf.ready();
const blas = loadNativeBlas();
if (blas === undefined) {
  console.log(
    "native BLAS not loaded (needs --allow-ffi and OpenBLAS): wasm cases only",
  );
}

interface Shape {
  name: string;
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
}

const SHAPES: Shape[] = [
  { name: "scores", a: [1800, 64], b: [12101, 64], ta: false, tb: true },
  { name: "scores dA", a: [1800, 12101], b: [12101, 64], ta: false, tb: false },
  { name: "scores dB", a: [1800, 12101], b: [1800, 64], ta: true, tb: false },
  { name: "attn PV", a: [512, 50, 50], b: [512, 50, 32], ta: false, tb: false },
  {
    name: "attn QK^T",
    a: [512, 50, 32],
    b: [512, 50, 32],
    ta: false,
    tb: true,
  },
  {
    name: "attn dP^T",
    a: [512, 50, 50],
    b: [512, 50, 32],
    ta: true,
    tb: false,
  },
  { name: "ffn", a: [12800, 64], b: [64, 64], ta: false, tb: false },
];

function gflop(s: Shape): number {
  const out = tf.matMul(tf.zeros(s.a), tf.zeros(s.b), s.ta, s.tb);
  const k = s.ta ? s.a[s.a.length - 2] : s.a[s.a.length - 1];
  const g = 2 * out.size * k / 1e9;
  out.dispose();
  return g;
}

function useNative(on: boolean): void {
  if (on && blas !== undefined) registerNativeMatMul(blas);
  else unregisterNativeMatMul();
}

const tensors = SHAPES.map((s) => ({
  a: tf.randomNormal(s.a),
  b: tf.randomNormal(s.b),
  gflop: gflop(s),
}));

function label(s: Shape): string {
  const t = (shape: number[], tr: boolean) =>
    `[${shape.join(",")}]${tr ? "^T" : ""}`;
  return `${s.name} ${t(s.a, s.ta)}x${t(s.b, s.tb)}`;
}

if (import.meta.main) {
  // deno run: time each case directly and print GFLOP/s.
  const time = (f: () => void): number => {
    f();
    const times: number[] = [];
    const until = performance.now() + 1500;
    while (performance.now() < until || times.length < 3) {
      const t0 = performance.now();
      f();
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    return times[Math.floor(times.length / 2)];
  };
  const rows = SHAPES.map((s, i) => {
    const { a, b, gflop: g } = tensors[i];
    const run = () => tf.matMul(a, b, s.ta, s.tb).dispose();
    useNative(false);
    const w = time(run);
    let n = NaN;
    if (blas !== undefined) {
      useNative(true);
      n = time(run);
    }
    return {
      case: label(s),
      "wasm ms": +w.toFixed(2),
      "wasm GFLOP/s": +(g / w * 1e3).toFixed(1),
      "native ms": +n.toFixed(2),
      "native GFLOP/s": +(g / n * 1e3).toFixed(1),
      speedup: +(w / n).toFixed(1),
    };
  });
  console.log(blas ? `${blas.path} (${blas.threads()} threads)` : "");
  console.table(rows);
} else {
  SHAPES.forEach((s, i) => {
    const { a, b, gflop: g } = tensors[i];
    for (const native of blas ? [false, true] : [false]) {
      Deno.bench(
        `${label(s)} (${g.toFixed(3)} GFLOP): ${native ? "native" : "wasm"}`,
        { group: s.name, baseline: !native },
        (ctx) => {
          useNative(native);
          ctx.start();
          tf.matMul(a, b, s.ta, s.tb).dispose();
          ctx.end();
        },
      );
    }
  });
}
