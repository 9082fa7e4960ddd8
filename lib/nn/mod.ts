/**
 * Encoders and layers: SASRec, GRU, parameters.
 *
 * @module
 */
export * from "./params.ts";
export * from "./layers.ts";
export type { EncodeOptions, Encoder, SeqInput } from "./encoder.ts";
export {
  initSasrec,
  initSasrecBlock,
  type SasrecBlockNames,
  type SasrecConfig,
  type SasrecNames,
  sasrecNames,
} from "./sasrec.ts";
export { type GruConfig, initGru } from "./gru.ts";
export * from "./encoders.ts";
export { ffnStack, initFfnStack, keptLayers } from "./ffn_stack.ts";
export { gradReverse, stopGradient } from "./grad_reverse.ts";
export {
  encodeLastByLength,
  encodeLastStacked,
  lengthGroups,
  rowLengths,
  stackInputs,
} from "./by_length.ts";
export {
  augmenterMlp,
  type AugmenterMlpInit,
  type AugmenterMlpOptions,
  augmenterWidths,
  initAugmenterMlp,
} from "./augmenter_mlp.ts";
