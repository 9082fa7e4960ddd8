/**
 * Atomic file writes: write to a temporary file beside the target, then
 * rename, so a reader never sees a half-written file.
 *
 * @module
 */

function tmpName(path: string): string {
  return `${path}.tmp-${Deno.pid}-${Date.now()}`;
}

/**
 * Write bytes to `path` atomically (needs write permission for its folder).
 *
 * @example
 * ```ts ignore
 * import { writeFileAtomic } from "./atomic.ts";
 * await writeFileAtomic("out/model.ckpt", new Uint8Array([1, 2, 3]));
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
): Promise<void> {
  const tmp = tmpName(path);
  try {
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
 * ```ts ignore
 * import { writeTextFileAtomic } from "./atomic.ts";
 * await writeTextFileAtomic("out/result.json", "{}");
 * ```
 */
export async function writeTextFileAtomic(
  path: string,
  text: string,
): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}
