/**
 * Optimisers (optax-style gradient transformations) and steppers.
 *
 * @module
 */
export * from "./transform.ts";
export * from "./stepper.ts";
export * from "./meta.ts";
export * from "./deferred.ts";
export * from "./schedule.ts";
