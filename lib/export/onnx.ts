/**
 * Export a trained encoder and its scoring head as one ONNX graph, so a
 * seqssl model runs on ONNX Runtime (servers, Triton, browsers) with no
 * seqssl code.
 *
 * The graph (opset 17, IR 8):
 *
 * - input `items`: int64 `[batch, L]`, item ids left-padded with 0 as seqssl
 *   pads them (any L: the encoder reads the last `maxLen` columns, the
 *   exclusion uses all of them);
 * - output `top_ids`: int64 `[batch, k]`, the k best item ids (1-based),
 *   best first, items of the row excluded (unless exported `repeatable`);
 *   ties go to the lower id, as in seqssl's `topKFromScores`;
 * - output `top_scores`: float `[batch, k]`, their scores (-Infinity where
 *   fewer than k items are left);
 * - output `scores`: float `[batch, numItems]`, every item's score, column j
 *   = item j + 1, nothing excluded;
 * - output `embedding`: float `[batch, d]`, the sequence representation
 *   (scores = embedding x item table^T, for approximate-nearest-neighbour
 *   search over the `.npy` item table).
 *
 * The encoder is rebuilt from the weights by name with the same equations
 * as lib/nn: SASRec (post-LN blocks, causal and key-padding attention mask,
 * exact-erf GELU, the last block queried at the last position only) or the
 * GRU (a `Scan` whose step carries the state over padding), then SRMA's
 * extra feed-forward layers when the model runs them at evaluation.
 *
 * @module
 */
import type { onnx as OnnxNs } from "onnx-proto";
import { DT, GraphBuilder, onnx, valueInfo } from "./_graph.ts";

/** A weight as stored in a checkpoint: shape and float32 values. */
export interface WeightValue {
  /** Shape. */
  shape: number[];
  /** Row-major values. */
  values: Float32Array | Int32Array;
}

/** What the exported graph computes, independent of how it was trained. */
export interface ServingSpec {
  /** "sasrec" or "gru". */
  encoder: "sasrec" | "gru";
  /** Hidden size d. */
  hidden: number;
  /** Transformer blocks (SASRec). */
  layers: number;
  /** Attention heads (SASRec). */
  heads: number;
  /** Longest input the encoder reads. */
  maxLen: number;
  /** Number of real items (ids 1..numItems). */
  numItems: number;
  /**
   * Name prefixes of extra position-wise feed-forward sublayers applied to
   * the sequence representation, in order (SRMA's `drop.0`, `drop.1`, ...
   * with `dropAtEval`); empty for every other model.
   */
  head: string[];
}

/** Options of {@linkcode exportOnnx}. */
export interface OnnxExportOptions {
  /**
   * Top-k size baked into the graph.
   * @default 20
   */
  k?: number;
  /**
   * Keep the row's own items rankable (RecBole's `repeatable`); default
   * false: they are excluded from `top_ids`, as in seqssl's evaluation.
   * @default false
   */
  repeatable?: boolean;
  /** String metadata stored in the model (`metadata_props`). */
  metadata?: Record<string, string>;
}

const ENC = "enc";
const GRU = "gru";
const EMB = "item_emb";
const INT64_MAX = Number.MAX_SAFE_INTEGER; // ONNX clamps slice ends
const MASK_NEG = -1e9; // as MASK_NEG in lib/backend/attention_mask.ts
const LN_EPS = 1e-12; // as lib/nn/layers.ts

/**
 * The ONNX model (protobuf bytes) of `spec` with `weights` (named as in a
 * seqssl checkpoint's parameters, without the `p/` prefix).
 *
 * @example
 * ```ts
 * import { exportOnnx } from "./onnx.ts";
 * import { weightsOfParams } from "./spec.ts";
 * import { initSasrec } from "../nn/sasrec.ts";
 * import type { Params } from "../nn/params.ts";
 * import { makeRng } from "../util/rng.ts";
 * const params: Params = {};
 * initSasrec(params, { numItems: 30, hidden: 8, heads: 2, layers: 1, maxLen: 5 }, makeRng(0));
 * const bytes = exportOnnx(
 *   { encoder: "sasrec", hidden: 8, layers: 1, heads: 2, maxLen: 5, numItems: 30, head: [] },
 *   weightsOfParams(params),
 *   { k: 5 },
 * );
 * // an ONNX ModelProto starts with field 1 (ir_version = 8) as a varint
 * if (bytes[0] !== 0x08 || bytes[1] !== 8) throw new Error();
 * // the item table (31 x 8 floats) is in it
 * if (bytes.length < 31 * 8 * 4) throw new Error();
 * ```
 */
