/**
 * Read a CSV or TSV file of interactions (`user,item,timestamp` rows with a
 * header) into chronological sequences, with de-duplication, iterative
 * k-core filtering and item ids remapped to 1..N.
 *
 * @module
 */
import { DataError } from "../util/errors.ts";
import type { SequenceDataset } from "./types.ts";
import { baseName } from "./_base_name.ts";
import { textLines } from "./_lines.ts";

/** Options of {@linkcode readInteractionFile}. */
export interface ReadInteractionOptions {
  /** Dataset name; defaults to the file's base name without extension. */
  name?: string;
  /**
   * Field delimiter. Default: detected from the header line, the most
   * frequent of tab, comma and semicolon (ties in that order).
   */
  delimiter?: string;
  /** Header name of the user column. Default `"user"`. */
  userColumn?: string;
  /** Header name of the item column. Default `"item"`. */
  itemColumn?: string;
  /**
   * Header name of the numeric time column. Default `"timestamp"`. `null`
   * means there is none: file order is the time order.
   */
  timeColumn?: string | null;
  /**
   * Iterative k-core: drop users and items with fewer than `kCore`
   * interactions until every remaining user and item has at least `kCore`.
   * Default 5; 0 or 1 keeps everything.
   */
  kCore?: number;
}

/** Options of {@linkcode parseInteractionText}: those of the file reader plus the file name. */
export interface ParseInteractionOptions extends ReadInteractionOptions {
  /** File name used in error messages (and the default dataset name). */
  file: string;
}

function quote(s: string): string {
  return s.length > 40 ? `'${s.slice(0, 40)}...'` : `'${s}'`;
}

function delimiterName(d: string): string {
  return d === "\t"
    ? "tabs"
    : d === ","
    ? "commas"
    : d === ";"
    ? "semicolons"
    : quote(d);
}

function detectDelimiter(header: string, file: string): string {
  let best = "", bestCount = 0;
  for (const d of ["\t", ",", ";"]) {
    const c = header.split(d).length - 1;
    if (c > bestCount) {
      best = d;
      bestCount = c;
    }
  }
  if (best === "") {
    throw new DataError(
      file,
      1,
      "a header row with columns separated by tabs, commas or semicolons",
      quote(header),
    );
  }
  return best;
}

/** Split one line; double-quoted fields (with `""` escapes) are understood. */
function splitFields(line: string, delim: string): string[] {
  if (!line.includes('"')) return line.split(delim).map((f) => f.trim());
  const out: string[] = [];
  let i = 0;
  while (true) {
    while (line[i] === " ") i++;
    let field = "";
    if (line[i] === '"') {
      i++;
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else field += line[i++];
      }
      const next = line.indexOf(delim, i);
      if (next < 0) {
        out.push(field);
        return out;
      }
      i = next + delim.length;
      out.push(field);
    } else {
      const next = line.indexOf(delim, i);
      if (next < 0) {
        out.push(line.slice(i).trim());
        return out;
      }
      out.push(line.slice(i, next).trim());
      i = next + delim.length;
    }
  }
}

/**
 * Parse interaction rows into a {@linkcode SequenceDataset}:
 *
 * 1. read the header, find the user, item and time columns by name;
 * 2. group rows by user (users in order of first appearance in the file) and
 *    sort each user's rows by time, stable (equal times keep file order);
 * 3. drop repeated (user, item) pairs, keeping the earliest;
 * 4. iterative k-core filtering (`kCore`, default 5);
 * 5. remap items to 1..N in order of first appearance after filtering,
 *    walking users in order of first appearance in the file and each user's
 *    sequence oldest first. `itemIds[i]` is item `i`'s original id.
 *
 * User ids are kept as they are (`userIds`). Throws a {@linkcode DataError}
 * with file and line for: a column missing from the header (names it and
 * lists the header), a row with the wrong number of fields, a non-numeric
 * timestamp, an empty user or item field; and when nothing is left after
 * filtering.
 *
 * @example
 * ```ts
 * import { parseInteractionText } from "./read_interactions.ts";
 * const csv = "user,item,timestamp\na,x,3\na,y,1\nb,y,5\nb,x,2\nb,z,9\n";
 * const ds = parseInteractionText(csv, { file: "toy.csv", kCore: 1 });
 * // a: y(1) x(3) -> 1 2; b: x(2) y(5) z(9) -> 2 1 3
 * if (ds.sequences[1].join(" ") !== "2 1 3") throw new Error();
 * if (ds.itemIds?.join(",") !== ",y,x,z") throw new Error();
 * ```
 */
