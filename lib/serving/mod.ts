/**
 * Serving a trained model: its items by their original names, and the model
 * rebuilt from its checkpoint alone for scoring new sequences.
 *
 * @module
 */
export * from "./catalogue.ts";
export * from "./load.ts";
export * from "./export.ts";
export * from "./requests.ts";
export * from "./respond.ts";
