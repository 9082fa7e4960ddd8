import {
  parseInteractionText,
  parseSequenceText,
  readInteractionFile,
  readSequenceFile,
} from "../lib/data/mod.ts";
import { DataError } from "../lib/util/errors.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "./_assert.ts";

const seq = (text: string) => parseSequenceText(text, { file: "f.txt" });

// ---------------------------------------------------------------- sequences

Deno.test("parseSequenceText reads users, items and numItems", () => {
  const ds = seq("10 3 1 2\n20 2 5 4 1\n");
  assertEquals(ds, {
    name: "f",
    numItems: 5,
    sequences: [Int32Array.of(3, 1, 2), Int32Array.of(2, 5, 4, 1)],
    userIds: ["10", "20"],
  });
});

Deno.test("parseSequenceText accepts no final newline, CRLF, tabs and a name", () => {
  const a = parseSequenceText("1 1 2 3\r\n2 4  5\t6", {
    file: "x/y.txt",
    name: "Y",
  });
  assertEquals(a.name, "Y");
  assertEquals(a.sequences, [Int32Array.of(1, 2, 3), Int32Array.of(4, 5, 6)]);
  assertEquals(a.numItems, 6);
});

Deno.test("parseSequenceText: LF, CRLF and CR-only line endings read the same", () => {
  // Numeric user ids: read as one line, CR-only once gave ONE user holding
  // every item of the file (no error at all).
  const lf = "1 1 2 3\n2 2 3 4 5\n3 5 4 3\n";
  const want = seq(lf);
  assertEquals(want.sequences.length, 3);
  for (const text of [lf.replaceAll("\n", "\r\n"), lf.replaceAll("\n", "\r")]) {
    assertEquals(seq(text), want);
  }
  // Line numbers count CR-only lines too.
  assertThrows(
    () => seq("1 1 2 3\r2 1 x 3\r"),
    DataError,
    "f.txt:2: expected an integer item id, found 'x' (token 3)",
  );
});

Deno.test("parseSequenceText: one stray huge item id is refused with its line and the remedy", () => {
  // 30 distinct ids: the largest may be 10 x 30 + 1000 = 1300.
  const lines: string[] = [];
  for (let u = 0; u < 10; u++) {
    lines.push(`${u} ${3 * u + 1} ${3 * u + 2} ${3 * u + 3}`);
  }
  assertEquals(seq(lines.join("\n")).numItems, 30);
  lines[6] = "6 19 1300 21";
  assertEquals(seq(lines.join("\n")).numItems, 1300);
  lines[6] = "6 19 50000000 21";
  const err = assertThrows(() => seq(lines.join("\n")), DataError);
  assert(
    err.message.startsWith(
      "f.txt:7: expected item ids numbered densely from 1",
    ),
    err.message,
  );
  for (
    const part of [
      "10 x the 30 distinct ids + 1000 = 1300",
      "found item id 50000000 (token 3)",
      "re-number",
    ]
  ) {
    assert(err.message.includes(part), `${part} not in: ${err.message}`);
  }
});

Deno.test("parseSequenceText: non-numeric token names file, line and token", () => {
  assertThrows(
    () => seq("1 1 2 3\n2 4 x 5\n"),
    DataError,
    "f.txt:2: expected an integer item id, found 'x' (token 3)",
  );
  assertThrows(
    () => seq("1 1 2 3\n2 4 5 6\n3 1 2.5 3\n"),
    DataError,
    "f.txt:3:",
  );
});

Deno.test("parseSequenceText: empty line (but a final newline is fine)", () => {
  assertThrows(
    () => seq("1 1 2 3\n\n2 1 2 3\n"),
    DataError,
    "f.txt:2: expected a line",
  );
  assertThrows(
    () => seq("1 1 2 3\n2 1 2 3\n   \n3 1 2 3"),
    DataError,
    "f.txt:3:",
  );
  assertThrows(
    () => seq("1 1 2 3\n\n"),
    DataError,
    "f.txt:2: expected a line 'user item item ...', found an empty line",
  );
  assertThrows(() => seq(""), DataError, "f.txt:1: expected at least one");
});

Deno.test("parseSequenceText: user with fewer than 3 items", () => {
  assertThrows(
    () => seq("1 1 2 3\n2 1 2\n"),
    DataError,
    "f.txt:2: expected a user id and at least 3 item ids, found user '2' with 2 items",
  );
  assertThrows(
    () => seq("7\n"),
    DataError,
    "f.txt:1: expected a user id and at least 3 item ids, found user '7' with 0 items",
  );
});

Deno.test("parseSequenceText: item id 0 or negative", () => {
  assertThrows(
    () => seq("1 1 2 3\n2 4 5 6\n3 1 0 2\n"),
    DataError,
    "f.txt:3: expected an item id of 1 or more (0 is padding), found 0 (token 3)",
  );
  assertThrows(
    () => seq("1 1 2 3\n2 4 -5 6\n"),
    DataError,
    "f.txt:2: expected an item id of 1 or more",
  );
});

