/**
 * Will a run's training step fit in its backend's memory? An estimate of a
 * step's peak tensor memory from the catalogue size and the config, and a
 * refusal before training (one line naming the limit and the remedies)
 * where it cannot fit the wasm backend's heap, instead of the "memory
 * access out of bounds" that the WebAssembly runtime would end it with.
 *
 * The estimate, measured with `tf.profile` on wasm (SASRec, d = 64, 2
 * blocks, 3,200 positions per tape, N = 10^5 to 10^6 items; re-measure with
 * `bench/scale_bench.ts --unchecked`) and kept as an upper bound (1 to 10%
 * above every measured peak):
 *
 *     peak ~ k T + E + (loss "ce" ? C : 0),  k = 9 (sampled), 11 (bce), 13 (ce)
 *
 * - T = (N + 2) x d x 4 bytes, the item table. On wasm Adam updates the
 *   table and its moments in place (lib/backend/adam_inplace.ts), so what
 *   remains is the table and its two moments, the gradient summed over the
 *   tapes, and one tape's backward pass: a table-sized scatter per lookup
 *   of the table (the input's, the loss's) and their sum; CE's hand-written
 *   backward adds the slice of the real items' rows and its gradient.
 *   (`tf.profile` counts a tensor that shares another's memory twice, so
 *   the bound is loose: the heap measured 0.82 to 1.01 x the peak at
 *   4 x 10^5 items and up.) This term sets the limit at scale.
 * - E = 370 MiB x (positions per tape x d) / (3,200 x 64): the encoder's
 *   activations and gradients on one tape (`maxTokens` positions).
 * - C = the logits of one full-softmax chunk (`ceChunkRows(N) x N x 4`,
 *   128 MiB from N = 16,384 up): the chunk is sized from N, so the loss
 *   itself stays bounded whatever the catalogue.
 *
 * Measured peaks (MiB): sampled 560 / 1,217 / 2,536 at N = 10^5 / 4 x 10^5
 * / 10^6; bce 600 / 1,406 at 10^5 / 4 x 10^5; ce 739 / 1,600 / 3,504 at
 * 10^5 / 4 x 10^5 / 10^6 (the estimate: 590 / 1,249 / 2,567, 638 / 1,445,
 * 815 / 1,768 / 3,671).
 *
 * The wasm heap is 32-bit: 4 GiB at most, of which the allocator leaves
 * about 3.5 GiB to tensors (at 10^5 items the heap measured up to 1.34 x
 * the tensors' peak: the module and the allocator's own overhead). The cpu backend keeps tensors in ordinary JavaScript memory and has
 * no such cap; WebGPU's memory is the device's, not checked here.
 *
 * @module
 */
import { ceChunkRows } from "../losses/rec.ts";

const MiB = 2 ** 20;

/**
 * Bytes of tensors the wasm backend can hold: 3.5 GiB of its 4 GiB heap.
 *
 * @example
 * ```ts
 * import { WASM_TENSOR_BYTES } from "./memory.ts";
 * if (WASM_TENSOR_BYTES !== 3.5 * 2 ** 30) throw new Error();
 * ```
 */
export const WASM_TENSOR_BYTES = 3.5 * 2 ** 30;

/** What {@linkcode stepMemory} reads: the catalogue and the run's shape. */
export interface StepShape {
  /** Real items N. */
  numItems: number;
  /** Hidden size d. */
  hidden: number;
  /** Positions on one gradient tape (`maxTokens`, or batch x maxLen). */
  positions: number;
  /** The next-item loss. */
  loss: string;
}

/** A step's estimated peak, by part (bytes). */
export interface StepMemory {
  /** The item table's copies (k T: 9, 11 or 13 by loss). */
  table: number;
  /** The encoder on one tape (E). */
  encoder: number;
  /** One full-softmax logits chunk (C; 0 for other losses). */
  logits: number;
  /** Their sum: the estimated peak. */
  total: number;
}

