// Options of the Sinkhorn-Knopp iteration, shared by the TypeScript and the
// WebGPU paths (private: re-exported by sinkhorn.ts).

/** Options of the Sinkhorn-Knopp iteration. */
export interface SinkhornOptions {
  /** Entropy weight epsilon (smaller = closer to a hard assignment). Default 0.05 (SwAV). */
  epsilon?: number;
  /** Iterations (each: columns, then rows). Default 3 (SwAV). */
  iterations?: number;
}

/** Validated options with their defaults. */
export function sinkhornOptions(
  opts: SinkhornOptions = {},
): Required<SinkhornOptions> {
  const epsilon = opts.epsilon ?? 0.05;
  const iterations = opts.iterations ?? 3;
  if (!(typeof epsilon === "number" && epsilon > 0 && isFinite(epsilon))) {
    throw new RangeError(
      `sinkhorn: expected a positive epsilon, found ${epsilon}`,
    );
  }
  if (!(Number.isInteger(iterations) && iterations >= 1)) {
    throw new RangeError(
      `sinkhorn: expected a positive integer number of iterations, found ${iterations}`,
    );
  }
  return { epsilon, iterations };
}
