/**
 * Full-ranking evaluation: ranks, metrics, recommendations.
 *
 * @module
 */
export * from "./metrics.ts";
export * from "./item_popularity.ts";
export * from "./beyond.ts";
export * from "./rank.ts";
export * from "./evaluate.ts";
export * from "./recommend.ts";
export * from "./stream.ts";
export * from "./popular.ts";
export * from "./cluster_report.ts";
export * from "./format.ts";
