/**
 * Leave-one-out split (see PROTOCOL.md): the last item of each user is the
 * test target, the one before it the validation target, the rest trains.
 *
 * @module
 */
import { DataError } from "../util/errors.ts";
import type { SequenceDataset, SplitDataset } from "./types.ts";

/** Options of {@linkcode leaveOneOut}. */
export interface LeaveOneOutOptions {
  /** Keep the last `maxLen` items of validation and test inputs. Default 50. */
  maxLen?: number;
  /** Share of users labelled head (longest training sequences). Default 0.2. */
  headFraction?: number;
}

/** Sorted copy of `xs` without repeats. */
function sortedUnique(xs: Int32Array): Int32Array {
  const s = xs.slice().sort();
  let m = 0;
  for (let i = 0; i < s.length; i++) {
    if (i === 0 || s[i] !== s[i - 1]) s[m++] = s[i];
  }
  return s.slice(0, m);
}

/**
 * Split every user's sequence `s` (length n >= 3):
 *
 * - `testTarget = s[n-1]`, `testInput` = `s[0..n-2]`, last `maxLen` items;
 * - `validTarget = s[n-2]`, `validInput` = `s[0..n-3]`, last `maxLen` items;
 * - `train` = `s[0..n-3]` in full (batching truncates it);
 * - `validHistory` / `testHistory`: every item before the valid / test
 *   target (not truncated), sorted ascending without repeats; these are
 *   excluded from ranking;
 * - `isHead`: users ordered by training length, longest first (ties: lower
 *   user index first); the first `ceil(headFraction * numUsers)` are head.
 *
 * All arrays are fresh copies. Throws a {@linkcode DataError} for a user
 * with fewer than 3 items, and a `RangeError` for bad options.
 *
 * @example
 * ```ts
 * import { leaveOneOut } from "./split.ts";
 * const sp = leaveOneOut({
 *   name: "toy",
 *   numItems: 5,
 *   sequences: [Int32Array.of(5, 1, 2, 3)],
 *   userIds: ["u"],
 * }, { maxLen: 2 });
 * if (sp.testTarget[0] !== 3 || sp.testInput[0].join() !== "1,2") throw new Error();
 * if (sp.validTarget[0] !== 2 || sp.validInput[0].join() !== "5,1") throw new Error();
 * if (sp.testHistory[0].join() !== "1,2,5") throw new Error();
 * ```
 */
export function leaveOneOut(
  ds: SequenceDataset,
  opts: LeaveOneOutOptions = {},
): SplitDataset {
  const maxLen = opts.maxLen ?? 50;
  const headFraction = opts.headFraction ?? 0.2;
  if (!Number.isInteger(maxLen) || maxLen < 1) {
    throw new RangeError(
      `maxLen: expected a positive integer, found ${maxLen}`,
    );
  }
  if (!(headFraction >= 0 && headFraction <= 1)) {
    throw new RangeError(
      `headFraction: expected a number in [0, 1], found ${headFraction}`,
    );
  }
  const numUsers = ds.sequences.length;
  const train: Int32Array[] = new Array(numUsers);
  const validInput: Int32Array[] = new Array(numUsers);
  const testInput: Int32Array[] = new Array(numUsers);
  const validHistory: Int32Array[] = new Array(numUsers);
  const testHistory: Int32Array[] = new Array(numUsers);
  const validTarget = new Int32Array(numUsers);
  const testTarget = new Int32Array(numUsers);
  for (let u = 0; u < numUsers; u++) {
    const s = ds.sequences[u];
    const n = s.length;
    if (n < 3) {
      throw new DataError(
        ds.name,
        0,
        `at least 3 items for every user (leave-one-out)`,
        `${n} for user '${ds.userIds[u]}' (index ${u})`,
      );
    }
    testTarget[u] = s[n - 1];
    validTarget[u] = s[n - 2];
    train[u] = s.slice(0, n - 2);
    validInput[u] = s.slice(Math.max(0, n - 2 - maxLen), n - 2);
    testInput[u] = s.slice(Math.max(0, n - 1 - maxLen), n - 1);
    validHistory[u] = sortedUnique(s.subarray(0, n - 2));
    testHistory[u] = sortedUnique(s.subarray(0, n - 1));
  }
  const out: SplitDataset = {
    name: ds.name,
    numItems: ds.numItems,
    maxLen,
    train,
    validInput,
    validTarget,
    testInput,
    testTarget,
    validHistory,
    testHistory,
    isHead: headLabels(train, headFraction),
    userIds: ds.userIds.slice(),
  };
  if (ds.itemIds) out.itemIds = ds.itemIds.slice();
  if (ds.intents) out.intents = ds.intents.slice();
  if (ds.numIntents !== undefined) out.numIntents = ds.numIntents;
  return out;
}

/**
 * Head labels: 1 for the `ceil(fraction * n)` longest sequences (ties go to
 * the lower index), else 0. A tiny epsilon keeps `ceil(0.1 * 30)` at 3.
 *
 * @example
 * ```ts
 * import { headLabels } from "./split.ts";
 * const h = headLabels([Int32Array.of(1), Int32Array.of(1, 2), Int32Array.of(3, 4)], 0.5);
 * if (h.join() !== "0,1,1") throw new Error();
 * ```
 */
export function headLabels(train: Int32Array[], fraction: number): Uint8Array {
  const n = train.length;
  const numHead = Math.min(n, Math.max(0, Math.ceil(fraction * n - 1e-9)));
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => train[b].length - train[a].length || a - b);
  const isHead = new Uint8Array(n);
  for (let i = 0; i < numHead; i++) isHead[order[i]] = 1;
  return isHead;
}
