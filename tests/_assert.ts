/**
 * Small assertion helpers for `Deno.test` (JSR's `@std/assert` is not
 * reachable here). Deep equality understands typed arrays, Maps, Sets, Dates
 * and plain objects; messages show what was expected and what was found.
 *
 * @module
 */

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  /** Build the error from its message. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

type Typed =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

function isTyped(x: unknown): x is Typed {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

function show(x: unknown): string {
  if (isTyped(x)) {
    const items = Array.from(x as ArrayLike<number | bigint>, String);
    const body = items.length > 40
      ? items.slice(0, 40).join(", ") + `, ... (${items.length} total)`
      : items.join(", ");
    return `${x.constructor.name} [${body}]`;
  }
  try {
    return Deno.inspect(x, { depth: 6, iterableLimit: 40 });
  } catch {
    return String(x);
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  // NaN equals NaN; +0 equals -0 (as in ===).
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** Where `a` and `b` first differ, or null if deeply equal. */
function diff(a: unknown, b: unknown, path: string): string | null {
  if (sameValue(a, b)) return null;
  if (
    typeof a !== "object" || typeof b !== "object" || a === null || b === null
  ) {
    return `${path || "value"}: ${show(a)} !== ${show(b)}`;
  }
  const ca = Object.getPrototypeOf(a)?.constructor;
  const cb = Object.getPrototypeOf(b)?.constructor;
  if (ca !== cb) {
    return `${path || "value"}: type ${ca?.name ?? "null"} !== ${
      cb?.name ?? "null"
    }`;
  }
  if (isTyped(a)) {
    const ta = a as ArrayLike<unknown>, tb = b as unknown as ArrayLike<unknown>;
    if (ta.length !== tb.length) {
      return `${path || "value"}: length ${ta.length} !== ${tb.length}`;
    }
    for (let i = 0; i < ta.length; i++) {
      if (!sameValue(ta[i], tb[i])) {
        return `${path}[${i}]: ${show(ta[i])} !== ${show(tb[i])}`;
      }
    }
    return null;
  }
  if (a instanceof Date) {
    return a.getTime() === (b as Date).getTime()
      ? null
      : `${path || "value"}: ${show(a)} !== ${show(b)}`;
  }
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) {
      return `${path || "value"}: length ${a.length} !== ${bb.length}`;
    }
    for (let i = 0; i < a.length; i++) {
      const d = diff(a[i], bb[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a instanceof Map) {
    const bm = b as Map<unknown, unknown>;
    if (a.size !== bm.size) {
      return `${path || "value"}: Map size ${a.size} !== ${bm.size}`;
    }
    for (const [k, v] of a) {
      if (!bm.has(k)) return `${path}.get(${show(k)}): missing on the right`;
      const d = diff(v, bm.get(k), `${path}.get(${show(k)})`);
      if (d) return d;
    }
    return null;
  }
  if (a instanceof Set) {
    const bs = b as Set<unknown>;
    if (a.size !== bs.size) {
      return `${path || "value"}: Set size ${a.size} !== ${bs.size}`;
    }
    for (const v of a) {
      if (!bs.has(v)) {
        return `${path || "value"}: Set element ${
          show(v)
        } missing on the right`;
      }
    }
    return null;
  }
  const oa = a as Record<string, unknown>, ob = b as Record<string, unknown>;
  const ka = Object.keys(oa).filter((k) => oa[k] !== undefined).sort();
  const kb = Object.keys(ob).filter((k) => ob[k] !== undefined).sort();
  for (const k of new Set([...ka, ...kb])) {
    if (!(k in oa) || oa[k] === undefined) {
      return `${path}.${k}: missing on the left`;
    }
    if (!(k in ob) || ob[k] === undefined) {
      return `${path}.${k}: missing on the right`;
    }
    const d = diff(oa[k], ob[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}

/**
 * Assert deep equality (typed arrays compared element-wise and by type).
 *
 * @example
 * ```ts
 * import { assertEquals } from "./_assert.ts";
 * assertEquals({ a: new Int32Array([1, 2]) }, { a: new Int32Array([1, 2]) });
 * ```
 */
export function assertEquals(
  actual: unknown,
  expected: unknown,
  msg?: string,
): void {
  const d = diff(actual, expected, "");
  if (d !== null) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ at ${d}\n  actual:   ${
        show(actual)
      }\n  expected: ${show(expected)}`,
    );
  }
}

/**
 * Assert that two values are NOT deeply equal.
 *
 * @example
 * ```ts
 * import { assertNotEquals } from "./_assert.ts";
 * assertNotEquals([1, 2], [2, 1]);
 * ```
 */
export function assertNotEquals(
  actual: unknown,
  expected: unknown,
  msg?: string,
): void {
  if (diff(actual, expected, "") === null) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected the values to differ, both are ${
        show(actual)
      }`,
    );
  }
}

/**
 * Assert that a condition holds.
 *
 * @example
 * ```ts
 * import { assert } from "./_assert.ts";
 * assert(1 < 2, "ordering");
 * ```
 */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

/**
 * Assert `|actual - expected| <= tolerance` (default 1e-7; absolute).
 *
 * @example
 * ```ts
 * import { assertAlmostEquals } from "./_assert.ts";
 * assertAlmostEquals(0.1 + 0.2, 0.3);
 * assertAlmostEquals(3.14, Math.PI, 0.01);
 * ```
 */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  msg?: string,
): void {
  if (actual === expected) return;
  const delta = Math.abs(actual - expected);
  if (!(delta <= tolerance)) {
    throw new AssertionError(
      `${
        msg ? msg + ": " : ""
      }expected ${actual} to be within ${tolerance} of ${expected}, difference is ${delta}`,
    );
  }
}

function checkError(
  e: unknown,
  // deno-lint-ignore no-explicit-any
  ErrorClass: (new (...args: any[]) => Error) | undefined,
  includes: string | undefined,
  msg: string | undefined,
): Error {
  const pre = msg ? msg + ": " : "";
  if (!(e instanceof Error)) {
    throw new AssertionError(
      `${pre}expected an Error to be thrown, found ${show(e)}`,
    );
  }
  const err: Error = e;
  const found = `${err.name}: ${err.message}`;
  if (ErrorClass && !(err instanceof ErrorClass)) {
    throw new AssertionError(
      `${pre}expected a ${ErrorClass.name}, found ${found}`,
    );
  }
  if (includes !== undefined && !e.message.includes(includes)) {
    throw new AssertionError(
      `${pre}expected the error message to contain ${
        JSON.stringify(includes)
      }, found ${JSON.stringify(e.message)}`,
    );
  }
  return e;
}

/**
 * Assert that `fn` throws; optionally check the class and that the message
 * contains a substring. Returns the error for further checks.
 *
 * @example
 * ```ts
 * import { assertThrows } from "./_assert.ts";
 * assertThrows(() => JSON.parse("{"), SyntaxError, "JSON");
 * assertThrows(() => { throw new Error("boom at line 3"); }, "line 3");
 * ```
 */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  classOrIncludes?: (new (...args: any[]) => Error) | string,
  includes?: string,
  msg?: string,
): Error {
  const [cls, inc] = typeof classOrIncludes === "string"
    ? [undefined, classOrIncludes]
    : [classOrIncludes, includes];
  try {
    fn();
  } catch (e) {
    return checkError(e, cls, inc, msg);
  }
  throw new AssertionError(
    `${msg ? msg + ": " : ""}expected the function to throw`,
  );
}

/**
 * Assert that the promise (or async function) rejects; optionally check the
 * class and that the message contains a substring. Resolves to the error.
 *
 * @example
 * ```ts
 * import { assertRejects } from "./_assert.ts";
 * await assertRejects(() => Promise.reject(new RangeError("too big")), RangeError, "big");
 * ```
 */
export async function assertRejects(
  fn: (() => PromiseLike<unknown>) | PromiseLike<unknown>,
  // deno-lint-ignore no-explicit-any
  classOrIncludes?: (new (...args: any[]) => Error) | string,
  includes?: string,
  msg?: string,
): Promise<Error> {
  const [cls, inc] = typeof classOrIncludes === "string"
    ? [undefined, classOrIncludes]
    : [classOrIncludes, includes];
  try {
    await (typeof fn === "function" ? fn() : fn);
  } catch (e) {
    return checkError(e, cls, inc, msg);
  }
  throw new AssertionError(
    `${msg ? msg + ": " : ""}expected the promise to reject`,
  );
}
