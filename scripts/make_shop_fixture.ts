// Writes tests/fixtures/shop.csv: a small raw interaction log (user, item
// name, timestamp; rows in shuffled order) with four planted shopping
// intents, for the interactions-file tests and the README's `recommend`
// example. Same output every run:
//
//   deno run --allow-write=tests/fixtures scripts/make_shop_fixture.ts
import { synthetic } from "../lib/data/synthetic.ts";
import { makeRng, shuffle } from "../lib/util/rng.ts";

const NAMES = [
  // tea
  "green-tea",
  "black-tea",
  "oolong",
  "chai",
  "matcha",
  "rooibos",
  "earl-grey",
  "jasmine-tea",
  "mint-tea",
  "teapot",
  // coffee
  "espresso",
  "french-press",
  "grinder",
  "arabica-beans",
  "robusta-beans",
  "moka-pot",
  "milk-frother",
  "decaf",
  "cold-brew",
  "pour-over",
  // baking
  "flour",
  "yeast",
  "rolling-pin",
  "whisk",
  "baking-tray",
  "vanilla",
  "cocoa",
  "muffin-tin",
  "sugar",
  "oven-mitt",
  // garden
  "seeds",
  "trowel",
  "gloves",
  "watering-can",
  "compost",
  "pruner",
  "hose",
  "planter",
  "rake",
  "fertiliser",
];
const ds = synthetic({
  seed: 7,
  numUsers: 300,
  numItems: NAMES.length,
  numIntents: 4,
  maxLen: 15,
  noise: 0.05,
});
// Name each item after a product of its planted intent (block c of NAMES).
const used = [0, 0, 0, 0];
const name = Array.from({ length: NAMES.length + 1 }, (_, i) => {
  if (i === 0) return "";
  const c = ds.itemIntent[i];
  return NAMES[c * 10 + used[c]++];
});
const rows: string[] = [];
ds.sequences.forEach((s, u) => {
  s.forEach((item, t) => {
    rows.push(
      `u${String(u + 1).padStart(3, "0")},${name[item]},${
        1_700_000_000 + u * 1000 + t * 60
      }`,
    );
  });
});
shuffle(rows, makeRng(7));
await Deno.writeTextFile(
  new URL("../tests/fixtures/shop.csv", import.meta.url),
  ["user,item,timestamp", ...rows].join("\n") + "\n",
);
console.log(`tests/fixtures/shop.csv: ${rows.length} interactions`);
