import { GpuRanker } from "../lib/backend/gpu_rank.ts";
import { probeWebGpu } from "../lib/backend/webgpu_probe.ts";
import { rankReference } from "../lib/backend/rank_reference.ts";
import type { RankRequest, RankResult } from "../lib/backend/rank_types.ts";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertThrows,
} from "./_assert.ts";
import { mulberry32 } from "./_rng.ts";

const adapterAvailable = (await probeWebGpu()) !== undefined;
if (!adapterAvailable) {
  console.log("SKIPPED: no WebGPU adapter (GPU ranking tests)");
}

/**
 * Five items (d = 2): scores for query (1, 0) are 1, 2, 2, 0, 3.
 * User 0: (1, 0), item 5 excluded, target 2 -> top 2, 3 (tie: lower id first), 1; rank 0.
 * User 1: (0, 1), no history, target 3 -> top 4, 1, 2 (ties at 0); rank 1.
 * User 2: (1, 1), target 3 in history (and a padding 0) -> top 5, 2, 1; rank 4 (all others).
 * User 3: (1, 0), items 1-4 excluded -> top 5 then padding; rank 0.
 */
function tinyRequest(): RankRequest {
  return {
    queries: new Float32Array([1, 0, 0, 1, 1, 1, 1, 0]),
    items: new Float32Array([1, 0, 2, 0, 2, 0, 0, 1, 3, 0]),
    dim: 2,
    history: {
      offsets: new Int32Array([0, 1, 1, 3, 7]),
      ids: new Int32Array([5, 3, 0, 4, 1, 3, 2]),
    },
    targets: new Int32Array([2, 3, 3, 5]),
    k: 3,
  };
}

const tinyExpected: RankResult = {
  topIds: new Int32Array([2, 3, 1, 4, 1, 2, 5, 2, 1, 5, 0, 0]),
  topScores: new Float32Array([
    2,
    2,
    1,
    1,
    0,
    0,
    3,
    2,
    1,
    3,
    -Infinity,
    -Infinity,
  ]),
  ranks: new Int32Array([0, 1, 4, 0]),
};

/** A random request; `quantised` makes every value a small integer so all scores are exact (and tie often). */
function randomRequest(
  seed: number,
  { users, items, dim, k, quantised }: {
    users: number;
    items: number;
    dim: number;
    k: number;
    quantised: boolean;
  },
): RankRequest {
  const r = mulberry32(seed);
  const value = quantised ? () => Math.floor(r() * 7) - 3 : () => r() * 2 - 1;
  const queries = Float32Array.from({ length: users * dim }, value);
  const table = Float32Array.from({ length: items * dim }, value);
  const offsets = new Int32Array(users + 1);
  const ids: number[] = [];
  const targets = new Int32Array(users);
  for (let u = 0; u < users; u++) {
    const len = Math.floor(r() * 40);
    for (let j = 0; j < len; j++) {
      ids.push(r() < 0.05 ? 0 : 1 + Math.floor(r() * items));
    }
    targets[u] = 1 + Math.floor(r() * items);
    if (r() < 0.1) ids.push(targets[u]); // sometimes the target is in the history
    offsets[u + 1] = ids.length;
  }
  return {
    queries,
    items: table,
    dim,
    history: { offsets, ids: Int32Array.from(ids) },
    targets,
    k,
  };
}

Deno.test("rankReference: hand-computed example (exclusion, ties, padding, ranks)", () => {
  assertEquals(rankReference(tinyRequest()), tinyExpected);
  const { targets: _, ...noTargets } = tinyRequest();
  const result = rankReference(noTargets);
  assertEquals(result.ranks, undefined);
  assertEquals(result.topIds, tinyExpected.topIds);
});

Deno.test("rankReference: rejects malformed requests, naming the field", () => {
  const bad = (patch: Partial<RankRequest>): RankRequest => ({
    ...tinyRequest(),
    ...patch,
  });
  assertThrows(() => rankReference(bad({ k: 0 })), RangeError, "k");
  assertThrows(() => rankReference(bad({ k: 101 })), RangeError, "k");
  assertThrows(() => rankReference(bad({ dim: 3 })), RangeError, "items");
  assertThrows(
    () => rankReference(bad({ targets: new Int32Array([1, 2, 3, 6]) })),
    RangeError,
    "targets[3]",
  );
  assertThrows(
    () => rankReference(bad({ targets: new Int32Array([1]) })),
    RangeError,
    "targets",
  );
  assertThrows(
    () =>
      rankReference(
        bad({
          history: {
            offsets: new Int32Array([0, 1, 1, 3, 7]),
            ids: new Int32Array([9, 0, 0, 0, 0, 0, 0]),
          },
        }),
      ),
    RangeError,
    "history.ids[0]",
  );
  assertThrows(
    () =>
      rankReference(
        bad({
          history: {
            offsets: new Int32Array([0, 2, 1, 3, 7]),
            ids: new Int32Array(7),
          },
        }),
      ),
    RangeError,
    "history.offsets[2]",
  );
  assertThrows(
    () => rankReference(bad({ queries: new Float32Array(6) })),
    RangeError,
    "queries",
  );
});

