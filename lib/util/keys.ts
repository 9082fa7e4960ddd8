/**
 * Config key declarations: each key has a default, a check of its values and
 * a one-line doc. Parts of a run (the common settings, an encoder, a method,
 * a group of keys several methods share) declare their keys with these
 * constructors; the config type of a part is derived from its declarations
 * ({@linkcode ConfigOf}), so a key is written once.
 *
 * @module
 */

/** One config key: its default, what values it takes, and its doc. */
export interface KeySpec<T> {
  /** The value when the key is not set. */
  readonly default: T;
  /** What the key takes, for messages and help (e.g. "a positive integer"). */
  readonly expects: string;
  /** Whether `v` is a valid value. */
  readonly valid: (v: unknown) => boolean;
  /** One line (or a few) saying what the key does. */
  readonly doc: string;
}

/** Named key declarations. */
export type KeySpecs = { readonly [key: string]: KeySpec<unknown> };

/**
 * The declarations of a config type: one {@linkcode KeySpec} per field, of
 * the field's type. A part declares its config as an interface (one
 * documented field per key) and its keys as `KeySpecsOf<ThatInterface>`:
 * the compiler then checks that the two agree, key by key.
 *
 * @example
 * ```ts
 * import { type KeySpecsOf, posInt } from "./keys.ts";
 * interface Blocks { layers: number }
 * const KEYS: KeySpecsOf<Blocks> = { layers: posInt(2, "Transformer blocks.") };
 * if (KEYS.layers.default !== 2) throw new Error();
 * ```
 */
export type KeySpecsOf<T> = { readonly [K in keyof T]-?: KeySpec<T[K]> };

/**
 * The config type of a set of declarations: each key with its value type.
 *
 * @example
 * ```ts
 * import { type ConfigOf, posInt } from "./keys.ts";
 * const KEYS = { layers: posInt(2, "Transformer blocks.") };
 * const cfg: ConfigOf<typeof KEYS> = { layers: 3 };
 * if (cfg.layers !== 3) throw new Error();
 * ```
 */
export type ConfigOf<S extends KeySpecs> = {
  -readonly [K in keyof S]: S[K] extends KeySpec<infer T> ? T : never;
};

/**
 * A key with its own check.
 *
 * @example
 * ```ts
 * import { key } from "./keys.ts";
 * const even = key(2, "an even integer", (v) => Number.isInteger(v) && (v as number) % 2 === 0, "Pairs.");
 * if (!even.valid(4) || even.valid(3)) throw new Error();
 * ```
 */
export function key<T>(
  def: T,
  expects: string,
  valid: (v: unknown) => boolean,
  doc: string,
): KeySpec<T> {
  const spec: KeySpec<T> = { default: def, expects, valid, doc };
  if (!valid(def)) {
    throw new Error(`key default ${JSON.stringify(def)} is not ${expects}`);
  }
  return Object.freeze(spec);
}

const isNum = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v);

/**
 * A positive integer key.
 *
 * @example
 * ```ts
 * import { posInt } from "./keys.ts";
 * const k = posInt(64, "Hidden size d.");
 * if (k.default !== 64 || k.valid(0) || k.valid(1.5) || !k.valid(8)) throw new Error();
 * ```
 */
export function posInt(
  def: number,
  doc: string,
): KeySpec<number> {
  return key(
    def,
    "a positive integer",
    (v) => Number.isInteger(v) && (v as number) > 0,
    doc,
  );
}

/**
 * A non-negative integer key.
 *
 * @example
 * ```ts
 * import { nonNegInt } from "./keys.ts";
 * const k = nonNegInt(0, "Bucket size.");
 * if (!k.valid(0) || k.valid(-1) || k.valid(0.5)) throw new Error();
 * ```
 */
export function nonNegInt(
  def: number,
  doc: string,
): KeySpec<number> {
  return key(
    def,
    "a non-negative integer",
    (v) => Number.isInteger(v) && (v as number) >= 0,
    doc,
  );
}

/**
 * An integer key (any sign).
 *
 * @example
 * ```ts
 * import { int } from "./keys.ts";
 * const k = int(42, "Seed.");
 * if (!k.valid(-3) || k.valid(0.5)) throw new Error();
 * ```
 */
export function int(
  def: number,
  doc: string,
): KeySpec<number> {
  return key(def, "an integer", (v) => Number.isInteger(v), doc);
}

/**
 * A positive finite number key.
 *
 * @example
 * ```ts
 * import { posNum } from "./keys.ts";
 * const k = posNum(1e-3, "Learning rate.");
 * if (k.valid(0) || k.valid(Infinity) || !k.valid(0.5)) throw new Error();
 * ```
 */
export function posNum(
  def: number,
  doc: string,
): KeySpec<number> {
  return key(def, "a positive number", (v) => isNum(v) && v > 0, doc);
}

