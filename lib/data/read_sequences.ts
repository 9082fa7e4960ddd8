/**
 * Read the `user item item ...` sequence format: one user a line, space
 * separated, items oldest first (the format of the Beauty and Toys files).
 *
 * @module
 */
import { DataError } from "../util/errors.ts";
import type { SequenceDataset } from "./types.ts";
import { baseName } from "./_base_name.ts";
import { textLines } from "./_lines.ts";

/** Options of {@linkcode parseSequenceText}. */
export interface ParseSequenceOptions {
  /** File name used in error messages. */
  file: string;
  /** Dataset name; defaults to the file's base name without extension. */
  name?: string;
}

/** Options of {@linkcode readSequenceFile}. */
export interface ReadSequenceOptions {
  /** Dataset name; defaults to the file's base name without extension. */
  name?: string;
}

/** Smallest number of items a user line must have (for leave-one-out). */
const MIN_ITEMS = 3;
/**
 * Item ids are used as they are, so the largest id sizes the item embedding
 * and the ranking: it may be at most this many times the number of distinct
 * ids (plus {@linkcode MAX_ID_SLACK}). One stray id like 50,000,000 in a
 * file of 12,000 items would otherwise allocate gigabytes.
 */
const MAX_ID_RATIO = 10;
/** Slack of the item-id rule, so small files may use any ids up to 1000. */
const MAX_ID_SLACK = 1000;
const INT_RE = /^[+-]?\d+$/;

function quote(s: string): string {
  return s.length > 40 ? `'${s.slice(0, 40)}...'` : `'${s}'`;
}

/**
 * Parse the text of a `user item item ...` file. Tokens are separated by
 * spaces (or tabs); the first token of a line is the user id (kept as a
 * string), the others are positive integer item ids, oldest first.
 * `numItems` is the largest item id. A final line ending is accepted.
 *
 * Lines may end in LF, CRLF or a lone CR.
 *
 * Throws a {@linkcode DataError} naming the file and 1-based line for: a
 * non-integer item token, an empty line, a user with fewer than 3 items, an
 * item id of 0 or below, a user id that appears on two lines, a file
 * with no user lines, and an item id larger than 10 x the number of distinct
 * ids + 1000 (ids are used as they are, so the largest one sizes the model:
 * the line of the largest id is named, with the remedy, re-numbering).
 *
 * @example
 * ```ts
 * import { parseSequenceText } from "./read_sequences.ts";
 * const ds = parseSequenceText("u1 1 2 3\nu2 2 3 4 5\n", { file: "toy.txt" });
 * if (ds.numItems !== 5 || ds.sequences[1].length !== 4) throw new Error();
 * if (ds.name !== "toy" || ds.userIds[0] !== "u1") throw new Error();
 * ```
 */
export function parseSequenceText(
  text: string,
  opts: ParseSequenceOptions,
): SequenceDataset {
  const { file } = opts;
  const lines = textLines(text, file);
  const n = lines.length;
  if (n === 0) {
    throw new DataError(
      file,
      1,
      "at least one 'user item item ...' line",
      "an empty file",
    );
  }
  const sequences: Int32Array[] = new Array(n);
  const userIds: string[] = new Array(n);
  const seen = new Map<string, number>();
  let numItems = 0, maxAt = 0, maxToken = 0;
  const distinct = new Set<number>();
  for (let i = 0; i < n; i++) {
    const lineNo = i + 1;
    const tokens = lines[i].trim().split(/\s+/);
    if (tokens[0] === "") {
      throw new DataError(
        file,
        lineNo,
        "a line 'user item item ...'",
        "an empty line",
      );
    }
    const user = tokens[0];
    const first = seen.get(user);
    if (first !== undefined) {
      throw new DataError(
        file,
        lineNo,
        "each user on one line only",
        `user ${quote(user)} again (first on line ${first})`,
      );
    }
    seen.set(user, lineNo);
    // A header line or commas: most likely an interaction file.
    const hint = lineNo === 1 && (/[,;]/.test(lines[i]) ||
        tokens.slice(1).some((t) => /^[a-z_]+$/i.test(t)))
      ? "; if this is a CSV/TSV of interactions with a header, read it with --format interactions"
      : "";
    const len = tokens.length - 1;
    if (len < MIN_ITEMS) {
      throw new DataError(
        file,
        lineNo,
        `a user id and at least ${MIN_ITEMS} item ids`,
        `user ${quote(user)} with ${len} item${len === 1 ? "" : "s"}${hint}`,
      );
    }
    const seq = new Int32Array(len);
    for (let j = 0; j < len; j++) {
      const tok = tokens[j + 1];
      if (!INT_RE.test(tok)) {
        throw new DataError(
          file,
          lineNo,
          "an integer item id",
          `${quote(tok)} (token ${j + 2})${hint}`,
        );
      }
      const v = Number(tok);
      if (v <= 0) {
        throw new DataError(
          file,
          lineNo,
          "an item id of 1 or more (0 is padding)",
          `${tok} (token ${j + 2})`,
        );
      }
      if (v > 0x7fffffff) {
        throw new DataError(
          file,
          lineNo,
          "an item id below 2^31",
          `${tok} (token ${j + 2})`,
        );
      }
      seq[j] = v;
      distinct.add(v);
      if (v > numItems) {
        numItems = v;
        maxAt = lineNo;
        maxToken = j + 2;
      }
    }
    sequences[i] = seq;
    userIds[i] = user;
  }
  const limit = MAX_ID_RATIO * distinct.size + MAX_ID_SLACK;
  if (numItems > limit) {
    throw new DataError(
      file,
      maxAt,
      `item ids numbered densely from 1 (every id up to the largest gets a ` +
        `row of the model's item embedding and is ranked, so the largest ` +
        `may be at most ${MAX_ID_RATIO} x the ${distinct.size} distinct ids ` +
        `+ ${MAX_ID_SLACK} = ${limit})`,
      `item id ${numItems} (token ${maxToken}); re-number the items 1..N, ` +
        `or give a user,item,timestamp file with --format interactions, ` +
        `which re-numbers them`,
    );
  }
  return { name: opts.name ?? baseName(file), numItems, sequences, userIds };
}

/**
 * Read a `user item item ...` file; see {@linkcode parseSequenceText} for
 * the format and the errors. A file that cannot be read gives a
 * {@linkcode DataError} `path: expected a readable file, found <reason>`.
 *
 * @example
 * ```ts
 * import { readSequenceFile } from "./read_sequences.ts";
 * const path = await Deno.makeTempFile({ suffix: ".txt" });
 * await Deno.writeTextFile(path, "1 1 2 3\n2 3 2 4\n");
 * const ds = await readSequenceFile(path, { name: "tiny" });
 * await Deno.remove(path);
 * if (ds.sequences.length !== 2 || ds.numItems !== 4) throw new Error();
 * ```
 */
export async function readSequenceFile(
  path: string,
  opts: ReadSequenceOptions = {},
): Promise<SequenceDataset> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new DataError(
      path,
      0,
      "a readable file",
      e instanceof Error ? e.message : String(e),
    );
  }
  return parseSequenceText(text, { file: path, name: opts.name });
}
