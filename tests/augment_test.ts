import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "./_assert.ts";
import {
  augmentBatch,
  type Augmenter,
  byLength,
  compose,
  crop,
  insert,
  type ItemCorrelation,
  itemCorrelation,
  mask,
  randomChoice,
  reorder,
  substitute,
} from "../lib/augment/mod.ts";
import { makeRng, type Rng } from "../lib/util/rng.ts";
import { ConfigError } from "../lib/util/errors.ts";

const NUM_ITEMS = 50;
const MASK_ID = NUM_ITEMS + 1;

/** Random sequences of the given lengths over items 1..numItems. */
function randomSeqs(
  lengths: number[],
  rng: Rng,
  numItems = NUM_ITEMS,
): Int32Array[] {
  return lengths.map((n) => {
    const s = new Int32Array(n);
    for (let i = 0; i < n; i++) s[i] = 1 + rng.int(numItems);
    return s;
  });
}

/** 300 sequences with lengths 0..59 (several of each). */
function manySeqs(seed = 1): Int32Array[] {
  return randomSeqs(
    Array.from({ length: 300 }, (_, i) => i % 60),
    makeRng(seed),
  );
}

/** A training set in which every item co-occurs with others. */
function trainingCorrelation(): ItemCorrelation {
  const train = randomSeqs(new Array(400).fill(12), makeRng(99));
  return itemCorrelation(train, NUM_ITEMS, { topK: 5 });
}

function isSubarray(needle: Int32Array, hay: Int32Array): boolean {
  outer: for (let s = 0; s + needle.length <= hay.length; s++) {
    for (let i = 0; i < needle.length; i++) {
      if (hay[s + i] !== needle[i]) continue outer;
    }
    return true;
  }
  return false;
}

const sorted = (a: Int32Array): Int32Array => a.slice().sort();

function allAugmenters(correlation: ItemCorrelation): [string, Augmenter][] {
  return [
    ["crop", crop()],
    ["mask", mask({ maskId: MASK_ID })],
    ["reorder", reorder()],
    ["insert", insert({ correlation })],
    ["substitute", substitute({ correlation })],
  ];
}

Deno.test("crop keeps a contiguous run of max(1, floor(eta*n)) items", () => {
  const rng = makeRng(3);
  for (const eta of [0.2, 0.6, 0.8, 1]) {
    const aug = crop({ eta });
    for (const seq of manySeqs()) {
      const out = aug(seq, rng);
      const n = seq.length;
      const want = n === 0 ? 0 : Math.max(1, Math.floor(eta * n + 1e-9));
      assertEquals(out.length, want, `eta ${eta}, n ${n}`);
      assert(isSubarray(out, seq), `crop output is not a run of the input`);
    }
  }
});

Deno.test("crop start covers every offset", () => {
  const seq = Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
  const aug = crop({ eta: 0.6 }); // length 6: starts 0..4
  const rng = makeRng(0);
  const starts = new Set<number>();
  for (let t = 0; t < 500; t++) starts.add(aug(seq, rng)[0] - 1);
  assertEquals(starts, new Set([0, 1, 2, 3, 4]));
});

Deno.test("reorder shuffles only one contiguous run of floor(beta*n)", () => {
  const rng = makeRng(4);
  let moved = 0;
  for (const beta of [0.2, 0.5, 1]) {
    const aug = reorder({ beta });
    for (const seq of manySeqs()) {
      const out = aug(seq, rng);
      const n = seq.length;
      assertEquals(out.length, n);
      assertEquals(sorted(out), sorted(seq), "multiset changed");
      const len = Math.floor(beta * n + 1e-9);
      // Some start s: identical outside [s, s+len), same multiset inside.
      let ok = false;
      for (let s = 0; s + len <= n && !ok; s++) {
        let same = true;
        for (let i = 0; i < n && same; i++) {
          if ((i < s || i >= s + len) && out[i] !== seq[i]) same = false;
        }
        ok = same &&
          sorted(out.subarray(s, s + len)).join() ===
            sorted(seq.subarray(s, s + len)).join();
      }
      assert(ok, `no run of length ${len} explains ${seq} -> ${out}`);
      if (out.join() !== seq.join()) moved++;
    }
  }
  assert(moved > 100, `reorder almost never changed anything (${moved})`);
});

