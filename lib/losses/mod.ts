/**
 * Losses: next-item objectives and sequence embeddings.
 *
 * @module
 */
export * from "./rec.ts";
