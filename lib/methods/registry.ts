/**
 * The method registry. A method is one file: it calls
 * {@linkcode defineMethod} with its name, a one-line summary, its paper, its
 * own config keys (default, check, doc) and its builder; the method list, the
 * CLI's help, config checking and the README's key table are derived from
 * what is registered here.
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import type { TrainConfig } from "../training/config.ts";
import type { Model } from "../training/model.ts";
import type { KeySpecsOf } from "../util/keys.ts";
import type { Rng } from "../util/rng.ts";

/**
 * The config a method's builder gets: the common and encoder keys, and its
 * own settings `C` (its keys and its key groups').
 */
export type MethodConfig<C> = TrainConfig & C;

/** A problem found by a method's cross-key check: `[key, expected, found]`. */
export type KeyProblem = [key: string, expected: string, found: string];

/**
 * A named training regime of a method (`--preset NAME`): settings applied
 * over the defaults and under every other setting (file, flags), and what
 * still differs from the regime it names.
 */
export interface Preset {
  /** One line: whose regime this is. */
  readonly summary: string;
  /** Key -> value, every key one that applies to the method's runs. */
  readonly values: { readonly [key: string]: unknown };
  /** What still differs from the regime it names, one line each. */
  readonly differences: readonly string[];
}

/** A method: what it is, its keys, and how to build its model. */
export interface MethodDef<
  C = Record<string, unknown>,
  M extends Model = Model,
> {
  /** The `--method` name. */
  readonly name: string;
  /** One line for help and the README. */
  readonly summary: string;
  /** The paper it follows (or "-"). */
  readonly paper: string;
  /**
   * Its config keys: its own, and the named key groups it includes (spread
   * in, e.g. `...CONTRASTIVE_KEYS`).
   */
  readonly keys: KeySpecsOf<C>;
  /**
   * Its named regimes (`--preset NAME`), e.g. `paper`: its paper's own
   * training regime.
   */
  readonly presets?: { readonly [name: string]: Preset };
  /** A check across keys, run after every key is checked on its own. */
  validate?(cfg: MethodConfig<C>): KeyProblem | null;
  /** Build the trainable model. */
  build(cfg: MethodConfig<C>, split: SplitDataset, rng: Rng): M;
}

// The registry forgets each method's config type: configs reach a builder
// only after `resolveConfig` checked them against that method's keys.
const REGISTRY = new Map<string, MethodDef<unknown, Model>>();

/**
 * Register a method and return it (typed, so its builder can be called
 * with its own config). A name can be registered once.
 *
 * @example
 * ```ts
 * import { defineMethod, getMethod } from "./registry.ts";
 * import { posInt } from "../util/keys.ts";
 * const m = defineMethod({
 *   name: "doc_example_method",
 *   summary: "an example",
 *   paper: "-",
 *   keys: { width: posInt(3, "A width.") },
 *   build: () => { throw new Error("not built here"); },
 * });
 * if (getMethod("doc_example_method") !== m || m.keys.width.default !== 3) throw new Error();
 * ```
 */
export function defineMethod<C, M extends Model>(
  def: MethodDef<C, M>,
): MethodDef<C, M> {
  if (!/^[a-z][a-z0-9_-]*$/.test(def.name)) {
    throw new Error(
      `defineMethod: expected a lower-case name, found '${def.name}'`,
    );
  }
  const had = REGISTRY.get(def.name);
  if (had && had !== def) {
    throw new Error(
      `defineMethod: expected a new method name, found '${def.name}' registered already`,
    );
  }
  REGISTRY.set(def.name, def as MethodDef<unknown, Model>);
  return def;
}

/**
 * The registered method of that name, or undefined.
 *
 * @example
 * ```ts
 * import { getMethod } from "./registry.ts";
 * if (getMethod("no such method") !== undefined) throw new Error();
 * ```
 */
export function getMethod(name: string): MethodDef<unknown> | undefined {
  return REGISTRY.get(name);
}

/**
 * Every registered method, in registration order.
 *
 * @example
 * ```ts
 * import { methods } from "./mod.ts";
 * if (!methods().some((m) => m.name === "srma")) throw new Error();
 * ```
 */
export function methods(): MethodDef<unknown>[] {
  return [...REGISTRY.values()];
}
