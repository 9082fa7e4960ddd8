/**
 * Speed of the data preparation at Beauty's size (the tests check what these
 * functions compute; this file measures how long they take): parsing 200k
 * interactions, reading the real data files when they are present, the item
 * correlation of CoSeRec's insert/substitute on ~200k actions, and the
 * embedded synthetic data at its defaults.
 *
 * Run: `deno bench -A bench/data_bench.ts`
 */
import { parseSequenceText } from "../lib/data/read_sequences.ts";
import { readSequenceFile } from "../lib/data/read_sequences.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { itemCorrelation } from "../lib/augment/correlation.ts";
import { makeRng } from "../lib/util/rng.ts";

// 20,000 users x 10 items of 12,000 (a Lehmer generator, as the old test).
const lines: string[] = [];
let x = 1;
for (let u = 1; u <= 20000; u++) {
  const items: number[] = [];
  for (let j = 0; j < 10; j++) {
    items.push((x = (x * 48271) % 2147483647) % 12000 + 1);
  }
  lines.push(`${u} ${items.join(" ")}`);
}
const text = lines.join("\n") + "\n";

Deno.bench("parseSequenceText: 200k interactions", () => {
  const ds = parseSequenceText(text, { file: "big.txt" });
  if (ds.sequences.length !== 20000) throw new Error("wrong user count");
});

for (const file of ["Beauty.txt", "Toys_and_Games.txt"]) {
  const path = new URL(`../../shared/data/${file}`, import.meta.url).pathname;
  let present = false;
  try {
    present = Deno.statSync(path).isFile;
  } catch {
    present = false;
  }
  Deno.bench({
    name: `readSequenceFile: ${file}`,
    ignore: !present,
    fn: async () => {
      await readSequenceFile(path);
    },
  });
}

// 22k sequences, 12k items, ~200k actions, with some locality.
const rng = makeRng(12);
const numItems = 12_000;
const train: Int32Array[] = [];
while (train.length < 22_000) {
  const n = 3 + rng.int(13);
  const s = new Int32Array(n);
  let v = 1 + rng.int(numItems);
  for (let i = 0; i < n; i++) {
    s[i] = v;
    v = rng.next() < 0.5
      ? 1 + ((v + rng.int(20)) % numItems)
      : 1 + rng.int(numItems);
  }
  train.push(s);
}

Deno.bench("itemCorrelation: 22k sequences, 12k items, ~200k actions", () => {
  itemCorrelation(train, numItems);
});

Deno.bench("synthetic: defaults (3,000 users, 600 items)", () => {
  synthetic({ seed: 9 });
});
