/**
 * Choosing and starting a tfjs compute backend.
 *
 * `auto` picks WebGPU only when Deno's `navigator.gpu` offers a hardware
 * adapter; a software adapter (Mesa lavapipe/llvmpipe, or one flagged as a
 * fallback) is slower than wasm on a CPU, so `auto` then picks `wasm`.
 *
 * On `wasm`, matrix products run through a native OpenBLAS library when one
 * can be loaded (`--allow-ffi` granted and e.g. Debian's
 * `libopenblas0-pthread` installed; see `native_blas.ts`); otherwise, and with
 * `{ nativeBlas: false }`, tfjs's own wasm kernels run, silently.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { registerKernelFixes } from "./kernel_fixes.ts";
import { captureConsole } from "./_capture_console.ts";
import { loadNativeBlas, type NativeBlas } from "./openblas.ts";
import { registerNativeMatMul, unregisterNativeMatMul } from "./native_blas.ts";
import { type AdapterProbe, probeWebGpu } from "./webgpu_probe.ts";

export { type AdapterProbe, probeWebGpu } from "./webgpu_probe.ts";

/** The backends seqssl can run on. */
export type BackendName = "auto" | "webgpu" | "wasm" | "cpu";

/**
 * All accepted backend names.
 *
 * @example
 * ```ts
 * import { BACKEND_NAMES } from "./init.ts";
 * if (BACKEND_NAMES.join() !== "auto,webgpu,wasm,cpu") throw new Error(BACKEND_NAMES.join());
 * ```
 */
export const BACKEND_NAMES: readonly BackendName[] = [
  "auto",
  "webgpu",
  "wasm",
  "cpu",
];

/** What {@linkcode initBackend} chose and why. */
export interface BackendInfo {
  /** The backend now active in tfjs. */
  name: Exclude<BackendName, "auto">;
  /** What was asked for. */
  requested: BackendName;
  /** A WebGPU adapter's description, when one was found. */
  adapter?: string;
  /** Whether that adapter is a software (CPU) one. */
  softwareAdapter?: boolean;
  /** The OpenBLAS library that runs matmuls on `wasm`, when one does. */
  nativeBlas?: string;
  /** One line on why this backend was chosen (and whether BLAS is used). */
  reason: string;
}

/** Options of {@linkcode initBackend}. */
export interface InitBackendOptions {
  /**
   * On `wasm`, run matmuls through a native OpenBLAS when one loads (needs
   * `--allow-ffi`). Default true; false keeps tfjs's wasm kernels.
   */
  nativeBlas?: boolean;
  /** OpenBLAS threads; default: OpenBLAS's own (`OPENBLAS_NUM_THREADS` or all cores). */
  blasThreads?: number;
}

const INIT_OPTION_KEYS = ["nativeBlas", "blasThreads"];

let blasLib: NativeBlas | undefined;
let blasTried = false;

/** Load OpenBLAS once per process (undefined if it cannot be loaded). */
function sharedBlas(): NativeBlas | undefined {
  if (!blasTried) {
    blasTried = true;
    blasLib = loadNativeBlas();
  }
  return blasLib;
}

let banner = false;

/**
 * Start a tfjs backend and apply seqssl's kernel fixes. Call once, before any
 * tensor op. Returns what was chosen; `auto` prefers a hardware WebGPU adapter,
 * then wasm. On wasm, matmuls use native OpenBLAS when available (see
 * {@linkcode InitBackendOptions}).
 *
 * @example
 * ```ts
 * import { initBackend } from "./init.ts";
 * const info = await initBackend("cpu");
 * if (info.name !== "cpu") throw new Error();
 * ```
 */
export async function initBackend(
  requested: BackendName = "auto",
  opts: InitBackendOptions = {},
): Promise<BackendInfo> {
  for (const key of Object.keys(opts)) {
    if (!INIT_OPTION_KEYS.includes(key)) {
      throw new Error(
        `initBackend: expected options among ${
          INIT_OPTION_KEYS.join(", ")
        }, found '${key}'`,
      );
    }
  }
  const { blasThreads } = opts;
  if (
    blasThreads !== undefined &&
    (!Number.isInteger(blasThreads) || blasThreads < 1)
  ) {
    throw new Error(
      `initBackend: expected blasThreads to be a positive integer, found ${blasThreads}`,
    );
  }
  if (!BACKEND_NAMES.includes(requested)) {
    throw new Error(
      `backend: expected one of ${
        BACKEND_NAMES.join(", ")
      }, found '${requested}'`,
    );
  }
  if (!banner) {
    // tfjs's Node build prints a banner that suggests tfjs-node; silence it.
    tf.env().set("PROD", true);
    banner = true;
  }
  registerKernelFixes();
  let name: Exclude<BackendName, "auto">;
  let reason: string;
  let probe: AdapterProbe | undefined;
  if (requested === "auto") {
    probe = await probeWebGpu();
    if (probe && !probe.software) {
      name = "webgpu";
      reason = `hardware WebGPU adapter: ${probe.description}`;
    } else {
      name = "wasm";
      reason = probe
        ? `software WebGPU adapter (${probe.description}) is slower than wasm here`
        : "no WebGPU adapter";
    }
  } else {
    name = requested;
    reason = "requested";
    if (name === "webgpu") {
      probe = await probeWebGpu();
      if (!probe) {
        throw new Error(
          "backend 'webgpu': expected a WebGPU adapter from navigator.gpu, found none " +
            "(install a GPU driver, or Mesa's lavapipe: apt-get install mesa-vulkan-drivers)",
        );
      }
    }
  }
  // tfjs-wasm prints emscripten's "Aborted(...)" lines when it cannot read
  // its .wasm files: hold them back, and say what is missing in one line.
  const { value: ok, lines } = await captureConsole(() => tf.setBackend(name));
  if (!ok) {
    const denied = lines.join("\n").match(/Requires read access to "([^"]+)"/);
    if (denied) {
      const dir = denied[1].replace(/[\\/][^\\/]*$/, "");
      throw new Error(
        `backend '${name}': expected read access to tfjs's WebAssembly ` +
          `binary ${
            denied[1]
          }, found none; grant it with --allow-read=${dir} ` +
          `(README, Least privilege) or use another --backend`,
      );
    }
    for (const line of lines) console.warn(line);
    throw new Error(`backend '${name}': tfjs failed to initialise it`);
  }
  for (const line of lines) console.warn(line);
  await tf.ready();
  let nativeBlas: string | undefined;
  if (name === "wasm") {
    const blas = opts.nativeBlas === false ? undefined : sharedBlas();
    if (blas !== undefined && registerNativeMatMul(blas)) {
      if (blasThreads !== undefined) blas.setThreads(blasThreads);
      nativeBlas = blas.path;
      reason += `; matmul via native OpenBLAS (${blas.path})`;
    } else {
      unregisterNativeMatMul();
    }
  }
  return {
    name,
    requested,
    adapter: probe?.description,
    softwareAdapter: probe?.software,
    nativeBlas,
    reason,
  };
}
