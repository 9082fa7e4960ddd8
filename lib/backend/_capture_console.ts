/**
 * Private helper: run a function with `console.log/warn/error` captured,
 * so a failing library (emscripten's "Aborted(...)" lines from tfjs-wasm)
 * does not print its noise before seqssl's own one-line message.
 *
 * @module
 */

/**
 * Run `fn` with the console captured; returns its value and the captured
 * lines (which of log, warn or error printed them is not kept). The console is
 * restored however `fn` ends.
 *
 * @example
 * ```ts
 * import { captureConsole } from "./_capture_console.ts";
 * const { value, lines } = await captureConsole(() => {
 *   console.warn("noise", 1);
 *   return Promise.resolve(7);
 * });
 * if (value !== 7 || lines.join() !== "noise 1") throw new Error(lines.join());
 * ```
 */
export async function captureConsole<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; lines: string[] }> {
  const saved = { log: console.log, warn: console.warn, error: console.error };
  const lines: string[] = [];
  const keep = (...args: unknown[]) => {
    lines.push(args.map((a) => String(a)).join(" "));
  };
  console.log = console.warn = console.error = keep;
  try {
    return { value: await fn(), lines };
  } finally {
    Object.assign(console, saved);
  }
}