Deno.test("mask replaces exactly floor(gamma*n) positions with maskId", () => {
  const rng = makeRng(5);
  for (const gamma of [0, 0.3, 0.5, 1]) {
    const aug = mask({ gamma, maskId: MASK_ID });
    for (const seq of manySeqs()) {
      const out = aug(seq, rng);
      assertEquals(out.length, seq.length);
      let masked = 0;
      for (let i = 0; i < seq.length; i++) {
        if (out[i] === MASK_ID) masked++;
        else assertEquals(out[i], seq[i], `position ${i} changed`);
      }
      assertEquals(masked, Math.floor(gamma * seq.length + 1e-9));
    }
  }
  // floor with tolerance: 0.29 * 100 = 28.999999999999996 counts as 29.
  const seq = randomSeqs([100], rng)[0];
  const out = mask({ gamma: 0.29, maskId: MASK_ID })(seq, rng);
  assertEquals(out.filter((x) => x === MASK_ID).length, 29);
  // Default gamma 0.3; never the padding id.
  const out2 = mask({ maskId: MASK_ID })(seq, rng);
  assertEquals(out2.filter((x) => x === MASK_ID).length, 30);
  assert(!out2.includes(0));
});

Deno.test("insert adds max(1, floor(rate*n)) items similar to the next one", () => {
  const correlation = trainingCorrelation();
  const rng = makeRng(6);
  for (const rate of [0.1, 0.3, 1]) {
    const aug = insert({ rate, correlation });
    for (const seq of manySeqs()) {
      const out = aug(seq, rng);
      const n = seq.length;
      const want = n === 0 ? 0 : Math.max(1, Math.floor(rate * n + 1e-9));
      assertEquals(out.length, n + want, `rate ${rate}, n ${n}`);
      // Walk: an output item that is not the next input item is inserted and
      // must be followed by that input item, and be similar to it.
      let i = 0, inserted = 0;
      for (let o = 0; o < out.length; o++) {
        if (i < n && out[o] === seq[i]) {
          i++;
          continue;
        }
        inserted++;
        assert(
          i < n && out[o + 1] === seq[i],
          "inserted item not before an item",
        );
        const sim = correlation.similar(seq[i]);
        assert(
          sim.includes(out[o]),
          `${out[o]} is not among similar(${seq[i]}) = ${sim}`,
        );
      }
      assertEquals(i, n);
      assertEquals(inserted, want);
    }
  }
});

Deno.test("substitute keeps the length and swaps in similar items", () => {
  const correlation = trainingCorrelation();
  const rng = makeRng(7);
  for (const rate of [0.1, 0.3, 1]) {
    const aug = substitute({ rate, correlation });
    for (const seq of manySeqs()) {
      const out = aug(seq, rng);
      const n = seq.length;
      assertEquals(out.length, n);
      let changed = 0;
      for (let i = 0; i < n; i++) {
        if (out[i] === seq[i]) continue;
        changed++;
        assert(
          correlation.similar(seq[i]).includes(out[i]),
          `${out[i]} is not among similar(${seq[i]})`,
        );
      }
      const want = n === 0 ? 0 : Math.max(1, Math.floor(rate * n + 1e-9));
      assertEquals(changed, want, `rate ${rate}, n ${n}`);
    }
  }
});

