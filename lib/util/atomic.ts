/**
 * Atomic file writes: write to a temporary file beside the target, then
 * rename, so a reader never sees a half-written file.
 *
 * Temporary files are named `<target>.tmp-<pid>-<ms>`; a process killed
 * during a write leaves one behind, which {@linkcode removeTempFiles}
 * clears (the training run does so at start, holding its folder's lock).
 *
 * Test hook (inert unless set): with the environment variable
 * `SEQSSL_TEST_KILL_IN_WRITE=NAME[:N]` (and `--allow-env` to read it), the
 * process SIGKILLs itself during its N-th (default first) atomic write of a
 * file named NAME, after half of the temporary file is written and before
 * the rename: the kill test uses it to hit a checkpoint write exactly.
 *
 * @module
 */

const TMP_RE = /\.tmp-\d+-\d+$/;
const HOOK = "SEQSSL_TEST_KILL_IN_WRITE";

function tmpName(path: string): string {
  return `${path}.tmp-${Deno.pid}-${Date.now()}`;
}

let hook: { name: string; nth: number } | null | undefined;
let hookCount = 0;

/** The kill hook's setting, read once; null when unset or unreadable. */
function killHook(): { name: string; nth: number } | null {
  if (hook !== undefined) return hook;
  hook = null;
  try {
    const granted = Deno.permissions.querySync({
      name: "env",
      variable: HOOK,
    }).state === "granted";
    const v = granted ? Deno.env.get(HOOK) : undefined;
    if (v) {
      const [name, n] = v.split(":");
      hook = { name, nth: n === undefined ? 1 : Number(n) };
    }
  } catch { /* no permission API: inert */ }
  return hook;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/**
 * Write bytes to `path` atomically (needs write permission for its folder).
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/model.ckpt`, new Uint8Array([1, 2, 3]));
 * const names = [...Deno.readDirSync(dir)].map((e) => e.name);
 * await Deno.remove(dir, { recursive: true });
 * if (names.join() !== "model.ckpt") throw new Error(names.join());
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
): Promise<void> {
  const tmp = tmpName(path);
  try {
    const h = killHook();
    if (h && h.name === baseName(path) && ++hookCount === h.nth) {
      await Deno.writeFile(tmp, data.subarray(0, data.length >> 1));
      Deno.kill(Deno.pid, "SIGKILL");
    }
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Write text to `path` atomically.
 *
 * @example
 * ```ts
 * import { writeTextFileAtomic } from "./atomic.ts";
 * const path = await Deno.makeTempFile();
 * await writeTextFileAtomic(path, "{}");
 * const back = await Deno.readTextFile(path);
 * await Deno.remove(path);
 * if (back !== "{}") throw new Error(back);
 * ```
 */
export async function writeTextFileAtomic(
  path: string,
  text: string,
): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/**
 * Remove the temporary files of interrupted atomic writes
 * (`<name>.tmp-<pid>-<ms>`) from `dir`, and return their names. Call it only
 * while no other process writes to `dir` (holding its lock).
 *
 * @example
 * ```ts
 * import { removeTempFiles } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/last.ckpt.tmp-123-456`, "half");
 * await Deno.writeTextFile(`${dir}/notes.tmp`, "kept");
 * const removed = await removeTempFiles(dir);
 * const left = [...Deno.readDirSync(dir)].map((e) => e.name);
 * await Deno.remove(dir, { recursive: true });
 * if (removed.join() !== "last.ckpt.tmp-123-456" || left.join() !== "notes.tmp") {
 *   throw new Error(`${removed} / ${left}`);
 * }
 * ```
 */
export async function removeTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && TMP_RE.test(e.name)) {
      await Deno.remove(`${dir}/${e.name}`);
      removed.push(e.name);
    }
  }
  return removed.sort();
}