/**
 * The estimated peak tensor memory of one training step (see the module
 * doc for where each coefficient comes from).
 *
 * @example
 * ```ts
 * import { stepMemory } from "./memory.ts";
 * const m = stepMemory({ numItems: 1_000_000, hidden: 64, positions: 3200, loss: "ce" });
 * // 13 copies of a 1,000,002 x 64 float32 table, 370 MiB, 33 rows x 10^6 logits
 * if (m.table !== 13 * 1_000_002 * 64 * 4 || m.encoder !== 370 * 2 ** 20) throw new Error();
 * if (m.logits !== 33 * 1_000_000 * 4 || m.total !== m.table + m.encoder + m.logits) throw new Error();
 * ```
 */
export function stepMemory(shape: StepShape): StepMemory {
  const { numItems: N, hidden: d } = shape;
  const table = tableCopies(shape.loss) * (N + 2) * d * 4;
  const encoder = Math.round(370 * MiB * (shape.positions * d) / (3200 * 64));
  const logits = shape.loss === "ce" ? ceChunkRows(N) * N * 4 : 0;
  return { table, encoder, logits, total: table + encoder + logits };
}

/**
 * Copies of the item table a step holds at its peak, by next-item loss
 * (see the module doc): 9 for the sampled softmax, 11 for BCE, 13 for the
 * full softmax (and any other loss).
 *
 * @example
 * ```ts
 * import { tableCopies } from "./memory.ts";
 * if (tableCopies("sampled") !== 9 || tableCopies("ce") !== 13) throw new Error();
 * ```
 */
export function tableCopies(loss: string): number {
  return loss === "sampled" ? 9 : loss === "bce" ? 11 : 13;
}

/** The config keys {@linkcode checkStepFits} reads. */
export interface StepConfig {
  /** Hidden size. */
  hidden: number;
  /** Training sequences per batch. */
  batchSize: number;
  /** Longest input. */
  maxLen: number;
  /** The next-item loss. */
  loss: string;
  /** Cells per tape of the next-item loss, where the method has the key. */
  maxTokens?: number;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/**
 * Refuse, before anything is built, a run whose training step cannot fit
 * the backend: on wasm, an estimated peak ({@linkcode stepMemory}) above
 * {@linkcode WASM_TENSOR_BYTES}. The message names the catalogue, the
 * estimate, the limit and the remedies (the cpu backend, which has no such
 * cap; a smaller `hidden` that fits). Other backends pass.
 *
 * @example
 * ```ts
 * import { checkStepFits } from "./memory.ts";
 * const cfg = { hidden: 64, batchSize: 256, maxLen: 50, loss: "ce", maxTokens: 3200 };
 * checkStepFits(cfg, 100_000, "wasm"); // 0.8 GiB: fits
 * let msg = "";
 * try { checkStepFits(cfg, 2_000_000, "wasm"); } catch (e) { msg = String(e); }
 * if (!msg.includes("above the wasm backend's 4 GiB heap")) throw new Error(msg);
 * if (!msg.includes("--backend cpu") || !msg.includes("--set hidden=32")) throw new Error(msg);
 * checkStepFits(cfg, 2_000_000, "cpu"); // no heap cap there
 * ```
 */
export function checkStepFits(
  cfg: StepConfig,
  numItems: number,
  backend: string,
): void {
  if (backend !== "wasm") return;
  const shapeOf = (hidden: number) => ({
    numItems,
    hidden,
    positions: cfg.maxTokens
      ? Math.min(cfg.maxTokens, cfg.batchSize * cfg.maxLen)
      : cfg.batchSize * cfg.maxLen,
    loss: cfg.loss,
  });
  const need = stepMemory(shapeOf(cfg.hidden));
  if (need.total <= WASM_TENSOR_BYTES) return;
  let smaller = 0;
  for (let d = cfg.hidden >> 1; d >= 8 && smaller === 0; d >>= 1) {
    if (stepMemory(shapeOf(d)).total <= WASM_TENSOR_BYTES) smaller = d;
  }
  throw new Error(
    `a training step on ${numItems.toLocaleString("en-US")} items with ` +
      `hidden ${cfg.hidden} needs about ${gib(need.total)} of tensors ` +
      `(${gib(need.table)} for the item table, its gradient and Adam state), ` +
      `above the wasm backend's 4 GiB heap (${
        gib(WASM_TENSOR_BYTES)
      } for tensors); ` +
      `train with --backend cpu (no heap cap, slower)${
        smaller > 0 ? ` or --set hidden=${smaller}` : ""
      }`,
  );
}
