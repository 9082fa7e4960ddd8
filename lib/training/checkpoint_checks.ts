/**
 * What a checkpoint must hold before it is used: the config it was trained
 * with, finite weights, the loop state of a `last.ckpt` for `--resume`, and
 * the fingerprint of the data it was trained on. Each check fails with one
 * line naming the file, what was expected and what was found.
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import {
  dataFingerprint,
  describeFingerprint,
  isFingerprint,
  sameData,
} from "../data/fingerprint.ts";
import type { StoredTensor } from "./checkpoint.ts";

/** A checkpoint's header with no config: not written by a training run. */
function hasConfig(meta: unknown): meta is { config: Record<string, unknown> } {
  const c = (meta as { config?: unknown } | null)?.config;
  return !!c && typeof c === "object" && !Array.isArray(c);
}

/**
 * The config a checkpoint was trained with, or an error naming the file.
 *
 * @example
 * ```ts
 * import { checkpointConfig } from "./checkpoint_checks.ts";
 * if (checkpointConfig({ config: { lr: 1 } }, "a.ckpt").lr !== 1) throw new Error();
 * let msg = "";
 * try { checkpointConfig({ epoch: 3 }, "b.ckpt"); } catch (e) { msg = String(e); }
 * if (!msg.includes("b.ckpt: expected")) throw new Error(msg);
 * ```
 */
export function checkpointConfig(
  meta: unknown,
  file: string,
): Record<string, unknown> {
  if (!hasConfig(meta)) {
    throw new Error(
      `${file}: expected a checkpoint header with the config it was trained ` +
        `with, found none (a best.ckpt or last.ckpt written by 'seqssl train' has one)`,
    );
  }
  return meta.config;
}

/**
 * Refuse stored parameters (`p/...` tensors) with NaN or infinite values:
 * the run that wrote them diverged, and its scores would be meaningless.
 *
 * @example
 * ```ts
 * import { checkFiniteParams } from "./checkpoint_checks.ts";
 * const ok = { "p/w": { shape: [2], dtype: "float32" as const, values: Float32Array.of(1, 2) } };
 * checkFiniteParams(ok, "a.ckpt");
 * const bad = { "p/w": { shape: [2], dtype: "float32" as const, values: Float32Array.of(1, NaN) } };
 * let msg = "";
 * try { checkFiniteParams(bad, "b.ckpt"); } catch (e) { msg = String(e); }
 * if (!msg.includes("b.ckpt: expected finite weights, found NaN in parameter 'w'")) {
 *   throw new Error(msg);
 * }
 * ```
 */
export function checkFiniteParams(
  tensors: Record<string, StoredTensor>,
  file: string,
): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.startsWith("p/") || t.dtype !== "float32") continue;
    const v = t.values;
    let bad = 0, first = 0;
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) {
        if (bad === 0) first = v[i];
        bad++;
      }
    }
    if (bad > 0) {
      throw new Error(
        `${file}: expected finite weights, found ${first} in parameter ` +
          `'${name.slice(2)}' (${bad} of ${v.length} values): the run that ` +
          `wrote it diverged; retrain with a lower learning rate`,
      );
    }
  }
}

/**
 * Check that a checkpoint can be resumed from: a `last.ckpt` with the loop
 * state, the generator state and the optimiser states. A `best.ckpt` (weights
 * only) given instead is named as such.
 *
 * @example
 * ```ts
 * import { checkResumable } from "./checkpoint_checks.ts";
 * checkResumable({ kind: "last", config: {}, loop: {}, rng: {}, opt: {} }, "last.ckpt");
 * let msg = "";
 * try { checkResumable({ kind: "best", config: {} }, "last.ckpt"); } catch (e) { msg = String(e); }
 * if (!msg.includes("found a best.ckpt")) throw new Error(msg);
 * ```
 */
export function checkResumable(meta: unknown, file: string): void {
  const m = meta as Record<string, unknown> | null;
  const obj = (x: unknown) => !!x && typeof x === "object";
  if (m && m.kind === "last" && obj(m.loop) && obj(m.rng) && obj(m.opt)) {
    checkpointConfig(m, file);
    return;
  }
  throw new Error(
    `${file}: expected a last.ckpt to resume from (weights, optimiser and ` +
      `loop state), found ${
        m?.kind === "best"
          ? "a best.ckpt (weights only: it can be evaluated, not resumed)"
          : "a checkpoint without that state"
      }`,
  );
}

