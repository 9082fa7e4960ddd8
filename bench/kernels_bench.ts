/**
 * wasm matMul with transposed operands: tfjs's original kernel (its slow
 * transposed loop) against seqssl's fix (materialise the transpose, then the
 * fast no-transpose path). Scoring shapes: [256,64] x [12000,64]^T, and the
 * weight gradient x^T g of a [12800,64] activation.
 *
 * Run: `deno bench -A bench/kernels_bench.ts`
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerKernelFixes } from "../lib/backend/kernel_fixes.ts";

tf.env().set("IS_TEST", true);
// Kernels register on import: keep tfjs's own before the fixes replace it.
const original = tf.getKernel("BatchMatMul", "wasm").kernelFunc;
registerKernelFixes();
await tf.setBackend("wasm");
await tf.ready();

const backend = tf.backend() as tf.KernelBackend & {
  disposeData(id: object): boolean;
};
const queries = tf.randomNormal([256, 64]);
const items = tf.randomNormal([12000, 64]);
const acts = tf.randomNormal([12800, 64]);

function runOriginal(
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): void {
  const out = original({
    inputs: { a, b },
    backend,
    attrs: { transposeA, transposeB },
  }) as tf.TensorInfo;
  backend.disposeData(out.dataId);
}

function runFixed(
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): void {
  tf.matMul(a, b, transposeA, transposeB).dispose();
}

Deno.bench("scores [256,64]x[12000,64]^T: tfjs original", {
  group: "transposeB",
  baseline: true,
}, () => runOriginal(queries, items, false, true));

Deno.bench("scores [256,64]x[12000,64]^T: seqssl fix", {
  group: "transposeB",
}, () => runFixed(queries, items, false, true));

Deno.bench("weight grad [12800,64]^T x [12800,64]: tfjs original", {
  group: "transposeA",
  baseline: true,
}, () => runOriginal(acts, acts, true, false));

Deno.bench("weight grad [12800,64]^T x [12800,64]: seqssl fix", {
  group: "transposeA",
}, () => runFixed(acts, acts, true, false));
