/**
 * The beyond-accuracy metrics (Coverage, AveragePopularity, Gini,
 * TailPercentage), item popularity and its head/tail split, accuracy by the
 * target's popularity, and the one-pass ranks + top-k: against hand
 * arithmetic and against the separate rank and top-k passes.
 */
import { beyondAccuracy } from "../lib/eval/beyond.ts";
import { itemPopularity } from "../lib/eval/item_popularity.ts";
import { groupedMetrics } from "../lib/eval/metrics.ts";
import {
  ranksAndTopK,
  ranksFromScores,
  topKFromScores,
} from "../lib/eval/rank.ts";
import { makeRng } from "../lib/util/rng.ts";
import { assertAlmostEquals, assertEquals, assertThrows } from "./_assert.ts";

const TOL = 1e-12;

// Six items with training counts 5, 3, 2, 1, 1, 0 (item 6 never occurs).
const TRAIN = [
  Int32Array.of(1, 1, 2, 3, 4),
  Int32Array.of(1, 2, 1, 5),
  Int32Array.of(2, 3, 1),
];
// Three users' top-3 lists.
const TOP = { ids: Int32Array.of(1, 2, 3, 1, 3, 4, 2, 1, 6), width: 3 };

Deno.test("itemPopularity: training counts and the 20% most frequent items as head", () => {
  const pop = itemPopularity(TRAIN, 6);
  assertEquals(Array.from(pop.counts), [0, 5, 3, 2, 1, 1, 0]);
  // ceil(0.2 * 6) = 2 head items: the two most frequent, 1 and 2.
  assertEquals(Array.from(pop.isHead), [0, 1, 1, 0, 0, 0, 0]);
  // Ties: RecBole's tail takes (count, id) ascending, so among equal counts
  // the higher id is head. Items 4 and 5 both occur once; with 4 head items
  // (1, 2, 3 and one of 4/5) item 5 is head.
  const four = itemPopularity(TRAIN, 6, { headFraction: 4 / 6 });
  assertEquals(Array.from(four.isHead), [0, 1, 1, 1, 0, 1, 0]);
  // ceil(0.2 * 15) is 3 despite 0.2 * 15 = 3.0000000000000004 in floating point
  const fifteen = itemPopularity([], 15);
  assertEquals(fifteen.isHead.reduce((s, x) => s + x, 0), 3);
  assertThrows(() => itemPopularity(TRAIN, 6, { headFraction: 1.5 }));
});

Deno.test("beyondAccuracy: Coverage, AveragePopularity, Gini and TailPercentage by hand", () => {
  const pop = itemPopularity(TRAIN, 6);
  const m = beyondAccuracy(TOP, pop, { ks: [1, 3] });
  // k = 1: lists [1], [1], [2].
  //   Coverage = |{1, 2}| / 6 = 1/3
  //   AveragePopularity = (5 + 5 + 3) / 3 = 13/3
  //   TailPercentage = 0 (items 1 and 2 are head)
  //   Gini: times recommended, ascending, over all 6 items: 0 0 0 0 1 2;
  //     sum (2i - 7) P_(i) = 3*1 + 5*2 = 13; / (6 * 3) = 13/18
  assertAlmostEquals(m["Coverage@1"], 1 / 3, TOL);
  assertAlmostEquals(m["AveragePopularity@1"], 13 / 3, TOL);
  assertAlmostEquals(m["TailPercentage@1"], 0, TOL);
  assertAlmostEquals(m["Gini@1"], 13 / 18, TOL);
  // k = 3: lists [1 2 3], [1 3 4], [2 1 6].
  //   Coverage = |{1, 2, 3, 4, 6}| / 6 = 5/6
  //   AveragePopularity = ((5+3+2)/3 + (5+2+1)/3 + (3+5+0)/3) / 3 = 26/9
  //   TailPercentage = (1/3 + 2/3 + 1/3) / 3 = 4/9
  //   Gini: times 3 2 2 1 0 1 -> ascending 0 1 1 2 2 3 (total 9);
  //     sum (2i - 7) P_(i) = -3 - 1 + 2 + 6 + 15 = 19; / (6 * 9) = 19/54
  assertAlmostEquals(m["Coverage@3"], 5 / 6, TOL);
  assertAlmostEquals(m["AveragePopularity@3"], 26 / 9, TOL);
  assertAlmostEquals(m["TailPercentage@3"], 4 / 9, TOL);
  assertAlmostEquals(m["Gini@3"], 19 / 54, TOL);
  // Gini is also the mean absolute difference over twice the mean:
  // sum_{i,j} |x_i - x_j| / (2 N sum x) with x = 3 2 2 1 0 1.
  const x = [3, 2, 2, 1, 0, 1];
  let mad = 0;
  for (const a of x) for (const b of x) mad += Math.abs(a - b);
  assertAlmostEquals(m["Gini@3"], mad / (2 * 6 * 9), TOL);
});

