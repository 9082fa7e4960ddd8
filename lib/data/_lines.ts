/**
 * Private helper: a text file's lines, whatever its line endings.
 *
 * @module
 */

/**
 * Split `text` into lines at LF (Unix), CRLF (Windows) and a lone CR (old
 * Mac, and some spreadsheet exports), so line numbers in error messages are
 * the ones an editor shows. One final line ending is not an empty last
 * line; an empty text has no lines.
 *
 * @example
 * ```ts
 * import { splitLines } from "./_lines.ts";
 * const same = ["a 1", "b 2"].join();
 * for (const t of ["a 1\nb 2\n", "a 1\r\nb 2\r\n", "a 1\rb 2\r", "a 1\rb 2"]) {
 *   if (splitLines(t).join() !== same) throw new Error(JSON.stringify(t));
 * }
 * if (splitLines("a\n\nb").length !== 3 || splitLines("").length !== 0) {
 *   throw new Error("empty lines");
 * }
 * ```
 */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === "") lines.pop(); // the final line ending
  return lines;
}
