/**
 * S4Rec (Wei et al., "Leave No One Behind: Online Self-Supervised
 * Self-Distillation for Sequential Recommendation", WWW 2024,
 * `s4rec-arxiv.txt`) as a recipe of blocks:
 *
 *   L = L_SR + alpha L_clust + beta1 L_SCL + beta2 L_CKD + lambda L_adv  (Eq. 14)
 *
 * - L_SR: the next-item loss of the configured regime (Eq. 1).
 * - L_clust (Eq. 3-7): online clustering of the sequence embedding z (the
 *   encoder's last position on the un-augmented sequence) against K
 *   trainable prototypes: p = softmax(cos(z, mu) / tau1), targets q from
 *   Sinkhorn-Knopp inside the mini-batch without gradient
 *   (`lib/cluster/online.ts`; WGSL on the webgpu backend).
 * - L_SCL (Eq. 10): InfoNCE between two augmented views (tau2 =
 *   clTemperature) whose denominators also hold the K - 1 intents the
 *   sequence is not assigned to.
 * - L_CKD (Eq. 11-12): KL(teacher || student) with a softmax over the d
 *   embedding dimensions at tau3, teacher = the assigned intent, student =
 *   each view's embedding; summed over the two views.
 * - L_adv (Eq. 13): a linear head/tail classifier on z behind a gradient
 *   reversal layer; cross-entropy on the labels of `split.isHead` (the
 *   longest 20% of training sequences).
 *
 * `clustering: "kmeans"` replaces the prototypes by ICLRec-style K-means
 * intents: at the start of every epoch all training sequences are embedded
 * (no dropout) and clustered (`lib/cluster/kmeans.ts`); the centroids are
 * constants for the epoch and L_clust's targets are the one-hot nearest
 * centroid instead of Sinkhorn's codes. Everything else is unchanged, so
 * the paper's online-vs-K-means comparison (Table 3, Table 5) can be rerun.
 *
 * Choices the paper leaves open (values and reasons):
 * - Sinkhorn epsilon = 0.05, 3 iterations (config `sinkhornEpsilon`,
 *   `sinkhornIters`): SwAV's values, which S4Rec's clustering follows.
 *   Three iterations make the row sums exact and the column sums close to
 *   1/K (about 1e-3 absolute at B = 256, K = 128), as in SwAV.
 * - Prototype normalisation: the intents are directions. The prototypes are
 *   stored as free `[K, d]` weights (initial rows of norm about 1) and
 *   L2-normalised wherever they are used; z is L2-normalised in the
 *   clustering scores (cosine), as SwAV normalises features and prototypes.
 *   This bounds the scores by 1 so exp(s / 0.05) cannot overflow, and makes
 *   tau1 = 0.1 mean what it means in SwAV. K-means intents are computed on
 *   L2-normalised embeddings and used normalised too, so both clusterings
 *   live on the same sphere (ICLRec itself clusters raw embeddings).
 * - Where an intent meets a raw embedding (the extra negatives of Eq. 10 in
 *   "dot" similarity, the teacher of Eq. 11), the unit intent is scaled to
 *   the batch's mean view-embedding norm (no gradient), so a prototype is as
 *   far from the origin as a typical sequence and the two kinds of negatives
 *   (and teacher and student) are on one scale.
 * - The teacher is detached, and so are the intents used as negatives: the
 *   prototypes learn only from L_clust (K-means intents are constants
 *   anyway), and Eq. 10-12 move the encoder, not the intents. This is the
 *   usual distillation direction (teacher -> student); a teacher pulled by
 *   the KL would drift towards the sparse tail students the method is meant
 *   to help, and it keeps the online and K-means variants identical except
 *   for where the intents come from.
 * - h(u), the assigned intent of Eq. 10-12, is computed from the two views
 *   themselves (the mean of their unit embeddings; online: the largest
 *   Sinkhorn code, K-means: the nearest centroid), without gradient. The
 *   views are differentiated on their own tape (memory: see
 *   `lib/optim/stepper.ts`), and this keeps the tapes independent.
 * - L_SCL is the mean over the 2N views of InfoNCE (as CL4SRec here); L_CKD
 *   is the mean over sequences of the sum over the two views (Eq. 12).
 * - The classifier of Eq. 13 has a bias (a "fully connected layer"); the
 *   gradient reversal has scale 1, lambda weights the loss.
 *
 * @module
 */
