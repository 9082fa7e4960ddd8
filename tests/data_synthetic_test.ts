import { leaveOneOut, synthetic } from "../lib/data/mod.ts";
import { ConfigError } from "../lib/util/errors.ts";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "./_assert.ts";

const DS = synthetic(); // the defaults, shared by the tests below

Deno.test("synthetic: same seed gives an identical dataset, another seed does not", () => {
  assertEquals(
    synthetic({ seed: 5, numUsers: 300 }),
    synthetic({ seed: 5, numUsers: 300 }),
  );
  assertNotEquals(
    synthetic({ seed: 5, numUsers: 300 }).sequences,
    synthetic({ seed: 6, numUsers: 300 }).sequences,
  );
  assertEquals(synthetic(), DS);
});

Deno.test("synthetic: sizes, id ranges and lengths", () => {
  assertEquals([DS.name, DS.sequences.length, DS.numItems, DS.numIntents], [
    "synthetic",
    2000,
    500,
    8,
  ]);
  assertEquals(
    [DS.intents.length, DS.secondIntents.length, DS.userIds.length],
    [2000, 2000, 2000],
  );
  assertEquals(DS.userIds.slice(0, 3), ["1", "2", "3"]);
  assertEquals(
    [DS.itemIntent.length, DS.successorsOf.length, DS.itemIntent[0]],
    [501, 501, -1],
  );
  const used = new Set<number>();
  for (const s of DS.sequences) {
    assert(s.length >= 5 && s.length <= 60, `length ${s.length}`);
    for (const it of s) {
      assert(it >= 1 && it <= 500, `item ${it}`);
      used.add(it);
    }
  }
  assert(used.size > 450, `only ${used.size} items used`);
  for (let c = 0; c < 8; c++) {
    const size = DS.itemIntent.filter((x) => x === c).length;
    assert(size === 62 || size === 63, `block ${c} has ${size} items`);
  }
  const small = synthetic({
    numUsers: 10,
    numItems: 40,
    numIntents: 2,
    minLen: 3,
    maxLen: 40,
  });
  assertEquals([small.sequences.length, small.numItems], [10, 40]);
});

Deno.test("synthetic: no user repeats an item, even with long sequences over few items", () => {
  const tight = synthetic({
    seed: 2,
    numUsers: 200,
    numItems: 40,
    numIntents: 4,
    maxLen: 40,
    headShare: 1,
  });
  for (const ds of [DS, tight]) {
    for (const s of ds.sequences) assertEquals(new Set(s).size, s.length);
  }
  assert(
    tight.sequences.some((s) => s.length === 40),
    "some user takes every item",
  );
});

Deno.test("synthetic: planted transitions are real (next item is a preferred successor)", () => {
  let hits = 0, steps = 0, sameBlock = 0;
  for (const s of DS.sequences) {
    for (let t = 1; t < s.length; t++) {
      steps++;
      if (DS.successorsOf[s[t - 1]].includes(s[t])) hits++;
      if (DS.itemIntent[s[t - 1]] === DS.itemIntent[s[t]]) sameBlock++;
    }
  }
  const rate = hits / steps;
  const chance = 3 / 499;
  assert(rate > 0.5, `successor rate ${rate.toFixed(3)}`);
  assert(
    rate > 50 * chance,
    `successor rate ${rate.toFixed(3)} vs chance ${chance.toFixed(4)}`,
  );
  assert(
    sameBlock / steps > 0.7,
    `same-intent rate ${(sameBlock / steps).toFixed(3)}`,
  );
  for (const [item, succ] of DS.successorsOf.entries()) {
    if (item === 0) continue;
    assertEquals(succ.length, 3);
    for (const x of succ) {
      assert(x !== item && DS.itemIntent[x] === DS.itemIntent[item]);
    }
  }
});

