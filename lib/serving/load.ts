/**
 * A trained model for serving, from its checkpoint alone: the config, the
 * number of items (from the item table's shape) and the item names are in
 * the checkpoint, so new sequences can be scored without the training data.
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import { buildModel } from "../methods/mod.ts";
import type { TrainConfig } from "../training/config.ts";
import type { Model } from "../training/model.ts";
import { restoreParams } from "../training/fit.ts";
import { type Checkpoint, loadCheckpoint } from "../training/checkpoint.ts";
import {
  checkFiniteParams,
  checkpointConfig,
  checkpointItemNames,
} from "../training/checkpoint_checks.ts";
import { upgradeConfig } from "../config/legacy.ts";
import { makeRng } from "../util/rng.ts";
import type { ItemCatalogue } from "./catalogue.ts";

/** A checkpoint's serving facts, read without building a model. */
export interface ServingCheckpoint {
  /** The decoded checkpoint. */
  checkpoint: Checkpoint;
  /** The config it was trained with (upgraded from earlier versions). */
  config: TrainConfig;
  /** Its items: how many, and their original names if it keeps them. */
  catalogue: ItemCatalogue;
}

/**
 * The number of items of a checkpoint: its item table `p/item_emb` holds
 * the padding row, N items and the mask token (`[N + 2, d]`).
 *
 * @example
 * ```ts
 * import { checkpointNumItems } from "./load.ts";
 * const t = { "p/item_emb": { shape: [7, 4], dtype: "float32" as const, values: new Float32Array(28) } };
 * if (checkpointNumItems(t, "a.ckpt") !== 5) throw new Error();
 * let msg = "";
 * try { checkpointNumItems({}, "b.ckpt"); } catch (e) { msg = String(e); }
 * if (!msg.includes("b.ckpt: expected an item table")) throw new Error(msg);
 * ```
 */
export function checkpointNumItems(
  tensors: Checkpoint["tensors"],
  file: string,
): number {
  const t = tensors["p/item_emb"];
  if (!t || t.shape.length !== 2 || t.shape[0] < 3) {
    throw new Error(
      `${file}: expected an item table 'item_emb' of shape [items + 2, d], found ${
        t ? `[${t.shape}]` : "none"
      }`,
    );
  }
  return t.shape[0] - 2;
}

/**
 * Read a checkpoint for serving: its config, item count and item names,
 * with its weights checked finite. One-line errors name the file.
 *
 * @example
 * ```ts ignore
 * const { config, catalogue } = await readServingCheckpoint("runs/x/best.ckpt");
 * ```
 */
export async function readServingCheckpoint(
  path: string,
): Promise<ServingCheckpoint> {
  const checkpoint = await loadCheckpoint(path);
  const config = upgradeConfig(checkpointConfig(checkpoint.meta, path), path);
  checkFiniteParams(checkpoint.tensors, path);
  const numItems = checkpointNumItems(checkpoint.tensors, path);
  const names = checkpointItemNames(checkpoint.meta, path, numItems);
  return {
    checkpoint,
    config,
    catalogue: names ? { numItems, names } : { numItems },
  };
}

/**
 * A split with no users: what a method's builder needs to build a model of
 * `numItems` items when only its scorer will be used.
 *
 * @example
 * ```ts
 * import { emptySplit } from "./load.ts";
 * const s = emptySplit(9, 5);
 * if (s.numItems !== 9 || s.train.length !== 0) throw new Error();
 * ```
 */
export function emptySplit(numItems: number, maxLen: number): SplitDataset {
  return {
    name: "serving",
    numItems,
    maxLen,
    train: [],
    validInput: [],
    validTarget: new Int32Array(0),
    testInput: [],
    testTarget: new Int32Array(0),
    validHistory: [],
    testHistory: [],
    isHead: new Uint8Array(0),
    userIds: [],
  };
}

/** A model rebuilt from a checkpoint for scoring, with its items. */
export interface ServingModel extends ServingCheckpoint {
  /** The model with the checkpoint's weights; the caller disposes it. */
  model: Model;
}

/**
 * Rebuild the model of a checkpoint for scoring new sequences (its
 * `scorer`), without reading the data it was trained on.
 *
 * @example
 * ```ts ignore
 * const { model, catalogue } = await loadServingModel("runs/x/best.ckpt");
 * ```
 */
export async function loadServingModel(path: string): Promise<ServingModel> {
  const sc = await readServingCheckpoint(path);
  const split = emptySplit(sc.catalogue.numItems, sc.config.maxLen);
  const model = buildModel(sc.config, split, makeRng(sc.config.seed));
  try {
    restoreParams(model, sc.checkpoint.tensors, path);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { ...sc, model };
}
