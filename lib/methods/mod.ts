/**
 * Methods: each is one file that registers a short recipe of blocks
 * ({@linkcode defineMethod}) building a trainable `Model` from a config, a
 * split and a generator. Importing this module registers the built-in
 * methods, in this order.
 *
 * @module
 */
export * from "./registry.ts";
export * from "./next_item.ts";
export * from "./views.ts";
export * from "./sasrec.ts";
export * from "./contrastive.ts";
export * from "./cl4srec.ts";
export * from "./srma.ts";
export * from "./mclrec.ts";
export * from "./s4rec.ts";
export * from "./build.ts";
export * from "./paper_regimes.ts";