/** The fingerprint of earlier versions: name, users, items, a hash of train. */
function legacyFingerprint(split: SplitDataset): string {
  let h = 0;
  for (const s of split.train) {
    for (let i = 0; i < s.length; i++) h = (h * 31 + s[i]) | 0;
  }
  return `${split.name}:${split.train.length}:${split.numItems}:${h}`;
}

/**
 * Compare the data a checkpoint was trained on (its header's
 * `dataFingerprint`, or the `fingerprint` string of earlier versions) with
 * `split`: null when they agree or the checkpoint records none, else a
 * one-line message naming `file`, `dataName` and both fingerprints.
 *
 * @example
 * ```ts
 * import { dataMismatch } from "./checkpoint_checks.ts";
 * import { dataFingerprint } from "../data/fingerprint.ts";
 * import { leaveOneOut } from "../data/split.ts";
 * const ds = (seqs: number[][]) => leaveOneOut({
 *   name: "t",
 *   numItems: 4,
 *   sequences: seqs.map((s) => Int32Array.from(s)),
 *   userIds: seqs.map((_, i) => `u${i}`),
 * });
 * const a = ds([[1, 2, 3], [4, 3, 2]]), b = ds([[1, 2, 3], [4, 2, 3]]);
 * const meta = { dataFingerprint: dataFingerprint(a) };
 * if (dataMismatch(meta, a, "m.ckpt", "a.txt") !== null) throw new Error();
 * const msg = dataMismatch(meta, b, "m.ckpt", "b.txt") ?? "";
 * if (!msg.startsWith("m.ckpt: expected a checkpoint trained on this data (b.txt:")) {
 *   throw new Error(msg);
 * }
 * ```
 */
export function dataMismatch(
  meta: unknown,
  split: SplitDataset,
  file: string,
  dataName: string,
): string | null {
  const m = meta as Record<string, unknown> | null;
  const now = dataFingerprint(split);
  let then: string;
  if (isFingerprint(m?.dataFingerprint)) {
    if (sameData(m.dataFingerprint, now)) return null;
    then = describeFingerprint(m.dataFingerprint);
  } else if (typeof m?.fingerprint === "string") {
    if (m.fingerprint === legacyFingerprint(split)) return null;
    then = m.fingerprint;
  } else {
    return null; // nothing recorded: nothing to check
  }
  return `${file}: expected a checkpoint trained on this data (${dataName}: ` +
    `${describeFingerprint(now)}), found one trained on other data (${then})`;
}

/**
 * The original item names a checkpoint keeps (`itemIds`: written when the
 * model was trained from an interactions file, `itemIds[i]` the name of
 * item `i`, `itemIds[0]` the padding's `""`), or undefined when it keeps
 * none (data whose item ids are used as they are, and checkpoints of
 * earlier versions). Names that do not fit `numItems` are an error naming
 * the file.
 *
 * @example
 * ```ts
 * import { checkpointItemNames } from "./checkpoint_checks.ts";
 * const names = checkpointItemNames({ itemIds: ["", "tea", "mug"] }, "a.ckpt", 2);
 * if (names?.[1] !== "tea") throw new Error();
 * if (checkpointItemNames({ config: {} }, "old.ckpt", 2) !== undefined) throw new Error();
 * let msg = "";
 * try { checkpointItemNames({ itemIds: ["", "tea"] }, "b.ckpt", 2); } catch (e) { msg = String(e); }
 * if (!msg.includes("b.ckpt: expected 3 item names")) throw new Error(msg);
 * ```
 */
export function checkpointItemNames(
  meta: unknown,
  file: string,
  numItems: number,
): string[] | undefined {
  const ids = (meta as { itemIds?: unknown } | null)?.itemIds;
  if (ids === undefined) return undefined;
  if (
    !Array.isArray(ids) || ids.length !== numItems + 1 ||
    !ids.every((x) => typeof x === "string")
  ) {
    throw new Error(
      `${file}: expected ${numItems + 1} item names (padding and ${numItems} ` +
        `items) in the header's itemIds, found ${
          Array.isArray(ids) ? `a list of ${ids.length}` : typeof ids
        }`,
    );
  }
  return ids;
}
