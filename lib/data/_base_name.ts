/**
 * Private helper: a dataset name from a file path.
 *
 * @module
 */

/**
 * `"data/Beauty.txt"` -> `"Beauty"`: the base name without its extension.
 *
 * @example
 * ```ts
 * import { baseName } from "./_base_name.ts";
 * if (baseName("data/Beauty.txt") !== "Beauty") throw new Error();
 * ```
 */
export function baseName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}
