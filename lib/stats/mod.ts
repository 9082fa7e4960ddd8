/**
 * Statistics for results over seeds: mean ± std, and paired tests (t-test,
 * Wilcoxon signed-rank) of one variant against a baseline.
 *
 * @module
 */
export * from "./describe.ts";
export * from "./ttest.ts";
export * from "./wilcoxon.ts";
export * from "./paired.ts";
