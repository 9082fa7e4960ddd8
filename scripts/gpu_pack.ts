// `deno task gpu-pack`: builds dist/gpu-check/, everything a bare Linux
// x86-64 machine with an NVIDIA GPU and no network needs to run seqssl on
// its GPU and report back (see scripts/gpu_check/README.txt):
//
//   deno.xz          the Deno binary running this script, xz-compressed
//   seqssl.js        `deno bundle --platform deno cli.ts` (tfjs inlined)
//   gpu_profile.js   the same of bench/gpu_profile.ts
//   data/Beauty.txt  when ../shared/data/Beauty.txt is there
//   debs/            Debian's libvulkan1 and glvnd/EGL .debs (apt-get download)
//   run.sh, adapter.js, report.js, README.txt   from scripts/gpu_check/
//
// Options: --out DIR (default dist/gpu-check), --debs DIR (take the .debs
// from DIR instead of apt-get download). The Deno binary's xz is reused when
// it is newer than the binary.
import { parseArgs } from "node:util";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string", default: `${root}/dist/gpu-check` },
    debs: { type: "string" },
  },
});
const out = args.out!;
const LIMIT = 60 * 2 ** 20;
const DEBS = ["libvulkan1", "libglvnd0", "libegl1", "libgl1", "libglx0"];

function fail(msg: string): never {
  console.error(`gpu-pack: ${msg}`);
  Deno.exit(1);
}

async function run(cmd: string, argv: string[], cwd?: string): Promise<void> {
  let res: Deno.CommandOutput;
  try {
    res = await new Deno.Command(cmd, {
      args: argv,
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    fail(`expected '${cmd}' to run, found ${(e as Error).message}`);
  }
  if (!res.success) {
    const err = new TextDecoder().decode(res.stderr).trim().split("\n")
      .slice(-3).join(" | ");
    fail(`'${cmd} ${argv.join(" ")}' failed: ${err}`);
  }
}

async function stat(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch {
    return undefined;
  }
}

await Deno.mkdir(`${out}/debs`, { recursive: true });
await Deno.mkdir(`${out}/data`, { recursive: true });

// 1. The Deno binary (the real ELF file, not an npm shim), xz-compressed.
const deno = await Deno.realPath(Deno.execPath());
const denoInfo = await stat(deno);
const xzInfo = await stat(`${out}/deno.xz`);
if (
  !xzInfo?.mtime || !denoInfo?.mtime || xzInfo.mtime < denoInfo.mtime
) {
  console.log(`gpu-pack: compressing ${deno} (xz -6) ...`);
  await run("sh", [
    "-c",
    `xz -6 -T2 -c "$0" > "$1.tmp" && mv "$1.tmp" "$1"`,
    deno,
    `${out}/deno.xz`,
  ]);
}

// 2. The bundles (every npm dependency inlined).
for (
  const [entry, file] of [["cli.ts", "seqssl.js"], [
    "bench/gpu_profile.ts",
    "gpu_profile.js",
  ]]
) {
  console.log(`gpu-pack: bundling ${entry} ...`);
  await run(deno, [
    "bundle",
    "--platform",
    "deno",
    "-o",
    `${out}/${file}`,
    `${root}/${entry}`,
  ], root);
}

// 3. Beauty, when it is beside the project.
const beauty = `${root}/../shared/data/Beauty.txt`;
if (await stat(beauty)) {
  await Deno.copyFile(beauty, `${out}/data/Beauty.txt`);
} else {
  console.log(`gpu-pack: no ${beauty}: the pack trains on synthetic data`);
}

// 4. The Vulkan loader and glvnd/EGL libraries as Debian packages.
for await (const e of Deno.readDir(`${out}/debs`)) {
  await Deno.remove(`${out}/debs/${e.name}`);
}
if (args.debs) {
  for await (const e of Deno.readDir(args.debs)) {
    if (DEBS.some((d) => e.name.startsWith(`${d}_`))) {
      await Deno.copyFile(`${args.debs}/${e.name}`, `${out}/debs/${e.name}`);
    }
  }
} else {
  console.log(`gpu-pack: apt-get download ${DEBS.join(" ")} ...`);
  await run("apt-get", ["download", ...DEBS], `${out}/debs`);
}
const got: string[] = [];
for await (const e of Deno.readDir(`${out}/debs`)) got.push(e.name);
for (const d of DEBS) {
  if (!got.some((n) => n.startsWith(`${d}_`))) {
    fail(
      `expected ${d}_*.deb in ${out}/debs, found ${got.join(", ") || "none"}`,
    );
  }
}

// 5. The script and its helpers.
for (const f of ["run.sh", "adapter.js", "report.js", "README.txt"]) {
  await Deno.copyFile(`${root}/scripts/gpu_check/${f}`, `${out}/${f}`);
}
await Deno.chmod(`${out}/run.sh`, 0o755);

let total = 0;
const sizes: string[] = [];
async function walk(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) {
      if (e.name !== "work") await walk(p);
    } else if (e.isFile) {
      const s = (await Deno.stat(p)).size;
      total += s;
      sizes.push(
        `${(s / 2 ** 20).toFixed(1).padStart(6)} MiB  ${
          p.slice(out.length + 1)
        }`,
      );
    }
  }
}
await walk(out);
console.log(sizes.sort().reverse().join("\n"));
console.log(`gpu-pack: ${out}: ${(total / 2 ** 20).toFixed(1)} MiB`);
if (total > LIMIT) {
  fail(`expected under 60 MiB, found ${(total / 2 ** 20).toFixed(1)} MiB`);
}
