/**
 * Metrics (HR/NDCG from ranks, head/tail grouping) and ranking from scores
 * (history exclusion, ties, top-k), checked against hand arithmetic and a
 * brute-force reference.
 */
import { groupedMetrics, metricsFromRanks } from "../lib/eval/metrics.ts";
import { ranksFromScores, topKFromScores } from "../lib/eval/rank.ts";
import { makeRng } from "../lib/util/rng.ts";
import { assert, assertAlmostEquals, assertEquals } from "./_assert.ts";

const TOL = 1e-12;
const KEYS = [
  "HR@5",
  "NDCG@5",
  "MRR@5",
  "HR@10",
  "NDCG@10",
  "MRR@10",
  "HR@20",
  "NDCG@20",
  "MRR@20",
];

function assertMetrics(
  actual: Record<string, number>,
  expected: Record<string, number>,
  what: string,
): void {
  assertEquals(Object.keys(actual).sort(), Object.keys(expected).sort(), what);
  for (const k of Object.keys(expected)) {
    assertAlmostEquals(actual[k], expected[k], TOL, `${what} ${k}`);
  }
}

// ------------------------------------------------------------ metricsFromRanks

Deno.test("metricsFromRanks: HR, NDCG and MRR at 5/10/20 by hand", () => {
  // Five users with ranks 0, 3, 7, 15, 25.
  //   rank 0  -> 1/log2(2)  = 1         counts for @5, @10, @20
  //   rank 3  -> 1/log2(5)  = 0.430677  counts for @5, @10, @20
  //   rank 7  -> 1/log2(9)  = 0.315465  counts for @10, @20
  //   rank 15 -> 1/log2(17) = 0.244651  counts for @20
  //   rank 25 -> never (25 >= 20)
  // HR@5 = 2/5, HR@10 = 3/5, HR@20 = 4/5;
  // NDCG@k = (sum of the counted gains) / 5.
  // MRR@k = (sum of 1 / (rank + 1) over the counted ranks) / 5: positions
  // 1, 4, 8, 16 give 1, 1/4, 1/8, 1/16.
  // 6 - 1 = 5 items left: a miss at 5
  const m = metricsFromRanks(Int32Array.of(0, 3, 7, 15, 25));
  const g3 = 1 / Math.log2(5), g7 = 1 / Math.log2(9), g15 = 1 / Math.log2(17);
  assertMetrics(m, {
    "HR@5": 2 / 5,
    "NDCG@5": (1 + g3) / 5,
    "MRR@5": (1 + 1 / 4) / 5,
    "HR@10": 3 / 5,
    "NDCG@10": (1 + g3 + g7) / 5,
    "MRR@10": (1 + 1 / 4 + 1 / 8) / 5,
    "HR@20": 4 / 5,
    "NDCG@20": (1 + g3 + g7 + g15) / 5,
    "MRR@20": (1 + 1 / 4 + 1 / 8 + 1 / 16) / 5,
  }, "five users");
  assertAlmostEquals(m["MRR@20"], 0.2875, 1e-12); // 1.4375 / 5
  // Spot-check the numbers themselves so a wrong log base would show.
  assertAlmostEquals(m["NDCG@5"], (1 + 0.43067655807339306) / 5, 1e-12);
  assertAlmostEquals(m["NDCG@20"], 0.3981583954, 1e-9); // (1+.430677+.315465+.244651)/5
});

Deno.test("metricsFromRanks: the cut-off is strict (rank k-1 in, rank k out)", () => {
  // rank 4 < 5 counts with gain 1/log2(6) = 0.386853; rank 5 does not.
  // 6 - 1 = 5 items left: a miss at 5
  const m = metricsFromRanks(Int32Array.of(4, 5), { ks: [5] });
  assertMetrics(m, {
    "HR@5": 1 / 2,
    "NDCG@5": 1 / Math.log2(6) / 2,
    "MRR@5": 1 / 5 / 2,
  }, "edge");
  // rank 9 at @10 (gain 1/log2(11)), rank 10 not; rank 19 at @20, rank 20 not.
  const m2 = metricsFromRanks(Int32Array.of(9, 10, 19, 20), { ks: [10, 20] });
  assertMetrics(m2, {
    "HR@10": 1 / 4,
    "NDCG@10": 1 / Math.log2(11) / 4,
    "MRR@10": 1 / 10 / 4,
    "HR@20": 3 / 4, // 9, 10 and 19
    "NDCG@20": (1 / Math.log2(11) + 1 / Math.log2(12) + 1 / Math.log2(21)) /
      4,
    "MRR@20": (1 / 10 + 1 / 11 + 1 / 20) / 4,
  }, "edges at 10 and 20");
});

