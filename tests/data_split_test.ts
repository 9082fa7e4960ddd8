import {
  countBatches,
  evalBatches,
  headLabels,
  leaveOneOut,
  type SequenceDataset,
  synthetic,
  trainBatches,
} from "../lib/data/mod.ts";
import { DataError } from "../lib/util/errors.ts";
import { makeRng } from "../lib/util/rng.ts";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "./_assert.ts";

const I = (...xs: number[]) => Int32Array.from(xs);

function dataset(sequences: Int32Array[]): SequenceDataset {
  return {
    name: "tiny",
    numItems: Math.max(...sequences.map((s) => Math.max(...s))),
    sequences,
    userIds: sequences.map((_, i) => `u${i}`),
  };
}

// ------------------------------------------------------------------- split

Deno.test("leaveOneOut splits tiny sequences exactly (maxLen 3)", () => {
  const ds = dataset([I(1, 2, 3), I(4, 5, 6, 7, 8, 9, 10), I(2, 9, 2, 5, 7)]);
  const sp = leaveOneOut(ds, { maxLen: 3, headFraction: 0.34 });
  assertEquals(sp, {
    name: "tiny",
    numItems: 10,
    maxLen: 3,
    train: [I(1), I(4, 5, 6, 7, 8), I(2, 9, 2)],
    validInput: [I(1), I(6, 7, 8), I(2, 9, 2)],
    validTarget: I(2, 9, 5),
    testInput: [I(1, 2), I(7, 8, 9), I(9, 2, 5)],
    testTarget: I(3, 10, 7),
    validHistory: [I(1), I(4, 5, 6, 7, 8), I(2, 9)],
    testHistory: [I(1, 2), I(4, 5, 6, 7, 8, 9), I(2, 5, 9)],
    isHead: Uint8Array.of(0, 1, 1), // ceil(0.34 * 3) = 2: lengths 1, 5, 3
    userIds: ["u0", "u1", "u2"],
  });
  // Default headFraction 0.2: ceil(0.6) = 1 head user.
  assertEquals(leaveOneOut(ds, { maxLen: 3 }).isHead, Uint8Array.of(0, 1, 0));
  // Default maxLen 50 keeps everything here.
  assertEquals(leaveOneOut(ds).testInput[1], I(4, 5, 6, 7, 8, 9));
});

Deno.test("leaveOneOut copies arrays and passes synthetic ground truth through", () => {
  const ds = {
    ...dataset([I(1, 2, 3, 4)]),
    intents: I(2),
    numIntents: 3,
    itemIds: ["", "a", "b", "c", "d"],
  };
  const sp = leaveOneOut(ds);
  sp.train[0][0] = 99;
  assertEquals(ds.sequences[0], I(1, 2, 3, 4));
  assertEquals([sp.intents, sp.numIntents, sp.itemIds], [I(2), 3, [
    "",
    "a",
    "b",
    "c",
    "d",
  ]]);
});

Deno.test("headLabels: longest first, ties to the lower index, exact ceil", () => {
  const t = [I(1, 2), I(1, 2, 3), I(4, 5, 6), I(7, 8)];
  assertEquals(headLabels(t, 0.5), Uint8Array.of(0, 1, 1, 0));
  assertEquals(headLabels(t, 0.75), Uint8Array.of(1, 1, 1, 0));
  assertEquals(headLabels(t, 0.3), Uint8Array.of(0, 1, 1, 0)); // ceil(1.2) = 2
  assertEquals(headLabels(t, 0.25), Uint8Array.of(0, 1, 0, 0));
  assertEquals(headLabels(t, 0), Uint8Array.of(0, 0, 0, 0));
  assertEquals(headLabels(t, 1), Uint8Array.of(1, 1, 1, 1));
  const thirty = Array.from({ length: 30 }, (_, i) => new Int32Array(30 - i));
  assertEquals(headLabels(thirty, 0.1).reduce((a, b) => a + b, 0), 3); // 0.1 * 30 = 3.0000000000000004
});

Deno.test("leaveOneOut rejects short sequences and bad options", () => {
  assertThrows(
    () => leaveOneOut(dataset([I(1, 2, 3), I(4, 5)])),
    DataError,
    "tiny: expected at least 3 items for every user (leave-one-out), found 2 for user 'u1' (index 1)",
  );
  assertThrows(
    () => leaveOneOut(dataset([I(1, 2, 3)]), { maxLen: 0 }),
    RangeError,
    "maxLen",
  );
  assertThrows(
    () => leaveOneOut(dataset([I(1, 2, 3)]), { headFraction: 1.5 }),
    RangeError,
    "headFraction",
  );
});

