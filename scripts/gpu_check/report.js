// Collects the GPU check's parts from WORK into one JSON report (no imports).
//   deno run -A report.js WORK OUT
const [work, outPath] = Deno.args;

function readJson(name) {
  try {
    const text = Deno.readTextFileSync(`${work}/${name}`);
    // The CLI may print progress lines before its JSON: take the last object.
    const start = text.indexOf("{");
    return start < 0 ? undefined : JSON.parse(text.slice(start));
  } catch {
    return undefined;
  }
}

function readText(name) {
  try {
    return Deno.readTextFileSync(`${work}/${name}`);
  } catch {
    return undefined;
  }
}

function logTail(name) {
  const t = readText(`logs/${name}.log`);
  return t === undefined ? undefined : t.split("\n").slice(-15).join("\n");
}

const E = (k) => Deno.env.get(k) || undefined;
const methods = (E("GPU_CHECK_METHODS") ?? "").split(/\s+/).filter((m) => m);
const report = {
  tool: "seqssl gpu-check",
  finished: new Date().toISOString(),
  host: E("GPU_CHECK_HOST"),
  nvidiaSmi: readText("nvidia_smi.txt")?.trim(),
  vulkanDriverFile: E("VK_DRIVER_FILES"),
  missing: (readText("missing.txt") ?? "").split("\n").filter((l) => l),
  bundledLibraries: (E("GPU_CHECK_BUNDLED_LIBS") ?? "").split(" ").filter((l) =>
    l
  ),
  data: E("GPU_CHECK_DATA") ?? "embedded synthetic",
  adapter: readJson("adapter.json"),
};

// webgpu and the CPU path agree on a few steps: one small epoch each.
const cpu = readJson("check_cpu.json");
const gpu = readJson("check_webgpu.json");
if (cpu && gpu) {
  const lc = cpu.epochs[0].loss.total, lg = gpu.epochs[0].loss.total;
  const vc = cpu.epochs[0].valid?.["NDCG@20"],
    vg = gpu.epochs[0].valid?.["NDCG@20"];
  const relLoss = Math.abs(lc - lg) / Math.abs(lc);
  report.check = {
    what:
      "one epoch of SASRec on small synthetic data, same seed, cpu vs webgpu",
    lossCpu: lc,
    lossWebgpu: lg,
    relativeLossDifference: relLoss,
    validNdcg20Cpu: vc,
    validNdcg20Webgpu: vg,
    // float32 sums in another order: 1e-3 relative on the loss after a few
    // Adam steps; a rank flip moves NDCG@20 of 200 users by at most 1/200.
    agree: relLoss < 1e-3 && Math.abs((vc ?? 0) - (vg ?? 0)) < 0.02,
  };
} else {
  report.check = {
    error: "a check run failed",
    cpu: cpu ? "ok" : logTail("check_cpu"),
    webgpu: gpu ? "ok" : logTail("check_webgpu"),
  };
}

const profile = readJson("profile.json");
report.profile = profile ?? { error: logTail("profile") };

const train = {};
for (const m of methods) {
  const r = readJson(`train_${m}.json`);
  if (!r) {
    train[m] = { error: logTail(`train_${m}`) };
    continue;
  }
  const evals = r.epochs.map((e) => e.evalSeconds).filter((s) =>
    s !== undefined
  );
  train[m] = {
    backend: r.backend,
    data: r.data,
    epochs: r.epochs.length,
    secondsPerEpoch: r.epochs.map((e) => e.trainSeconds),
    evalSeconds: evals,
    loss: r.epochs.map((e) => e.loss.total),
    valid: r.valid?.all,
    test: r.test?.all,
    wallSeconds: r.wallSeconds,
  };
}
report.train = train;
const tmp = `${outPath}.tmp`;
Deno.writeTextFileSync(tmp, JSON.stringify(report, null, 1) + "\n");
Deno.renameSync(tmp, outPath);
console.log(`gpu-check: report written to ${outPath}`);
