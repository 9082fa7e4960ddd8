/**
 * Answers to recommendation requests: each request's known items are
 * scored as one sequence and its top-k unseen items returned by the names
 * the catalogue gives them; items the model does not know are listed in
 * the answer, never dropped without a word.
 *
 * @module
 */
import type { Scorer } from "../eval/evaluate.ts";
import { recommend } from "../eval/recommend.ts";
import { type ItemCatalogue, itemLabel, itemLookup } from "./catalogue.ts";
import type { RecommendRequest } from "./requests.ts";

/** The answer to one request (one JSON Lines output line). */
export interface RecommendAnswer {
  /** The request's id. */
  id: string | number;
  /**
   * The top-k items, best first, none of the request's known items (fewer
   * when fewer are left; none when the request has no known item).
   */
  items: (string | number)[];
  /** Their scores (7 significant digits). */
  scores: number[];
  /**
   * The request's items the model does not know (not a name or id of its
   * catalogue), in request order; they are left out of the sequence.
   */
  unknown: (string | number)[];
}

/** Options of {@linkcode answerRequests}. */
export interface AnswerOptions {
  /** Items per answer. */
  k: number;
  /** Longest input the model reads (its config's `maxLen`). */
  maxLen: number;
  /**
   * Users scored at once.
   * @default 512
   */
  batchSize?: number;
}

/**
 * Answer every request with the model's `scorer`: the known items of a
 * request, in order, are its sequence (the model reads its last `maxLen`;
 * all of them are excluded from the answer). A request with no known item
 * is not scored: its answer has no items.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { answerRequests } from "./respond.ts";
 * // items 1..3 at (1,0), (0,1), (1,1); every user is (1, 0.5)
 * const scorer = {
 *   represent: (b: { batchSize: number }) => tf.tidy(() => tf.tile(tf.tensor2d([[1, 0.5]]), [b.batchSize, 1])) as tf.Tensor2D,
 *   items: () => tf.tensor2d([[1, 0], [0, 1], [1, 1]]),
 * };
 * const [a, b] = await answerRequests(scorer, [
 *   { id: "x", items: ["mug", "cake"], line: 1 },
 *   { id: "y", items: ["cake"], line: 2 },
 * ], { numItems: 3, names: ["", "tea", "mug", "pan"] }, { k: 2, maxLen: 5 });
 * if (a.items.join() !== "pan,tea" || a.unknown.join() !== "cake") throw new Error(JSON.stringify(a));
 * if (a.scores.join() !== "1.5,1" || b.items.length !== 0 || b.unknown.join() !== "cake") throw new Error();
 * ```
 */
export async function answerRequests(
  scorer: Scorer,
  requests: RecommendRequest[],
  catalogue: ItemCatalogue,
  opts: AnswerOptions,
): Promise<RecommendAnswer[]> {
  const lookup = itemLookup(catalogue);
  const seqs: Int32Array[] = [];
  const answers = requests.map((r) => {
    const known: number[] = [];
    const unknown: (string | number)[] = [];
    for (const x of r.items) {
      const id = lookup(x);
      if (id > 0) known.push(id);
      else unknown.push(x);
    }
    seqs.push(Int32Array.from(known));
    return { id: r.id, items: [], scores: [], unknown } as RecommendAnswer;
  });
  const scored = seqs.flatMap((s, i) => s.length > 0 ? [i] : []);
  if (scored.length === 0) return answers;
  const { k } = opts;
  const top = await recommend(scorer, scored.map((i) => seqs[i]), {
    k,
    maxLen: opts.maxLen,
    numItems: catalogue.numItems,
    batchSize: opts.batchSize,
  });
  scored.forEach((i, r) => {
    for (let j = r * k; j < (r + 1) * k; j++) {
      const id = top.ids[j];
      if (id === 0) break; // fewer than k items left
      answers[i].items.push(itemLabel(catalogue, id));
      answers[i].scores.push(Number(top.scores[j].toPrecision(7)));
    }
  });
  return answers;
}
