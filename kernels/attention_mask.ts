/**
 * WGSL of SASRec's additive attention mask from the ids, the body of a tfjs
 * WebGPU program (tfjs adds the bindings `ids`, `result` and `uniforms`),
 * used by `lib/backend/attention_mask.ts`: output `[B, 1, Q, L]`, 0 where
 * query i = L - Q + q may see key j (j <= i and ids[b, j] != 0), -1e9
 * elsewhere. One output element per invocation.
 *
 * @module
 */

/** Uniforms the program declares (after tfjs's own). */
export const ATTENTION_MASK_UNIFORMS = "seqLen : i32, queries : i32,";

/** The mask kernel's body. */
export const ATTENTION_MASK_WGSL: string = /* wgsl */ `
fn main(index : i32) {
  if (index < uniforms.size) {
    let L = uniforms.seqLen;
    let j = index % L;
    let rq = index / L;             // b * queries + q
    let q = rq % uniforms.queries;
    let b = rq / uniforms.queries;
    let i = L - uniforms.queries + q;
    var v = -1.0e9;
    if (j <= i && ids[b * L + j] != 0) { v = 0.0; }
    setOutputAtIndex(index, v);
  }
}`;
