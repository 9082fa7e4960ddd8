// Shared by the benches: Beauty (or a synthetic set of its size when the
// file is not beside the project) and a length-stratified sample of one
// epoch's bucketed batches.
import { readSequenceFile } from "../lib/data/read_sequences.ts";
import { synthetic } from "../lib/data/synthetic.ts";
import { leaveOneOut } from "../lib/data/split.ts";
import { trainBatches } from "../lib/data/batch.ts";
import type { SplitDataset, TrainBatch } from "../lib/data/types.ts";
import { makeRng } from "../lib/util/rng.ts";

/**
 * Beauty's leave-one-out split, or a synthetic one of Beauty's size when the
 * file does not exist (`source` says which; every bench prints it). A file
 * that exists but does not read is an error, never a silent substitute.
 */
export async function beautySplit(): Promise<
  { split: SplitDataset; source: string }
> {
  const path = new URL("../../shared/data/Beauty.txt", import.meta.url)
    .pathname;
  const found = await Deno.stat(path).then(() => true, (e) => {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  });
  if (found) {
    const ds = await readSequenceFile(path);
    return { split: leaveOneOut(ds, { maxLen: 50 }), source: "Beauty.txt" };
  } else {
    const ds = synthetic({
      seed: 0,
      numUsers: 22363,
      numItems: 12101,
      maxLen: 50,
    });
    return {
      split: leaveOneOut(ds, { maxLen: 50 }),
      source: "synthetic, Beauty-sized",
    };
  }
}

/**
 * One epoch's batches (256, length bucketing; one row per sequence or per
 * prefix) and `size` of them evenly spaced over the epoch sorted by cells:
 * mean step x epoch length estimates an epoch.
 */
export function epochSample(
  split: SplitDataset,
  size = 22,
  samples: "sequences" | "prefixes" = "sequences",
): { epoch: TrainBatch[]; sample: TrainBatch[] } {
  const epoch = trainBatches(split, {
    batchSize: 256,
    rng: makeRng(0),
    bucket: 16,
    samples,
  });
  const byCells = [...epoch].sort((a, b) =>
    a.batchSize * a.seqLen - b.batchSize * b.seqLen
  );
  const sample = Array.from(
    { length: size },
    (_, i) => byCells[Math.floor(((i + 0.5) * byCells.length) / size)],
  );
  return { epoch, sample };
}