Deno.test("metricsFromRanks: perfect, hopeless and empty rankings", () => {
  const top = metricsFromRanks(Int32Array.of(0, 0, 0));
  for (const k of KEYS) assertEquals(top[k], 1, `all at rank 0: ${k}`);
  const miss = metricsFromRanks(Int32Array.of(20, 1000, 12100));
  for (const k of KEYS) assertEquals(miss[k], 0, `all beyond 20: ${k}`);
  const none = metricsFromRanks(new Int32Array(0));
  for (const k of KEYS) assertEquals(none[k], 0, `no users: ${k}`);
});

Deno.test("metricsFromRanks: a subset of users averages over that subset only", () => {
  const ranks = Int32Array.of(0, 50, 2, 50);
  // users 0 and 2: ranks 0 and 2 -> HR@5 = 1, NDCG@5 = (1 + 1/log2(4)) / 2 = 0.75
  // 6 - 1 = 5 items left: a miss at 5
  const m = metricsFromRanks(ranks, { ks: [5], users: [0, 2] });
  // MRR@5 = (1 + 1/3) / 2
  assertMetrics(m, { "HR@5": 1, "NDCG@5": 0.75, "MRR@5": 2 / 3 }, "subset");
  // all four users: HR@5 = 2/4, NDCG@5 = 1.5 / 4, MRR@5 = (4/3) / 4
  assertMetrics(metricsFromRanks(ranks, { ks: [5] }), {
    "HR@5": 0.5,
    "NDCG@5": 0.375,
    "MRR@5": 1 / 3,
  }, "all");
});

Deno.test("groupedMetrics: head and tail users are averaged separately", () => {
  // user:   0    1    2    3    4
  // rank:   0   10    3   30    1
  // head:   1    0    1    0    0
  // head ranks {0, 3}: HR@5 = 1, NDCG@5 = (1 + 1/log2(5)) / 2
  // tail ranks {10, 30, 1}: HR@5 = 1/3, NDCG@5 = (1/log2(3)) / 3,
  //   HR@20 = 2/3, NDCG@20 = (1/log2(12) + 1/log2(3)) / 3
  // MRR: head (1 + 1/4) / 2 at every k; tail (1/2) / 3 at 5 and 10,
  //   (1/2 + 1/11) / 3 at 20
  const ranks = Int32Array.of(0, 10, 3, 30, 1);
  const isHead = Uint8Array.of(1, 0, 1, 0, 0);
  const g = groupedMetrics(ranks, isHead);
  const g3 = 1 / Math.log2(5), g1 = 1 / Math.log2(3), g10 = 1 / Math.log2(12);
  assertMetrics(g.head, {
    "HR@5": 1,
    "NDCG@5": (1 + g3) / 2,
    "MRR@5": 5 / 8,
    "HR@10": 1,
    "NDCG@10": (1 + g3) / 2,
    "MRR@10": 5 / 8,
    "HR@20": 1,
    "NDCG@20": (1 + g3) / 2,
    "MRR@20": 5 / 8,
  }, "head");
  assertMetrics(g.tail, {
    "HR@5": 1 / 3,
    "NDCG@5": g1 / 3,
    "MRR@5": 1 / 6,
    "HR@10": 1 / 3,
    "NDCG@10": g1 / 3,
    "MRR@10": 1 / 6,
    "HR@20": 2 / 3,
    "NDCG@20": (g1 + g10) / 3,
    "MRR@20": (1 / 2 + 1 / 11) / 3,
  }, "tail");
  assertMetrics(g.all, metricsFromRanks(ranks), "all");
  assertAlmostEquals(g.all["HR@5"], 3 / 5, TOL);
  // The user-weighted mix of head and tail is the overall value.
  for (const k of KEYS) {
    assertAlmostEquals(
      g.all[k],
      (2 * g.head[k] + 3 * g.tail[k]) / 5,
      TOL,
      `mix ${k}`,
    );
  }
});

Deno.test("groupedMetrics: an empty group reports zeros, not NaN", () => {
  const g = groupedMetrics(Int32Array.of(0, 4), Uint8Array.of(1, 1), {
    ks: [5],
  });
  assertEquals(g.tail, { "HR@5": 0, "NDCG@5": 0, "MRR@5": 0 });
  assertEquals(g.head["HR@5"], 1);
});

// ------------------------------------------------------------ ranksFromScores

const rank1 = (scores: number[], history: number[], target: number) =>
  ranksFromScores(
    Float32Array.from(scores),
    scores.length,
    [Int32Array.from(history)],
    [target],
  )[0];