// ----------------------------------------------------------------- batches

// maxLen 3. train: u0 [1 2 3 4 5] -> in [2 3 4] tg [3 4 5] (last 3 of in [1 2 3 4]);
// u1 [8 9] -> in [8] tg [9]; u2 [12] -> no target, skipped; u3 [15 16 17] -> in [15 16] tg [16 17].
const SPLIT = leaveOneOut(
  dataset([
    I(1, 2, 3, 4, 5, 6, 7),
    I(8, 9, 10, 11),
    I(12, 13, 14),
    I(15, 16, 17, 18, 19),
  ]),
  { maxLen: 3 },
);

Deno.test("trainBatches pads left, trims to the longest row, sets posOffset (by hand)", () => {
  const bs = trainBatches(SPLIT, { batchSize: 2, shuffle: false });
  assertEquals(bs, [
    {
      users: I(0, 1),
      inputs: I(2, 3, 4, 0, 0, 8),
      targets: I(3, 4, 5, 0, 0, 9),
      batchSize: 2,
      seqLen: 3,
      posOffset: 0,
    },
    {
      users: I(3),
      inputs: I(15, 16),
      targets: I(16, 17),
      batchSize: 1,
      seqLen: 2,
      posOffset: 1,
    },
  ]);
  assertEquals(countBatches(SPLIT, { batchSize: 2 }), 2);
  // A larger maxLen keeps more of u0 and shifts positions.
  const [b] = trainBatches(SPLIT, { batchSize: 2, shuffle: false, maxLen: 5 });
  assertEquals(b.inputs, I(1, 2, 3, 4, 0, 0, 0, 8));
  assertEquals(b.targets, I(2, 3, 4, 5, 0, 0, 0, 9));
  assertEquals([b.seqLen, b.posOffset], [4, 1]);
});

Deno.test("trainBatches with samples: prefixes gives one row per prefix, target at the end (by hand)", () => {
  const opts = { batchSize: 8, shuffle: false, samples: "prefixes" } as const;
  const [b, ...rest] = trainBatches(SPLIT, opts);
  assertEquals(rest.length, 0);
  // u0 trains on 1..5 (4 prefixes), u1 on 8 9 (1), u2 on 12 (none), u3 on 15..17 (2).
  assertEquals(b.users, I(0, 0, 0, 0, 1, 3, 3));
  assertEquals(
    b.inputs,
    I(0, 0, 1, 0, 1, 2, 1, 2, 3, 2, 3, 4, 0, 0, 8, 0, 0, 15, 0, 15, 16),
  );
  assertEquals(
    b.targets,
    I(0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0, 5, 0, 0, 9, 0, 0, 16, 0, 0, 17),
  );
  assertEquals([b.seqLen, b.posOffset], [3, 0]);
  assertEquals(countBatches(SPLIT, opts), 1);
  assertEquals(countBatches(SPLIT, { ...opts, batchSize: 3 }), 3);
});

Deno.test("trainBatches: prefixes and sequences hold the same (user, target) pairs", () => {
  // maxLen above every length: sequences then keep every target too.
  const sp = leaveOneOut(synthetic({ seed: 5, numUsers: 120 }), {
    maxLen: 1000,
  });
  const pairs = (samples: "sequences" | "prefixes") => {
    const out: string[] = [];
    for (
      const b of trainBatches(sp, {
        batchSize: 32,
        rng: makeRng(2),
        bucket: 2,
        samples,
      })
    ) {
      for (let i = 0; i < b.targets.length; i++) {
        const t = b.targets[i];
        if (t > 0) out.push(`${b.users[Math.floor(i / b.seqLen)]}:${t}`);
      }
    }
    return out.sort();
  };
  const seq = pairs("sequences"), pre = pairs("prefixes");
  assert(seq.length > 500, `only ${seq.length} targets`);
  assertEquals(pre, seq);
  const bs = trainBatches(sp, {
    batchSize: 32,
    rng: makeRng(2),
    samples: "prefixes",
  });
  assertEquals(
    bs.length,
    countBatches(sp, { batchSize: 32, samples: "prefixes" }),
  );
  for (const b of bs) {
    for (let r = 0; r < b.batchSize; r++) {
      const row = b.targets.subarray(r * b.seqLen, (r + 1) * b.seqLen);
      assertEquals(row.filter((t) => t > 0).length, 1);
      assert(row[b.seqLen - 1] > 0, "the target is at the last position");
    }
  }
});