Deno.test("insert and substitute leave mask and padding tokens alone", () => {
  const correlation = trainingCorrelation();
  const rng = makeRng(8);
  const seq = Int32Array.of(MASK_ID, 0, 3, MASK_ID, 0);
  for (let t = 0; t < 50; t++) {
    const sub = substitute({ rate: 1, correlation })(seq, rng);
    assertEquals([sub[0], sub[1], sub[3], sub[4]], [MASK_ID, 0, MASK_ID, 0]);
    assertNotEquals(sub[2], 3);
    const ins = insert({ rate: 1, correlation })(seq, rng);
    assertEquals(ins.length, 6);
    assertEquals(ins.subarray(3).join(), `3,${MASK_ID},0`);
  }
  const none = Int32Array.of(MASK_ID, 0);
  assertEquals(insert({ correlation })(none, rng), none);
  assertEquals(substitute({ correlation })(none, rng), none);
  // compose(mask, insert) must not crash on the mask token.
  const aug = compose(
    mask({ gamma: 0.5, maskId: MASK_ID }),
    insert({ correlation }),
  );
  for (const s of manySeqs()) aug(s, rng);
});

Deno.test("augmenters never mutate their input and return a new array", () => {
  const correlation = trainingCorrelation();
  const rng = makeRng(9);
  for (const [name, aug] of allAugmenters(correlation)) {
    for (const seq of manySeqs()) {
      const before = seq.slice();
      const out = aug(seq, rng);
      assertEquals(seq, before, `${name} mutated its input`);
      assert(out !== seq && out.buffer !== seq.buffer, `${name} aliases input`);
      assert(out instanceof Int32Array, `${name} returned a non-Int32Array`);
    }
  }
});

Deno.test("same seed gives the same outputs, another seed others", () => {
  const correlation = trainingCorrelation();
  const seqs = manySeqs();
  const run = (seed: number, aug: Augmenter): string =>
    augmentBatch(seqs, aug, { rng: makeRng(seed), maxLen: 1000 })
      .map((s) => s.join()).join("|");
  const all: [string, Augmenter][] = [
    ...allAugmenters(correlation),
    ["randomChoice", randomChoice(allAugmenters(correlation).map((a) => a[1]))],
  ];
  for (const [name, aug] of all) {
    assertEquals(run(1, aug), run(1, aug), `${name} is not reproducible`);
    assertNotEquals(run(1, aug), run(2, aug), `${name} ignores the seed`);
  }
});

Deno.test("short sequences (n = 0, 1, 2) never crash; crop never empty", () => {
  const correlation = trainingCorrelation();
  const rng = makeRng(10);
  for (const [name, aug] of allAugmenters(correlation)) {
    assertEquals(aug(new Int32Array(0), rng).length, 0, name);
    for (let t = 0; t < 50; t++) {
      for (const seq of [Int32Array.of(7), Int32Array.of(7, 8)]) {
        const out = aug(seq, rng);
        assert(out.length >= 1, `${name} emptied ${seq}`);
      }
    }
  }
  for (let t = 0; t < 50; t++) {
    for (const eta of [0.01, 0.5, 1]) {
      assertEquals(crop({ eta })(Int32Array.of(7), rng), Int32Array.of(7));
      assertEquals(
        crop({ eta })(Int32Array.of(7, 8), rng).length,
        eta === 1 ? 2 : 1,
      );
    }
  }
});