import { runSchedule } from "../optim/schedule.ts";
import {
  MASK_TOKEN_DIFFERENCE,
  SALESFORCE_DIFFERENCES,
  SALESFORCE_TRAINING,
} from "./paper_regimes.ts";
import * as tf from "@tensorflow/tfjs";
import type { Scalar, Tensor1D, Tensor2D } from "../util/tensor_types.ts";
import { evalBatches } from "../data/batch.ts";
import type { Params } from "../nn/params.ts";
import { normalVar } from "../nn/params.ts";
import { buildEncoder } from "../nn/encoders.ts";
import { dense, initDense } from "../nn/layers.ts";
import { gradReverse, stopGradient } from "../nn/grad_reverse.ts";
import { lastPosition, logSumExpRows } from "../losses/rec.ts";
import { infoNCE, normalize } from "../losses/infonce.ts";
import { distillKL } from "../losses/distill.ts";
import { weighted } from "../losses/combine.ts";
import {
  clusterCrossEntropy,
  cosineScores,
  onlineClustering,
} from "../cluster/online.ts";
import { sinkhorn } from "../cluster/sinkhorn.ts";
import { kmeans } from "../cluster/kmeans.ts";
import type { ClusterSource } from "../eval/cluster_report.ts";
import { adam } from "../optim/transform.ts";
import { jointStepper, type LossOutput } from "../optim/stepper.ts";
import { makeModel, type Model } from "../training/model.ts";
import { ConfigError } from "../util/errors.ts";
import { makeRng, type Rng } from "../util/rng.ts";
import {
  choice,
  type KeySpecsOf,
  nonNeg,
  posInt,
  posNum,
} from "../util/keys.ts";
import { defineMethod, type MethodDef } from "./registry.ts";
import { encodeForRec, lastPositionScorer, recLoss } from "./next_item.ts";
import {
  augmenterFromConfig,
  CONTRASTIVE_KEYS,
  type ContrastiveConfig,
  encodeViews,
  type ViewBatch,
  withViews,
} from "./views.ts";

/**
 * Lloyd iterations of the K-means intents: 20, the faiss setting of the PCL
 * K-means that ICLRec's derives from (one run; faiss's nredo restarts are not
 * repeated here).
 *
 * @example
 * ```ts
 * import { S4REC_KMEANS_ITERATIONS } from "./s4rec.ts";
 * if (S4REC_KMEANS_ITERATIONS !== 20) throw new Error();
 * ```
 */
export const S4REC_KMEANS_ITERATIONS = 20;

/** An S4Rec model: a {@linkcode Model} that also exposes its intents. */
export interface S4RecModel extends Model {
  /**
   * The intents: `cluster(seqs)` embeds sequences (no dropout) and gives each
   * its intent. Online: the nearest prototype (largest cosine, i.e. argmax
   * p). K-means: K-means over those sequences' normalised embeddings (what
   * the next epoch would use), seeded by `cfg.seed`.
   */
  clusters: ClusterSource;
  /** The current unit intents `[K, d]` (a new tensor; the caller disposes it), or undefined before the first K-means. */
  intents(): Tensor2D | undefined;
}

interface S4RecBatch extends ViewBatch {
  /** Per row: 1 = head sequence, 0 = tail. */
  heads: Int32Array;
}

const PROTO = "s4rec.prototypes";
const ADV = "s4rec.adv";

