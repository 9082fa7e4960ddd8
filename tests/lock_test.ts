// The output-folder lock: one holder at a time, a clear error naming it, a
// dead holder's lock (SIGKILL) taken over, and racing takers of a stale
// lock never both winning.
import {
  FolderLockedError,
  LOCK_FILE,
  lockFolder,
  type LockOwner,
} from "../lib/util/lock.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a held lock refuses a second taker, naming pid and start; release frees it", async () => {
  await withDir(async (dir) => {
    const a = await lockFolder(dir, "seqssl train (sasrec)");
    const owner: LockOwner = JSON.parse(
      await Deno.readTextFile(`${dir}/${LOCK_FILE}`),
    );
    assertEquals(owner.pid, Deno.pid);
    assertEquals(owner.command, "seqssl train (sasrec)");
    const err = await assertRejects(
      () => lockFolder(dir, "other"),
      FolderLockedError,
      `found it in use by pid ${Deno.pid} (seqssl train (sasrec), started ${owner.started})`,
    );
    assert(err.message.startsWith(`${dir}: expected an output folder`));
    a.release();
    a.release(); // idempotent
    assertEquals([...Deno.readDirSync(dir)].length, 0);
    const b = await lockFolder(dir, "again");
    assertEquals(b.tookOverFrom, undefined);
    b.release();
  });
});

Deno.test("the lock of a SIGKILLed process is taken over, and said so", async () => {
  await withDir(async (dir) => {
    const code = `
      import { lockFolder } from ${
      JSON.stringify(import.meta.resolve("../lib/util/lock.ts"))
    };
      await lockFolder(${JSON.stringify(dir)}, "doomed");
      console.log("locked");
      await new Promise((r) => setTimeout(r, 60000));
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assertEquals(new TextDecoder().decode(value).trim(), "locked");
    // Alive: refused.
    await assertRejects(
      () => lockFolder(dir, "me"),
      FolderLockedError,
      `pid ${child.pid} (doomed`,
    );
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    const lock = await lockFolder(dir, "me");
    assertEquals(lock.tookOverFrom?.pid, child.pid);
    assertEquals(lock.tookOverFrom?.command, "doomed");
    const now: LockOwner = JSON.parse(
      await Deno.readTextFile(`${dir}/${LOCK_FILE}`),
    );
    assertEquals([now.pid, now.command], [Deno.pid, "me"]);
    lock.release();
  });
});

Deno.test("a garbled stale lock file is taken over; racing takers: exactly one wins", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/${LOCK_FILE}`, "{half");
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => lockFolder(dir, `taker ${i}`)),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    assertEquals(won.length, 1);
    for (const r of results) {
      if (r.status === "rejected") {
        assert(r.reason instanceof FolderLockedError, String(r.reason));
      }
    }
    const lock = (won[0] as PromiseFulfilledResult<
      Awaited<ReturnType<typeof lockFolder>>
    >).value;
    assertEquals(lock.tookOverFrom?.command, "unknown (unreadable lock file)");
    lock.release();
  });
});
