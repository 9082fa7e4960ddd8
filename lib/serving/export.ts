/**
 * A checkpoint as serving files: the ONNX graph of its encoder and scoring
 * head (`lib/export/onnx.ts`), or its item table as `.npy`.
 *
 * @module
 */
import { exportOnnx } from "../export/onnx.ts";
import { encodeNpy } from "../export/npy.ts";
import { servingSpec, weightsOfCheckpoint } from "../export/spec.ts";
import type { ServingCheckpoint } from "./load.ts";

/** The file formats of {@linkcode exportCheckpoint}. */
export type ExportFormat = "onnx" | "npy";

/** Options of {@linkcode exportCheckpoint}. */
export interface ExportOptions {
  /**
   * ONNX only: the top-k size baked into the graph.
   * @default 20
   */
  k?: number;
  /**
   * ONNX only: keep the input's own items rankable.
   * @default false
   */
  repeatable?: boolean;
}

/**
 * The bytes of a checkpoint exported as `format`:
 *
 * - `"onnx"`: the model as one ONNX graph (input `items`, outputs
 *   `top_ids`, `top_scores`, `scores`, `embedding`; see `exportOnnx`), with
 *   the method, the item count and, when the checkpoint keeps them, the item
 *   names (`seqssl.item_names`, a JSON list, entry i naming item i, entry 0
 *   the padding's `""`) in its metadata;
 * - `"npy"`: the item table `[N, d]` float32, row j the embedding of item
 *   j + 1 (as column j of the graph's `scores`), for nearest-neighbour
 *   indexes: an item's score is the `embedding` output dotted with its row.
 *
 * @example
 * ```ts
 * import { exportCheckpoint } from "./export.ts";
 * import { makeConfig } from "../config/resolve.ts";
 * // 3 items, d = 2: rows are padding, items 1..3, mask token
 * const values = Float32Array.from({ length: 10 }, (_, i) => i);
 * const sc = {
 *   checkpoint: { meta: {}, tensors: { "p/item_emb": { shape: [5, 2], dtype: "float32" as const, values } } },
 *   config: makeConfig({ hidden: 2, heads: 1 }),
 *   catalogue: { numItems: 3 },
 * };
 * const npy = exportCheckpoint(sc, "npy");
 * const rows = new Float32Array(npy.slice(npy.length - 24).buffer);
 * if (rows.join() !== "2,3,4,5,6,7") throw new Error(rows.join()); // items 1..3 only
 * ```
 */
export function exportCheckpoint(
  sc: ServingCheckpoint,
  format: ExportFormat,
  opts: ExportOptions = {},
): Uint8Array {
  const { numItems, names } = sc.catalogue;
  const weights = weightsOfCheckpoint(sc.checkpoint.tensors);
  if (format === "npy") {
    const emb = weights.item_emb;
    const d = emb.shape[1];
    return encodeNpy(
      Float32Array.from(emb.values.subarray(d, (numItems + 1) * d)),
      [numItems, d],
    );
  }
  const metadata: Record<string, string> = {
    "seqssl.method": sc.config.method,
    "seqssl.num_items": String(numItems),
  };
  if (names) metadata["seqssl.item_names"] = JSON.stringify(names);
  return exportOnnx(servingSpec(sc.config, numItems), weights, {
    k: opts.k,
    repeatable: opts.repeatable,
    metadata,
  });
}