/**
 * The head/tail adversary of Eq. 13: a linear classifier (`s4rec.adv`, with
 * bias) on the sequence embedding behind a gradient reversal layer, and its
 * mean cross-entropy against `labels` (1 = head, 0 = tail). The classifier
 * descends the loss; the reversed gradient makes the encoder ascend it.
 *
 * `input` "unit" classifies z / ||z||: the adversary then only removes
 * length information from the direction of z, which is what the clustering
 * sees (cosine scores), and it cannot win by inflating ||z||. With "raw"
 * (the letter of Eq. 13) and lambda = 1, the reversed gradient grew z's
 * norm and slowed the next-item loss on Beauty about threefold (validation
 * NDCG@20 after 4 epochs .0121 raw, .0268 unit, .0293 without adversary).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { headTailAdversary } from "./s4rec.ts";
 * const p = { "s4rec.adv.w": tf.variable(tf.ones([2, 2])), "s4rec.adv.b": tf.variable(tf.zeros([2])) };
 * const loss = headTailAdversary(p, tf.tensor2d([[1, 2]]), tf.tensor1d([1], "int32"));
 * if (Math.abs(loss.dataSync()[0] - Math.log(2)) > 1e-6) throw new Error();
 * ```
 */
export function headTailAdversary(
  p: Params,
  z: Tensor2D,
  labels: Tensor1D,
  opts: { input?: "unit" | "raw" } = {},
): Scalar {
  return tf.tidy(() => {
    const x = (opts.input ?? "unit") === "unit" ? normalize(z) : z;
    const logits = dense(p, ADV, gradReverse(x)) as Tensor2D;
    return tf.mean(
      tf.sub(
        logSumExpRows(logits),
        tf.sum(tf.mul(logits, tf.oneHot(labels, 2).toFloat()), 1),
      ),
    ) as Scalar;
  });
}

// S4Rec contrasts last-position embeddings only (its intents live in the
// d-dimensional space of z): every contrastive key but clEmbedding.
const { clEmbedding: _lastOnly, ...S4REC_VIEW_KEYS }: KeySpecsOf<
  ContrastiveConfig
> = CONTRASTIVE_KEYS;

/** S4Rec's own settings (documented in {@linkcode S4REC_KEYS}). */
export interface S4recConfig {
  /** K prototypes. */
  clusters: number;
  /** Weight alpha of the clustering loss. */
  clusterWeight: number;
  /** Temperature tau1 of the assignment. */
  clusterTemperature: number;
  /** Online (Sinkhorn) or K-means intents. */
  clustering: "online" | "kmeans";
  /** Sinkhorn-Knopp epsilon. */
  sinkhornEpsilon: number;
  /** Sinkhorn-Knopp iterations. */
  sinkhornIters: number;
  /** Weight beta2 of the self-distillation. */
  distillWeight: number;
  /** Temperature tau3 of the self-distillation. */
  distillTemperature: number;
  /** Weight lambda of the adversary. */
  advWeight: number;
  /** What the adversary sees. */
  advInput: "unit" | "raw";
}

/** S4Rec's contrastive settings: every contrastive key but clEmbedding. */
export type S4recViewConfig = Omit<ContrastiveConfig, "clEmbedding">;

/**
 * S4Rec's own keys (beta1 is `clWeight`, tau2 `clTemperature`).
 *
 * @example
 * ```ts
 * import { S4REC_KEYS } from "./s4rec.ts";
 * if (S4REC_KEYS.sinkhornIters.default !== 3 || S4REC_KEYS.clustering.valid("spectral")) throw new Error();
 * ```
 */
