/**
 * A report input made up by hand (no training): two variants, two seeds,
 * epochs with loss terms, all metric groups, S4Rec clusters with and
 * without the adversary, projections and views.
 */
import type { ReportInput, RunRecord } from "../lib/report/build.ts";

/** Metrics for all groups, scaled by `f`. */
function grouped(f: number) {
  const acc: Record<string, number> = {};
  const beyond: Record<string, number> = {};
  for (const k of [5, 10, 20]) {
    acc[`HR@${k}`] = 0.01 * k * f;
    acc[`NDCG@${k}`] = 0.005 * k * f;
    acc[`MRR@${k}`] = 0.004 * k * f;
    beyond[`Coverage@${k}`] = 0.02 * k;
    beyond[`AveragePopularity@${k}`] = 10 + k;
    beyond[`Gini@${k}`] = 0.9 - 0.01 * k;
    beyond[`TailPercentage@${k}`] = 0.5 + 0.01 * k;
  }
  const g = { ...acc, ...beyond };
  return { all: g, head: g, tail: g, headItem: acc, tailItem: acc };
}

function run(
  variant: string,
  method: string,
  seed: number,
  f: number,
  clusters = false,
): RunRecord {
  return {
    variant,
    seed,
    result: {
      config: { method, seed },
      data: { name: "synthetic", users: 100, items: 50, actions: 900 },
      epochs: [1, 2, 3].map((epoch) => ({
        epoch,
        loss:
          (method === "s4rec"
            ? { total: 5 - epoch, rec: 4 - epoch, cl: 1 / epoch, adv: 0.69 }
            : { total: 4 - epoch, rec: 4 - epoch }) as Record<string, number>,
        valid: { "HR@20": 0.1 * epoch * f, "NDCG@20": 0.05 * epoch * f },
      })),
      bestEpoch: 3,
      secondsPerEpoch: 2,
      test: grouped(f),
      ...(clusters
        ? {
          clusters: {
            numClusters: 4,
            nonEmpty: 3,
            clusterSizes: [50, 30, 20, 0],
            clusterHeads: [5, 10, 5, 0],
            headRateQuartiles: {
              min: 0.1,
              q1: 0.175,
              median: 0.25,
              q3: 0.29,
              max: 0.33,
            },
            headRateOverall: 0.2,
            nmi: 0.5,
            nmiShuffled: 0.01,
          },
        }
        : {}),
    },
  };
}

/** The fixture. */
export function reportFixture(): ReportInput {
  const points = Array.from({ length: 30 }, (_, i) => ({
    x: Math.cos(i),
    y: Math.sin(i * 1.3),
  }));
  return {
    title: "fixture",
    runs: [
      run("SASRec", "sasrec", 1, 1),
      run("SASRec", "sasrec", 2, 1.1),
      run("S4Rec", "s4rec", 1, 1.2, true),
      run("S4Rec", "s4rec", 2, 1.3, true),
      run("S4Rec w/o adv", "s4rec", 1, 1.1, true),
      run("S4Rec w/o adv", "s4rec", 2, 1.15, true),
    ],
    baseline: "SASRec",
    significance: [
      {
        variant: "S4Rec",
        metric: "NDCG@20",
        n: 200,
        meanDifference: 0.01,
        t: 2.2,
        tP: 0.03,
        wilcoxonW: 100,
        wilcoxonP: 0.04,
      },
    ],
    pictures: [{
      variant: "S4Rec",
      seed: 1,
      points,
      colorings: {
        "the model's cluster": points.map((_, i) => String(i % 3)),
        "planted intent": points.map((_, i) => String(i % 2)),
      },
      views: {
        pairs: points.slice(0, 10).map((p, i) => ({
          user: i,
          a: p,
          b: { x: p.x + 0.1, y: p.y - 0.1 },
        })),
        note: "views",
      },
    }],
  };
}
