/**
 * A one-line progress display for a terminal: epoch, batch, loss, ETA.
 * Silent when stderr is not a terminal or when disabled (`--json`).
 *
 * @module
 */

/**
 * Format seconds as `m:ss` or `h:mm:ss`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * if (formatDuration(75) !== "1:15") throw new Error(formatDuration(75));
 * if (formatDuration(3725) !== "1:02:05") throw new Error(formatDuration(3725));
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/** Writes progress lines to stderr. */
export interface Progress {
  /** Show batch `done` of `total` in `epoch` with the running loss. */
  update(
    epoch: number,
    epochs: number,
    done: number,
    total: number,
    loss: number,
  ): void;
  /** Print a full line (e.g. an epoch's summary) above the bar. */
  log(line: string): void;
  /** Clear the bar. */
  end(): void;
}

/**
 * A progress display; `enabled` false (or stderr not a TTY) makes it silent
 * except for `log` lines when `logWhenQuiet` is set.
 *
 * @example
 * ```ts
 * import { makeProgress } from "./progress.ts";
 * const written: string[] = [];
 * const original = Deno.stderr.writeSync;
 * Deno.stderr.writeSync = (b: Uint8Array) => {
 *   written.push(new TextDecoder().decode(b));
 *   return b.length;
 * };
 * try {
 *   const quiet = makeProgress({ enabled: false });
 *   quiet.update(1, 10, 5, 100, 3.2);
 *   quiet.log("epoch 1");
 *   quiet.end();
 *   makeProgress({ enabled: false, logWhenQuiet: true }).log("epoch 2");
 * } finally {
 *   Deno.stderr.writeSync = original;
 * }
 * // disabled: silent, but for log lines when logWhenQuiet is set
 * if (written.join("") !== "epoch 2\n") throw new Error(JSON.stringify(written));
 * ```
 */
export function makeProgress(
  opts: { enabled: boolean; logWhenQuiet?: boolean } = { enabled: true },
): Progress {
  const tty = opts.enabled && Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  const write = (s: string) => Deno.stderr.writeSync(enc.encode(s));
  let start = performance.now();
  let lastEpoch = -1;
  let lastDraw = 0;
  return {
    update(epoch, epochs, done, total, loss) {
      if (!tty) return;
      if (epoch !== lastEpoch) {
        lastEpoch = epoch;
        start = performance.now();
      }
      const now = performance.now();
      if (done < total && now - lastDraw < 100) return;
      lastDraw = now;
      const el = (now - start) / 1000;
      const eta = done > 0 ? (el / done) * (total - done) : NaN;
      const width = 24;
      const fill = Math.round((done / Math.max(1, total)) * width);
      const bar = "=".repeat(fill) + " ".repeat(width - fill);
      write(
        `\r\x1b[2Kepoch ${epoch}/${epochs} [${bar}] ${done}/${total} loss ${
          loss.toFixed(4)
        } ` +
          `${formatDuration(el)} ETA ${formatDuration(eta)}`,
      );
    },
    log(line) {
      if (tty) write(`\r\x1b[2K${line}\n`);
      else if (opts.enabled || opts.logWhenQuiet) write(`${line}\n`);
    },
    end() {
      if (tty) write("\r\x1b[2K");
    },
  };
}

/**
 * The same display with every `log` line prefixed (e.g. a sub-training such
 * as SRMA's complement pre-training, whose epochs are not the main run's).
 *
 * @example
 * ```ts
 * import { type Progress, prefixed } from "./progress.ts";
 * const lines: string[] = [];
 * const base: Progress = { update() {}, log: (l) => void lines.push(l), end() {} };
 * prefixed(base, "complement: ").log("epoch 1");
 * if (lines.join() !== "complement: epoch 1") throw new Error(lines.join());
 * ```
 */
export function prefixed(progress: Progress, prefix: string): Progress {
  return {
    update: (...a) => progress.update(...a),
    log: (line) => progress.log(prefix + line),
    end: () => progress.end(),
  };
}
