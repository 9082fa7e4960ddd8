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

/**
 * A whole WGSL compute shader (no tfjs wrapper) for the in-place Adam step
 * of one tensor: the parameter `p` and the moments `m`, `v` are
 * `read_write` storage and are written over with
 *
 *   m' = m * b1 + g * (1 - b1)
 *   v' = v * b2 + (g * g) * (1 - b2)
 *   p' = p + (-lr) * ((m' / c1) / (sqrt(v' / c2) + eps) [+ p * wd])
 *
 * in the f32 operation order of `adamWgsl` plus the add of the update.
 * Bindings: 0 p, 1 m, 2 v, 3 g, then (`gated`) 4 gate, then the uniforms
 * ({@linkcode ADAM_INPLACE_UNIFORMS}, in that order). With a gate, an
 * invocation whose `gate[0]` is not above 0.5 writes nothing. One
 * invocation per element, 64 per workgroup; workgroups laid out on x then
 * y (`uniforms.rowGroups` per row) so that large tensors stay within the
 * per-dimension dispatch limit.
 *
 * @example
 * ```ts
 * import { adamInPlaceWgsl } from "./adam.ts";
 * const s = adamInPlaceWgsl(true, true);
 * if (!s.includes("p[i] * u.wd") || !s.includes("gate")) throw new Error();
 * if (adamInPlaceWgsl(false, false).includes("u.wd")) throw new Error();
 * ```
 */
export function adamInPlaceWgsl(decay: boolean, gated: boolean): string {
  const gate = gated
    ? "@group(0) @binding(4) var<storage, read> gate : array<f32>;\n"
    : "";
  const at = gated ? 5 : 4;
  return /* wgsl */ `
struct Uniforms {
  b1 : f32, nb1 : f32, b2 : f32, nb2 : f32, c1 : f32, c2 : f32,
  eps : f32, wd : f32, nlr : f32, size : u32, rowGroups : u32, pad : u32,
};
@group(0) @binding(0) var<storage, read_write> p : array<f32>;
@group(0) @binding(1) var<storage, read_write> m : array<f32>;
@group(0) @binding(2) var<storage, read_write> v : array<f32>;
@group(0) @binding(3) var<storage, read> g : array<f32>;
${gate}@group(0) @binding(${at}) var<uniform> u : Uniforms;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id : vec3<u32>) {
  let i = id.x + id.y * u.rowGroups * 64u;
  if (i >= u.size) { return; }
  ${gated ? "if (!(gate[0] > 0.5)) { return; }" : ""}
  let mt = m[i] * u.b1 + g[i] * u.nb1;
  let vt = v[i] * u.b2 + (g[i] * g[i]) * u.nb2;
  var x = (mt / u.c1) / (sqrt(vt / u.c2) + u.eps);
  ${decay ? "x = x + p[i] * u.wd;" : ""}
  let y = x * u.nlr;
  m[i] = mt;
  v[i] = vt;
  p[i] = p[i] + y;
}`;
}

/** The uniforms of `adamInPlaceWgsl`, in binding order (f32 then u32). */
export const ADAM_INPLACE_UNIFORMS = [
  "b1",
  "nb1",
  "b2",
  "nb2",
  "c1",
  "c2",
  "eps",
  "wd",
  "nlr",
  "size",
  "rowGroups",
  "pad",
] as const;
