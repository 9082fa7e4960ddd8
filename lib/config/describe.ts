/**
 * The configuration described from the registry: per-method help, the
 * README's key table, and a config printed as YAML.
 *
 * @module
 */
import { stringify } from "yaml";
import { COMMON_KEYS, type TrainConfig } from "../training/config.ts";
import { ENCODERS } from "../nn/encoders.ts";
import { LOSS_REGIMES } from "../losses/regimes.ts";
import { getMethod, type MethodDef, methods } from "../methods/registry.ts";
import type { KeySpec, KeySpecs } from "../util/keys.ts";
import { appliedKeys } from "./resolve.ts";

/**
 * Start of the generated key table in the README.
 *
 * @example
 * ```ts
 * import { KEY_TABLE_END, KEY_TABLE_START } from "./describe.ts";
 * if (!KEY_TABLE_START.startsWith("<!--") || !KEY_TABLE_END.endsWith("-->")) throw new Error();
 * ```
 */
export const KEY_TABLE_START = "<!-- key-table:start (deno task readme) -->";
/**
 * End of the generated key table in the README.
 *
 * @example
 * ```ts
 * import { KEY_TABLE_END } from "./describe.ts";
 * if (KEY_TABLE_END !== "<!-- key-table:end -->") throw new Error();
 * ```
 */
export const KEY_TABLE_END = "<!-- key-table:end -->";

/**
 * Start of the generated list of presets in the README.
 *
 * @example
 * ```ts
 * import { PRESETS_END, PRESETS_START } from "./describe.ts";
 * if (!PRESETS_START.startsWith("<!-- presets:start") || PRESETS_END !== "<!-- presets:end -->") throw new Error();
 * ```
 */
export const PRESETS_START = "<!-- presets:start (deno task readme) -->";
/**
 * End of the generated list of presets in the README.
 *
 * @example
 * ```ts
 * import { PRESETS_END } from "./describe.ts";
 * if (!PRESETS_END.endsWith("-->")) throw new Error();
 * ```
 */
export const PRESETS_END = "<!-- presets:end -->";

/**
 * Every preset of `defs` (default: every registered method) as Markdown:
 * its command, whose regime it is, every value it sets, and what still
 * differs from that regime.
 *
 * @example
 * ```ts
 * import "../methods/mod.ts";
 * import { presetList } from "./describe.ts";
 * const md = presetList();
 * if (!md.includes("`--method srma --preset paper`") || !md.includes("`loss: bce`")) throw new Error(md);
 * ```
 */
