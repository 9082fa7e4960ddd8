/**
 * A seeded synthetic dataset with planted structure (intents, item-to-item
 * transitions, head and tail users), for tests and quick experiments.
 *
 * @module
 */
import { ConfigError } from "../util/errors.ts";
import { makeRng, type Rng, shuffle } from "../util/rng.ts";
import type { SequenceDataset } from "./types.ts";

/** Options of {@linkcode synthetic}; every field has a default. */
export interface SyntheticOptions {
  /** Seed of the generator. Default 0. */
  seed?: number | string;
  /** Number of users. Default 2000. */
  numUsers?: number;
  /** Number of items (ids 1..numItems). Default 500. */
  numItems?: number;
  /** Number of intents (disjoint item blocks). Default 8. */
  numIntents?: number;
  /** Probability that a step draws a uniformly random item. Default 0.1. */
  noise?: number;
  /** Shortest sequence (at least 3, for leave-one-out). Default 5. */
  minLen?: number;
  /** Longest sequence (at most numItems). Default 60. */
  maxLen?: number;
  /** Share of heavy (long-sequence) users. Default 0.2. */
  headShare?: number;
  /** Mean number of items beyond `minLen` for light users. Default 3. */
  lightExtra?: number;
  /** Preferred successors per item (within its block). Default 3. */
  successors?: number;
  /** Probability that a user has a second intent. Default 0.5. */
  secondIntentProb?: number;
  /** Per-step probability of switching from the main to the second intent. Default 0.1. */
  switchProb?: number;
  /** Per-step probability of switching back to the main intent. Default 0.5. */
  returnProb?: number;
  /** Dataset name. Default `"synthetic"`. */
  name?: string;
}

/** A {@linkcode SequenceDataset} with the generator's ground truth. */
export interface SyntheticDataset extends SequenceDataset {
  /** Main intent of each user (0..numIntents-1). */
  intents: Int32Array;
  /** Number of intents. */
  numIntents: number;
  /** Second intent of each user, or -1 if none. */
  secondIntents: Int32Array;
  /** Intent owning each item id (`numItems + 1` entries; -1 at the padding id 0). */
  itemIntent: Int32Array;
  /**
   * Preferred successors of each item id, most likely first (`numItems + 1`
   * entries; empty at 0).
   */
  successorsOf: Int32Array[];
  /** 1 for users drawn as heavy (long) users, else 0. */
  heavy: Uint8Array;
}

const DEFAULTS: Required<SyntheticOptions> = {
  seed: 0,
  numUsers: 2000,
  numItems: 500,
  numIntents: 8,
  noise: 0.1,
  minLen: 5,
  maxLen: 60,
  headShare: 0.2,
  lightExtra: 3,
  successors: 3,
  secondIntentProb: 0.5,
  switchProb: 0.1,
  returnProb: 0.5,
  name: "synthetic",
};

function checkOptions(o: Required<SyntheticOptions>): void {
  const int = (key: keyof SyntheticOptions, min: number, max = Infinity) => {
    const v = o[key] as number;
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(
        key,
        max === Infinity
          ? `an integer >= ${min}`
          : `an integer in [${min}, ${max}]`,
        String(v),
      );
    }
  };
  const prob = (key: keyof SyntheticOptions) => {
    const v = o[key] as number;
    if (!(v >= 0 && v <= 1)) {
      throw new ConfigError(key, "a probability in [0, 1]", String(v));
    }
  };
  int("numUsers", 1);
  int("numIntents", 1);
  int("successors", 1);
  int("numItems", o.numIntents * (o.successors + 1));
  int("minLen", 3);
  int("maxLen", o.minLen, o.numItems);
  for (
    const k of [
      "noise",
      "headShare",
      "secondIntentProb",
      "switchProb",
      "returnProb",
    ] as const
  ) {
    prob(k);
  }
  if (!(o.lightExtra >= 0)) {
    throw new ConfigError("lightExtra", "a number >= 0", String(o.lightExtra));
  }
}

