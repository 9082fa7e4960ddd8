/**
 * A training run's output folder, made ready before any training: created,
 * checked writable and readable (checkpoints are written to a temporary file
 * and renamed, and Deno's rename needs both), locked for this run alone, and
 * cleared of the temporary files of runs killed during a write.
 *
 * @module
 */
import { lockFolder } from "../util/lock.ts";
import { removeTempFiles } from "../util/atomic.ts";

/** An output folder held by this run; {@linkcode OutDir.release} frees it. */
export interface OutDir {
  /** The folder. */
  dir: string;
  /** What happened on the way in, one line each (a lock taken over, temp files removed). */
  notes: string[];
  /** Free the folder's lock (idempotent). */
  release(): void;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function unusable(dir: string, e: unknown): Error {
  return new Error(
    `${dir}: expected an output folder seqssl can create, write and read ` +
      `(checkpoints are written to a temporary file, then renamed), found ${
        reason(e)
      }`,
  );
}

/**
 * Make `dir` ready for a run of `command`: create it, check that a file
 * can be written, renamed, read and removed in it, take its lock (an error
 * naming the other run if one holds it; a dead run's lock is taken over),
 * and remove leftover temporary files of atomic writes.
 *
 * @example
 * ```ts
 * import { openOutDir } from "./out_dir.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/last.ckpt.tmp-99-1`, "half a checkpoint");
 * const out = await openOutDir(`${dir}/run`, "example"); // created
 * const again = await openOutDir(dir, "example");
 * if (!again.notes.join().includes("last.ckpt.tmp-99-1")) throw new Error();
 * let msg = "";
 * try { await openOutDir(dir, "second"); } catch (e) { msg = String(e); }
 * if (!msg.includes(`pid ${Deno.pid}`)) throw new Error(msg);
 * again.release();
 * out.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openOutDir(
  dir: string,
  command: string,
): Promise<OutDir> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw unusable(dir, e);
  }
  const probe = `${dir}/.seqssl-probe-${Deno.pid}`;
  const moved = `${probe}-renamed`;
  try {
    await Deno.writeTextFile(probe, "probe", { createNew: true });
    await Deno.rename(probe, moved);
    if (await Deno.readTextFile(moved) !== "probe") {
      throw new Error("a file that reads back differently than written");
    }
    await Deno.remove(moved);
  } catch (e) {
    for (const p of [probe, moved]) await Deno.remove(p).catch(() => {});
    throw unusable(dir, e);
  }
  const lock = await lockFolder(dir, command);
  const notes: string[] = [];
  try {
    const was = lock.tookOverFrom;
    if (was) {
      notes.push(
        `${lock.path}: took over the lock of pid ${was.pid} (${was.command}, ` +
          `started ${was.started}), which is no longer running`,
      );
    }
    for (const name of await removeTempFiles(dir)) {
      notes.push(
        `${dir}: removed ${name}, the temporary file of a write that was interrupted`,
      );
    }
  } catch (e) {
    lock.release();
    throw e;
  }
  return { dir, notes, release: () => lock.release() };
}
