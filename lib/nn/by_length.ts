/**
 * Encoding a batch by length groups: rows sorted by their real length and
 * encoded in a few groups, each padded only to its own longest row. For
 * outputs of the last position only (sequence embeddings of augmented
 * views, whose lengths vary far more than a length-bucketed batch's), the
 * result equals one pass over the whole batch, with less padding computed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Tensor2D } from "../util/tensor_types.ts";
import type { EncodeOptions, Encoder, SeqInput } from "./encoder.ts";
import type { Params } from "./params.ts";

/**
 * Real (non-padding) length of every row of a left-padded input.
 *
 * @example
 * ```ts
 * import { rowLengths } from "./by_length.ts";
 * const lens = rowLengths({ inputs: Int32Array.from([0, 0, 5, 1, 2, 3]), batchSize: 2, seqLen: 3, posOffset: 0 });
 * if (lens.join() !== "1,3") throw new Error();
 * ```
 */
export function rowLengths(input: SeqInput): Int32Array {
  const { batchSize: B, seqLen: L, inputs } = input;
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let i = 0;
    while (i < L && inputs[b * L + i] === 0) i++;
    out[b] = L - i;
  }
  return out;
}

/**
 * Split `input` into at most `groups` inputs of near-equal row counts, rows
 * sorted by length (stable), each trimmed to its longest row (at least one
 * column) with the position offset that keeps the last column at the same
 * position id. `order[k]` is the original row of the k-th row of the
 * concatenated groups.
 *
 * @example
 * ```ts
 * import { lengthGroups } from "./by_length.ts";
 * const input = { inputs: Int32Array.from([0, 0, 5, 1, 2, 3, 0, 4, 4]), batchSize: 3, seqLen: 3, posOffset: 7 };
 * const { parts, order } = lengthGroups(input, 2);
 * // lengths 1, 3, 2 -> order 0, 2, 1; groups [0] and [2, 1]
 * if (order.join() !== "0,2,1" || parts[0].seqLen !== 1 || parts[0].posOffset !== 9) throw new Error();
 * if (parts[1].inputs.join() !== "0,4,4,1,2,3") throw new Error();
 * ```
 */
export function lengthGroups(
  input: SeqInput,
  groups: number,
): { parts: SeqInput[]; order: Int32Array } {
  if (!(Number.isInteger(groups) && groups > 0)) {
    throw new RangeError(
      `lengthGroups: expected a positive integer number of groups, found ${groups}`,
    );
  }
  const { batchSize: B, seqLen: L } = input;
  const lens = rowLengths(input);
  const order = Int32Array.from({ length: B }, (_, i) => i).sort((a, b) =>
    lens[a] - lens[b] || a - b
  );
  const n = Math.max(1, Math.min(groups, B));
  const parts: SeqInput[] = [];
  for (let g = 0; g < n; g++) {
    const a = Math.floor((g * B) / n), e = Math.floor(((g + 1) * B) / n);
    if (e <= a) continue;
    let len = 1;
    for (let k = a; k < e; k++) len = Math.max(len, lens[order[k]]);
    const x = new Int32Array((e - a) * len);
    for (let k = a; k < e; k++) {
      const row = order[k];
      x.set(
        input.inputs.subarray(row * L + L - len, (row + 1) * L),
        (k - a) * len,
      );
    }
    parts.push({
      inputs: x,
      batchSize: e - a,
      seqLen: len,
      posOffset: input.posOffset + L - len,
    });
  }
  return { parts, order };
}

/**
 * The encoder's last-position output `[B, d]` for every row of `input`,
 * computed by length groups ({@linkcode lengthGroups}) with `lastOnly`; the
 * same values and gradients as the last position of one full pass (dropout
 * draws aside). `groups` 1 is one pass.
 *
 * @example
 * ```ts ignore
 * const z = encodeLastByLength(encoder, params, view, { rng }, 4);
 * ```
 */
export function encodeLastByLength(
  encoder: Encoder,
  params: Params,
  input: SeqInput,
  opts: EncodeOptions = {},
  groups = 1,
): Tensor2D {
  const d = encoder.hidden;
  const last = (x: SeqInput) =>
    tf.reshape(
      encoder.encode(params, x, { ...opts, lastOnly: true }),
      [x.batchSize, d],
    ) as Tensor2D;
  // One group (the default) is one pass: no sorting or copying.
  if (groups === 1) return last(input);
  const { parts, order } = lengthGroups(input, groups);
  if (parts.length === 1) return last(input);
  return tf.tidy(() => {
    const sorted = tf.concat(parts.map(last), 0);
    const inverse = new Int32Array(order.length);
    order.forEach((row, k) => inverse[row] = k);
    return tf.gather(sorted, tf.tensor1d(inverse, "int32")) as Tensor2D;
  });
}

/**
 * Several inputs (e.g. the two augmented views of a batch) stacked into one
 * input by rows, each row right-aligned to the widest input's columns. The
 * inputs must end at the same position id (`posOffset + seqLen` equal), as
 * views made for one batch do. One encoder pass over the stack costs the
 * kernels of one pass instead of one per input, which is what a small step
 * on wasm pays for.
 *
 * @example
 * ```ts
 * import { stackInputs } from "./by_length.ts";
 * const a = { inputs: Int32Array.from([1, 2]), batchSize: 1, seqLen: 2, posOffset: 3 };
 * const b = { inputs: Int32Array.from([7]), batchSize: 1, seqLen: 1, posOffset: 4 };
 * const s = stackInputs([a, b]);
 * if (s.inputs.join() !== "1,2,0,7" || s.posOffset !== 3 || s.seqLen !== 2) throw new Error();
 * ```
 */
export function stackInputs(inputs: SeqInput[]): SeqInput {
  if (inputs.length === 0) throw new RangeError("stackInputs: no inputs");
  const end = inputs[0].posOffset + inputs[0].seqLen;
  for (const x of inputs) {
    if (x.posOffset + x.seqLen !== end) {
      throw new RangeError(
        `stackInputs: expected inputs ending at position ${end}, found one ending at ${
          x.posOffset + x.seqLen
        }`,
      );
    }
  }
  const L = Math.max(...inputs.map((x) => x.seqLen));
  const B = inputs.reduce((s, x) => s + x.batchSize, 0);
  const out = new Int32Array(B * L);
  let row = 0;
  for (const x of inputs) {
    for (let b = 0; b < x.batchSize; b++, row++) {
      out.set(
        x.inputs.subarray(b * x.seqLen, (b + 1) * x.seqLen),
        row * L + L - x.seqLen,
      );
    }
  }
  return { inputs: out, batchSize: B, seqLen: L, posOffset: end - L };
}

/**
 * The last-position outputs `[B_i, d]` of several inputs from one encoder
 * pass over their stack ({@linkcode stackInputs}), optionally by length
 * groups ({@linkcode encodeLastByLength}). The same values and gradients as
 * encoding each input on its own (dropout draws aside).
 *
 * @example
 * ```ts ignore
 * const [z1, z2] = encodeLastStacked(encoder, params, [view1, view2], { rng });
 * ```
 */
export function encodeLastStacked(
  encoder: Encoder,
  params: Params,
  inputs: SeqInput[],
  opts: EncodeOptions = {},
  groups = 1,
): Tensor2D[] {
  const all = encodeLastByLength(
    encoder,
    params,
    stackInputs(inputs),
    opts,
    groups,
  );
  return tf.split(all, inputs.map((x) => x.batchSize), 0) as Tensor2D[];
}
