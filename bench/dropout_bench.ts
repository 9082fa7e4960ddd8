// Dropout on wasm: the mask from tf.randomUniform (seedrandom's generator
// filling every value in a JavaScript loop, then compare, cast, divide and
// multiply kernels) against the counter-based kernel (one TypeScript pass of
// integer hashing over the tensor in the wasm heap), at SASRec's Beauty
// shapes: hidden states [256, 50, 64] and attention probabilities
// [256, 2, 50, 50]; forward and gradient.
//
//   OPENBLAS_NUM_THREADS=1 deno bench -A bench/dropout_bench.ts
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/init.ts";
import { counterDropout } from "../lib/backend/counter_dropout.ts";

await initBackend("wasm", { nativeBlas: false });

/** The dropout seqssl used before the counter-based kernel. */
function uniformDropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  return tf.tidy(() =>
    tf.mul(
      x,
      tf.div(
        tf.cast(
          tf.greaterEqual(
            tf.randomUniform(x.shape, 0, 1, "float32", seed),
            rate,
          ),
          "float32",
        ),
        1 - rate,
      ),
    )
  );
}

const shapes: Record<string, number[]> = {
  "hidden [256,50,64]": [256, 50, 64],
  "attention [256,2,50,50]": [256, 2, 50, 50],
};
let seed = 1;
for (const [label, shape] of Object.entries(shapes)) {
  const x = tf.randomNormal(shape, 0, 1, "float32", 0);
  for (
    const [name, f] of [
      ["tf.randomUniform mask", uniformDropout],
      ["counter-based kernel", counterDropout],
    ] as const
  ) {
    Deno.bench({
      name: `${name}, forward + gradient, ${label}`,
      group: `forward + gradient ${label}`,
      baseline: name === "tf.randomUniform mask",
      fn() {
        const s = seed++;
        const g = tf.grad((t: tf.Tensor) => tf.sum(f(t, 0.5, s)))(x);
        g.dataSync();
        g.dispose();
      },
    });
    Deno.bench({
      name: `${name}, forward, ${label}`,
      group: `forward ${label}`,
      baseline: name === "tf.randomUniform mask",
      fn() {
        const y = f(x, 0.5, seed++);
        y.dataSync();
        y.dispose();
      },
    });
  }
}
