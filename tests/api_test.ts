// The public API (mod.ts): the building blocks the issues name are exported,
// and every exported function, class and constant has JSDoc with an example
// (read from `deno doc --json`, so a new export without one fails here).
import { assert, assertEquals } from "./_assert.ts";
import * as seqssl from "../mod.ts";

const BLOCKS = [
  // augmenters and their combinators
  "crop",
  "mask",
  "reorder",
  "insert",
  "substitute",
  "itemCorrelation",
  "randomChoice",
  "compose",
  "augmentBatch",
  // encoders and model augmentation
  "initSasrec",
  "initGru",
  "ffnStack",
  "gradReverse",
  // losses and combinators
  "infoNCE",
  "weighted",
  "contrastiveRegularizer",
  "distillKL",
  // clustering
  "sinkhorn",
  "onlineClustering",
  // optimisation
  "adam",
  "chain",
  "jointStepper",
  "metaStepper",
  // methods
  "sasrec",
  "cl4srec",
  "srma",
  "mclrec",
  "s4rec",
  // evaluation
  "evaluate",
  "beyondAccuracy",
  // statistics
  "pairedTTest",
  "wilcoxonSignedRank",
  "pairedTests",
];

Deno.test("mod.ts exports every building block and method", () => {
  const missing = BLOCKS.filter((name) => !(name in seqssl));
  assertEquals(missing, []);
});

interface DocTag {
  kind: string;
}
interface DocDeclaration {
  kind: string;
  jsDoc?: { doc?: string; tags?: DocTag[] };
}
interface DocSymbol {
  name: string;
  declarations: DocDeclaration[];
}

Deno.test("every export of mod.ts has JSDoc; functions, classes and constants an example", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", new URL("../mod.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const nodes = Object.values(doc.nodes) as { symbols: DocSymbol[] }[];
  const symbols = nodes[0].symbols;
  assert(symbols.length > 100, `only ${symbols.length} exports`);
  const noDoc: string[] = [], noExample: string[] = [];
  for (const s of symbols) {
    for (const d of s.declarations) {
      if (d.kind === "reference") continue;
      const tags = d.jsDoc?.tags ?? [];
      if (!d.jsDoc?.doc && tags.length === 0) noDoc.push(s.name);
      const needsExample = ["function", "class", "variable"].includes(d.kind);
      if (needsExample && !tags.some((t) => t.kind === "example")) {
        noExample.push(s.name);
      }
    }
  }
  assertEquals(noDoc, []);
  assertEquals(noExample, []);
});