export function parseInteractionText(
  text: string,
  opts: ParseInteractionOptions,
): SequenceDataset {
  const { file } = opts;
  const userColumn = opts.userColumn ?? "user";
  const itemColumn = opts.itemColumn ?? "item";
  const timeColumn = opts.timeColumn === undefined
    ? "timestamp"
    : opts.timeColumn;
  const k = opts.kCore ?? 5;
  if (!Number.isInteger(k) || k < 0) {
    throw new RangeError(`kCore: expected a non-negative integer, found ${k}`);
  }
  const lines = textLines(text, file);
  const n = lines.length;
  if (n === 0 || lines[0].trim() === "") {
    throw new DataError(
      file,
      1,
      "a header row",
      n === 0 ? "an empty file" : "an empty line",
    );
  }
  const header = lines[0];
  const delim = opts.delimiter ?? detectDelimiter(header, file);
  if (delim === "") {
    throw new RangeError("delimiter: expected a non-empty string, found ''");
  }
  const columns = splitFields(header, delim);
  const find = (name: string, option: string): number => {
    const at = columns.indexOf(name);
    if (at < 0) {
      throw new DataError(
        file,
        1,
        `a column named ${quote(name)} (option ${option})`,
        `header columns [${columns.map(quote).join(", ")}] separated by ${
          delimiterName(delim)
        }`,
      );
    }
    return at;
  };
  const uCol = find(userColumn, "userColumn");
  const iCol = find(itemColumn, "itemColumn");
  const tCol = timeColumn === null ? -1 : find(timeColumn, "timeColumn");
  const width = columns.length;

  // Rows as parallel arrays; users and items as dense indices of first sight.
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const userNames: string[] = [];
  const itemNames: string[] = [];
  const rowsOf: number[][] = [];
  const rowItem: number[] = [];
  const rowTime: number[] = [];
  for (let i = 1; i < n; i++) {
    const lineNo = i + 1;
    const line = lines[i];
    if (line.trim() === "") {
      throw new DataError(
        file,
        lineNo,
        `${width} fields separated by ${delimiterName(delim)}`,
        "an empty line",
      );
    }
    const f = splitFields(line, delim);
    if (f.length !== width) {
      throw new DataError(
        file,
        lineNo,
        `${width} fields separated by ${
          delimiterName(delim)
        } (as in the header)`,
        `${f.length} field${f.length === 1 ? "" : "s"}`,
      );
    }
    const user = f[uCol], item = f[iCol];
    if (user === "") {
      throw new DataError(
        file,
        lineNo,
        `a user id in column ${quote(userColumn)}`,
        "an empty field",
      );
    }
    if (item === "") {
      throw new DataError(
        file,
        lineNo,
        `an item id in column ${quote(itemColumn)}`,
        "an empty field",
      );
    }
    let time = i;
    if (tCol >= 0) {
      const t = f[tCol];
      time = t === "" ? NaN : Number(t);
      if (!Number.isFinite(time)) {
        throw new DataError(
          file,
          lineNo,
          `a numeric timestamp in column ${quote(timeColumn as string)}`,
          t === "" ? "an empty field" : quote(t),
        );
      }
    }
    let u = userIndex.get(user);
    if (u === undefined) {
      u = userNames.length;
      userIndex.set(user, u);
      userNames.push(user);
      rowsOf.push([]);
    }
    let it = itemIndex.get(item);
    if (it === undefined) {
      it = itemNames.length;
      itemIndex.set(item, it);
      itemNames.push(item);
    }
    rowsOf[u].push(rowItem.length);
    rowItem.push(it);
    rowTime.push(time);
  }

  // Sort by time (Array.prototype.sort is stable) and drop repeated items.
  const numUsers = userNames.length, numRawItems = itemNames.length;
  const lastUser = new Int32Array(numRawItems).fill(-1);
  let seqs: Int32Array[] = new Array(numUsers);
  for (let u = 0; u < numUsers; u++) {
    const rows = rowsOf[u];
    if (tCol >= 0) rows.sort((a, b) => rowTime[a] - rowTime[b]);
    const seq: number[] = [];
    for (const r of rows) {
      const it = rowItem[r];
      if (lastUser[it] !== u) {
        lastUser[it] = u;
        seq.push(it);
      }
    }
    seqs[u] = Int32Array.from(seq);
  }

  const alive = kCoreUsers(seqs, numRawItems, k);
  seqs = seqs.filter((_, u) => alive[u] === 1);
  const userIds = userNames.filter((_, u) => alive[u] === 1);
  if (seqs.length === 0) {
    throw new DataError(
      file,
      0,
      `some interactions left after ${k}-core filtering`,
      `none (of ${rowItem.length} rows, ${numUsers} users, ${numRawItems} items)`,
    );
  }

  // Remap items to 1..N in order of first appearance.
  const newId = new Int32Array(numRawItems);
  const itemIds = [""];
  for (const seq of seqs) {
    for (let j = 0; j < seq.length; j++) {
      const it = seq[j];
      if (newId[it] === 0) {
        newId[it] = itemIds.length;
        itemIds.push(itemNames[it]);
      }
      seq[j] = newId[it];
    }
  }
  return {
    name: opts.name ?? baseName(file),
    numItems: itemIds.length - 1,
    sequences: seqs,
    userIds,
    itemIds,
  };
}

