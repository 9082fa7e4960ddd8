/**
 * The report's pictures that need a trained model: a UMAP projection of a
 * sample of users' sequence embeddings, coloured by the model's clusters
 * (S4Rec) or by K-means clusters of the embeddings, by planted intent on
 * synthetic data, and by head/tail user; for contrastive methods, the two
 * augmented views of a smaller sample with each positive pair linked.
 *
 * @module
 */
import type { SplitDataset } from "../data/types.ts";
import type { Scorer } from "../eval/evaluate.ts";
import { hasClusters } from "../eval/cluster_report.ts";
import { kmeans } from "../cluster/kmeans.ts";
import type { Augmenter } from "../augment/types.ts";
import { makeRng } from "../util/rng.ts";
import type { ModelPictures } from "./build.ts";
import { project2d, sampleUsers, sequenceEmbeddings } from "./embed.ts";

/** Options of {@linkcode modelPictures}. */
export interface PictureOptions {
  /** Variant name for captions. */
  variant: string;
  /** Seed of the run (and of the sampling and projections). */
  seed: number;
  /** Users projected. @default {800} */
  users?: number;
  /** Users whose two views are drawn. @default {120} */
  viewUsers?: number;
  /** Clusters of the K-means colouring when the model has none. @default {8} */
  kmeansClusters?: number;
  /**
   * The data augmentation of a contrastive method's views; without it no
   * views are drawn.
   */
  augmenter?: Augmenter;
  /** What the views are, for the caption. */
  viewNote?: string;
  /** UMAP optimisation epochs. @default {200} */
  umapEpochs?: number;
}

/**
 * Compute the pictures of one trained model on its split: embeddings of the
 * sampled users' test inputs (their whole sequence but the last item),
 * projected with a seeded UMAP.
 *
 * @example
 * ```ts ignore
 * const pics = await modelPictures(model, model.scorer, split, { variant: "s4rec", seed: 1 });
 * ```
 */
export async function modelPictures(
  model: unknown,
  scorer: Scorer,
  split: SplitDataset,
  opts: PictureOptions,
): Promise<ModelPictures> {
  const rng = makeRng(`pictures-${opts.seed}`);
  const users = sampleUsers(opts.users ?? 800, split.testInput.length, rng);
  const seqs = Array.from(users, (u) => split.testInput[u]);
  const { data, dim } = await sequenceEmbeddings(scorer, seqs, split.maxLen);
  const points = project2d(data, dim, {
    seed: opts.seed,
    epochs: opts.umapEpochs,
  });
  const colorings: Record<string, string[]> = {};
  if (hasClusters(model)) {
    const assign = await model.clusters.cluster(
      Array.from(users, (u) => split.train[u]),
    );
    colorings["the model's cluster"] = Array.from(assign, String);
  } else {
    const k = Math.min(opts.kmeansClusters ?? 8, users.length);
    const km = kmeans(data, dim, { k, rng: makeRng(opts.seed) });
    colorings[`K-means cluster (k=${k})`] = Array.from(
      km.assign,
      String,
    );
  }
  if (split.intents) {
    colorings["planted intent"] = Array.from(
      users,
      (u) => String(split.intents![u]),
    );
  }
  colorings["head/tail user"] = Array.from(
    users,
    (u) => split.isHead[u] ? "head" : "tail",
  );
  const out: ModelPictures = {
    variant: opts.variant,
    seed: opts.seed,
    points,
    colorings,
  };
  if (opts.augmenter) {
    const vu = sampleUsers(opts.viewUsers ?? 120, users.length, rng);
    const base = Array.from(vu, (i) => seqs[i]);
    const a = base.map((s) => opts.augmenter!(s, rng));
    const b = base.map((s) => opts.augmenter!(s, rng));
    const emb = await sequenceEmbeddings(scorer, [...a, ...b], split.maxLen);
    const proj = project2d(emb.data, emb.dim, {
      seed: opts.seed,
      epochs: opts.umapEpochs,
    });
    out.views = {
      pairs: base.map((_, i) => ({
        user: users[vu[i]],
        a: proj[i],
        b: proj[base.length + i],
      })),
      note: opts.viewNote ??
        `two augmented views of ${base.length} users' sequences, encoded by the trained encoder and projected together with UMAP; a grey line links each user's positive pair.`,
    };
  }
  return out;
}