Deno.test({
  name: "GpuRanker: hand-computed example",
  ignore: !adapterAvailable,
  fn: async () => {
    const ranker = await GpuRanker.create();
    try {
      assertEquals(await ranker.rank(tinyRequest()), tinyExpected);
      const { targets: _, ...noTargets } = tinyRequest();
      assertEquals((await ranker.rank(noTargets)).ranks, undefined);
      // All scores equal: the lowest non-excluded ids win, every rank is 0.
      const flat: RankRequest = {
        queries: new Float32Array(3 * 4).fill(1),
        items: new Float32Array(300 * 4),
        dim: 4,
        history: {
          offsets: new Int32Array([0, 3, 3, 4]),
          ids: new Int32Array([2, 50, 1, 7]),
        },
        targets: new Int32Array([10, 300, 7]),
        k: 100,
      };
      const flatWant = rankReference(flat);
      assertEquals(Array.from(flatWant.topIds.subarray(0, 4)), [3, 4, 5, 6]);
      assertEquals(await ranker.rank(flat), flatWant);
      // No users at all.
      const none = {
        ...noTargets,
        queries: new Float32Array(0),
        history: { offsets: new Int32Array([0]), ids: new Int32Array(0) },
      };
      assertEquals(await ranker.rank(none), {
        topIds: new Int32Array(0),
        topScores: new Float32Array(0),
      });
    } finally {
      ranker.destroy();
    }
  },
});

Deno.test({
  name:
    "GpuRanker: identical to the reference on exact-valued random input (U=300, N=2000, d=64, k=20)",
  ignore: !adapterAvailable,
  fn: async () => {
    // Small-integer values make every score exact in float32 and float64, with
    // many exact ties: ids, scores and ranks must match exactly.
    const req = randomRequest(1, {
      users: 300,
      items: 2000,
      dim: 64,
      k: 20,
      quantised: true,
    });
    const ranker = await GpuRanker.create();
    try {
      const got = await ranker.rank(req);
      const want = rankReference(req);
      assertEquals(got, want);
    } finally {
      ranker.destroy();
    }
  },
});

/** Compare GPU and reference results, allowing for float32 near-ties. */
function assertNearlySame(
  req: RankRequest,
  got: RankResult,
  want: RankResult,
  tol: number,
): void {
  const users = req.history.offsets.length - 1, k = req.k, dim = req.dim;
  const score = (u: number, id: number): number => {
    let s = 0;
    for (let c = 0; c < dim; c++) {
      s += req.queries[u * dim + c] * req.items[(id - 1) * dim + c];
    }
    return s;
  };
  for (let u = 0; u < users; u++) {
    for (let j = 0; j < k; j++) {
      const at = u * k + j;
      assertAlmostEquals(
        got.topScores[at],
        want.topScores[at],
        tol,
        `user ${u} score ${j}`,
      );
      if (got.topIds[at] !== want.topIds[at]) {
        // Only a near-tie may swap ids.
        assert(
          got.topIds[at] !== 0 && want.topIds[at] !== 0,
          `user ${u} slot ${j}: padding differs`,
        );
        assertAlmostEquals(
          score(u, got.topIds[at]),
          score(u, want.topIds[at]),
          tol,
          `user ${u} slot ${j} swap`,
        );
      }
    }
    const t = req.targets?.[u];
    if (t !== undefined && got.ranks && want.ranks) {
      const ts = score(u, t);
      let near = 0;
      for (let id = 1; id <= req.items.length / dim; id++) {
        if (id !== t && Math.abs(score(u, id) - ts) <= tol) near++;
      }
      assert(
        Math.abs(got.ranks[u] - want.ranks[u]) <= near,
        `user ${u}: rank ${got.ranks[u]} vs reference ${
          want.ranks[u]
        } with ${near} near-ties`,
      );
    }
  }
}

Deno.test({
  name:
    "GpuRanker: matches the reference on float input; odd sizes, k=100, several chunks",
  ignore: !adapterAvailable,
  fn: async () => {
    const req = randomRequest(2, {
      users: 77,
      items: 1001,
      dim: 10,
      k: 100,
      quantised: false,
    });
    // 20 users' scores per chunk: 4 chunks, the last one short.
    const ranker = await GpuRanker.create(undefined, {
      maxChunkBytes: 20 * 1001 * 4,
    });
    try {
      const got = await ranker.rank(req);
      const want = rankReference(req);
      assertNearlySame(req, got, want, 1e-5);
      // k = 1 and no history at all.
      const one = {
        ...req,
        k: 1,
        history: { offsets: new Int32Array(78), ids: new Int32Array(0) },
      };
      assertNearlySame(one, await ranker.rank(one), rankReference(one), 1e-5);
    } finally {
      ranker.destroy();
    }
  },
});

Deno.test({
  name:
    "GpuRanker: reuses uploaded items, notices a new items array, queues concurrent calls",
  ignore: !adapterAvailable,
  fn: async () => {
    const a = randomRequest(3, {
      users: 40,
      items: 500,
      dim: 16,
      k: 10,
      quantised: true,
    });
    const b = randomRequest(4, {
      users: 40,
      items: 700,
      dim: 16,
      k: 10,
      quantised: true,
    });
    const ranker = await GpuRanker.create();
    try {
      ranker.setItems(a.items, a.dim);
      assertEquals(await ranker.rank(a), rankReference(a));
      const [gotB, gotA] = await Promise.all([ranker.rank(b), ranker.rank(a)]);
      assertEquals(gotB, rankReference(b));
      assertEquals(gotA, rankReference(a));
      assertThrows(
        () => ranker.setItems(new Float32Array(5), 2),
        RangeError,
        "divisible",
      );
    } finally {
      ranker.destroy();
    }
  },
});
