/**
 * One run per output folder: an exclusive lock file, `DIR/seqssl.lock`,
 * held for the length of a run.
 *
 * The file is created with `createNew` (atomic: one process creates it) and
 * holds the owner's pid, start time and command as JSON; the owner also
 * holds an operating-system lock on it (`FsFile.tryLock`), which the
 * system releases when the process dies, even by SIGKILL. A second run
 * finds the file and fails to take the OS lock: it gets an error naming the
 * owner. A file whose OS lock can be taken was left by a run that died: it
 * is taken over (and said so). Only the holder of the OS lock runs, so two
 * runs that race for a stale file cannot both win.
 *
 * @module
 */

/**
 * Base name of the lock file in a locked folder.
 *
 * @example
 * ```ts
 * import { LOCK_FILE } from "./lock.ts";
 * if (LOCK_FILE !== "seqssl.lock") throw new Error(LOCK_FILE);
 * ```
 */
export const LOCK_FILE = "seqssl.lock";

/** What a lock file says about its owner. */
export interface LockOwner {
  /** Process id. */
  pid: number;
  /** When the owner took the lock (ISO 8601). */
  started: string;
  /** What the owner runs, e.g. "seqssl train". */
  command: string;
}

/** A held lock; {@linkcode FolderLock.release} frees it. */
export interface FolderLock {
  /** The lock file. */
  path: string;
  /** The owner of a dead run's lock this one took over, if any. */
  tookOverFrom?: LockOwner;
  /** Remove the lock file and free the OS lock (idempotent). */
  release(): void;
}

/**
 * The folder is in use by another live run.
 *
 * @example
 * ```ts
 * import { FolderLockedError } from "./lock.ts";
 * const e = new FolderLockedError("runs/x", {
 *   pid: 7,
 *   started: "2026-01-01T00:00:00.000Z",
 *   command: "seqssl train",
 * });
 * if (!e.message.includes("pid 7")) throw new Error(e.message);
 * ```
 */
export class FolderLockedError extends Error {
  /** The other run, as far as its lock file says (undefined: unreadable). */
  readonly owner?: LockOwner;
  /** Build the error from the folder and the other run. */
  constructor(dir: string, owner: LockOwner | undefined) {
    const who = owner
      ? `pid ${owner.pid} (${owner.command}, started ${owner.started})`
      : "another process (its lock file is being written)";
    super(
      `${dir}: expected an output folder no other run is using, found it ` +
        `in use by ${who}; wait for that run to end or use another --out ` +
        `(the lock is ${dir}/${LOCK_FILE}, freed when that process ends)`,
    );
    this.name = "FolderLockedError";
    this.owner = owner;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text);
    if (
      o && Number.isInteger(o.pid) && typeof o.started === "string" &&
      typeof o.command === "string"
    ) return o as LockOwner;
  } catch { /* unreadable: a crash while writing it */ }
  return undefined;
}

async function readOwner(file: Deno.FsFile): Promise<LockOwner | undefined> {
  await file.seek(0, Deno.SeekMode.Start);
  const buf = new Uint8Array(4096);
  let n = 0;
  while (n < buf.length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return parseOwner(new TextDecoder().decode(buf.subarray(0, n)));
}

/**
 * Take `dir`'s lock for `command` (the folder must exist and be writable).
 * Throws a {@linkcode FolderLockedError} naming the other run when a live
 * one holds it; takes over a lock left by a dead run (`tookOverFrom`).
 *
 * @example
 * ```ts
 * import { FolderLockedError, lockFolder } from "./lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockFolder(dir, "example");
 * let second = "";
 * try {
 *   await lockFolder(dir, "example 2");
 * } catch (e) {
 *   if (e instanceof FolderLockedError) second = e.message;
 * }
 * if (!second.includes(`pid ${Deno.pid}`)) throw new Error(second);
 * lock.release();
 * (await lockFolder(dir, "example 3")).release(); // free again
 * await Deno.remove(dir);
 * ```
 */
export async function lockFolder(
  dir: string,
  command: string,
): Promise<FolderLock> {
  const path = `${dir}/${LOCK_FILE}`;
  // A few rounds: the file may vanish or be replaced between our steps.
  for (let round = 0; round < 5; round++) {
    let file: Deno.FsFile;
    let created = true;
    try {
      file = await Deno.open(path, {
        read: true,
        write: true,
        createNew: true,
      });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      created = false;
      try {
        file = await Deno.open(path, { read: true, write: true });
      } catch (e2) {
        if (e2 instanceof Deno.errors.NotFound) continue; // just released
        throw e2;
      }
    }
    if (!await file.tryLock(true)) {
      const owner = await readOwner(file);
      file.close();
      throw new FolderLockedError(dir, owner);
    }
    // We hold the OS lock; make sure it is on the file the path names now
    // (the owner may have removed it between our open and our lock).
    const [held, named] = [await file.stat(), await statOrNull(path)];
    if (!named || named.ino !== held.ino || named.dev !== held.dev) {
      file.close();
      continue;
    }
    const previous = created ? undefined : await readOwner(file);
    const me: LockOwner = {
      pid: Deno.pid,
      started: new Date().toISOString(),
      command,
    };
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    await file.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
    let released = false;
    const lock: FolderLock = {
      path,
      release() {
        if (released) return;
        released = true;
        // Remove while still holding the OS lock, so nobody takes a lock on
        // a file that is about to vanish without noticing (see the inode check).
        try {
          Deno.removeSync(path);
        } catch { /* already gone */ }
        file.close();
      },
    };
    if (!created) {
      lock.tookOverFrom = previous ?? {
        pid: 0,
        started: "unknown",
        command: "unknown (unreadable lock file)",
      };
    }
    return lock;
  }
  throw new Error(
    `${path}: expected a lock file that stays put, found it created and removed repeatedly`,
  );
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
