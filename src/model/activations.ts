// Activation and activation-gradient buffers for one (B, T), allocated once and reused by every
// forward/backward at that shape (llm.c style). One device buffer per tensor, so no single buffer
// grows past a per-binding limit. Sharing (non-producer) layers get no k, v or kv-norm buffers.
// This file allocates and frees; it does no math.
import type { Backend } from "../backend/backend.js";
import { type DeviceBuffer, type DType, type Tensor, view } from "../backend/tensor.js";
import type { ModelConfig } from "./config-types.js";

export interface LayerActs {
  qRstd: Tensor; // (N)
  xq: Tensor; // (N, C) q_norm(res[l])
  kvRstd: Tensor | null; // (N), producers only
  xkv: Tensor | null; // (N, C) kv_norm(res[l]), producers only
  q: Tensor; // (B, T, H, D) after RoPE
  k: Tensor | null; // (B, T, Hkv, D) after RoPE, producers only
  v: Tensor | null; // (B, T, Hkv, D), producers only
  att: Tensor; // (B, T, H, D) attention output
  lse: Tensor; // (B, H, T)
  resMid: Tensor; // (N, C) res[l] + att @ wo^T
  fRstd: Tensor; // (N)
  xf: Tensor; // (N, C) ffn_norm(resMid)
  gu: Tensor; // (N, 2F) [gate | up]
  h: Tensor; // (N, F) silu(gate) * up
}

/** Scratch for backward; one set shared by all layers (K/V grads live for one sharing group). */
export interface GradActs {
  dres: Tensor; // (N, C) dLoss/d residual stream
  dx: Tensor; // (N, C) dLoss/d (a norm's output)
  dh: Tensor; // (N, F)
  dgu: Tensor; // (N, 2F)
  datt: Tensor; // (B, T, H, D)
  dq: Tensor; // (B, T, H, D)
  dk: Tensor; // (B, T, Hkv, D) accumulated over the layers of one sharing group
  dv: Tensor; // (B, T, Hkv, D)
  dlogits: Tensor; // (N, V)
}

export interface Activations {
  readonly B: number;
  readonly T: number;
  readonly N: number;
  ids: Tensor; // (N) i32
  targets: Tensor; // (N) i32, -1 = ignored
  positions: Tensor; // (N) i32, t for row b*T + t
  res: Tensor[]; // L + 1 of (N, C): res[0] = embedding, res[l + 1] = output of layer l
  layers: LayerActs[];
  normRstd: Tensor; // (N)
  xFinal: Tensor; // (N, C) norm(res[L])
  logits: Tensor; // (N, V)
  losses: Tensor; // (N)
  grads: GradActs | null; // allocated by the first backward at this shape
  /** Allocates one more f32 tensor owned (and freed) by this set. */
  alloc(name: string, shape: number[]): Tensor;
  /** Frees every buffer. */
  free(): void;
}

class Allocator {
  readonly buffers: DeviceBuffer[] = [];
  constructor(
    private readonly backend: Backend,
    private readonly prefix: string,
  ) {}
  t(name: string, shape: number[], dtype: DType = "f32"): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const buf = this.backend.createBuffer(n, dtype, `${this.prefix}${name}`);
    this.buffers.push(buf);
    return view(buf, shape);
  }
}

/** Allocates the forward activations for (B, T); `producers` is the layer -> producer map. */
export function allocActivations(
  backend: Backend,
  cfg: ModelConfig,
  producers: readonly number[],
  shape: { B: number; T: number },
): Activations {
  const { B, T } = shape;
  const N = B * T;
  const { dModel: C, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F, vocabSize: V, nLayers: L } = cfg;
  const a = new Allocator(backend, `act${B}x${T}.`);
  const layers: LayerActs[] = [];
  for (let l = 0; l < L; l++) {
    const prod = producers[l] === l;
    const p = `l${l}.`;
    layers.push({
      qRstd: a.t(`${p}q_rstd`, [N]),
      xq: a.t(`${p}xq`, [N, C]),
      kvRstd: prod ? a.t(`${p}kv_rstd`, [N]) : null,
      xkv: prod ? a.t(`${p}xkv`, [N, C]) : null,
      q: a.t(`${p}q`, [B, T, H, D]),
      k: prod ? a.t(`${p}k`, [B, T, Hkv, D]) : null,
      v: prod ? a.t(`${p}v`, [B, T, Hkv, D]) : null,
      att: a.t(`${p}att`, [B, T, H, D]),
      lse: a.t(`${p}lse`, [B, H, T]),
      resMid: a.t(`${p}res_mid`, [N, C]),
      fRstd: a.t(`${p}f_rstd`, [N]),
      xf: a.t(`${p}xf`, [N, C]),
      gu: a.t(`${p}gu`, [N, 2 * F]),
      h: a.t(`${p}h`, [N, F]),
    });
  }
  const res: Tensor[] = [];
  for (let l = 0; l <= L; l++) res.push(a.t(`res${l}`, [N, C]));
  const positions = a.t("positions", [N], "i32");
  const pos = new Int32Array(N);
  for (let i = 0; i < N; i++) pos[i] = i % T;
  backend.write(positions, pos);
  const acts: Activations = {
    B,
    T,
    N,
    ids: a.t("ids", [N], "i32"),
    targets: a.t("targets", [N], "i32"),
    positions,
    res,
    layers,
    normRstd: a.t("norm_rstd", [N]),
    xFinal: a.t("x_final", [N, C]),
    logits: a.t("logits", [N, V]),
    losses: a.t("losses", [N]),
    grads: null,
    alloc: (name, shape) => a.t(name, shape),
    free() {
      for (const b of a.buffers) backend.destroyBuffer(b);
      a.buffers.length = 0;
      acts.grads = null;
    },
  };
  return acts;
}

/** Allocates (once) the backward scratch of `acts`. */
export function ensureGradActs(cfg: ModelConfig, acts: Activations): GradActs {
  if (acts.grads) return acts.grads;
  const { B, T, N } = acts;
  const { dModel: C, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F, vocabSize: V } = cfg;
  const t = (name: string, shape: number[]) => acts.alloc(`grad.${name}`, shape);
  acts.grads = {
    dres: t("dres", [N, C]),
    dx: t("dx", [N, C]),
    dh: t("dh", [N, F]),
    dgu: t("dgu", [N, 2 * F]),
    datt: t("datt", [B, T, H, D]),
    dq: t("dq", [B, T, H, D]),
    dk: t("dk", [B, T, Hkv, D]),
    dv: t("dv", [B, T, Hkv, D]),
    dlogits: t("dlogits", [N, V]),
  };
  return acts.grads;
}
