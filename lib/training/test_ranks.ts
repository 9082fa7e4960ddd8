/**
 * Every user's test rank at the best epoch, kept beside `best.ckpt` as
 * `test_ranks.json` (`{"epoch": e, "ranks": [...]}`, in the split's user
 * order): what paired tests between runs compare, user by user.
 *
 * @module
 */
import { writeTextFileAtomic } from "../util/atomic.ts";

/**
 * The file name.
 *
 * @example
 * ```ts
 * import { TEST_RANKS_FILE } from "./test_ranks.ts";
 * if (TEST_RANKS_FILE !== "test_ranks.json") throw new Error();
 * ```
 */
export const TEST_RANKS_FILE = "test_ranks.json";

/**
 * Write `dir/test_ranks.json` (through a temporary file and a rename).
 *
 * @example
 * ```ts
 * import { readTestRanks, writeTestRanks } from "./test_ranks.ts";
 * const dir = await Deno.makeTempDir();
 * await writeTestRanks(dir, 3, Int32Array.of(0, 5, 2));
 * const r = await readTestRanks(dir);
 * if (r.epoch !== 3 || r.ranks.join() !== "0,5,2") throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeTestRanks(
  dir: string,
  epoch: number,
  ranks: Int32Array,
): Promise<void> {
  await writeTextFileAtomic(
    `${dir}/${TEST_RANKS_FILE}`,
    JSON.stringify({ epoch, ranks: Array.from(ranks) }) + "\n",
  );
}

/**
 * Read `dir/test_ranks.json`; a missing or malformed file is one clear
 * error naming it.
 *
 * @example
 * ```ts
 * import { readTestRanks } from "./test_ranks.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/test_ranks.json`, '{"epoch": 1, "ranks": [1, "x"]}');
 * let msg = "";
 * try { await readTestRanks(dir); } catch (e) { msg = (e as Error).message; }
 * if (!msg.includes("test_ranks.json") || !msg.includes("non-negative integers")) throw new Error(msg);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readTestRanks(
  dir: string,
): Promise<{ epoch: number; ranks: Int32Array }> {
  const path = `${dir}/${TEST_RANKS_FILE}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new Error(
      `${path}: expected the per-user test ranks of a finished run, found no file (trained before seqssl kept them? train it again)`,
    );
  }
  let obj: { epoch?: unknown; ranks?: unknown };
  try {
    obj = JSON.parse(text);
  } catch {
    throw new Error(`${path}: expected JSON, found unparsable text`);
  }
  const ranks = obj?.ranks;
  if (
    !Array.isArray(ranks) ||
    !ranks.every((r) => Number.isInteger(r) && r >= -1)
  ) {
    throw new Error(
      `${path}: expected 'ranks' as a list of non-negative integers, found ${
        JSON.stringify(ranks)?.slice(0, 40)
      }`,
    );
  }
  return { epoch: Number(obj.epoch), ranks: Int32Array.from(ranks) };
}
