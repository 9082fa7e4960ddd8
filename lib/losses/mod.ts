/**
 * Losses: next-item objectives, InfoNCE, combinators, sequence embeddings.
 *
 * @module
 */
export * from "./rec.ts";
export * from "./infonce.ts";
export * from "./combine.ts";
export * from "./distill.ts";
export * from "./regularizer.ts";