Deno.test("ranksFromScores: rank counts strictly higher scores; ties do not count", () => {
  // items 1..4, target 2 (0.5): only item 4 (0.9) is strictly higher;
  // items 1 and 3 tie with the target and do not count against it.
  assertEquals(rank1([0.5, 0.5, 0.5, 0.9], [], 2), 1);
  // everything tied: rank 0
  assertEquals(rank1([0.3, 0.3, 0.3], [], 3), 0);
  // the top item has rank 0, the bottom one rank N-1
  assertEquals(rank1([0.1, 0.2, 0.3, 0.4], [], 4), 0);
  assertEquals(rank1([0.1, 0.2, 0.3, 0.4], [], 1), 3);
  // column j is item j + 1 (ids are 1-based)
  assertEquals(rank1([0.9, 0.1, 0.5], [], 3), 1);
});

Deno.test("ranksFromScores: history items are excluded from the ranking", () => {
  // items 1..6 scores .9 .8 .1 .7 .6 .95; target 3 (0.1): 5 items above it.
  const s = [0.9, 0.8, 0.1, 0.7, 0.6, 0.95];
  assertEquals(rank1(s, [], 3), 5);
  // history {1, 6} removes two of them: 5 - 2 = 3
  assertEquals(rank1(s, [1, 6], 3), 3);
  // a history item scored below the target changes nothing
  assertEquals(rank1([0.9, 0.1, 0.5], [2], 3), 1);
  // an item scored equal to the target in history changes nothing either
  assertEquals(rank1([0.5, 0.9, 0.5], [1], 3), 1);
});

Deno.test("ranksFromScores: a target that is in the history is excluded too (ranked after all items left)", () => {
  // Semantics as committed in lib/eval/rank.ts and the GPU kernel (and the
  // protocol: "items already in the input sequence are excluded"): a repeated
  // target scores as -Infinity, so its rank is the number of items left.
  // items 1..6 scores .9 .8 .1 .7 .6 .95; target 5 (0.6): items 1, 2, 4, 6
  // are above it -> rank 4 without history.
  const s = [0.9, 0.8, 0.1, 0.7, 0.6, 0.95];
  assertEquals(rank1(s, [], 5), 4);
  // history {5, 1}: both excluded; 6 - 2 = 4 items left, all "above" it.
  // (Keeping the target would give 4 - 1 = 3.)
  assertEquals(rank1(s, [5, 1], 5), 4);
  assertEquals(rank1(s, [5], 5), 5);
  // even the top item, when repeated, ranks after the rest: 6 - 2 = 4, not 0
  // (so it is "no hit" only while more than k items are left)
  assertEquals(rank1(s, [6, 3], 6), 4);
  // a duplicated target is counted once: 6 - 2 = 4
  assertEquals(rank1(s, [6, 6, 3, 6], 6), 4);
  // 6 - 1 = 5 items left: a miss at 5
  const m = metricsFromRanks(
    ranksFromScores(Float32Array.from(s), 6, [Int32Array.of(6)], [6]),
    { ks: [5] },
  );
  assertEquals(m["HR@5"], 0);
});

Deno.test("ranksFromScores: padding ids (0) in a history are ignored", () => {
  // Two rows over items 1..3; row 1's history holds a padding 0. Column -1
  // of row 1 is row 0's last score (0.9, above row 1's target): it must not
  // be "removed".
  const scores = Float32Array.of(0.1, 0.2, 0.9, 0.8, 0.5, 0.1);
  const r = ranksFromScores(
    scores,
    3,
    [Int32Array.of(0), Int32Array.of(0, 0)],
    [1, 2],
  );
  // row 0: target 1 (0.1) below 0.2 and 0.9 -> 2; row 1: target 2 (0.5)
  // below 0.8 -> 1
  assertEquals(r, Int32Array.of(2, 1));
});

Deno.test("ranksFromScores: duplicates in the history are counted once", () => {
  const s = [0.9, 0.8, 0.1, 0.7, 0.6, 0.95];
  // history 1, 1, 1: item 1 removed once -> 5 - 1 = 4 (not 5 - 3 = 2)
  assertEquals(rank1(s, [1, 1, 1], 3), 4);
  assertEquals(rank1(s, [6, 1, 6, 1], 3), 3);
});

Deno.test("ranksFromScores: rows are independent (history bookkeeping resets)", () => {
  // Two rows over items 1..3 with the same history: both must drop item 1.
  const scores = Float32Array.of(0.9, 0.1, 0.5, 0.9, 0.5, 0.1);
  const r = ranksFromScores(
    scores,
    3,
    [Int32Array.of(1), Int32Array.of(1, 1)],
    [3, 2],
  );
  // row 0: target 3 (0.5), above: item 1 (history) -> 0
  // row 1: target 2 (0.5), above: item 1 (history) -> 0
  assertEquals(r, Int32Array.of(0, 0));
  // and without history in the second row, item 1 counts again
  const r2 = ranksFromScores(
    scores,
    3,
    [Int32Array.of(1), new Int32Array(0)],
    [3, 2],
  );
  assertEquals(r2, Int32Array.of(0, 1));
});