export function exportOnnx(
  spec: ServingSpec,
  weights: Record<string, WeightValue>,
  opts: OnnxExportOptions = {},
): Uint8Array {
  const k = opts.k ?? 20;
  const N = spec.numItems;
  if (!Number.isInteger(k) || k < 1 || k > N) {
    throw new RangeError(
      `onnx export: expected k an integer in 1..${N} (the number of items), found ${k}`,
    );
  }
  const g = new GraphBuilder();
  const w = weightReader(g, weights, spec);
  const d = spec.hidden;
  // The padded item table rows 0..N (padding + items; not the mask token).
  const emb = weights[EMB];
  if (!emb || emb.shape.length !== 2 || emb.shape[1] !== d) {
    throw new Error(
      `onnx export: expected weight '${EMB}' of shape [${N + 2}, ${d}], found ${
        emb ? `[${emb.shape}]` : "none"
      }`,
    );
  }
  if (emb.shape[0] < N + 1) {
    throw new Error(
      `onnx export: expected '${EMB}' with at least ${N + 1} rows, found ${
        emb.shape[0]
      }`,
    );
  }
  const table = g.weight(
    EMB,
    [N + 1, d],
    Float32Array.from(emb.values.subarray(0, (N + 1) * d)),
  );

  const items = "items";
  // The encoder reads the last maxLen columns.
  const ids = g.node("Slice", [
    items,
    g.int64([-spec.maxLen]),
    g.int64([INT64_MAX]),
    g.int64([1]),
  ]);
  let h = spec.encoder === "gru"
    ? gruGraph(g, w, spec, ids, table)
    : sasrecGraph(g, w, spec, ids, table);
  for (const p of spec.head) h = ffnSublayer(g, w, p, h, d);
  const embedding = g.node("Identity", [h]);

  // Scores against rows 0..N (column 0 = padding, dropped below).
  const scoresPad = g.node("Gemm", [h, table], { transB: { int: 1 } });
  const tail = (x: string) =>
    g.node("Slice", [x, g.int64([1]), g.int64([INT64_MAX]), g.int64([1])]);
  const scores = g.node("Identity", [tail(scoresPad)]);
  let ranked = scores;
  if (!opts.repeatable) {
    // Every id of the row (padding included, in column 0) scores -Infinity.
    const updates = g.node("ConstantOfShape", [g.node("Shape", [items])], {
      value: {
        tensor: {
          dims: [1],
          dataType: DT.FLOAT,
          rawData: new Uint8Array(Float32Array.of(-Infinity).buffer),
        },
      },
    });
    ranked = tail(
      g.node("ScatterElements", [scoresPad, items, updates], {
        axis: { int: 1 },
      }),
    );
  }
  const [topScores, topIdx] = g.nodeN("TopK", [ranked, g.int64([k])], {
    axis: { int: 1 },
    largest: { int: 1 },
    sorted: { int: 1 },
  }, 2);
  const topIds = g.node("Add", [topIdx, g.int64([1], [])]);
  for (
    const [from, to] of [[topIds, "top_ids"], [topScores, "top_scores"], [
      scores,
      "scores",
    ], [embedding, "embedding"]]
  ) {
    g.nodes.push({ opType: "Identity", input: [from], output: [to], name: to });
  }
  const graph = g.graph(
    "seqssl",
    [valueInfo(items, DT.INT64, ["batch", "length"])],
    [
      valueInfo("top_ids", DT.INT64, ["batch", k]),
      valueInfo("top_scores", DT.FLOAT, ["batch", k]),
      valueInfo("scores", DT.FLOAT, ["batch", N]),
      valueInfo("embedding", DT.FLOAT, ["batch", d]),
    ],
  );
  const model: OnnxNs.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "seqssl",
    producerVersion: "0.1.0",
    graph,
    metadataProps: Object.entries({
      "seqssl.spec": JSON.stringify(spec),
      "seqssl.k": String(k),
      "seqssl.repeatable": String(opts.repeatable === true),
      ...opts.metadata,
    }).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Looks weights up by name (checked shape), adding each once. */
function weightReader(
  g: GraphBuilder,
  weights: Record<string, WeightValue>,
  spec: ServingSpec,
): (name: string, shape: number[]) => string {
  const added = new Set<string>();
  return (name, shape) => {
    const v = weights[name];
    if (!v || v.shape.join() !== shape.join()) {
      throw new Error(
        `onnx export: expected weight '${name}' of shape [${shape}] for a ${spec.encoder} ` +
          `encoder (hidden ${spec.hidden}), found ${
            v ? `[${v.shape}]` : "none"
          }`,
      );
    }
    if (!added.has(name)) {
      g.weight(name, shape, Float32Array.from(v.values));
      added.add(name);
    }
    return name;
  };
}

type Weights = (name: string, shape: number[]) => string;

function dense(
  g: GraphBuilder,
  w: Weights,
  name: string,
  x: string,
  inDim: number,
  outDim: number,
): string {
  return g.node("Add", [
    g.node("MatMul", [x, w(`${name}.w`, [inDim, outDim])]),
    w(`${name}.b`, [outDim]),
  ]);
}

/** g * (x - mean) / sqrt(var + eps) + b over the last axis (as tfjs: two passes). */
function layerNorm(
  g: GraphBuilder,
  w: Weights,
  name: string,
  x: string,
  d: number,
): string {
  const axes = { ints: [-1] };
  const mean = g.node("ReduceMean", [x], { axes, keepdims: { int: 1 } });
  const xc = g.node("Sub", [x, mean]);
  const variance = g.node("ReduceMean", [g.node("Mul", [xc, xc])], {
    axes,
    keepdims: { int: 1 },
  });
  const rstd = g.node("Reciprocal", [
    g.node("Sqrt", [g.node("Add", [variance, g.float([LN_EPS])])]),
  ]);
  return g.node("Add", [
    g.node("Mul", [g.node("Mul", [xc, rstd]), w(`${name}.g`, [d])]),
    w(`${name}.b`, [d]),
  ]);
}

/** 0.5 x (1 + erf(x / sqrt 2)). */
function gelu(g: GraphBuilder, x: string): string {
  const e = g.node("Erf", [g.node("Mul", [x, g.float([Math.SQRT1_2])])]);
  return g.node("Mul", [
    g.node("Mul", [x, g.float([0.5])]),
    g.node("Add", [e, g.float([1])]),
  ]);
}

/** LayerNorm(x + W2 GELU(W1 x)) with weights `${p}.ffn1`, `${p}.ffn2`, `${p}.ln` (or `${p}.ln_ffn`). */
function ffnSublayer(
  g: GraphBuilder,
  w: Weights,
  p: string,
  x: string,
  d: number,
  ln = `${p}.ln`,
): string {
  const f = dense(
    g,
    w,
    `${p}.ffn2`,
    gelu(g, dense(g, w, `${p}.ffn1`, x, d, 4 * d)),
    4 * d,
    d,
  );
  return layerNorm(g, w, ln, g.node("Add", [x, f]), d);
}

function sasrecGraph(
  g: GraphBuilder,
  w: Weights,
  s: ServingSpec,
  ids: string,
  table: string,
): string {
  const { hidden: d, heads: H, maxLen } = s;
  const dh = d / H;
  if (!Number.isInteger(dh)) {
    throw new Error(
      `onnx export: expected hidden (${d}) divisible by heads (${H})`,
    );
  }
  // Position ids maxLen - Le .. maxLen - 1 for Le columns (as posOffset).
  const len = g.node("Shape", [ids], { start: { int: 1 }, end: { int: 2 } });
  const start = g.node("Sub", [g.int64([maxLen]), len]);
  const pos = g.node("Slice", [
    w(`${ENC}.pos_emb`, [maxLen, d]),
    start,
    g.int64([maxLen]),
    g.int64([0]),
  ]);
  const itemE = g.node("Gather", [table, ids], { axis: { int: 0 } });
  let x = layerNorm(g, w, `${ENC}.ln_in`, g.node("Add", [itemE, pos]), d);
  // Masked where key j is padding or after query i: [B, 1, Le, Le].
  const later = new Uint8Array(maxLen * maxLen);
  for (let i = 0; i < maxLen; i++) {
    for (let j = i + 1; j < maxLen; j++) later[i * maxLen + j] = 1;
  }
  const laterLe = g.node("Slice", [
    g.bool(later, [maxLen, maxLen]),
    g.node("Concat", [start, start], { axis: { int: 0 } }),
    g.int64([maxLen, maxLen]),
    g.int64([0, 1]),
  ]);
  const pad = g.node("Unsqueeze", [
    g.node("Equal", [ids, g.int64([0], [])]),
    g.int64([1, 2]),
  ]);
  const mask = g.node("Where", [
    g.node("Or", [pad, laterLe]),
    g.float([MASK_NEG]),
    g.float([0]),
  ]);
  const lastCol = (t: string, axis: number) =>
    g.node("Slice", [t, g.int64([-1]), g.int64([INT64_MAX]), g.int64([axis])]);
  const heads = (t: string, perm: number[]) =>
    g.node("Transpose", [g.node("Reshape", [t, g.int64([0, 0, H, dh])])], {
      perm: { ints: perm },
    });
  for (let l = 0; l < s.layers; l++) {
    const p = `${ENC}.${l}`;
    // The last block attends from the last position only (lastOnly).
    const last = l === s.layers - 1;
    const xq = last ? lastCol(x, 1) : x;
    const m = last ? lastCol(mask, 2) : mask;
    const q = heads(dense(g, w, `${p}.q`, xq, d, d), [0, 2, 1, 3]); // [B,H,Q,dh]
    const kT = heads(dense(g, w, `${p}.k`, x, d, d), [0, 2, 3, 1]); // [B,H,dh,L]
    const v = heads(dense(g, w, `${p}.v`, x, d, d), [0, 2, 1, 3]); // [B,H,L,dh]
    const scores = g.node("Add", [
      g.node("Mul", [g.node("MatMul", [q, kT]), g.float([1 / Math.sqrt(dh)])]),
      m,
    ]);
    const probs = g.node("Softmax", [scores], { axis: { int: -1 } });
    const ctx = g.node("Reshape", [
      g.node("Transpose", [g.node("MatMul", [probs, v])], {
        perm: { ints: [0, 2, 1, 3] },
      }),
      g.int64([0, 0, d]),
    ]);
    const a = layerNorm(
      g,
      w,
      `${p}.ln_attn`,
      g.node("Add", [xq, dense(g, w, `${p}.o`, ctx, d, d)]),
      d,
    );
    x = ffnSublayer(g, w, p, a, d, `${p}.ln_ffn`);
  }
  return g.node("Reshape", [x, g.int64([-1, d])]); // [B, 1, d] -> [B, d]
}

function gruGraph(
  g: GraphBuilder,
  w: Weights,
  s: ServingSpec,
  ids: string,
  table: string,
): string {
  const d = s.hidden;
  const e = g.node("Gather", [table, ids], { axis: { int: 0 } });
  const gx = g.node("Add", [
    g.node("MatMul", [e, w(`${GRU}.wx`, [d, 3 * d])]),
    w(`${GRU}.bx`, [3 * d]),
  ]);
  // 1 at real items, 0 at padding: [B, Le, 1].
  const real = g.node("Unsqueeze", [
    g.node(
      "Cast",
      [g.node("Not", [g.node("Equal", [ids, g.int64([0], [])])])],
      {
        to: { int: DT.FLOAT },
      },
    ),
    g.int64([2]),
  ]);
  const batch = g.node("Shape", [ids], { start: { int: 0 }, end: { int: 1 } });
  const h0 = g.node("ConstantOfShape", [
    g.node("Concat", [batch, g.int64([d])], { axis: { int: 0 } }),
  ]);
  // One step, as lib/nn/gru.ts: z, r, n gates; the state is kept at padding.
  const b = new GraphBuilder("step_");
  const wh = w(`${GRU}.wh`, [d, 3 * d]);
  const bh = w(`${GRU}.bh`, [3 * d]);
  const hh = b.node("Add", [b.node("MatMul", ["h_in", wh]), bh]);
  const split = b.int64([d, d, d]);
  const [xz, xr, xn] = b.nodeN(
    "Split",
    ["gx_t", split],
    { axis: { int: 1 } },
    3,
  );
  const [hz, hr, hn] = b.nodeN("Split", [hh, split], { axis: { int: 1 } }, 3);
  const z = b.node("Sigmoid", [b.node("Add", [xz, hz])]);
  const r = b.node("Sigmoid", [b.node("Add", [xr, hr])]);
  const n = b.node("Tanh", [b.node("Add", [xn, b.node("Mul", [r, hn])])]);
  const one = b.float([1]);
  const hNew = b.node("Add", [
    b.node("Mul", [b.node("Sub", [one, z]), n]),
    b.node("Mul", [z, "h_in"]),
  ]);
  const kept = b.node("Add", [
    b.node("Mul", ["m_t", hNew]),
    b.node("Mul", [b.node("Sub", [one, "m_t"]), "h_in"]),
  ]);
  b.nodes.push({
    opType: "Identity",
    input: [kept],
    output: ["h_out"],
    name: "h_out",
  });
  const body = b.graph(
    "gru_step",
    [
      valueInfo("h_in", DT.FLOAT),
      valueInfo("gx_t", DT.FLOAT),
      valueInfo("m_t", DT.FLOAT),
    ],
    [valueInfo("h_out", DT.FLOAT)],
  );
  return g.node("Scan", [h0, gx, real], {
    body: { graph: body },
    num_scan_inputs: { int: 2 },
    scan_input_axes: { ints: [1, 1] },
  });
}
