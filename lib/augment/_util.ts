/**
 * Private helpers of `lib/augment`: option checks, counts from fractions and
 * sampling distinct positions.
 *
 * @module
 */
import { ConfigError } from "../util/errors.ts";
import type { Rng } from "../util/rng.ts";

/** Throw a `ConfigError` for keys of `opts` that are not in `known`. */
export function checkKeys(
  where: string,
  opts: object,
  known: readonly string[],
): void {
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      throw new ConfigError(
        `${where}.${key}`,
        known.length > 0 ? `one of ${known.join(", ")}` : "no options",
        "an unknown key",
      );
    }
  }
}

/** Check `lo < x <= 1` (open) or `lo <= x <= 1` (closed). */
export function checkFraction(
  key: string,
  x: number,
  { open = false }: { open?: boolean } = {},
): void {
  const ok = typeof x === "number" && Number.isFinite(x) &&
    (open ? x > 0 : x >= 0) && x <= 1;
  if (!ok) {
    throw new ConfigError(
      key,
      open ? "a number in (0, 1]" : "a number in [0, 1]",
      String(x),
    );
  }
}

/**
 * `floor(frac * n)`, with a 1e-9 tolerance so that products a rounding error
 * below an integer (0.29 * 100 = 28.999999999999996) count as that integer.
 */
export function fractionOf(frac: number, n: number): number {
  return Math.floor(frac * n + 1e-9);
}

/**
 * `k` distinct values drawn uniformly from `pool` (partial Fisher-Yates on a
 * copy; `k` draws of `rng`). Returned in draw order.
 */
export function sampleDistinct(
  pool: Int32Array,
  k: number,
  rng: Rng,
): Int32Array {
  const a = pool.slice();
  const n = a.length;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a.subarray(0, k);
}

/** The positions `0..n-1`. */
export function range(n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  return r;
}
