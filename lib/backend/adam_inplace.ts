/**
 * Adam in place on the tfjs `wasm` backend: one pass per parameter tensor
 * over the parameter, its two moments and its gradient where the wasm
 * backend keeps them (its WebAssembly heap), writing the new moments and
 * the new parameter over the old ones. The composed tfjs ops of `adam`
 * (lib/optim/transform.ts) hold about a dozen temporaries of each tensor's
 * size at once (for a 10^6-item table, 3 GiB of a 4 GiB heap); this holds
 * none.
 *
 * Each element goes through the same float32 operations, in the same
 * order, as those ops (`scaleByAdam`, `addDecayedWeights`, `scale(-lr)`,
 * then `param + update`), each rounded to float32: the arithmetic is done
 * in float64 and rounded with `Math.fround`, which for one `+`, `*`, `/`
 * or `sqrt` of float32 operands gives the correctly rounded float32 result
 * (float64 carries more than twice float32's 24 bits), as the wasm
 * kernels do. So the parameters and moments are bit-identical to the
 * composed path's.
 *
 * Also `addInPlace`, for summing the gradients of several tapes without a
 * third tensor.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor, Variable } from "../util/tensor_types.ts";
import type { AdamStepConstants } from "./adam_kernel.ts";

/** The wasm backend's bookkeeping this module reads. */
interface WasmHeapBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: {
    get(dataId: object): { memoryOffset: number } | undefined;
  };
  refCount(dataId: object): number;
}

/**
 * Whether the in-place kernels serve the active backend (wasm).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { inPlaceAvailable } from "./adam_inplace.ts";
 * await tf.setBackend("cpu");
 * if (inPlaceAvailable()) throw new Error("cpu runs the composed ops");
 * ```
 */
export function inPlaceAvailable(): boolean {
  return tf.getBackend() === "wasm";
}

function wasmBackend(): WasmHeapBackend {
  if (!inPlaceAvailable()) {
    throw new Error(
      `in-place update: needs the wasm backend, found '${tf.getBackend()}'`,
    );
  }
  return tf.backend() as unknown as WasmHeapBackend;
}

/** Whether nothing but `t` holds `t`'s memory (writing to it is safe). */
function owned(b: WasmHeapBackend, t: Tensor): boolean {
  return b.refCount(t.dataId) === 1;
}

/** A float32 view of `t`'s data on the heap (valid until the heap grows). */
function view(b: WasmHeapBackend, t: Tensor): Float32Array {
  if (t.dtype !== "float32") {
    throw new Error(`in-place update: expected float32, found ${t.dtype}`);
  }
  const at = b.dataIdMap.get(t.dataId);
  if (at === undefined) throw new Error("in-place update: tensor not on wasm");
  return new Float32Array(b.wasm.HEAPU8.buffer, at.memoryOffset, t.size);
}

/** `t` if it owns its memory, else a copy that does (the caller's). */
function ownedOrCopy(b: WasmHeapBackend, t: Tensor): Tensor {
  return owned(b, t) ? t : copy(t);
}

/** A copy of `t` with its own memory (`tf.clone` shares it on wasm). */
function copy(t: Tensor): Tensor {
  return tf.mul(t, 1); // x * 1 is x exactly, signed zeros included
}

/**
 * One Adam step of one tensor, in place: `m` and `v` become the new
 * moments and `p` the updated parameter, bit-identical to
 * `adam(lr, {weightDecay: wd})`'s update followed by `applyUpdates`. `g` is
 * only read. Where `m` or `v` shares its memory with another tensor, a
 * copy is updated instead: the moments to keep are the ones returned
 * (`m` and `v` themselves otherwise). `p` is made to own its memory first
 * if it does not.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { adamInPlace } from "./adam_inplace.ts";
 * await tf.setBackend("wasm");
 * const p = tf.variable(tf.tensor1d([1, 1]));
 * const m = tf.zeros([2]), v = tf.zeros([2]);
 * const k = { b1: 0.9, b2: 0.999, eps: 1e-8, c1: 0.1, c2: 0.001, lr: 0.5, wd: 0 };
 * const r = adamInPlace(p, m, v, tf.tensor1d([2, -3]), k);
 * // the first step moves each weight by lr against the gradient's sign
 * const got = p.dataSync();
 * if (r.m !== m || Math.abs(got[0] - 0.5) > 1e-6 || Math.abs(got[1] - 1.5) > 1e-6) {
 *   throw new Error(String(got));
 * }
 * await tf.setBackend("cpu");
 * ```
 */
export function adamInPlace(
  p: Variable,
  m: Tensor,
  v: Tensor,
  g: Tensor,
  k: AdamStepConstants,
): { m: Tensor; v: Tensor } {
  const b = wasmBackend();
  const n = p.size;
  for (const [t, what] of [[m, "m"], [v, "v"], [g, "gradient"]] as const) {
    if (t.size !== n) {
      throw new Error(
        `adamInPlace: ${what} has ${t.size} elements, the parameter ${n}`,
      );
    }
  }
  if (!owned(b, p)) {
    const c = copy(p);
    p.assign(c);
    c.dispose();
  }
  const mo = ownedOrCopy(b, m), vo = ownedOrCopy(b, v);
  // Views only now: the copies above may have grown the heap.
  const P = view(b, p), M = view(b, mo), V = view(b, vo), G = view(b, g);
  const f = Math.fround;
  const b1 = f(k.b1), b2 = f(k.b2), nb1 = f(1 - k.b1), nb2 = f(1 - k.b2);
  const c1 = f(k.c1), c2 = f(k.c2), eps = f(k.eps);
  const wd = f(k.wd), nlr = f(-k.lr);
  if (k.wd === 0) {
    for (let i = 0; i < n; i++) {
      const gi = G[i];
      const mi = f(f(M[i] * b1) + f(gi * nb1));
      const vi = f(f(V[i] * b2) + f(f(gi * gi) * nb2));
      M[i] = mi;
      V[i] = vi;
      const x = f(f(mi / c1) / f(f(Math.sqrt(f(vi / c2))) + eps));
      P[i] = f(P[i] + f(x * nlr));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const gi = G[i], pi = P[i];
      const mi = f(f(M[i] * b1) + f(gi * nb1));
      const vi = f(f(V[i] * b2) + f(f(gi * gi) * nb2));
      M[i] = mi;
      V[i] = vi;
      const x = f(f(mi / c1) / f(f(Math.sqrt(f(vi / c2))) + eps));
      P[i] = f(pi + f(f(x + f(pi * wd)) * nlr));
    }
  }
  return { m: mo, v: vo };
}

/**
 * `acc + g`, written over `acc` where `acc` owns its memory (returns
 * `acc`), else into a new tensor (returns it; `acc` is untouched). Either
 * way the caller disposes `g`, and `acc` when a new tensor came back.
 * Bit-identical to `tf.add(acc, g)` (same shapes).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { addInPlace } from "./adam_inplace.ts";
 * await tf.setBackend("wasm");
 * const a = tf.tensor1d([1, 2]);
 * const s = addInPlace(a, tf.tensor1d([10, 20]));
 * if (s !== a || a.dataSync().join() !== "11,22") throw new Error();
 * await tf.setBackend("cpu");
 * ```
 */
export function addInPlace(acc: Tensor, g: Tensor): Tensor {
  const b = wasmBackend();
  if (acc.size !== g.size || acc.dtype !== "float32" || !owned(b, acc)) {
    return tf.add(acc, g);
  }
  const A = view(b, acc), G = view(b, g);
  for (let i = 0; i < A.length; i++) A[i] = A[i] + G[i];
  return acc;
}