/**
 * Iterative k-core in place: shortens `seqs` (dropping items with fewer
 * than k users) and returns a 0/1 flag per user (1 = kept).
 */
function kCoreUsers(
  seqs: Int32Array[],
  numItems: number,
  k: number,
): Uint8Array {
  const alive = new Uint8Array(seqs.length).fill(1);
  if (k <= 1) {
    for (let u = 0; u < seqs.length; u++) {
      if (seqs[u].length === 0) alive[u] = 0;
    }
    return alive;
  }
  const count = new Int32Array(numItems);
  let changed = true;
  while (changed) {
    changed = false;
    count.fill(0);
    for (let u = 0; u < seqs.length; u++) {
      if (!alive[u]) continue;
      const s = seqs[u];
      for (let j = 0; j < s.length; j++) count[s[j]]++;
    }
    for (let u = 0; u < seqs.length; u++) {
      if (!alive[u]) continue;
      const s = seqs[u];
      let m = 0;
      for (let j = 0; j < s.length; j++) if (count[s[j]] >= k) s[m++] = s[j];
      if (m !== s.length) {
        seqs[u] = s.subarray(0, m);
        changed = true;
      }
      if (m < k) {
        alive[u] = 0;
        changed = true;
      }
    }
  }
  return alive;
}

/**
 * Read a CSV/TSV interaction file; see {@linkcode parseInteractionText} for
 * the steps, the options and the errors. A file that cannot be read gives a
 * {@linkcode DataError} `path: expected a readable file, found <reason>`.
 *
 * @example
 * ```ts
 * import { readInteractionFile } from "./read_interactions.ts";
 * const path = await Deno.makeTempFile({ suffix: ".tsv" });
 * await Deno.writeTextFile(path, "uid\tiid\tt\n1\t10\t5\n1\t11\t6\n2\t10\t1\n");
 * const ds = await readInteractionFile(path, {
 *   userColumn: "uid",
 *   itemColumn: "iid",
 *   timeColumn: "t",
 *   kCore: 1,
 * });
 * await Deno.remove(path);
 * if (ds.numItems !== 2 || ds.userIds.join() !== "1,2") throw new Error();
 * ```
 */
export async function readInteractionFile(
  path: string,
  opts: ReadInteractionOptions = {},
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
  return parseInteractionText(text, { ...opts, file: path });
}