/**
 * A non-negative finite number key.
 *
 * @example
 * ```ts
 * import { nonNeg } from "./keys.ts";
 * const k = nonNeg(0, "Weight decay.");
 * if (k.valid(-1) || !k.valid(0) || k.valid(NaN)) throw new Error();
 * ```
 */
export function nonNeg(
  def: number,
  doc: string,
): KeySpec<number> {
  return key(
    def,
    "a non-negative number",
    (v) => isNum(v) && v >= 0,
    doc,
  );
}

/**
 * A rate in [0, 1).
 *
 * @example
 * ```ts
 * import { rate } from "./keys.ts";
 * const k = rate(0.5, "Dropout.");
 * if (k.valid(1) || !k.valid(0) || k.valid(-0.1)) throw new Error();
 * ```
 */
export function rate(
  def: number,
  doc: string,
): KeySpec<number> {
  return key(
    def,
    "a number in [0, 1)",
    (v) => isNum(v) && v >= 0 && v < 1,
    doc,
  );
}

/**
 * A share in (0, 1].
 *
 * @example
 * ```ts
 * import { share } from "./keys.ts";
 * const k = share(0.6, "Crop keeps this share.");
 * if (k.valid(0) || !k.valid(1)) throw new Error();
 * ```
 */
export function share(
  def: number,
  doc: string,
): KeySpec<number> {
  return key(
    def,
    "a number in (0, 1]",
    (v) => isNum(v) && v > 0 && v <= 1,
    doc,
  );
}

/**
 * A string key.
 *
 * @example
 * ```ts
 * import { str } from "./keys.ts";
 * const k = str("", "Data file.");
 * if (!k.valid("a.txt") || k.valid(3)) throw new Error();
 * ```
 */
export function str(
  def: string,
  doc: string,
): KeySpec<string> {
  return key(def, "a string", (v) => typeof v === "string", doc);
}

/**
 * A boolean key.
 *
 * @example
 * ```ts
 * import { bool } from "./keys.ts";
 * const k = bool(true, "Stack the views.");
 * if (!k.valid(false) || k.valid("true")) throw new Error();
 * ```
 */
export function bool(
  def: boolean,
  doc: string,
): KeySpec<boolean> {
  return key(def, "true or false", (v) => typeof v === "boolean", doc);
}

/**
 * A key taking one of a few strings; its type is their union.
 *
 * @example
 * ```ts
 * import { choice } from "./keys.ts";
 * const k = choice(["ce", "bce"], "ce", "Training regime.");
 * const regime: "ce" | "bce" = k.default;
 * if (regime !== "ce" || k.valid("mse") || k.expects !== "one of 'ce', 'bce'") throw new Error();
 * ```
 */
export function choice<const T extends string>(
  values: readonly T[],
  def: NoInfer<T>,
  doc: string,
): KeySpec<T> {
  return key<T>(
    def,
    `one of ${values.map((x) => `'${x}'`).join(", ")}`,
    (v) => (values as readonly unknown[]).includes(v),
    doc,
  );
}

/**
 * The defaults of a set of declarations.
 *
 * @example
 * ```ts
 * import { defaultsOf, posInt, rate } from "./keys.ts";
 * const d = defaultsOf({ layers: posInt(2, "Blocks."), dropout: rate(0.5, "Dropout.") });
 * if (d.layers !== 2 || d.dropout !== 0.5) throw new Error();
 * ```
 */
export function defaultsOf<S extends KeySpecs>(specs: S): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(specs)) out[k] = s.default;
  return out as ConfigOf<S>;
}

/**
 * Edit distance (insertions, deletions, substitutions, adjacent swaps)
 * between two strings: how the nearest known key of a misspelt one is found.
 *
 * @example
 * ```ts
 * import { editDistance } from "./keys.ts";
 * if (editDistance("lrr", "lr") !== 1 || editDistance("hiden", "hidden") !== 1) throw new Error();
 * if (editDistance("ab", "ba") !== 1 || editDistance("", "abc") !== 3) throw new Error();
 * ```
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : i),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate nearest to `name` by {@linkcode editDistance}, ignoring
 * case (ties: the first).
 *
 * @example
 * ```ts
 * import { nearest } from "./keys.ts";
 * if (nearest("lrr", ["hidden", "lr", "layers"]) !== "lr") throw new Error();
 * if (nearest("HIDDEN", ["heads", "hidden"]) !== "hidden") throw new Error();
 * ```
 */
export function nearest(
  name: string,
  candidates: Iterable<string>,
): string | undefined {
  let best: string | undefined, bestD = Infinity;
  const low = name.toLowerCase();
  for (const c of candidates) {
    const dist = editDistance(low, c.toLowerCase());
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return best;
}
