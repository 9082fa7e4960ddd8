// Rewrites the README's generated parts from the method registry (the table
// of config keys and the list of presets, each between its markers), then
// formats the README:
//
//   deno task readme
//
// tests/registry_test.ts fails when either is out of date.
import "../lib/methods/mod.ts";
import {
  KEY_TABLE_END,
  KEY_TABLE_START,
  keyTable,
  presetList,
  PRESETS_END,
  PRESETS_START,
} from "../lib/config/describe.ts";
import { writeTextFileAtomic } from "../lib/util/atomic.ts";

const path = new URL("../README.md", import.meta.url);
let readme = await Deno.readTextFile(path);
for (
  const [startMark, endMark, body] of [
    [KEY_TABLE_START, KEY_TABLE_END, keyTable()],
    [PRESETS_START, PRESETS_END, presetList()],
  ]
) {
  const start = readme.indexOf(startMark);
  const end = readme.indexOf(endMark);
  if (start < 0 || end < start) {
    throw new Error(
      `README.md: expected the markers '${startMark}' and '${endMark}', found none`,
    );
  }
  readme = readme.slice(0, start + startMark.length) + "\n\n" + body + "\n" +
    readme.slice(end);
}
await writeTextFileAtomic(path.pathname, readme);
const fmt = await new Deno.Command(Deno.execPath(), {
  args: ["fmt", path.pathname],
}).output();
if (!fmt.success) throw new Error(new TextDecoder().decode(fmt.stderr));
console.log("README.md: key table and presets rewritten");