export const S4REC_KEYS: KeySpecsOf<S4recConfig> = {
  clusters: posInt(128, "S4Rec K: number of prototypes (intents)."),
  clusterWeight: nonNeg(0.01, "S4Rec alpha: weight of the clustering loss."),
  clusterTemperature: posNum(
    0.1,
    "S4Rec tau1: temperature of the soft assignment p = softmax(z mu^T / tau1).",
  ),
  clustering: choice(
    ["online", "kmeans"],
    "online",
    'S4Rec: "online" (Sinkhorn, in-batch) or "kmeans" (ICLRec-style, each epoch).',
  ),
  sinkhornEpsilon: posNum(0.05, "Sinkhorn-Knopp entropy epsilon."),
  sinkhornIters: posInt(3, "Sinkhorn-Knopp iterations."),
  distillWeight: nonNeg(
    0.1,
    "S4Rec beta2: weight of the cluster-aware self-distillation.",
  ),
  distillTemperature: posNum(
    1,
    "S4Rec tau3: temperature of the self-distillation softmax.",
  ),
  advWeight: nonNeg(
    1,
    "S4Rec lambda: weight of the head/tail adversary (0 = off).",
  ),
  advInput: choice(
    ["unit", "raw"],
    "unit",
    'S4Rec: what the head/tail classifier sees: "unit" = z / ||z|| (the direction the ' +
      'clustering uses), "raw" = z itself.',
  ),
};

/**
 * S4Rec with every knob from `cfg`: clusters (K), clusterWeight (alpha),
 * clusterTemperature (tau1), clustering ("online" | "kmeans"),
 * sinkhornEpsilon, sinkhornIters, clWeight (beta1), clTemperature (tau2),
 * clSimilarity, distillWeight (beta2), distillTemperature (tau3), advWeight
 * (lambda), advInput, augment.
 *
 * @example
 * ```ts
 * import { s4rec } from "./s4rec.ts";
 * if ("clEmbedding" in s4rec.keys || "maxTokens" in s4rec.keys) throw new Error();
 * if (s4rec.keys.clusters.default !== 128) throw new Error();
 * ```
 */
