/**
 * Errors with a location, so bad input says where and what was expected.
 *
 * @module
 */

/**
 * An input error at a file and line: the message reads
 * `file:line: expected ..., found ...`.
 *
 * @example
 * ```ts
 * import { DataError } from "./errors.ts";
 * const e = new DataError("a.txt", 3, "an integer item id", "'x'");
 * if (!e.message.includes("a.txt:3")) throw new Error();
 * ```
 */
export class DataError extends Error {
  /** The file the error is in. */
  readonly file: string;
  /** 1-based line number, or 0 when the whole file is at fault. */
  readonly line: number;
  /** Build the error from where it is, what was expected and what was found. */
  constructor(file: string, line: number, expected: string, found: string) {
    super(
      `${file}${
        line > 0 ? `:${line}` : ""
      }: expected ${expected}, found ${found}`,
    );
    this.name = "DataError";
    this.file = file;
    this.line = line;
  }
}

/**
 * A message about a config key, located where the key was set: a file and
 * line (`run.yaml:3: lr: ...`), a flag (`--set lr: ...`, `--epochs: ...`),
 * or nowhere in particular (`config key 'lr': ...`).
 *
 * @example
 * ```ts
 * import { configMessage } from "./errors.ts";
 * if (configMessage("lr", "bad", "run.yaml:3") !== "run.yaml:3: lr: bad") throw new Error();
 * if (configMessage("lr", "bad", "--set") !== "--set lr: bad") throw new Error();
 * if (configMessage("epochs", "bad", "--epochs") !== "--epochs: bad") throw new Error();
 * if (configMessage("lr", "bad") !== "config key 'lr': bad") throw new Error();
 * ```
 */
export function configMessage(
  key: string,
  text: string,
  where?: string,
): string {
  if (!where) return `config key '${key}': ${text}`;
  if (where === `--${key}`) return `${where}: ${text}`;
  if (where.startsWith("--")) return `${where} ${key}: ${text}`;
  return `${where}: ${key}: ${text}`;
}

/**
 * A bad configuration value or unknown key; the message names the key and,
 * when known, where it was set ({@linkcode configMessage}).
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * const e = new ConfigError("lr", "a positive number", "-1");
 * if (!e.message.includes("lr")) throw new Error();
 * const f = ConfigError.problem("lrr", "unknown key; did you mean 'lr'?", "--set");
 * if (f.message !== "--set lrr: unknown key; did you mean 'lr'?" || f.key !== "lrr") throw new Error();
 * ```
 */
export class ConfigError extends Error {
  /** The offending key. */
  readonly key: string;
  /** Where it was set (a file and line, a flag), when known. */
  readonly where?: string;
  /** Build the error from the key, what was expected and what was found. */
  constructor(key: string, expected: string, found: string, where?: string) {
    super(configMessage(key, `expected ${expected}, found ${found}`, where));
    this.name = "ConfigError";
    this.key = key;
    this.where = where;
  }

  /** An error about `key` that is not a bad value: `text` says what is wrong. */
  static problem(key: string, text: string, where?: string): ConfigError {
    const e = new ConfigError(key, "", "", where);
    e.message = configMessage(key, text, where);
    return e;
  }
}

/**
 * Training stopped because a loss was NaN or infinite.
 *
 * @example
 * ```ts
 * import { NonFiniteLossError } from "./errors.ts";
 * const e = new NonFiniteLossError(3, 17, "rec", NaN);
 * if (!e.message.includes("epoch 3")) throw new Error();
 * ```
 */
export class NonFiniteLossError extends Error {
  /** The loss term that went bad. */
  readonly term: string;
  /** Its value (NaN or +-Infinity). */
  readonly value: number;
  /** Build the error from where in training the loss went bad. */
  constructor(epoch: number, batch: number, term: string, value: number) {
    super(
      `loss '${term}' is ${value} at ${
        epoch > 0 ? `epoch ${epoch}, ` : ""
      }batch ${batch}: ` +
        `training stopped before the update (try a lower learning rate, or check the data)`,
    );
    this.name = "NonFiniteLossError";
    this.term = term;
    this.value = value;
  }
}

/**
 * Training stopped because the loss diverged while staying finite: it grew
 * past a multiple of the run's first loss (see `DIVERGENCE_FACTOR`).
 *
 * @example
 * ```ts
 * import { DivergedLossError } from "./errors.ts";
 * const e = new DivergedLossError(2, 5, 3.2e13, 9.4, 1e6, 100);
 * if (!e.message.includes("epoch 2, batch 5") || !e.message.includes("lr 1000000")) {
 *   throw new Error(e.message);
 * }
 * ```
 */
export class DivergedLossError extends Error {
  /** The loss that tripped the check. */
  readonly value: number;
  /** The run's first loss, the reference. */
  readonly first: number;
  /**
   * Build the error from where training diverged, the losses, the learning
   * rate and the factor of the check.
   */
  constructor(
    epoch: number,
    batch: number,
    value: number,
    first: number,
    lr: number,
    factor: number,
  ) {
    super(
      `loss diverged: ${
        value.toPrecision(3)
      } at epoch ${epoch}, batch ${batch}, ` +
        `more than ${factor} x the first batch's ${
          first.toPrecision(3)
        }; training ` +
        `stopped (try a lower learning rate than lr ${lr})`,
    );
    this.name = "DivergedLossError";
    this.value = value;
    this.first = first;
  }
}
