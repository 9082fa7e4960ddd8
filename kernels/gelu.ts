/**
 * WGSL of the fused GELU and its gradient, bodies of tfjs WebGPU programs
 * (one element per invocation), used by `lib/backend/gelu_kernel.ts`:
 *
 *   y  = x Phi(x),   Phi(x) = (1 + erf(x / sqrt 2)) / 2
 *   dx = dy (Phi(x) + x phi(x)),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
 *
 * erf is the Abramowitz and Stegun 7.1.26 approximation (absolute error
 * under 1.5e-7) with tfjs's own constants, the one tfjs's `erf` runs on
 * webgpu, so the fused op computes what the composed one does there.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

const u = tf.backend_util;

/** erf in WGSL, tfjs's webgpu approximation. */
const ERF_WGSL = /* wgsl */ `
fn erfApprox(a : f32) -> f32 {
  let t = 1.0 / (1.0 + ${u.ERF_P} * abs(a));
  let poly = ((((${u.ERF_A5} * t + ${u.ERF_A4}) * t + ${u.ERF_A3}) * t +
    ${u.ERF_A2}) * t + ${u.ERF_A1}) * t;
  return sign(a) * (1.0 - poly * exp(-a * a));
}`;

/** Forward, one element per invocation. */
export const GELU_WGSL: string = /* wgsl */ `${ERF_WGSL}
fn main(index : i32) {
  if (index < uniforms.size) {
    let v = x[index];
    setOutputAtIndex(index, 0.5 * v * (1.0 + erfApprox(v * ${Math.SQRT1_2})));
  }
}`;

/** Gradient, one element per invocation. */
export const GELU_GRAD_WGSL: string = /* wgsl */ `${ERF_WGSL}
fn main(index : i32) {
  if (index < uniforms.size) {
    let v = x[index];
    let cdf = 0.5 * (1.0 + erfApprox(v * ${Math.SQRT1_2}));
    let pdf = ${1 / Math.sqrt(2 * Math.PI)} * exp(-0.5 * v * v);
    setOutputAtIndex(index, dy[index] * (cdf + v * pdf));
  }
}`;
