// The one table of parameter tensors, derived from a ModelConfig (llm.c style): name, shape, offset
// into ONE flat f32 buffer, and whether AdamW weight decay applies. Gradients and the AdamW m/v
// state use the same layout in buffers of the same size. This file is pure (no backend, no I/O).
// Decayed tensors (matrices) come first, then norms, so AdamW runs as two calls over two ranges.
import { ConfigError } from "../errors.js";
import type { ModelConfig } from "./config-types.js";
import { producerMap } from "./sharing.js";

/** Every tensor offset is a multiple of this many elements (256 bytes of f32: WebGPU binding alignment). */
export const PARAM_ALIGN = 64;

export type ParamRole =
  | "embed"
  | "q_norm"
  | "kv_norm"
  | "wq"
  | "wk"
  | "wv"
  | "wo"
  | "ffn_norm"
  | "w_gate_up"
  | "w_down"
  | "norm"
  | "lm_head";

export interface ParamSpec {
  /** Checkpoint name, e.g. "layers.3.wq.weight". */
  readonly name: string;
  readonly role: ParamRole;
  /** Layer index, or -1 for embed / norm / lm_head. */
  readonly layer: number;
  readonly shape: readonly number[];
  /** Element offset into the flat buffer (a multiple of PARAM_ALIGN). */
  readonly offset: number;
  readonly numel: number;
  /** AdamW weight decay applies (matrices) or not (norm gains). */
  readonly decay: boolean;
  /** "normal" = N(0, initStd); "ones" = 1. */
  readonly init: "normal" | "ones";
}

export interface ParamRange {
  readonly offset: number;
  readonly size: number;
}

export interface ParamLayout {
  readonly tensors: readonly ParamSpec[];
  /** Elements of the flat buffer (including alignment padding, which stays zero). */
  readonly total: number;
  /** Sum of numel over tensors (the model's parameter count, padding excluded). */
  readonly paramCount: number;
  /** [0, decay.size): every decayed tensor. */
  readonly decay: ParamRange;
  /** [noDecay.offset, total): every norm gain. */
  readonly noDecay: ParamRange;
  /** layer -> producer layer (producer[l] <= l, producer[p] = p). */
  readonly producers: readonly number[];
  get(name: string): ParamSpec;
}

function alignUp(n: number): number {
  return Math.ceil(n / PARAM_ALIGN) * PARAM_ALIGN;
}

/** Builds the parameter table for `cfg`. Throws ConfigError if a dimension is not a positive integer. */
export function buildLayout(cfg: ModelConfig): ParamLayout {
  const { vocabSize: V, dModel: C, nLayers: L, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F } = cfg;
  for (const [k, v] of Object.entries({ V, C, L, H, Hkv, D, F })) {
    if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`${k} must be a positive integer, got ${v}`);
  }
  const producers = producerMap(cfg);
  if (producers.length !== L) {
    throw new ConfigError(`producer map has ${producers.length} entries for ${L} layers`);
  }
  const isProducer = (l: number) => producers[l] === l;

  type Entry = Omit<ParamSpec, "offset" | "numel">;
  const matrices: Entry[] = [];
  const norms: Entry[] = [];
  const mat = (name: string, role: ParamRole, layer: number, shape: number[]) =>
    matrices.push({ name, role, layer, shape, decay: true, init: "normal" });
  const gain = (name: string, role: ParamRole, layer: number) =>
    norms.push({ name, role, layer, shape: [C], decay: false, init: "ones" });

  mat("embed.weight", "embed", -1, [V, C]);
  for (let l = 0; l < L; l++) {
    const p = `layers.${l}.`;
    mat(`${p}wq.weight`, "wq", l, [H * D, C]);
    if (isProducer(l)) {
      mat(`${p}wk.weight`, "wk", l, [Hkv * D, C]);
      mat(`${p}wv.weight`, "wv", l, [Hkv * D, C]);
    }
    mat(`${p}wo.weight`, "wo", l, [C, H * D]);
    mat(`${p}w_gate_up.weight`, "w_gate_up", l, [2 * F, C]);
    mat(`${p}w_down.weight`, "w_down", l, [C, F]);
  }
  if (!cfg.tiedEmbeddings) mat("lm_head.weight", "lm_head", -1, [V, C]);
  for (let l = 0; l < L; l++) {
    const p = `layers.${l}.`;
    gain(`${p}q_norm.weight`, "q_norm", l);
    if (isProducer(l)) gain(`${p}kv_norm.weight`, "kv_norm", l);
    gain(`${p}ffn_norm.weight`, "ffn_norm", l);
  }
  gain("norm.weight", "norm", -1);

  const tensors: ParamSpec[] = [];
  let offset = 0;
  let paramCount = 0;
  const place = (e: Entry) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    tensors.push({ ...e, offset, numel: n });
    offset = alignUp(offset + n);
    paramCount += n;
  };
  matrices.forEach(place);
  const decayEnd = offset;
  norms.forEach(place);
  const total = offset;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    tensors,
    total,
    paramCount,
    decay: { offset: 0, size: decayEnd },
    noDecay: { offset: decayEnd, size: total - decayEnd },
    producers,
    get(name: string): ParamSpec {
      const t = byName.get(name);
      if (!t) throw new ConfigError(`no parameter named "${name}" in model "${cfg.name}"`);
      return t;
    },
  };
}
