/**
 * CLI behaviours of issue 16 that succeed (the failing ones are in the
 * bad-input corpus): `kCore: 0` reads every interaction, `--epochs 0` names
 * only the file it wrote, and `recommend`'s TSV keeps item names with spaces
 * whole (one item per column).
 */
import { initBackend } from "../lib/backend/init.ts";
import { assert, assertEquals } from "./_assert.ts";
import { runCli as cli } from "./_cli.ts";

await initBackend("cpu");

/**
 * An interactions log of 12 users, 4 interactions each, over 16 items whose
 * names hold spaces; every item occurs 3 times, so the default 5-core
 * filtering leaves nothing while `kCore: 0` keeps all 48 rows.
 */
async function writeLog(file: string): Promise<string[]> {
  const names = Array.from({ length: 16 }, (_, i) => `item number ${i + 1}`);
  const rows = ["user,item,timestamp"];
  for (let u = 0; u < 12; u++) {
    for (let t = 0; t < 4; t++) {
      rows.push(`u${u},${names[(u * 4 + t) % 16]},${1000 + t}`);
    }
  }
  await Deno.writeTextFile(file, rows.join("\n") + "\n");
  return names;
}

Deno.test("kCore 0 keeps every interaction; --epochs 0 says it wrote result.json only; recommend keeps names with spaces whole", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names = await writeLog(`${dir}/log.csv`);
    const common = ["--data", `${dir}/log.csv`, "--format", "interactions"];
    const small = [
      "--set",
      "hidden=8",
      "--set",
      "maxLen=6",
      "--backend",
      "cpu",
    ];
    // The default 5-core filtering refuses this log (every item occurs 3 times).
    const filtered = await cli(["train", ...common, ...small, "--epochs", "0"]);
    assert(filtered.code !== 0, "5-core filtering should leave no user");

    const none = await cli([
      "train",
      ...common,
      ...small,
      "--set",
      "kCore=0",
      "--epochs",
      "0",
      "--out",
      `${dir}/zero`,
    ]);
    assertEquals(none.code, 0, none.out);
    assert(
      none.out.includes(`wrote ${dir}/zero/result.json\n`) ||
        none.out.endsWith(`wrote ${dir}/zero/result.json`),
      none.out,
    );
    assert(!none.out.includes("best.ckpt"), none.out);
    const files = [...Deno.readDirSync(`${dir}/zero`)].map((e) => e.name);
    assert(!files.includes("best.ckpt") && files.includes("result.json"));

    const one = await cli([
      "train",
      ...common,
      ...small,
      "--set",
      "kCore=0",
      "--epochs",
      "1",
      "--out",
      `${dir}/run`,
    ]);
    assertEquals(one.code, 0, one.out);
    const result = JSON.parse(
      await Deno.readTextFile(`${dir}/run/result.json`),
    );
    assertEquals(result.data.users, 12);
    assertEquals(result.data.items, 16);

    const rec = await cli([
      "recommend",
      "--checkpoint",
      `${dir}/run/best.ckpt`,
      ...common,
      "--backend",
      "cpu",
      "--k",
      "12",
      "--output",
      `${dir}/recs.tsv`,
    ]).catch((e) => ({ code: 1, out: String(e) }));
    assertEquals(rec.code, 0, rec.out);
    const lines = (await Deno.readTextFile(`${dir}/recs.tsv`)).trim().split(
      "\n",
    );
    assertEquals(lines.shift()!.split("\t").length, 13);
    assertEquals(lines.length, 12);
    for (const line of lines) {
      const [user, ...items] = line.split("\t");
      assert(/^u\d+$/.test(user), line);
      // 16 items, 4 seen: 12 unseen names, each a whole name
      assertEquals(items.length, 12, line);
      for (const it of items) assert(names.includes(it), `not a name: ${it}`);
      assertEquals(new Set(items).size, 12, line);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