Deno.test("itemCorrelation matches hand-computed neighbours", () => {
  // window 1 pairs: (1,2), (2,3), (2,3), (4,1); f = [_, 2, 2, 2, 1, 0]
  const corr = itemCorrelation(
    [Int32Array.of(1, 2, 3), Int32Array.of(2, 3), Int32Array.of(4, 1)],
    5,
  );
  assertEquals(corr.numItems, 5);
  assertEquals(corr.topK, 10);
  // sim(1,4) = 1/sqrt(2*1) > sim(1,2) = 1/sqrt(2*2)
  assertEquals(corr.similar(1), Int32Array.of(4, 2));
  assertAlmostEquals(corr.scores(1)[0], 1 / Math.SQRT2, 1e-12);
  assertAlmostEquals(corr.scores(1)[1], 0.5, 1e-12);
  // sim(2,3) = 2/2 = 1 > sim(2,1) = 0.5
  assertEquals(corr.similar(2), Int32Array.of(3, 1));
  assertEquals(corr.similar(3), Int32Array.of(2));
  assertEquals(corr.similar(4), Int32Array.of(1));
  assertEquals(corr.similar(5), new Int32Array(0)); // never seen
  // topK truncates.
  const top1 = itemCorrelation(
    [Int32Array.of(1, 2, 3), Int32Array.of(2, 3)],
    3,
    {
      topK: 1,
    },
  );
  assertEquals(top1.similar(2), Int32Array.of(3));
  // window 2 also pairs items two apart.
  const w2 = itemCorrelation([Int32Array.of(1, 2, 3)], 3, { window: 2 });
  assertEquals(w2.similar(1), Int32Array.of(2, 3));
  const w1 = itemCorrelation([Int32Array.of(1, 2, 3)], 3);
  assertEquals(w1.similar(1), Int32Array.of(2));
  // Repeats of the same item are not self-pairs.
  const rep = itemCorrelation([Int32Array.of(1, 1, 2)], 2);
  assertEquals(rep.similar(1), Int32Array.of(2));
});

Deno.test("itemCorrelation breaks exact ties by lower id", () => {
  // Plain tie: sim(1,2) = sim(1,3) = 1.
  const a = itemCorrelation([Int32Array.of(3, 1, 2)], 3);
  assertEquals(a.similar(1), Int32Array.of(2, 3));
  // Tie from different counts: C(1,3) = 2, f(3) = 4 and C(1,2) = 1,
  // f(2) = 1, so both are 2/sqrt(12) = 1/sqrt(3).
  const b = itemCorrelation([
    Int32Array.of(1, 3),
    Int32Array.of(3, 1),
    Int32Array.of(3),
    Int32Array.of(3),
    Int32Array.of(2, 1),
  ], 3);
  assertEquals(b.similar(1), Int32Array.of(2, 3));
  assertAlmostEquals(b.scores(1)[0], 1 / Math.sqrt(3), 1e-12);
  assertAlmostEquals(b.scores(1)[1], 1 / Math.sqrt(3), 1e-12);
});

Deno.test("itemCorrelation.sample draws from the top items, else any other", () => {
  const corr = itemCorrelation(
    [Int32Array.of(1, 2, 3), Int32Array.of(2, 3), Int32Array.of(4, 1)],
    5,
  );
  const rng = makeRng(11);
  const seen = new Set<number>();
  for (let t = 0; t < 200; t++) seen.add(corr.sample(2, rng));
  assertEquals(seen, new Set([1, 3]));
  const other = new Set<number>();
  for (let t = 0; t < 500; t++) other.add(corr.sample(5, rng)); // no neighbours
  assertEquals(other, new Set([1, 2, 3, 4]));
  const single = itemCorrelation([Int32Array.of(1)], 1);
  assertEquals(single.sample(1, rng), 1);
  assertThrows(() => corr.similar(0), RangeError, "1..5");
  assertThrows(() => corr.sample(6, rng), RangeError, "found 6");
});

Deno.test("itemCorrelation rejects ids outside 1..numItems with a location", () => {
  assertThrows(
    () => itemCorrelation([Int32Array.of(1, 2), Int32Array.of(3, 0)], 3),
    RangeError,
    "train[1][1]: expected an item id in 1..3, found 0",
  );
  assertThrows(
    () => itemCorrelation([Int32Array.of(1, 4)], 3),
    RangeError,
    "train[0][1]",
  );
  assertThrows(
    () => itemCorrelation([], 3, { topK: 0 }),
    ConfigError,
    "itemCorrelation.topK",
  );
});

