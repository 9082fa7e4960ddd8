/**
 * Private: which positions insert and substitute act on.
 *
 * @module
 */
import type { Rng } from "../util/rng.ts";
import { fractionOf, sampleDistinct } from "./_util.ts";

/**
 * Flags (1 = chosen) for `max(1, floor(rate * m))` distinct positions drawn
 * uniformly among the m positions of `seq` holding a real item (1..numItems;
 * padding and mask tokens are never chosen); none when `rate` is 0 or m is 0.
 */
export function chooseItemPositions(
  seq: Int32Array,
  opts: { rate: number; numItems: number; rng: Rng },
): Uint8Array {
  const { rate, numItems, rng } = opts;
  const flags = new Uint8Array(seq.length);
  let m = 0;
  const pool = new Int32Array(seq.length);
  for (let i = 0; i < seq.length; i++) {
    if (seq[i] >= 1 && seq[i] <= numItems) pool[m++] = i;
  }
  if (rate === 0 || m === 0) return flags;
  const k = Math.max(1, fractionOf(rate, m));
  for (const p of sampleDistinct(pool.subarray(0, m), k, rng)) flags[p] = 1;
  return flags;
}
