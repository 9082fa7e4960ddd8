/**
 * Losses: next-item objectives, InfoNCE, combinators, sequence embeddings.
 *
 * @module
 */
export * from "./rec.ts";
export * from "./infonce.ts";
export * from "./combine.ts";
export * from "./distill.ts";
export * from "./regularizer.ts";
// sampledSoftmax itself is reached through recLoss (lib/methods/next_item.ts)
// or from "./sampled.ts": its tensor types are tfjs's, which deno doc cannot see.
export {
  drawNegatives,
  itemProposal,
  type Proposal,
  SAMPLED_KEYS,
  type SampledConfig,
  type SharedNegatives,
} from "./sampled.ts";
export * from "./regimes.ts";
