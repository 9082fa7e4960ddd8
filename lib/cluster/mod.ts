/**
 * Clustering blocks: Sinkhorn-Knopp equal-partition targets (TypeScript and
 * WGSL), the online clustering layer against prototypes, and seeded K-means.
 *
 * @module
 */
export * from "./sinkhorn.ts";
export * from "./sinkhorn_gpu.ts";
export * from "./online.ts";
export * from "./kmeans.ts";
