/**
 * WGSL of counter-based dropout, the body of a tfjs WebGPU program (tfjs
 * adds the bindings `x`, `result` and `uniforms`, `setOutputAtIndex` and the
 * entry point), used by `lib/backend/counter_dropout.ts`; see there for the
 * generator. `pcgHash` is, in bits, that module's TypeScript `pcgHash`:
 * wrapping u32 multiplies, shifts and xors.
 *
 * @module
 */

/** Uniforms the program declares (after tfjs's own). */
export const COUNTER_DROPOUT_UNIFORMS =
  "key : u32, threshold : u32, scale : f32,";

/** The PCG-RXS-M-XS hash in WGSL. */
export const PCG_HASH_WGSL: string = /* wgsl */ `
fn pcgHash(v : u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}`;

/** y = keep(index) ? x * scale : 0, one element per invocation. */
export const COUNTER_DROPOUT_WGSL: string = /* wgsl */ `
${PCG_HASH_WGSL}
fn main(index : i32) {
  if (index < uniforms.size) {
    let h = pcgHash(pcgHash(u32(index)) ^ uniforms.key);
    var y = 0.0;
    if (h >= uniforms.threshold) { y = x[index] * uniforms.scale; }
    setOutputAtIndex(index, y);
  }
}`;