export function presetList(defs: MethodDef<unknown>[] = methods()): string {
  const out: string[] = [];
  for (const m of defs) {
    for (const [name, p] of Object.entries(m.presets ?? {})) {
      out.push(`- \`--method ${m.name} --preset ${name}\`: ${p.summary}.`);
      out.push(
        `  Sets ${
          Object.entries(p.values).map(([k, v]) => `\`${k}: ${show(v)}\``)
            .join(", ")
        }.`,
      );
      out.push("  Still differs:");
      for (const d of p.differences) out.push(`  - ${d}.`);
    }
  }
  return out.join("\n") + "\n";
}

function show(v: unknown): string {
  return typeof v === "string" ? (v === "" ? '""' : v) : JSON.stringify(v);
}

function wrap(text: string, indent: string, width = 78): string {
  const out: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/)) {
    if (line.length + word.length + 1 > width && line.trim() !== "") {
      out.push(line);
      line = indent;
    }
    line += (line.trim() === "" ? "" : " ") + word;
  }
  if (line.trim() !== "") out.push(line);
  return out.join("\n");
}

function keyLines(specs: KeySpecs): string[] {
  return Object.entries(specs).map(([k, s]: [string, KeySpec<unknown>]) =>
    `  ${k} (default ${show(s.default)}; ${s.expects})\n${
      wrap(s.doc, "      ")
    }`
  );
}

/**
 * Help for one method: its summary, paper, and every key it adds to the
 * common ones (its own and its key groups'), with defaults and docs; then
 * the keys of the encoders and of the losses.
 *
 * @example
 * ```ts
 * import "../methods/mod.ts";
 * import { methodHelp } from "./describe.ts";
 * const h = methodHelp("srma");
 * if (!h.includes("neuronMask (default 0.2") || !h.includes("clWeight") || h.includes("mclBeta")) throw new Error(h);
 * ```
 */
export function methodHelp(name: string): string {
  const def = getMethod(name);
  if (!def) {
    throw new Error(
      `--method: expected one of ${
        methods().map((m) => m.name).join(", ")
      }, found '${name}'`,
    );
  }
  const lines = [
    wrap(`method ${def.name}: ${def.summary}`, ""),
    wrap(`paper: ${def.paper}`, ""),
    "",
    `keys of ${def.name} (--set KEY=VALUE, or in a --config file):`,
    ...keyLines(def.keys),
  ];
  if (Object.keys(def.keys).length === 0) lines.push("  (none)");
  for (const [p, preset] of Object.entries(def.presets ?? {})) {
    lines.push("", wrap(`preset ${p} (--preset ${p}): ${preset.summary}`, ""));
    lines.push(
      wrap(
        Object.entries(preset.values).map(([k, v]) => `${k}=${v}`).join(" "),
        "  ",
      ),
    );
    for (const d of preset.differences) lines.push(wrap(`differs: ${d}`, "  "));
  }
  for (const [e, enc] of Object.entries(ENCODERS)) {
    if (Object.keys(enc.keys).length === 0) continue;
    lines.push("", `keys of encoder ${e} (with --set encoder=${e}):`);
    lines.push(...keyLines(enc.keys));
  }
  for (const [l, reg] of Object.entries(LOSS_REGIMES)) {
    if (Object.keys(reg.keys).length === 0) continue;
    lines.push("", `keys of loss ${l} (with --set loss=${l}):`);
    lines.push(...keyLines(reg.keys));
  }
  lines.push("", "common keys: seqssl train --help");
  return lines.join("\n");
}

/**
 * The common keys and the methods, for `train --help`.
 *
 * @example
 * ```ts
 * import "../methods/mod.ts";
 * import { commonHelp } from "./describe.ts";
 * const h = commonHelp();
 * if (!h.includes("  srma ") || !h.includes("lr (default 0.001")) throw new Error(h);
 * if (!h.includes("keys of loss sampled (with --set loss=sampled):\n  sampledNegatives (default 256")) throw new Error(h);
 * ```
 */
export function commonHelp(): string {
  const width = Math.max(...methods().map((m) => m.name.length));
  return [
    "methods (--method NAME; seqssl train --method NAME --help lists its keys):",
    ...methods().map((m) =>
      `  ${m.name.padEnd(width)}  ${
        wrap(m.summary, " ".repeat(width + 4)).trimStart()
      }`
    ),
    "",
    "encoders (--set encoder=NAME):",
    ...Object.entries(ENCODERS).map(([n, e]) => `  ${n}: ${e.summary}`),
    "",
    "losses (--set loss=NAME):",
    ...Object.entries(LOSS_REGIMES).map(([n, l]) => `  ${n}: ${l.summary}`),
    "",
    "common keys (--set KEY=VALUE, or in a --config file):",
    ...keyLines(COMMON_KEYS),
    ...Object.entries(LOSS_REGIMES).flatMap(([n, l]) =>
      Object.keys(l.keys).length === 0
        ? []
        : ["", `keys of loss ${n} (with --set loss=${n}):`, ...keyLines(l.keys)]
    ),
  ].join("\n");
}

function cell(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/**
 * The README's table of every config key: key, default, what it takes,
 * the part of a run it belongs to, and its doc. Built from the registry:
 * `deno task readme` writes it between {@linkcode KEY_TABLE_START} and
 * {@linkcode KEY_TABLE_END}, and a test fails when the README's copy is
 * out of date.
 *
 * @example
 * ```ts
 * import "../methods/mod.ts";
 * import { keyTable } from "./describe.ts";
 * const t = keyTable();
 * const row = t.split("\n").find((l) => l.startsWith("| `neuronMask`"));
 * if (!row?.includes("| srma |")) throw new Error(row);
 * ```
 */
export function keyTable(defs: MethodDef<unknown>[] = methods()): string {
  const rows: string[] = [
    "| key | default | takes | belongs to | what it does |",
    "| --- | --- | --- | --- | --- |",
  ];
  const row = (k: string, s: KeySpec<unknown>, owner: string) =>
    rows.push(
      `| \`${k}\` | \`${cell(show(s.default))}\` | ${
        cell(s.expects)
      } | ${owner} | ${cell(s.doc)} |`,
    );
  for (const [k, s] of Object.entries(COMMON_KEYS)) row(k, s, "every run");
  for (const [e, enc] of Object.entries(ENCODERS)) {
    for (const [k, s] of Object.entries(enc.keys)) {
      row(k, s as KeySpec<unknown>, `encoder ${e}`);
    }
  }
  for (const [l, reg] of Object.entries(LOSS_REGIMES)) {
    for (const [k, s] of Object.entries(reg.keys)) {
      row(k, s as KeySpec<unknown>, `loss ${l}`);
    }
  }
  const done = new Set<string>();
  for (const m of defs) {
    for (const [k, s] of Object.entries(m.keys)) {
      if (done.has(k)) continue;
      done.add(k);
      const owners = defs.filter((d) => Object.hasOwn(d.keys, k)).map((d) =>
        d.name
      );
      row(k, s as KeySpec<unknown>, owners.join(", "));
    }
  }
  return rows.join("\n") + "\n";
}

