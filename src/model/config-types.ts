// The model config type shared by model/, train/, infer/ and the CLI. Validation (zod schema,
// errors naming field, value and fix), presets and K/V-sharing resolution live beside it
// (config.ts, sharing.ts); this file is only the shape, so every layer can import it cheaply.
import type { DType } from "../backend/tensor.js";

/** How layers share K/V across the layer axis. */
export type KvSharing =
  /** Uniform CLA-s: consecutive groups of `factor` layers share the first layer's K/V (1 = none). */
  | { kind: "uniform"; factor: number }
  /** A named non-uniform pattern from the paper (resolved for the config's layer count). */
  | { kind: "pattern"; pattern: "keep-ends" | "dense-front" | "dense-back" }
  /** Explicit layer -> producer map: non-decreasing, producer[l] <= l, producers map to themselves. */
  | { kind: "map"; producers: number[] };

export interface ModelConfig {
  /** Display name, e.g. "H128-MQA-CLA2". */
  name: string;
  vocabSize: number; // V
  dModel: number; // C
  nLayers: number; // L
  nHeads: number; // H query heads
  nKvHeads: number; // Hkv, divides H (1 = MQA, H = MHA)
  headDim: number; // D, may differ from C / H (the paper's H512 / H90 models)
  ffnDim: number; // F (SwiGLU hidden size)
  normEps: number;
  ropeBase: number;
  tiedEmbeddings: boolean;
  /** Std of the N(0, std) init of every weight matrix (the paper: 0.01275). */
  initStd: number;
  /** Longest sequence the model is trained / served at. */
  maxSeqLen: number;
  kvSharing: KvSharing;
  /** Storage dtype of the KV cache when serving (accounting at 16 bits is always reported too). */
  kvDtype: Exclude<DType, "i32">;
}