Deno.test("trainBatches: targets are the inputs shifted by one, every user once", () => {
  const sp = leaveOneOut(synthetic({ seed: 3, numUsers: 300 }), { maxLen: 20 });
  const bs = trainBatches(sp, { batchSize: 64, rng: makeRng(1) });
  assertEquals(bs.length, countBatches(sp, { batchSize: 64 }));
  const seen = new Set<number>();
  for (const b of bs) {
    assertEquals(b.inputs.length, b.batchSize * b.seqLen);
    assertEquals(b.posOffset, 20 - b.seqLen);
    let longest = 0;
    for (let r = 0; r < b.batchSize; r++) {
      const u = b.users[r];
      assert(!seen.has(u), `user ${u} twice`);
      seen.add(u);
      const t = sp.train[u];
      const x = b.inputs.subarray(r * b.seqLen, (r + 1) * b.seqLen);
      const y = b.targets.subarray(r * b.seqLen, (r + 1) * b.seqLen);
      const len = Math.min(20, t.length - 1);
      longest = Math.max(longest, len);
      const pad = b.seqLen - len;
      for (let j = 0; j < pad; j++) assertEquals([x[j], y[j]], [0, 0]);
      for (let j = pad; j < b.seqLen - 1; j++) {
        assertEquals(y[j], x[j + 1], `row ${r} col ${j}`);
      }
      assertEquals(
        x.subarray(pad),
        t.subarray(t.length - 1 - len, t.length - 1),
      );
      assertEquals(y[b.seqLen - 1], t[t.length - 1]);
    }
    assertEquals(b.seqLen, longest);
  }
  const expected = sp.train.flatMap((t, u) => (t.length >= 2 ? [u] : []));
  assertEquals([...seen].sort((a, b) => a - b), expected);
});

Deno.test("trainBatches: same seed same batches, different seed different order", () => {
  const sp = leaveOneOut(synthetic({ seed: 4, numUsers: 200 }));
  const a = trainBatches(sp, { batchSize: 32, rng: makeRng(7) });
  const b = trainBatches(sp, { batchSize: 32, rng: makeRng(7) });
  const c = trainBatches(sp, { batchSize: 32, rng: makeRng(8) });
  assertEquals(a, b);
  assertNotEquals(a.map((x) => x.users), c.map((x) => x.users));
  const unshuffled = trainBatches(sp, { batchSize: 32, shuffle: false });
  assertEquals(
    unshuffled[0].users,
    Int32Array.from({ length: 32 }, (_, i) => i),
  );
});

Deno.test("trainBatches rejects bad options", () => {
  assertThrows(
    () => trainBatches(SPLIT, { batchSize: 2 }),
    TypeError,
    "expected an rng",
  );
  assertThrows(
    () => trainBatches(SPLIT, { batchSize: 0, shuffle: false }),
    RangeError,
    "batchSize",
  );
  assertThrows(
    () => trainBatches(SPLIT, { batchSize: 2, maxLen: 0, shuffle: false }),
    RangeError,
    "maxLen",
  );
});

Deno.test("evalBatches pads left in the order of users (by hand)", () => {
  const bs = evalBatches(SPLIT.testInput, [3, 2, 0], {
    batchSize: 2,
    maxLen: 3,
  });
  // testInput: u0 [4 5 6], u2 [12 13], u3 [16 17 18].
  assertEquals(bs, [
    {
      users: I(3, 2),
      inputs: I(16, 17, 18, 0, 12, 13),
      targets: I(0, 0, 0, 0, 0, 0),
      batchSize: 2,
      seqLen: 3,
      posOffset: 0,
    },
    {
      users: I(0),
      inputs: I(4, 5, 6),
      targets: I(0, 0, 0),
      batchSize: 1,
      seqLen: 3,
      posOffset: 0,
    },
  ]);
  const [v] = evalBatches(SPLIT.validInput, I(2, 1), {
    batchSize: 8,
    maxLen: 50,
  });
  assertEquals([v.inputs, v.seqLen, v.posOffset], [I(0, 12, 8, 9), 2, 48]);
  const [e] = evalBatches([I()], [0], { batchSize: 1, maxLen: 4 });
  assertEquals([e.inputs, e.seqLen, e.posOffset], [I(0), 1, 3]);
  assertThrows(
    () => evalBatches(SPLIT.testInput, [4], { batchSize: 1, maxLen: 3 }),
    RangeError,
    "below 4, found 4",
  );
});