/**
 * A config as YAML, grouped by the part of the run each key belongs to
 * (common, encoder, loss, method), every key that applies and no other.
 * With a preset, each key the preset sets says so in a comment (and the
 * preset's value where a later setting changed it).
 *
 * @example
 * ```ts
 * import { makeConfig } from "./resolve.ts";
 * import { configYaml } from "./describe.ts";
 * import { parse } from "yaml";
 * const cfg = makeConfig({ method: "cl4srec", lr: 0.01 });
 * const y = configYaml(cfg);
 * if (!y.includes("# method cl4srec\n") || !y.includes("lr: 0.01\n")) throw new Error(y);
 * if (JSON.stringify(parse(y)) !== JSON.stringify(cfg)) throw new Error("not the same config");
 * const p = makeConfig({ method: "srma", preset: "paper", patience: 5 });
 * const py = configYaml(p);
 * if (!py.includes("loss: bce # preset paper\n") || !py.includes("patience: 5 # preset paper has 40\n")) throw new Error(py);
 * if (JSON.stringify(parse(py)) !== JSON.stringify(p)) throw new Error("not the same config");
 * ```
 */
export function configYaml(cfg: TrainConfig): string {
  const applied = appliedKeys(cfg.method, cfg.encoder, cfg.loss);
  const values: Record<string, unknown> = { ...cfg };
  const preset = getMethod(cfg.method)?.presets?.[cfg.preset];
  const out: string[] = [];
  let group = "";
  for (const [k, a] of applied) {
    const g = a.owner.part === "common"
      ? "common"
      : `${a.owner.part} ${a.owner.name}`;
    if (g !== group) {
      out.push(`# ${g}`);
      group = g;
    }
    const line = stringify({ [k]: values[k] }).trimEnd();
    const from = preset && Object.hasOwn(preset.values, k)
      ? preset.values[k] === values[k]
        ? `preset ${cfg.preset}`
        : `preset ${cfg.preset} has ${JSON.stringify(preset.values[k])}`
      : undefined;
    out.push(from && !line.includes("\n") ? `${line} # ${from}` : line);
  }
  return out.join("\n") + "\n";
}
