/**
 * Private helper: a text file's lines, whatever its line endings.
 *
 * @module
 */
import { DataError } from "../util/errors.ts";

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

/**
 * The lines of a data file's `text` ({@linkcode splitLines}, after a UTF-8
 * byte-order mark), refusing binary data: a control character other than
 * tab, CR and LF, or a byte that is not UTF-8 (decoded as U+FFFD), is a
 * `DataError` naming the file, the line and the character, so a compressed
 * or binary file is never read as odd user ids.
 *
 * @example
 * ```ts
 * import { textLines } from "./_lines.ts";
 * if (textLines("\ufeffa 1\tb\n", "x.txt").join() !== "a 1\tb") throw new Error();
 * let msg = "";
 * try {
 *   textLines("u 1 2 3\nu\u0000 2\n", "x.txt");
 * } catch (e) {
 *   msg = (e as Error).message;
 * }
 * if (msg !== "x.txt:2: expected UTF-8 text, found binary data (character U+0000 at column 2)") {
 *   throw new Error(msg);
 * }
 * ```
 */
export function textLines(text: string, file: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = splitLines(text);
  // deno-lint-ignore no-control-regex -- control characters are what it looks for
  const bad = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/;
  for (let i = 0; i < lines.length; i++) {
    const m = bad.exec(lines[i]);
    if (m) {
      const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(
        4,
        "0",
      );
      throw new DataError(
        file,
        i + 1,
        "UTF-8 text",
        m[0] === "\ufffd"
          ? `a byte that is not UTF-8 at column ${
            m.index + 1
          } (save the file as UTF-8)`
          : `binary data (character U+${code} at column ${m.index + 1})`,
      );
    }
  }
  return lines;
}
