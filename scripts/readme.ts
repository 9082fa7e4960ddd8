// Rewrites the README's table of config keys from the method registry
// (between the key-table markers), then formats the README:
//
//   deno task readme
//
// tests/registry_test.ts fails when the README's table is out of date.
import "../lib/methods/mod.ts";
import {
  KEY_TABLE_END,
  KEY_TABLE_START,
  keyTable,
} from "../lib/config/describe.ts";
import { writeTextFileAtomic } from "../lib/util/atomic.ts";

const path = new URL("../README.md", import.meta.url);
const readme = await Deno.readTextFile(path);
const start = readme.indexOf(KEY_TABLE_START);
const end = readme.indexOf(KEY_TABLE_END);
if (start < 0 || end < start) {
  throw new Error(
    `README.md: expected the markers '${KEY_TABLE_START}' and '${KEY_TABLE_END}', found none`,
  );
}
await writeTextFileAtomic(
  path.pathname,
  readme.slice(0, start + KEY_TABLE_START.length) + "\n\n" + keyTable() +
    "\n" + readme.slice(end),
);
const fmt = await new Deno.Command(Deno.execPath(), {
  args: ["fmt", path.pathname],
}).output();
if (!fmt.success) throw new Error(new TextDecoder().decode(fmt.stderr));
console.log("README.md: key table rewritten");