Deno.test("synthetic: a user's items come mostly from its main intent", () => {
  let share = 0;
  for (let u = 0; u < DS.sequences.length; u++) {
    const s = DS.sequences[u];
    share += s.filter((it) => DS.itemIntent[it] === DS.intents[u]).length /
      s.length;
  }
  share /= DS.sequences.length;
  assert(share > 0.7 && share < 0.95, `main-intent share ${share.toFixed(3)}`);
  const counts = new Array(8).fill(0);
  for (const c of DS.intents) counts[c]++;
  assert(Math.min(...counts) > 150, `intent counts ${counts}`);
});

Deno.test("synthetic: clear head (long) and tail (short) users", () => {
  const heavy: number[] = [], light: number[] = [];
  DS.sequences.forEach((s, u) => (DS.heavy[u] ? heavy : light).push(s.length));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert(
    heavy.length > 300 && heavy.length < 500,
    `${heavy.length} heavy users`,
  );
  assert(
    mean(heavy) > 3 * mean(light),
    `mean lengths ${mean(heavy)} vs ${mean(light)}`,
  );
  const sp = leaveOneOut(DS);
  let headHeavy = 0, heads = 0;
  for (let u = 0; u < DS.sequences.length; u++) {
    if (sp.isHead[u]) {
      heads++;
      headHeavy += DS.heavy[u];
    }
  }
  assertEquals(heads, 400);
  assert(
    headHeavy / heads > 0.85,
    `head users that are heavy: ${headHeavy}/${heads}`,
  );
});

Deno.test("synthetic: the previous item predicts the next far better than popularity", () => {
  // Oracle-free check on the leave-one-out test targets: a bigram count model
  // fitted on the training part vs. most-popular, HR@10 with history excluded.
  const sp = leaveOneOut(DS);
  const n = DS.numItems;
  const pop = new Float64Array(n + 1);
  const bigram = new Map<number, Map<number, number>>();
  for (const t of sp.train) {
    for (let j = 0; j < t.length; j++) {
      pop[t[j]]++;
      if (j > 0) {
        const m = bigram.get(t[j - 1]) ?? new Map<number, number>();
        m.set(t[j], (m.get(t[j]) ?? 0) + 1);
        bigram.set(t[j - 1], m);
      }
    }
  }
  const hr10 = (score: (u: number, item: number) => number) => {
    let hits = 0;
    for (let u = 0; u < sp.testTarget.length; u++) {
      const excluded = new Set(sp.testHistory[u]);
      const target = sp.testTarget[u], ts = score(u, target);
      let rank = 0;
      for (let it = 1; it <= n && rank < 10; it++) {
        if (it !== target && !excluded.has(it) && score(u, it) > ts) rank++;
      }
      if (rank < 10) hits++;
    }
    return hits / sp.testTarget.length;
  };
  const popHr = hr10((_, it) => pop[it]);
  const bigramHr = hr10((u, it) => {
    const last = sp.testInput[u][sp.testInput[u].length - 1];
    return (bigram.get(last)?.get(it) ?? 0) + 1e-6 * pop[it];
  });
  assert(bigramHr > 0.4, `bigram HR@10 ${bigramHr.toFixed(3)}`);
  assert(
    bigramHr > 3 * popHr,
    `bigram HR@10 ${bigramHr.toFixed(3)} vs popularity ${popHr.toFixed(3)}`,
  );
});

Deno.test("synthetic: unknown keys and impossible sizes are ConfigErrors", () => {
  assertThrows(
    () => synthetic({ numUser: 5 } as never),
    ConfigError,
    "config key 'numUser'",
  );
  assertThrows(
    () => synthetic({ maxLen: 600 }),
    ConfigError,
    "config key 'maxLen': expected an integer in [5, 500], found 600",
  );
  assertThrows(() => synthetic({ minLen: 2 }), ConfigError, "minLen");
  assertThrows(() => synthetic({ noise: 2 }), ConfigError, "noise");
  assertThrows(() => synthetic({ numItems: 20 }), ConfigError, "numItems");
});
