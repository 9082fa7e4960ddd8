/**
 * A fingerprint of a dataset, stored in every checkpoint so that `eval`,
 * `recommend` and `--resume` can tell a checkpoint of other data from one of
 * this data, even when the counts agree.
 *
 * @module
 */
import type { SequenceDataset, SplitDataset } from "./types.ts";

/** Users, items, interactions and a hash of every user's sequence. */
export interface DataFingerprint {
  /** Number of users. */
  users: number;
  /** Number of items (the largest item id). */
  items: number;
  /** Number of interactions. */
  actions: number;
  /** 64-bit hash of the sequences in order (16 hex digits). */
  hash: string;
}

/** Two 32-bit FNV-1a style lanes with different primes: a 64-bit hash. */
class Hasher {
  a = 0x811c9dc5;
  b = 0x01000193 ^ 0x5bd1e995;
  add(v: number): void {
    this.a = Math.imul(this.a ^ v, 0x01000193);
    this.b = Math.imul(this.b ^ v, 0x5bd1e995) ^ (this.b >>> 15);
  }
  hex(): string {
    const h = (x: number) => (x >>> 0).toString(16).padStart(8, "0");
    return h(this.a) + h(this.b);
  }
}

/**
 * The fingerprint of a dataset, or of its leave-one-out split (the same
 * value: a split keeps every item, as the training part and the two
 * targets). The hash covers each user's sequence length and items, in the
 * users' order; user ids and the dataset's name are not part of it.
 *
 * @example
 * ```ts
 * import { dataFingerprint } from "./fingerprint.ts";
 * import { leaveOneOut } from "./split.ts";
 * const ds = {
 *   name: "toy",
 *   numItems: 4,
 *   sequences: [Int32Array.of(1, 2, 3), Int32Array.of(4, 3, 2, 1)],
 *   userIds: ["a", "b"],
 * };
 * const fp = dataFingerprint(ds);
 * if (fp.users !== 2 || fp.items !== 4 || fp.actions !== 7) throw new Error();
 * if (dataFingerprint(leaveOneOut(ds)).hash !== fp.hash) throw new Error();
 * const swapped = { ...ds, sequences: [Int32Array.of(2, 1, 3), ds.sequences[1]] };
 * if (dataFingerprint(swapped).hash === fp.hash) throw new Error("order ignored");
 * ```
 */
export function dataFingerprint(
  ds: SequenceDataset | SplitDataset,
): DataFingerprint {
  const h = new Hasher();
  let actions = 0;
  const add = (s: Int32Array) => {
    for (let i = 0; i < s.length; i++) h.add(s[i]);
  };
  if ("train" in ds) {
    for (let u = 0; u < ds.train.length; u++) {
      const t = ds.train[u];
      h.add(t.length + 2);
      add(t);
      h.add(ds.validTarget[u]);
      h.add(ds.testTarget[u]);
      actions += t.length + 2;
    }
    return {
      users: ds.train.length,
      items: ds.numItems,
      actions,
      hash: h.hex(),
    };
  }
  for (const s of ds.sequences) {
    h.add(s.length);
    add(s);
    actions += s.length;
  }
  return {
    users: ds.sequences.length,
    items: ds.numItems,
    actions,
    hash: h.hex(),
  };
}

/**
 * A fingerprint in words, for messages.
 *
 * @example
 * ```ts
 * import { describeFingerprint } from "./fingerprint.ts";
 * const s = describeFingerprint({ users: 2, items: 4, actions: 7, hash: "00ff" });
 * if (s !== "2 users, 4 items, 7 interactions, hash 00ff") throw new Error(s);
 * ```
 */
export function describeFingerprint(fp: DataFingerprint): string {
  return `${fp.users} users, ${fp.items} items, ${fp.actions} interactions, hash ${fp.hash}`;
}

/**
 * Whether `x` is a stored fingerprint (from a checkpoint's header).
 *
 * @example
 * ```ts
 * import { isFingerprint } from "./fingerprint.ts";
 * if (!isFingerprint({ users: 1, items: 2, actions: 3, hash: "ab" })) throw new Error();
 * if (isFingerprint("Beauty:22363:12101:5")) throw new Error();
 * ```
 */
export function isFingerprint(x: unknown): x is DataFingerprint {
  const f = x as DataFingerprint;
  return !!f && typeof f === "object" && Number.isInteger(f.users) &&
    Number.isInteger(f.items) && Number.isInteger(f.actions) &&
    typeof f.hash === "string";
}

/**
 * Whether two fingerprints are of the same data.
 *
 * @example
 * ```ts
 * import { sameData } from "./fingerprint.ts";
 * const a = { users: 1, items: 2, actions: 3, hash: "ab" };
 * if (!sameData(a, { ...a }) || sameData(a, { ...a, hash: "ac" })) throw new Error();
 * ```
 */
export function sameData(a: DataFingerprint, b: DataFingerprint): boolean {
  return a.users === b.users && a.items === b.items &&
    a.actions === b.actions && a.hash === b.hash;
}
