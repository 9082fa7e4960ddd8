/**
 * Seeded random numbers. Every random choice in seqssl goes through an
 * {@linkcode Rng} so that the same seed gives the same numbers; library code
 * never calls `Math.random`.
 *
 * @module
 */
import seedrandom from "seedrandom";

/** Opaque, JSON-serialisable state of an {@linkcode Rng} (for checkpoints). */
export type RngState = Record<string, unknown>;

/** A seeded generator of uniform numbers with a saveable state. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A fresh 31-bit integer, e.g. a seed for a tfjs random op. */
  seed(): number;
  /** A copy of the generator's state; {@linkcode rngFromState} restores it. */
  state(): RngState;
}

/** The part of seedrandom's Alea generator we use (typed here, so we do not
 * depend on which `@types/seedrandom` version the checker picks). */
interface Alea {
  quick(): number;
  int32(): number;
  state(): object;
}
type AleaFactory = (seed: string, opts: { state: boolean | object }) => Alea;
const alea = (seedrandom as unknown as { alea: AleaFactory }).alea;

function wrap(prng: Alea): Rng {
  return {
    next: () => prng.quick(),
    int: (n: number) => Math.floor(prng.quick() * n),
    seed: () => (prng.int32() >>> 1),
    state: () => prng.state() as unknown as RngState,
  };
}

/**
 * A generator seeded by a number or string.
 *
 * @example
 * ```ts
 * import { makeRng } from "./rng.ts";
 * const a = makeRng(7), b = makeRng(7);
 * if (a.next() !== b.next()) throw new Error("not reproducible");
 * ```
 */
export function makeRng(seed: number | string): Rng {
  return wrap(alea(String(seed), { state: true }));
}

/**
 * Restore a generator from {@linkcode Rng.state}.
 *
 * @example
 * ```ts
 * import { makeRng, rngFromState } from "./rng.ts";
 * const a = makeRng(1);
 * a.next();
 * const b = rngFromState(a.state());
 * if (a.next() !== b.next()) throw new Error("state not restored");
 * ```
 */
export function rngFromState(state: RngState): Rng {
  return wrap(alea("", { state }));
}

/**
 * Shuffle an array in place (Fisher-Yates) and return it.
 *
 * @example
 * ```ts
 * import { makeRng, shuffle } from "./rng.ts";
 * const xs = shuffle([1, 2, 3, 4], makeRng(0));
 * if (xs.length !== 4) throw new Error();
 * ```
 */
export function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}
