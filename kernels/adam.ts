/**
 * WGSL of the fused Adam step, the body of a tfjs WebGPU program (tfjs adds
 * the bindings of the inputs it reads, `result` and `uniforms`), used by
 * `lib/backend/adam_kernel.ts`; see there for the equations. The operation
 * order is that of the composed tfjs ops (`scaleByAdam`,
 * `addDecayedWeights`, `scale`).
 *
 * @module
 */

/** Uniforms the program declares (after tfjs's own). */
export const ADAM_UNIFORMS =
  "b1 : f32, nb1 : f32, b2 : f32, nb2 : f32, c1 : f32, c2 : f32, eps : f32, wd : f32, nlr : f32,";

/**
 * The body computing m' (which 0, reads g, m), v' (1: g, v) or the update
 * (2: g, m, v, and p when `decay`); `gated` adds the input `gate`: where
 * `gate[0]` is 0 the moments pass through and the update is 0.
 *
 * @example
 * ```ts
 * import { adamWgsl } from "./adam.ts";
 * if (!adamWgsl(2, true).includes("p[index]")) throw new Error();
 * if (adamWgsl(2, false).includes("p[index]")) throw new Error();
 * ```
 */
export function adamWgsl(
  which: number,
  decay: boolean,
  gated = false,
): string {
  const m = "(m[index] * uniforms.b1 + g[index] * uniforms.nb1)";
  const v = "(v[index] * uniforms.b2 + (g[index] * g[index]) * uniforms.nb2)";
  const body = which === 0 ? `let y = ${m};` : which === 1 ? `let y = ${v};` : `
    let mt = ${m};
    let vt = ${v};
    var x = (mt / uniforms.c1) / (sqrt(vt / uniforms.c2) + uniforms.eps);
    ${decay ? "x = x + p[index] * uniforms.wd;" : ""}
    let y = x * uniforms.nlr;`;
  // A closed gate (0) keeps the moments and gives a zero update; select()
  // picks without arithmetic, so a NaN gradient does not leak through.
  const keep = which === 0 ? "m[index]" : which === 1 ? "v[index]" : "0.0";
  const out = gated ? `select(${keep}, y, gate[0] > 0.5)` : "y";
  return /* wgsl */ `
fn main(index : i32) {
  if (index < uniforms.size) {
    ${body}
    setOutputAtIndex(index, ${out});
  }
}`;
}