/** Index drawn from unnormalised weights. */
function pick(weights: Float64Array, total: number, rng: Rng): number {
  let r = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/**
 * Generate a dataset with planted structure. The generative process:
 *
 * 1. **Intents.** Item ids 1..numItems are shuffled and cut into
 *    `numIntents` disjoint blocks of (nearly) equal size.
 * 2. **Transitions.** Inside each block the items are put on a random cycle;
 *    each item's preferred successors are the next item on the cycle
 *    followed by `successors - 1` other distinct random items of the block.
 *    The j-th successor has weight 2^-j (3 successors: 4/7, 2/7, 1/7).
 * 3. **Popularity.** Entering a block (first item, switching to an intent,
 *    or no unused successor left) draws an item with Zipf weights 1/(r+1)
 *    over the block's cycle order r.
 * 4. **Users.** Each user has a main intent (uniform) and with probability
 *    `secondIntentProb` a second one. At every step, on the main intent the
 *    user switches to the second with probability `switchProb`; on the
 *    second, back with probability `returnProb`.
 * 5. **Steps.** With probability `noise` the next item is uniform over all
 *    items. Otherwise it is a preferred successor (by weight) of the last
 *    non-noise item of the current intent, or an entry draw (3.) if the
 *    intent has none yet. So the next item is mostly one of the previous
 *    item's successors.
 * 6. **Lengths.** With probability `headShare` a user is heavy: its length
 *    is log-uniform on [max(minLen, ceil(maxLen / 4)), maxLen] (density
 *    ~1/length: a long tail). Otherwise it is light: `minLen` plus a
 *    geometric number with mean `lightExtra`, below the heavy range.
 * 7. **No repeats.** A user never repeats an item: a used successor is
 *    replaced by the next one by weight, then by an entry draw, then a
 *    uniform draw; a bounded number of random tries is followed by a linear
 *    scan, so generation always ends (lengths never exceed numItems).
 *
 * The result keeps the ground truth (`intents`, `secondIntents`,
 * `itemIntent`, `successorsOf`, `heavy`). Same options, same dataset.
 * Unknown option keys and out-of-range values throw a `ConfigError`.
 *
 * @example
 * ```ts
 * import { synthetic } from "./synthetic.ts";
 * const ds = synthetic({ seed: 1, numUsers: 50 });
 * if (ds.sequences.length !== 50 || ds.numItems !== 500) throw new Error();
 * if (ds.intents.length !== 50 || ds.numIntents !== 8) throw new Error();
 * ```
 */
export function synthetic(opts: SyntheticOptions = {}): SyntheticDataset {
  for (const key of Object.keys(opts)) {
    if (!(key in DEFAULTS)) {
      throw new ConfigError(
        key,
        `one of ${Object.keys(DEFAULTS).join(", ")}`,
        "an unknown key",
      );
    }
  }
  const o: Required<SyntheticOptions> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(opts)) {
    if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  }
  checkOptions(o);
  const rng = makeRng(o.seed);
  const { numItems, numIntents, numUsers } = o;

  // 1. Intent blocks.
  const ids = shuffle(Array.from({ length: numItems }, (_, i) => i + 1), rng);
  const blocks: Int32Array[] = [];
  const itemIntent = new Int32Array(numItems + 1).fill(-1);
  for (let c = 0; c < numIntents; c++) {
    const from = Math.floor((c * numItems) / numIntents);
    const to = Math.floor(((c + 1) * numItems) / numIntents);
    const block = Int32Array.from(ids.slice(from, to)); // random order = cycle order
    blocks.push(block);
    for (const it of block) itemIntent[it] = c;
  }

  // 2. Successors; 3. entry weights.
  const successorsOf: Int32Array[] = new Array(numItems + 1);
  successorsOf[0] = new Int32Array(0);
  const succWeights = new Float64Array(o.successors);
  let succTotal = 0;
  for (let j = 0; j < o.successors; j++) succTotal += succWeights[j] = 2 ** -j;
  const entryWeights: Float64Array[] = [];
  const entryTotals: number[] = [];
  for (const block of blocks) {
    const b = block.length;
    const w = new Float64Array(b);
    let total = 0;
    for (let r = 0; r < b; r++) total += w[r] = 1 / (r + 1);
    entryWeights.push(w);
    entryTotals.push(total);
    for (let r = 0; r < b; r++) {
      const item = block[r];
      const succ = [block[(r + 1) % b]];
      while (succ.length < o.successors) {
        const cand = block[rng.int(b)];
        if (cand !== item && !succ.includes(cand)) succ.push(cand);
      }
      successorsOf[item] = Int32Array.from(succ);
    }
  }

  // 4.-7. Users.
  const heavyMin = Math.max(o.minLen, Math.ceil(o.maxLen / 4));
  const used = new Int32Array(numItems + 1).fill(-1); // user index that used the item
  const sequences: Int32Array[] = new Array(numUsers);
  const userIds: string[] = new Array(numUsers);
  const intents = new Int32Array(numUsers);
  const secondIntents = new Int32Array(numUsers).fill(-1);
  const heavy = new Uint8Array(numUsers);

  for (let u = 0; u < numUsers; u++) {
    const uniformUnused = (): number => {
      for (let t = 0; t < 32; t++) {
        const it = 1 + rng.int(numItems);
        if (used[it] !== u) return it;
      }
      const start = rng.int(numItems);
      for (let k = 0; k < numItems; k++) {
        const it = 1 + ((start + k) % numItems);
        if (used[it] !== u) return it;
      }
      throw new Error("synthetic: no unused item left (maxLen > numItems?)");
    };
    const entry = (c: number): number => {
      const block = blocks[c];
      for (let t = 0; t < 16; t++) {
        const it = block[pick(entryWeights[c], entryTotals[c], rng)];
        if (used[it] !== u) return it;
      }
      const start = rng.int(block.length);
      for (let k = 0; k < block.length; k++) {
        const it = block[(start + k) % block.length];
        if (used[it] !== u) return it;
      }
      return uniformUnused();
    };
    const successor = (prev: number, c: number): number => {
      const succ = successorsOf[prev];
      const first = pick(
        succWeights,
        succTotal,
        rng,
      );
      if (used[succ[first]] !== u) return succ[first];
      for (let j = 0; j < succ.length; j++) {
        if (used[succ[j]] !== u) return succ[j];
      }
      return entry(c);
    };

    const main = rng.int(numIntents);
    let second = -1;
    if (numIntents > 1 && rng.next() < o.secondIntentProb) {
      second = (main + 1 + rng.int(numIntents - 1)) % numIntents;
    }
    let len: number;
    if (rng.next() < o.headShare) {
      heavy[u] = 1;
      len = Math.round(
        Math.exp(
          Math.log(heavyMin) + rng.next() * Math.log(o.maxLen / heavyMin),
        ),
      );
    } else {
      const extra = o.lightExtra > 0
        ? Math.floor(-Math.log(1 - rng.next()) * o.lightExtra)
        : 0;
      len = o.minLen + extra;
      len = Math.min(len, heavyMin > o.minLen ? heavyMin - 1 : o.maxLen);
    }
    len = Math.max(o.minLen, Math.min(o.maxLen, len));

    const seq = new Int32Array(len);
    let c = main;
    let anchorMain = 0, anchorSecond = 0; // last non-noise item of each intent
    for (let t = 0; t < len; t++) {
      if (t > 0 && second >= 0) {
        if (c === main && rng.next() < o.switchProb) c = second;
        else if (c === second && rng.next() < o.returnProb) c = main;
      }
      let it: number;
      if (t > 0 && rng.next() < o.noise) {
        it = uniformUnused();
      } else {
        const anchor = c === main ? anchorMain : anchorSecond;
        it = anchor === 0 ? entry(c) : successor(anchor, c);
        if (itemIntent[it] === c) {
          if (c === main) anchorMain = it;
          else anchorSecond = it;
        }
      }
      used[it] = u;
      seq[t] = it;
    }
    sequences[u] = seq;
    userIds[u] = String(u + 1);
    intents[u] = main;
    secondIntents[u] = second;
  }

  return {
    name: o.name,
    numItems,
    sequences,
    userIds,
    intents,
    numIntents,
    secondIntents,
    itemIntent,
    successorsOf,
    heavy,
  };
}