export const s4rec: MethodDef<S4recViewConfig & S4recConfig, S4RecModel> =
  defineMethod({
    name: "s4rec",
    summary:
      "K prototypes with Sinkhorn-Knopp equal-partition targets (or K-means each epoch), InfoNCE " +
      "with the non-assigned prototypes as extra negatives, cluster-aware self-distillation, a " +
      "head/tail classifier behind gradient reversal",
    paper:
      "Wei et al., Leave No One Behind: Online Self-Supervised Self-Distillation for Sequential " +
      "Recommendation, WWW 2024",
    keys: { ...S4REC_VIEW_KEYS, ...S4REC_KEYS },
    presets: {
      paper: {
        summary:
          "S4Rec as its paper reports: BCE with one negative (the Salesforce code it builds on), " +
          "batch 512, dropout 0.5, alpha 0.01, beta1 0.1, beta2 0.1, lambda 1, K = 128, mask/crop/" +
          "reorder/insert, InfoNCE by dot product at temperature 1",
        values: {
          ...SALESFORCE_TRAINING,
          batchSize: 512,
          clWeight: 0.1,
          clSimilarity: "dot",
          clTemperature: 1,
          augment: "crop,mask,reorder,insert",
          cropEta: 0.6,
          maskGamma: 0.3,
          reorderBeta: 0.2,
          insertRate: 0.3,
          clusters: 128,
          clusterWeight: 0.01,
          clusterTemperature: 0.1,
          clustering: "online",
          distillWeight: 0.1,
          distillTemperature: 1,
          advWeight: 1,
        },
        differences: [
          ...SALESFORCE_DIFFERENCES,
          MASK_TOKEN_DIFFERENCE,
          "the contrastive embedding is the last position's (the prototypes live in that space); the " +
          "paper does not say which its code contrasts",
          "tau1 = 0.1 and tau3 = 1 from the paper's {0.1, 1.0}; Sinkhorn epsilon 0.05 and 3 " +
          "iterations as SwAV (the paper leaves them open)",
        ],
      },
    },
    build: (cfg, split, rng): S4RecModel => {
      const K = cfg.clusters, d = cfg.hidden;
      const online = cfg.clustering === "online";
      const params: Params = {};
      const encoder = buildEncoder(params, cfg, split.numItems, rng);
      if (online) {
        params[PROTO] = normalVar([K, d], 1 / Math.sqrt(d), rng, PROTO);
      }
      initDense(params, ADV, d, 2, rng);
      const trainable = Object.keys(params);
      const dataAug = augmenterFromConfig(cfg, split);
      const sk = {
        epsilon: cfg.sinkhornEpsilon,
        iterations: cfg.sinkhornIters,
      };

      // K-means intents (unit rows), refreshed by onEpochStart.
      let centroids: Tensor2D | undefined;
      const intents = (p: Params): Tensor2D => {
        if (online) return normalize(p[PROTO] as unknown as Tensor2D);
        if (!centroids) {
          throw new Error(
            "s4rec (clustering 'kmeans'): no intents yet; onEpochStart clusters the sequences before each epoch",
          );
        }
        return centroids;
      };

      // Sequence embeddings without dropout, L2-normalised, row-major [n, d].
      const embed = async (seqs: Int32Array[]): Promise<Float32Array> => {
        const out = new Float32Array(seqs.length * d);
        const idx = Array.from({ length: seqs.length }, (_, i) => i);
        let row = 0;
        for (
          const b of evalBatches(seqs, idx, {
            batchSize: cfg.evalBatchSize,
            maxLen: cfg.maxLen,
          })
        ) {
          const z = tf.tidy(() =>
            normalize(
              lastPosition(encoder.encode(params, b, { lastOnly: true })),
            )
          );
          out.set(await z.data(), row * d);
          z.dispose();
          row += b.batchSize;
        }
        return out;
      };
      const kmeansIntents = async (seqs: Int32Array[], r: Rng) => {
        if (K > seqs.length) {
          throw new ConfigError(
            "clusters",
            `at most the number of training sequences (${seqs.length}) for K-means`,
            String(K),
          );
        }
        const res = kmeans(await embed(seqs), d, {
          k: K,
          rng: r,
          iterations: S4REC_KMEANS_ITERATIONS,
        });
        return res;
      };
      const refreshCentroids = async (r: Rng) => {
        const res = await kmeansIntents(split.train, r);
        centroids?.dispose();
        centroids = tf.tidy(() =>
          normalize(tf.tensor2d(res.centroids, [K, d]))
        );
      };

      // Part 1: the next-item branch on the un-augmented sequences, with the
      // clustering loss and the head/tail adversary on its embedding z.
      const recPart = (p: Params, batch: S4RecBatch, r: Rng): LossOutput => {
        const enc = encodeForRec(encoder, p, batch, { rng: r }, cfg.samples);
        const h = enc.hidden;
        const rec = recLoss(encoder, p, h, enc.batch, cfg.loss);
        const z = lastPosition(h);
        const mu = intents(p);
        let clust: Scalar;
        if (online) {
          const out = onlineClustering(z, mu, {
            temperature: cfg.clusterTemperature,
            ...sk,
          });
          out.codes.dispose();
          clust = out.loss;
        } else {
          const scores = cosineScores(z, mu);
          // The nearest centroid is a target (no gradient), like Sinkhorn's codes.
          const onehot = tf.tidy(() =>
            tf.oneHot(tf.argMax(stopGradient(scores), 1), K).toFloat()
          ) as Tensor2D;
          clust = clusterCrossEntropy(scores, onehot, {
            temperature: cfg.clusterTemperature,
          });
        }
        const labels = tf.tensor1d(batch.heads, "int32");
        const adv = headTailAdversary(p, z, labels, { input: cfg.advInput });
        return weighted({
          rec: [1, rec],
          clust: [cfg.clusterWeight, clust],
          adv: [cfg.advWeight, adv],
        });
      };

      // Part 2: the two augmented views: L_SCL with intent negatives, L_CKD.
      const viewPart = (p: Params, batch: S4RecBatch, r: Rng): LossOutput => {
        const [z1, z2] = encodeViews(encoder, p, batch, { rng: r }, cfg);
        const mu = stopGradient(intents(p));
        const assign = tf.tidy(() => {
          const both = tf.add(
            normalize(stopGradient(z1)),
            normalize(stopGradient(z2)),
          ) as Tensor2D;
          const s = cosineScores(both, mu);
          return tf.argMax(online ? sinkhorn(s, sk) : s, 1) as Tensor1D;
        });
        // Mean norm of the views' embeddings (no gradient): the scale at which
        // unit intents meet raw embeddings.
        const scale = tf.tidy(() =>
          tf.mean(
            tf.sqrt(tf.sum(tf.square(stopGradient(tf.concat([z1, z2]))), 1)),
          )
        );
        const protos = tf.mul(mu, scale) as Tensor2D;
        // One-hot rows of h(u) (a matmul picks the teacher: gathering by an
        // index tensor that the tape links to the parameters is not allowed).
        const onehot = tf.oneHot(assign, K).toFloat() as Tensor2D;
        const extraMask = tf.sub(1, tf.concat([onehot, onehot])) as Tensor2D;
        const scl = infoNCE(z1, z2, {
          temperature: cfg.clTemperature,
          similarity: cfg.clSimilarity,
          extraNegatives: protos,
          extraMask,
        });
        const teacher = tf.matMul(onehot, protos) as Tensor2D;
        const tau3 = { temperature: cfg.distillTemperature };
        const ckd = tf.add(
          distillKL(teacher, z1, tau3),
          distillKL(teacher, z2, tau3),
        ) as Scalar;
        return weighted({
          cl: [cfg.clWeight, scl],
          ckd: [cfg.distillWeight, ckd],
        });
      };

      const parts = cfg.clWeight > 0 || cfg.distillWeight > 0
        ? [recPart, viewPart]
        : [recPart];
      const model = makeModel({
        method: "s4rec",
        encoder,
        params,
        stepper: jointStepper(
          parts,
          adam(runSchedule(cfg, split), { weightDecay: cfg.weightDecay }),
          trainable,
        ),
        objective: parts,
        prepareBatch: (batch, ctx): S4RecBatch => ({
          ...withViews(batch, ctx, dataAug, cfg),
          heads: Int32Array.from(batch.users, (u) => ctx.split.isHead[u]),
        }),
        // Outside `fit` (no onEpochStart yet): cluster now.
        beforeStep: async (ctx) => {
          if (!online && !centroids) await refreshCentroids(ctx.rng);
        },
        scorer: lastPositionScorer(encoder, params),
        onEpochStart: online
          ? undefined
          : async (_epoch, _split, r) => await refreshCentroids(r),
        dispose: () => {
          centroids?.dispose();
          centroids = undefined;
        },
      });
      const clusters: ClusterSource = {
        numClusters: K,
        cluster: async (seqs) => {
          if (!online) {
            return (await kmeansIntents(seqs, makeRng(cfg.seed))).assign;
          }
          const z = await embed(seqs);
          const mu = tf.tidy(() =>
            normalize(params[PROTO] as unknown as Tensor2D)
          );
          const m = (await mu.data()) as Float32Array;
          mu.dispose();
          const out = new Int32Array(seqs.length);
          for (let i = 0; i < seqs.length; i++) {
            let best = 0, bestV = -Infinity;
            for (let k = 0; k < K; k++) {
              let s = 0;
              for (let t = 0; t < d; t++) s += z[i * d + t] * m[k * d + t];
              if (s > bestV) {
                bestV = s;
                best = k;
              }
            }
            out[i] = best;
          }
          return out;
        },
      };
      return Object.assign(model, {
        clusters,
        intents: () =>
          online || centroids
            ? tf.tidy(() => tf.clone(intents(params)))
            : undefined,
      });
    },
  });
