/**
 * Looking for a WebGPU adapter without starting any backend (and without
 * importing tfjs): what `initBackend`'s `auto` decides on, and what the
 * WebGPU tests and examples check before they run.
 *
 * @module
 */

/** Description of a WebGPU adapter, as far as seqssl needs it. */
export interface AdapterProbe {
  /** Adapter description (vendor/device), or "" if none. */
  description: string;
  /** True for lavapipe/llvmpipe/SwiftShader or `isFallbackAdapter`. */
  software: boolean;
}

/**
 * Look for a WebGPU adapter (hardware or software) without starting any
 * backend; undefined when `navigator.gpu` offers none.
 *
 * @example
 * ```ts
 * import { probeWebGpu } from "./webgpu_probe.ts";
 * const probe = await probeWebGpu();
 * const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
 * if (gpu === undefined && probe !== undefined) {
 *   throw new Error("expected no adapter without navigator.gpu");
 * }
 * if (probe && /lavapipe|llvmpipe/i.test(probe.description) && !probe.software) {
 *   throw new Error(`expected ${probe.description} to count as software`);
 * }
 * ```
 */
export async function probeWebGpu(): Promise<AdapterProbe | undefined> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return undefined;
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch {
    return undefined;
  }
  if (!adapter) return undefined;
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const description = [
    info.vendor,
    info.architecture,
    info.device,
    info.description,
  ]
    .filter((s) => s && s.length > 0).join(" ");
  const fallback = info.isFallbackAdapter === true ||
    (adapter as GPUAdapter & { isFallbackAdapter?: boolean })
        .isFallbackAdapter === true;
  const software = fallback ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(description);
  return { description, software };
}
