// Learning-rate schedules: the shape by hand, Adam under a schedule equal to
// Adam at each step's rate, and a run's config keys reaching its optimiser.
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "./_assert.ts";
import { warmupDecay } from "../lib/optim/schedule.ts";
import { adam } from "../lib/optim/transform.ts";
import { runCli, withTempDir } from "./_cli.ts";

await tf.setBackend("cpu");

Deno.test("warmupDecay: linear warm-up, then cosine or linear to a tenth, then held", () => {
  const cos = warmupDecay({
    peak: 0.002,
    warmupSteps: 10,
    decay: "cosine",
    decaySteps: 110,
  });
  for (let c = 1; c <= 10; c++) {
    assert(Math.abs(cos(c) - 0.002 * c / 10) < 1e-18, `warm-up step ${c}`);
  }
  // a quarter of the way: 0.0002 + 0.0018 * (1 + cos(pi / 4)) / 2
  const q = 0.0002 + 0.0018 * (1 + Math.SQRT1_2) / 2;
  assert(Math.abs(cos(35) - q) < 1e-15, String(cos(35)));
  assert(Math.abs(cos(60) - 0.0011) < 1e-15, String(cos(60)));
  assertEquals([cos(110), cos(1000)], [0.0002, 0.0002]);
  const lin = warmupDecay({
    peak: 1,
    warmupSteps: 0,
    decay: "linear",
    decaySteps: 4,
  });
  assertEquals([1, 2, 3, 4].map((c) => Number(lin(c).toFixed(12))), [
    0.775,
    0.55,
    0.325,
    0.1,
  ]);
  const flat = warmupDecay({
    peak: 3,
    warmupSteps: 2,
    decay: "none",
    decaySteps: 4,
  });
  assertEquals([1, 2, 50].map(flat), [1.5, 3, 3]);
});

Deno.test("adam under a schedule: each step is the constant-rate step scaled by schedule / rate", () => {
  const rates = [0.01, 0.03, 0.02];
  const grads = [[0.5, -1, 2], [1, 1, -0.25], [-2, 0.5, 0.5]];
  const run = (lr: number | ((c: number) => number)) => {
    const w = tf.variable(tf.tensor1d([0.1, -0.2, 0.3]));
    const tx = adam(lr, { weightDecay: 0 });
    let state = tx.init({ w });
    const out: number[][] = [];
    for (const g of grads) {
      const [u, s] = tx.update({ w: tf.tensor1d(g) }, state, { w });
      out.push(Array.from(u.w.dataSync()));
      state = s;
    }
    return out;
  };
  const constant = run(1);
  const scheduled = run((c) => rates[c - 1]);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < 3; i++) {
      const want = rates[k] * constant[k][i];
      assert(
        Math.abs(scheduled[k][i] - want) <= 1e-7 * Math.abs(want) + 1e-12,
        `step ${k + 1}[${i}]: ${scheduled[k][i]} vs ${want}`,
      );
    }
  }
});

Deno.test("cli: lrWarmup and lrDecay reach the optimiser (the run differs from the constant rate's)", async () => {
  await withTempDir(async (dir) => {
    const tiny = [
      "train",
      "--backend",
      "cpu",
      "--epochs",
      "3",
      "--set",
      "synthUsers=60",
      "--set",
      "synthItems=40",
      "--set",
      "hidden=8",
      "--set",
      "heads=1",
      "--json",
    ];
    const a = await runCli([...tiny, "--out", `${dir}/a`]);
    const b = await runCli([
      ...tiny,
      "--set",
      "lrWarmup=2",
      "--set",
      "lrDecay=cosine",
      "--out",
      `${dir}/b`,
    ]);
    assertEquals([a.code, b.code], [0, 0], a.err + b.err);
    const ra = JSON.parse(a.out), rb = JSON.parse(b.out);
    assertEquals([rb.config.lrWarmup, rb.config.lrDecay], [2, "cosine"]);
    const loss = (r: { epochs: { loss: { total: number } }[] }) =>
      r.epochs.map((e) => e.loss.total);
    assert(loss(rb).every(Number.isFinite));
    // One batch per epoch: epoch 1's loss is before any update (equal);
    // epoch 2's is after one update at half the rate (warm-up of 2 steps).
    assertEquals(loss(ra)[0], loss(rb)[0]);
    assert(
      loss(ra)[1] !== loss(rb)[1],
      `same second-epoch loss ${loss(ra)[1]}: the schedule did nothing`,
    );
  });
});
