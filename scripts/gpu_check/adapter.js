// Prints the WebGPU adapter Deno sees, as one JSON line (no imports).
const gpu = globalThis.navigator?.gpu;
let out = { webgpu: false };
if (gpu) {
  try {
    const a = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (a) {
      const i = a.info ?? {};
      const description = [i.vendor, i.architecture, i.device, i.description]
        .filter((s) => s && String(s).length > 0).join(" ");
      out = {
        webgpu: true,
        description,
        vendor: i.vendor,
        architecture: i.architecture,
        device: i.device,
        driver: i.description,
        fallback: i.isFallbackAdapter === true,
        software: i.isFallbackAdapter === true ||
          /llvmpipe|lavapipe|swiftshader|software/i.test(description),
        maxBufferSize: a.limits.maxBufferSize,
        maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize,
      };
    }
  } catch (e) {
    out = { webgpu: false, error: String(e?.message ?? e) };
  }
}
console.log(JSON.stringify(out));