Deno.test("ranksFromScores: a NaN target score ranks last", () => {
  assertEquals(rank1([0.1, NaN, 0.3], [], 2), 3);
});

/** Brute-force reference: count non-excluded items strictly above the target. */
function refRank(
  s: Float32Array,
  base: number,
  n: number,
  hist: Int32Array,
  t: number,
): number {
  const excluded = new Set(hist);
  let c = 0;
  for (let j = 1; j <= n; j++) {
    if (!excluded.has(j) && s[base + j - 1] > s[base + t - 1]) c++;
  }
  return c;
}

Deno.test("ranksFromScores agrees with a brute-force reference on random rows", () => {
  // Histories here never hold the target (the test above covers that case).
  const rng = makeRng(7);
  const n = 30, rows = 200;
  // Scores on a coarse grid so ties are frequent.
  const scores = Float32Array.from(
    { length: rows * n },
    () => Math.floor(rng.next() * 6) / 6,
  );
  const hist: Int32Array[] = [], targets: number[] = [];
  for (let r = 0; r < rows; r++) {
    const len = Math.floor(rng.next() * 12);
    const t = 1 + Math.floor(rng.next() * n);
    targets.push(t);
    hist.push(
      Int32Array.from({ length: len }, () => 1 + Math.floor(rng.next() * n))
        .filter((id) => id !== t),
    );
  }
  const got = ranksFromScores(scores, n, hist, targets);
  for (let r = 0; r < rows; r++) {
    assertEquals(
      got[r],
      refRank(scores, r * n, n, hist[r], targets[r]),
      `row ${r}`,
    );
  }
});

// ------------------------------------------------------------ topKFromScores

const top1 = (scores: number[], history: number[], k: number) => {
  const r = topKFromScores(
    Float32Array.from(scores),
    scores.length,
    [Int32Array.from(history)],
    k,
  );
  return { ids: Array.from(r.ids), scores: Array.from(r.scores) };
};

Deno.test("topKFromScores: best first, 1-based ids, scores alongside", () => {
  const r = top1([0.1, 0.7, 0.3, 0.9, 0.5], [], 3);
  assertEquals(r.ids, [4, 2, 5]);
  assertEquals(r.scores, Array.from(Float32Array.of(0.9, 0.7, 0.5)));
});

Deno.test("topKFromScores: ties go to the lower item id", () => {
  assertEquals(top1([0.5, 0.9, 0.5, 0.5], [], 3).ids, [2, 1, 3]);
  assertEquals(top1([0.2, 0.2, 0.2, 0.2, 0.2], [], 5).ids, [1, 2, 3, 4, 5]);
  // the k-th place is a tie: the lower id wins it
  assertEquals(top1([0.1, 0.8, 0.5, 0.5, 0.5], [], 2).ids, [2, 3]);
});

Deno.test("topKFromScores: history items (and their duplicates) are excluded", () => {
  const s = [0.1, 0.7, 0.3, 0.9, 0.5];
  assertEquals(top1(s, [4], 3).ids, [2, 5, 3]);
  assertEquals(top1(s, [4, 4, 2, 4], 3).ids, [5, 3, 1]);
  // exclusion does not leak into the next row
  const r = topKFromScores(
    Float32Array.from([...s, ...s]),
    5,
    [Int32Array.of(4), new Int32Array(0)],
    2,
  );
  assertEquals(Array.from(r.ids), [2, 5, 4, 2]);
});

Deno.test("topKFromScores agrees with sort-by-(score desc, id asc) on random rows", () => {
  const rng = makeRng(11);
  const n = 40, rows = 100, k = 10;
  const scores = Float32Array.from(
    { length: rows * n },
    () => Math.floor(rng.next() * 8) / 8,
  );
  const hist = Array.from(
    { length: rows },
    () =>
      Int32Array.from(
        { length: Math.floor(rng.next() * 15) },
        () => 1 + Math.floor(rng.next() * n),
      ),
  );
  const got = topKFromScores(scores, n, hist, k);
  for (let r = 0; r < rows; r++) {
    const ex = new Set(hist[r]);
    const cand = [];
    for (let j = 1; j <= n; j++) if (!ex.has(j)) cand.push(j);
    cand.sort((a, b) => scores[r * n + b - 1] - scores[r * n + a - 1] || a - b);
    const want = cand.slice(0, k);
    assertEquals(
      Array.from(got.ids.subarray(r * k, (r + 1) * k)),
      want,
      `row ${r}`,
    );
    for (const id of want) assert(!ex.has(id), `row ${r}: history item ${id}`);
  }
});
