/**
 * Test helper: run the CLI's `main` in this process with the console
 * captured, and a temporary folder removed afterwards.
 *
 * @module
 */
import { main } from "../cli.ts";

/** What a CLI run returned and printed. */
export interface Captured {
  /** The exit code `main` returned. */
  code: number;
  /** What went to console.log and console.info, one line per call. */
  out: string;
  /** What went to console.error and console.warn. */
  err: string;
}

/**
 * Run the CLI with `args`, capturing its output.
 *
 * @example
 * ```ts
 * import { runCli } from "./_cli.ts";
 * const r = await runCli(["--version"]);
 * if (r.code !== 0 || !r.out.startsWith("seqssl ")) throw new Error(r.out);
 * ```
 */
export async function runCli(args: string[]): Promise<Captured> {
  const out: string[] = [], err: string[] = [];
  const { log, error, warn, info } = console;
  console.log = console.info = (...a: unknown[]) =>
    void out.push(a.map(String).join(" "));
  console.error = console.warn = (...a: unknown[]) =>
    void err.push(a.map(String).join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn, info });
  }
}

/** Run `fn` with a fresh temporary folder, removed afterwards. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
  prefix = "seqssl_test_",
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
