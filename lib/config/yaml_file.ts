/**
 * YAML config files, read with the line of every key so that a message about
 * a key can say `file:line`.
 *
 * @module
 */
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { ConfigLayer } from "./resolve.ts";

/** A parsed YAML file and the lines of its keys. */
export interface YamlFile {
  /** The file's path, as given. */
  path: string;
  /** Its content as plain data (null for an empty file). */
  value: unknown;
  /**
   * The 1-based line of the key at `keys` (a path through nested maps), or
   * undefined when there is no such key.
   */
  line(...keys: string[]): number | undefined;
}

/**
 * Parse YAML text; `path` names it in errors (`path:line: expected valid
 * YAML, found ...`).
 *
 * @example
 * ```ts
 * import { parseYamlFile } from "./yaml_file.ts";
 * const f = parseYamlFile("lr: 0.001\nbase:\n  hidden: 8\n", "run.yaml");
 * if (f.line("lr") !== 1 || f.line("base", "hidden") !== 3 || f.line("nope") !== undefined) throw new Error();
 * let msg = "";
 * try { parseYamlFile("a: [1,\n", "bad.yaml"); } catch (e) { msg = String(e); }
 * if (!msg.includes("bad.yaml:")) throw new Error(msg);
 * ```
 */
export function parseYamlFile(text: string, path: string): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err.linePos?.[0]?.line;
    throw new Error(
      `${path}${line ? `:${line}` : ""}: expected valid YAML, found ${
        err.message.split("\n")[0]
      }`,
    );
  }
  return {
    path,
    value: doc.toJS(),
    line: (...keys) => {
      let node: unknown = doc.contents;
      for (const [i, k] of keys.entries()) {
        if (!isMap(node)) return undefined;
        const pair = node.items.find((p) =>
          isScalar(p.key) && p.key.value === k
        );
        if (!pair) return undefined;
        if (i === keys.length - 1) {
          const at = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
          return at === undefined ? undefined : lineCounter.linePos(at).line;
        }
        node = pair.value;
      }
      return undefined;
    },
  };
}

/**
 * Read and parse a YAML file.
 *
 * @example
 * ```ts ignore
 * const f = await readYamlFile("run.yaml");
 * ```
 */
export async function readYamlFile(path: string): Promise<YamlFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(
      `${path}: expected a readable YAML file, found ${(e as Error).message}`,
    );
  }
  return parseYamlFile(text, path);
}

/**
 * A config layer from a YAML file holding a mapping of config keys (under
 * `keys`, a path through nested maps, or at the top); each key's location
 * is `path:line`.
 *
 * @example
 * ```ts
 * import { parseYamlFile, yamlLayer } from "./yaml_file.ts";
 * const layer = yamlLayer(parseYamlFile("lr: 0.01\nhiden: 8\n", "run.yaml"));
 * if (layer.values.lr !== 0.01 || layer.where?.("hiden") !== "run.yaml:2") throw new Error();
 * ```
 */
export function yamlLayer(file: YamlFile, ...keys: string[]): ConfigLayer {
  let value = file.value;
  for (const k of keys) {
    value = value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)[k]
      : undefined;
  }
  if (value === null || value === undefined) {
    return { values: {}, where: () => file.path };
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    const at = keys.length > 0 ? file.line(...keys) : undefined;
    throw new Error(
      `${file.path}${at ? `:${at}` : ""}: expected a mapping of config keys${
        keys.length ? ` under '${keys.join(".")}'` : ""
      }, found ${Array.isArray(value) ? "a list" : typeof value}`,
    );
  }
  return {
    values: value as Record<string, unknown>,
    where: (key) => {
      const line = file.line(...keys, key);
      return line ? `${file.path}:${line}` : file.path;
    },
  };
}
