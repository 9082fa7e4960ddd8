/**
 * What every sequence encoder offers, so methods can swap SASRec for a GRU.
 *
 * @module
 */
import type { Tensor3D } from "../util/tensor_types.ts";
import type { Params } from "./params.ts";
import type { Rng } from "../util/rng.ts";

/** Left-padded item ids `[batchSize, seqLen]` with the position offset. */
export interface SeqInput {
  /** Item ids, row-major, 0 = padding (left). */
  inputs: Int32Array;
  /** Rows. */
  batchSize: number;
  /** Columns. */
  seqLen: number;
  /** Position id of column 0 (maxLen - seqLen for trimmed batches). */
  posOffset: number;
}

/** Per-call options of an encoder's forward pass. */
export interface EncodeOptions {
  /** Dropout seeds come from here; undefined means evaluation (no dropout). */
  rng?: Rng;
  /** Override all of the encoder's dropout rates. */
  dropout?: number;
  /**
   * Override only the dropout after each feed-forward network (SRMA's
   * neuron masking with its own rate p).
   */
  ffnDropout?: number;
  /**
   * Only the last position's output is needed (a sequence embedding, or a
   * score at evaluation): the result is `[B, 1, d]`, equal to the last row
   * of the full output. SASRec then runs its final block's queries,
   * attention output and feed-forward network for that position only.
   */
  lastOnly?: boolean;
}

/**
 * A sequence encoder: `encode(params, input, opts)` returns hidden states
 * `[batchSize, seqLen, hidden]`. Item embeddings live in `params["item_emb"]`
 * with row 0 = padding, rows 1..numItems = items, row numItems+1 = mask token.
 */
export interface Encoder {
  /** "sasrec" or "gru". */
  kind: string;
  /** Name of its item table in the parameters (usually "item_emb"). */
  embKey: string;
  /** Hidden size d. */
  hidden: number;
  /** Number of real items. */
  numItems: number;
  /** Longest input. */
  maxLen: number;
  /** The forward pass. */
  encode(params: Params, input: SeqInput, opts?: EncodeOptions): Tensor3D;
}
