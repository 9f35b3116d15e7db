// Typed views of one flat parameter-layout buffer: the model's weights, or (same layout) its
// gradients. Built from the ParamLayout table so nothing else computes offsets. Views own nothing.
import type { DeviceBuffer, Tensor } from "../backend/tensor.js";
import { view } from "../backend/tensor.js";
import type { ParamLayout } from "./layout.js";

export interface LayerWeights {
  qNorm: Tensor; // (C)
  kvNorm: Tensor | null; // (C), producers only
  wq: Tensor; // (H*D, C)
  wk: Tensor | null; // (Hkv*D, C), producers only
  wv: Tensor | null; // (Hkv*D, C), producers only
  wo: Tensor; // (C, H*D)
  ffnNorm: Tensor; // (C)
  wGateUp: Tensor; // (2F, C): gate rows, then up rows
  wDown: Tensor; // (C, F)
}

export interface ModelWeights {
  embed: Tensor; // (V, C)
  layers: LayerWeights[];
  norm: Tensor; // (C)
  lmHead: Tensor; // (V, C): embed itself when tied
}

/** Views of every tensor of `layout` inside `buffer` (size layout.total). */
export function bindWeights(layout: ParamLayout, nLayers: number, buffer: DeviceBuffer): ModelWeights {
  const t = (name: string): Tensor => {
    const s = layout.get(name);
    return view(buffer, s.shape, s.offset);
  };
  const opt = (name: string): Tensor | null => (layout.tensors.some((s) => s.name === name) ? t(name) : null);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < nLayers; l++) {
    const p = `layers.${l}.`;
    layers.push({
      qNorm: t(`${p}q_norm.weight`),
      kvNorm: opt(`${p}kv_norm.weight`),
      wq: t(`${p}wq.weight`),
      wk: opt(`${p}wk.weight`),
      wv: opt(`${p}wv.weight`),
      wo: t(`${p}wo.weight`),
      ffnNorm: t(`${p}ffn_norm.weight`),
      wGateUp: t(`${p}w_gate_up.weight`),
      wDown: t(`${p}w_down.weight`),
    });
  }
  const embed = t("embed.weight");
  return { embed, layers, norm: t("norm.weight"), lmHead: opt("lm_head.weight") ?? embed };
}
