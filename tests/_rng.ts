/**
 * Seeded random test data shared by the tests: a mulberry32 generator (no
 * dependency on the library's own generator, so kernel and backend tests
 * stand alone) and arrays drawn from it.
 *
 * @module
 */

/** A generator of floats in [0, 1). */
export type Uniform = () => number;

/**
 * mulberry32: a small seeded generator of floats in [0, 1).
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./_rng.ts";
 * const a = mulberry32(1), b = mulberry32(1), c = mulberry32(2);
 * const x = a();
 * if (x !== b() || x === c() || !(x >= 0 && x < 1)) throw new Error();
 * ```
 */
export function mulberry32(seed: number): Uniform {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` floats drawn uniformly from [lo, hi) (default [-1, 1)).
 *
 * @example
 * ```ts
 * import { mulberry32, randFloats } from "./_rng.ts";
 * const x = randFloats(100, mulberry32(3), 2, 5);
 * if (!x.every((v) => v >= 2 && v < 5) || x[0] === x[1]) throw new Error();
 * ```
 */
export function randFloats(
  n: number,
  r: Uniform,
  lo = -1,
  hi = 1,
): Float32Array {
  return Float32Array.from({ length: n }, () => lo + r() * (hi - lo));
}

/**
 * `n` integers drawn uniformly from [0, hi).
 *
 * @example
 * ```ts
 * import { mulberry32, randInts } from "./_rng.ts";
 * const x = randInts(200, 3, mulberry32(4));
 * if (new Set(x).size !== 3 || !x.every((v) => v >= 0 && v < 3)) throw new Error();
 * ```
 */
export function randInts(n: number, hi: number, r: Uniform): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(r() * hi));
}