Deno.test("beyondAccuracy: a subset of users, extreme lists, empty slots and bad cut-offs", () => {
  const pop = itemPopularity(TRAIN, 6);
  // user 0 alone: [1 2 3] -> coverage 3/6; Gini: ascending 0 0 0 1 1 1 ->
  //   (1 + 3 + 5) / (6 * 3) = 1/2
  const one = beyondAccuracy(TOP, pop, { ks: [3], users: [0] });
  assertAlmostEquals(one["Coverage@3"], 1 / 2, TOL);
  assertAlmostEquals(one["Gini@3"], 1 / 2, TOL);
  assertAlmostEquals(one["AveragePopularity@3"], 10 / 3, TOL);
  // Everyone gets the same single item: Gini = (N - 1) / N, the maximum.
  const same = beyondAccuracy(
    { ids: Int32Array.of(4, 4, 4, 4), width: 1 },
    pop,
    { ks: [1] },
  );
  assertAlmostEquals(same["Gini@1"], 5 / 6, TOL);
  assertAlmostEquals(same["TailPercentage@1"], 1, TOL);
  // Every item recommended equally often: Gini 0, coverage 1.
  const even = beyondAccuracy(
    { ids: Int32Array.of(1, 2, 3, 4, 5, 6), width: 2 },
    pop,
    { ks: [2] },
  );
  assertAlmostEquals(even["Gini@2"], 0, TOL);
  assertAlmostEquals(even["Coverage@2"], 1, TOL);
  // An empty slot (0) is no item and has popularity 0: [1, 0] -> 5 / 2.
  const short = beyondAccuracy({ ids: Int32Array.of(1, 0), width: 2 }, pop, {
    ks: [2],
  });
  assertAlmostEquals(short["AveragePopularity@2"], 5 / 2, TOL);
  assertAlmostEquals(short["Coverage@2"], 1 / 6, TOL);
  // No users: zeros, not NaN.
  const none = beyondAccuracy(TOP, pop, { ks: [2], users: [] });
  assertEquals(Object.values(none), [0, 0, 0, 0]);
  assertThrows(() => beyondAccuracy(TOP, pop, { ks: [4] }), RangeError, "1..3");
});

Deno.test("groupedMetrics: beyond-accuracy metrics per user group, accuracy by target popularity", () => {
  const items = itemPopularity(TRAIN, 6);
  // ranks 0, 7, 2; user 0 is a head user; targets 1 (head item), 4, 2 (head item)
  const g = groupedMetrics(Int32Array.of(0, 7, 2), Uint8Array.of(1, 0, 0), {
    ks: [3],
    top: TOP,
    items,
    targets: [1, 4, 2],
  });
  // head users = {0}: coverage 3/6; tail users = {1, 2}: [1 3 4] and
  // [2 1 6] cover {1, 2, 3, 4, 6}: 5/6
  assertAlmostEquals(g.head["Coverage@3"], 1 / 2, TOL);
  assertAlmostEquals(g.tail["Coverage@3"], 5 / 6, TOL);
  assertAlmostEquals(g.all["Coverage@3"], 5 / 6, TOL);
  // head-item targets: users 0 and 2 (ranks 0, 2): HR@3 = 1,
  //   MRR@3 = (1 + 1/3) / 2; tail-item target: user 1 (rank 7): 0
  assertEquals(g.headItem, {
    "HR@3": 1,
    "NDCG@3": (1 + 1 / Math.log2(4)) / 2,
    "MRR@3": 2 / 3,
  });
  assertEquals(g.tailItem, { "HR@3": 0, "NDCG@3": 0, "MRR@3": 0 });
  // Without top-k lists only accuracy; without targets no item groups.
  const plain = groupedMetrics(Int32Array.of(0, 7, 2), Uint8Array.of(1, 0, 0), {
    ks: [3],
  });
  assertEquals(Object.keys(plain.all), ["HR@3", "NDCG@3", "MRR@3"]);
  assertEquals(plain.headItem, undefined);
  assertThrows(
    () => groupedMetrics(Int32Array.of(0), Uint8Array.of(1), { top: TOP }),
    Error,
    "items",
  );
});

Deno.test("ranksAndTopK: the same ranks and top-k as the two separate passes (ties, history, duplicates)", () => {
  const rng = makeRng(11);
  for (const [N, k] of [[7, 3], [40, 5], [200, 20], [12, 20]]) {
    const rows = 25;
    // Scores on a coarse grid so that ties are common.
    const scores = Float32Array.from(
      { length: rows * N },
      () => Math.floor(rng.next() * 6) / 6,
    );
    const hist = Array.from({ length: rows }, () =>
      Int32Array.from(
        { length: Math.floor(rng.next() * 6) },
        () => Math.floor(rng.next() * (N + 1)), // 0 = padding, repeats possible
      ));
    const targets = Array.from(
      { length: rows },
      () => 1 + Math.floor(rng.next() * N),
    );
    const both = ranksAndTopK(scores, N, hist, targets, k);
    assertEquals(both.ranks, ranksFromScores(scores, N, hist, targets));
    const sep = topKFromScores(scores, N, hist, k);
    assertEquals(both.ids, sep.ids, `N=${N} k=${k}`);
  }
});
