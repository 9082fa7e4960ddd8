/**
 * Configuration: layers of settings resolved against the method registry,
 * legacy configs, YAML files with line numbers, help and the key table.
 *
 * @module
 */
export * from "./resolve.ts";
export * from "./legacy.ts";
export * from "./yaml_file.ts";
export * from "./describe.ts";
