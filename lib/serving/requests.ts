/**
 * Recommendation requests as JSON Lines: one object per line,
 * `{"id": ..., "items": [...]}`, a sequence oldest first, its items named as
 * the model's catalogue names them (original names, or ids 1..N).
 *
 * @module
 */
import { DataError } from "../util/errors.ts";

/** One request: who asks, and the sequence to recommend after. */
export interface RecommendRequest {
  /** The caller's id of the sequence (a string or a number), echoed back. */
  id: string | number;
  /** The sequence's items as given (names or ids), oldest first. */
  items: (string | number)[];
  /** 1-based line of the request in its file. */
  line: number;
}

const KEYS = ["id", "items"];

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

/**
 * Parse JSON Lines requests; `file` names the source in errors. Lines that
 * are empty or blank are skipped; any other line must be an object with
 * exactly the keys `id` (a string or a number) and `items` (a list of
 * strings and numbers), else a {@linkcode DataError} names the file and the
 * line.
 *
 * @example
 * ```ts
 * import { parseRequests } from "./requests.ts";
 * const rs = parseRequests('{"id": "s1", "items": ["tea", "mug"]}\n\n{"id": 2, "items": [5]}\n', "in.jsonl");
 * if (rs.length !== 2 || rs[1].id !== 2 || rs[1].line !== 3 || rs[0].items[1] !== "mug") throw new Error();
 * let msg = "";
 * try { parseRequests('{"id": 1, "items": [1]}\n{"id": 2, "item": [1]}\n', "in.jsonl"); } catch (e) { msg = String(e); }
 * if (!msg.includes("in.jsonl:2: expected")) throw new Error(msg);
 * ```
 */
export function parseRequests(text: string, file: string): RecommendRequest[] {
  const lines = text.split(/\r\n|\r|\n/);
  const out: RecommendRequest[] = [];
  const expected = 'a JSON object {"id": ..., "items": [...]}';
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (e) {
      throw new DataError(
        file,
        line,
        expected,
        `invalid JSON (${(e as Error).message})`,
      );
    }
    if (!v || typeof v !== "object" || Array.isArray(v)) {
      throw new DataError(file, line, expected, show(v));
    }
    const obj = v as Record<string, unknown>;
    const extra = Object.keys(obj).find((k) => !KEYS.includes(k));
    if (extra !== undefined) {
      throw new DataError(
        file,
        line,
        `only the keys "id" and "items"`,
        `key ${JSON.stringify(extra)}`,
      );
    }
    const id = obj.id;
    if (typeof id !== "string" && typeof id !== "number") {
      throw new DataError(
        file,
        line,
        `"id" a string or a number`,
        id === undefined ? "no id" : show(id),
      );
    }
    const items = obj.items;
    if (!Array.isArray(items)) {
      throw new DataError(
        file,
        line,
        `"items" a list of item names or ids`,
        items === undefined ? "no items" : show(items),
      );
    }
    const bad = items.findIndex((x) =>
      typeof x !== "string" && (typeof x !== "number" || !Number.isFinite(x))
    );
    if (bad >= 0) {
      throw new DataError(
        file,
        line,
        `"items" entries that are strings or numbers`,
        `${show(items[bad])} (entry ${bad + 1})`,
      );
    }
    out.push({ id, items, line });
  });
  return out;
}