Deno.test("randomChoice respects weights", () => {
  const one: Augmenter = () => Int32Array.of(1);
  const two: Augmenter = () => Int32Array.of(2);
  const rng = makeRng(13);
  const seq = Int32Array.of(5);
  const first = randomChoice([one, two], { weights: [1, 0] });
  const second = randomChoice([one, two], { weights: [0, 1] });
  const both = randomChoice([one, two]);
  let ones = 0;
  for (let t = 0; t < 1000; t++) {
    assertEquals(first(seq, rng)[0], 1);
    assertEquals(second(seq, rng)[0], 2);
    if (both(seq, rng)[0] === 1) ones++;
  }
  assert(
    ones > 400 && ones < 600,
    `equal weights picked the first ${ones}/1000`,
  );
  assertThrows(() => randomChoice([]), ConfigError);
  assertThrows(
    () => randomChoice([one], { weights: [1, 1] }),
    ConfigError,
    "1 weights",
  );
  assertThrows(
    () => randomChoice([one, two], { weights: [0, 0] }),
    ConfigError,
    "positive sum",
  );
  assertThrows(
    () => randomChoice([one, two], { weights: [1, -1] }),
    ConfigError,
  );
});

Deno.test("compose applies in order; byLength switches on length", () => {
  const plus1: Augmenter = (s) => s.map((x) => x + 1);
  const times2: Augmenter = (s) => s.map((x) => x * 2);
  const rng = makeRng(14);
  assertEquals(
    compose(plus1, times2)(Int32Array.of(1, 2), rng),
    Int32Array.of(4, 6),
  );
  assertEquals(
    compose(times2, plus1)(Int32Array.of(1, 2), rng),
    Int32Array.of(3, 5),
  );
  const input = Int32Array.of(1, 2);
  const id = compose()(input, rng);
  assertEquals(id, input);
  assert(id !== input);
  const aug = byLength(2, { short: plus1, long: times2 });
  assertEquals(aug(Int32Array.of(1, 2), rng), Int32Array.of(2, 3));
  assertEquals(aug(Int32Array.of(1, 2, 3), rng), Int32Array.of(2, 4, 6));
});

Deno.test("augmentBatch keeps the last maxLen items and leaves inputs alone", () => {
  const correlation = trainingCorrelation();
  const seqs = manySeqs();
  const copies = seqs.map((s) => s.slice());
  const out = augmentBatch(seqs, insert({ rate: 1, correlation }), {
    rng: makeRng(15),
    maxLen: 20,
  });
  assertEquals(seqs, copies);
  assertEquals(out.length, seqs.length);
  for (let u = 0; u < seqs.length; u++) {
    assertEquals(out[u].length, Math.min(20, 2 * seqs[u].length));
    // The last item of the input is kept last.
    if (seqs[u].length > 0) assertEquals(out[u].at(-1), seqs[u].at(-1));
  }
  assertThrows(
    () => augmentBatch(seqs, crop(), { rng: makeRng(0), maxLen: 0 }),
    ConfigError,
    "maxLen",
  );
});

Deno.test("bad options are ConfigErrors naming the key", () => {
  assertThrows(() => crop({ eta: 0 }), ConfigError, "crop.eta");
  assertThrows(() => crop({ eta: 1.5 }), ConfigError, "crop.eta");
  assertThrows(() => mask({ maskId: 0 }), ConfigError, "mask.maskId");
  assertThrows(
    () => mask({} as unknown as { maskId: number }),
    ConfigError,
    "mask.maskId",
  );
  assertThrows(
    () => mask({ gamma: -0.1, maskId: 3 }),
    ConfigError,
    "mask.gamma",
  );
  assertThrows(() => reorder({ beta: NaN }), ConfigError, "reorder.beta");
  assertThrows(
    () => crop({ tao: 0.2 } as unknown as { eta: number }),
    ConfigError,
    "crop.tao",
  );
  const correlation = itemCorrelation([Int32Array.of(1, 2)], 2);
  assertThrows(
    () => insert({ rate: 2, correlation }),
    ConfigError,
    "insert.rate",
  );
  assertThrows(
    () => substitute({ rate: -1, correlation }),
    ConfigError,
    "substitute.rate",
  );
  assertThrows(
    () => byLength(-1, { short: crop(), long: crop() }),
    ConfigError,
    "byLength.threshold",
  );
});