Deno.test("parseSequenceText: duplicate user line", () => {
  assertThrows(
    () => seq("1 1 2 3\n2 4 5 6\n1 7 8 9\n"),
    DataError,
    "f.txt:3: expected each user on one line only, found user '1' again (first on line 1)",
  );
});

Deno.test("readSequenceFile reads a file and wraps read errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/Tiny.txt`;
    await Deno.writeTextFile(path, "1 1 2 3\n2 3 4 5\n");
    const ds = await readSequenceFile(path);
    assertEquals(ds.name, "Tiny");
    assertEquals(ds.sequences, [
      Int32Array.of(1, 2, 3),
      Int32Array.of(3, 4, 5),
    ]);
    await assertRejects(
      () => readSequenceFile(`${dir}/missing.txt`),
      DataError,
      `${dir}/missing.txt: expected a readable file, found `,
    );
    await assertRejects(
      () => readSequenceFile(dir),
      DataError,
      `${dir}: expected a readable file`,
    );
    await Deno.writeTextFile(path, "1 1 2 3\n2 3 x 5\n");
    await assertRejects(
      () => readSequenceFile(path),
      DataError,
      `${path}:2: expected an integer`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Real data: only when ../shared/data is there (never copied into the repo).
const REAL = [
  {
    file: "Beauty.txt",
    users: 22363,
    items: 12101,
    actions: 198502,
    min: 5,
    max: 204,
  },
  {
    file: "Toys_and_Games.txt",
    users: 19412,
    items: 11924,
    actions: 167597,
    min: 5,
    max: 550,
  },
];
for (const r of REAL) {
  const path = new URL(`../../shared/data/${r.file}`, import.meta.url).pathname;
  let present = false;
  try {
    present = Deno.statSync(path).isFile;
  } catch {
    present = false;
  }
  if (!present) {
    console.log(
      `SKIPPED: real-data count check for ${r.file}: ${path} not found`,
    );
  }
  Deno.test({
    name: `readSequenceFile counts ${r.file} (skipped when ${path} is missing)`,
    ignore: !present,
    fn: async () => {
      const ds = await readSequenceFile(path);
      assertEquals(ds.sequences.length, r.users);
      assertEquals(ds.numItems, r.items);
      let actions = 0, min = Infinity, max = 0;
      const seen = new Uint8Array(ds.numItems + 1);
      for (const s of ds.sequences) {
        actions += s.length;
        min = Math.min(min, s.length);
        max = Math.max(max, s.length);
        for (const it of s) seen[it] = 1;
      }
      assertEquals([actions, min, max], [r.actions, r.min, r.max]);
      assertEquals(
        seen.reduce((a, b) => a + b, 0),
        r.items,
        "item ids without gaps",
      );
    },
  });
}

// ------------------------------------------------------------- interactions

// Hand-checked with kCore 2:
// after sorting and de-duplication: u1 b(5) a(10) c(20); u2 a b (second b
// dropped); u3 c d; u4 d e a (e, a tie at 3: file order); u6 h i; u7 i j; u8 i c.
// pass 1: e, h, j have 1 user -> removed; u6, u7 left with 1 item -> removed.
// pass 2: i now has 1 user (u8) -> removed; u8 left with c -> removed.
// pass 3: a 3, b 2, c 2, d 2; users 3, 2, 2, 2: stable.
// remap in order of first appearance: b=1, a=2, c=3, d=4.
const CSV = `user,item,timestamp
u1,a,10
u1,b,5
u1,c,20
u2,a,1
u2,b,2
u2,b,3
u3,c,7
u3,d,8
u4,d,1
u4,e,3
u4,a,3
u6,h,1
u6,i,2
u7,i,1
u7,j,2
u8,i,5
u8,c,6
`;
const EXPECTED = {
  name: "toy",
  numItems: 4,
  sequences: [
    Int32Array.of(1, 2, 3),
    Int32Array.of(2, 1),
    Int32Array.of(3, 4),
    Int32Array.of(4, 2),
  ],
  userIds: ["u1", "u2", "u3", "u4"],
  itemIds: ["", "b", "a", "c", "d"],
};

Deno.test("parseInteractionText: sort, de-duplicate, iterative k-core, remap (by hand)", () => {
  assertEquals(
    parseInteractionText(CSV, { file: "toy.csv", kCore: 2 }),
    EXPECTED,
  );
});

Deno.test("parseInteractionText: TSV auto-detected, other column names, CRLF, quotes", () => {
  const tsv = CSV.replaceAll(",", "\t").replace(
    "user\titem\ttimestamp",
    "ts\tu\ti",
  )
    .split("\n").map((l, i) => {
      if (i === 0 || l === "") return l;
      const [u, it, t] = l.split("\t");
      return [t, u, it].join("\t");
    }).join("\r\n");
  const ds = parseInteractionText(tsv, {
    file: "toy.tsv",
    userColumn: "u",
    itemColumn: "i",
    timeColumn: "ts",
    kCore: 2,
  });
  assertEquals(ds, EXPECTED);
  const quoted = CSV.replace("u1,a,10", '"u1", "a" ,10').replace(
    "u4,d,1",
    '"u4","d","1"',
  );
  assertEquals(
    parseInteractionText(quoted, { file: "toy.csv", kCore: 2 }),
    EXPECTED,
  );
  const semi = CSV.replaceAll(",", ";");
  assertEquals(
    parseInteractionText(semi, { file: "toy.csv", kCore: 2 }),
    EXPECTED,
  );
});

Deno.test("parseInteractionText: CR-only line endings read as LF", () => {
  assertEquals(
    parseInteractionText(CSV.replaceAll("\n", "\r"), {
      file: "toy.csv",
      kCore: 2,
    }),
    EXPECTED,
  );
  assertThrows(
    () =>
      parseInteractionText("user,item,timestamp\ra,x,1\ra,y\r", {
        file: "c.csv",
      }),
    DataError,
    "c.csv:3: expected 3 fields separated by commas (as in the header), found 2 fields",
  );
});

Deno.test("parseInteractionText: timeColumn null keeps file order; kCore 0 keeps all", () => {
  const ds = parseInteractionText("user,item\nx,3\nx,1\ny,1\nx,3\n", {
    file: "t.csv",
    timeColumn: null,
    kCore: 0,
  });
  assertEquals(ds.sequences, [Int32Array.of(1, 2), Int32Array.of(2)]);
  assertEquals(ds.itemIds, ["", "3", "1"]);
});

Deno.test("parseInteractionText: default kCore is 5", () => {
  const lines = ["user,item,timestamp"];
  for (let u = 0; u < 5; u++) {
    for (let i = 0; i < 5; i++) lines.push(`${u},${i},${10 * u + i}`);
  }
  for (let i = 0; i < 4; i++) lines.push(`short,${i},0`); // 4 items: dropped
  lines.push("0,extra,99"); // item with 1 user: dropped
  const ds = parseInteractionText(lines.join("\n"), { file: "k.csv" });
  assertEquals(ds.userIds, ["0", "1", "2", "3", "4"]);
  assertEquals(ds.numItems, 5);
  for (const s of ds.sequences) assertEquals(s, Int32Array.of(1, 2, 3, 4, 5));
});

Deno.test("parseInteractionText: missing column names the column and lists the header", () => {
  assertThrows(
    () => parseInteractionText("user,item,time\na,b,1\n", { file: "m.csv" }),
    DataError,
    "m.csv:1: expected a column named 'timestamp' (option timeColumn), found header columns ['user', 'item', 'time']",
  );
  assertThrows(
    () => parseInteractionText("uid\titem\ttimestamp\n", { file: "m.tsv" }),
    DataError,
    "m.tsv:1: expected a column named 'user' (option userColumn), found header columns ['uid', 'item', 'timestamp'] separated by tabs",
  );
  assertThrows(
    () => parseInteractionText("", { file: "e.csv" }),
    DataError,
    "e.csv:1: expected a header row, found an empty file",
  );
  assertThrows(
    () => parseInteractionText("useritem\n", { file: "e.csv" }),
    DataError,
    "e.csv:1: expected a header row with columns separated",
  );
});

Deno.test("parseInteractionText: wrong field count, bad timestamp, empty fields, empty line", () => {
  const p = (body: string) => () =>
    parseInteractionText(`user,item,timestamp\n${body}`, {
      file: "b.csv",
      kCore: 1,
    });
  assertThrows(
    p("a,x,1\na,y\n"),
    DataError,
    "b.csv:3: expected 3 fields separated by commas (as in the header), found 2 fields",
  );
  assertThrows(p("a,x,1\na,y,2,3\n"), DataError, "b.csv:3: expected 3 fields");
  assertThrows(
    p("a,x,1\na,y,2\nb,x,yesterday\n"),
    DataError,
    "b.csv:4: expected a numeric timestamp in column 'timestamp', found 'yesterday'",
  );
  assertThrows(
    p("a,x,\n"),
    DataError,
    "b.csv:2: expected a numeric timestamp in column 'timestamp', found an empty field",
  );
  assertThrows(
    p(",x,1\n"),
    DataError,
    "b.csv:2: expected a user id in column 'user', found an empty field",
  );
  assertThrows(
    p("a,x,1\na, ,2\n"),
    DataError,
    "b.csv:3: expected an item id in column 'item', found an empty field",
  );
  assertThrows(
    p("a,x,1\n\na,y,2\n"),
    DataError,
    "b.csv:3: expected 3 fields separated by commas, found an empty line",
  );
});

Deno.test("parseInteractionText: nothing left after k-core", () => {
  assertThrows(
    () =>
      parseInteractionText("user,item,timestamp\na,x,1\nb,y,2\n", {
        file: "n.csv",
      }),
    DataError,
    "n.csv: expected some interactions left after 5-core filtering, found none (of 2 rows, 2 users, 2 items)",
  );
});

Deno.test("readInteractionFile reads a file and wraps read errors", async () => {
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  try {
    await Deno.writeTextFile(path, CSV);
    const ds = await readInteractionFile(path, { kCore: 2, name: "toy" });
    assertEquals(ds, EXPECTED);
  } finally {
    await Deno.remove(path);
  }
  await assertRejects(
    () => readInteractionFile(path),
    DataError,
    `${path}: expected a readable file, found `,
  );
});
