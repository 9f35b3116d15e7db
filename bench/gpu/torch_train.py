#!/usr/bin/env python3
"""PyTorch peer of `crosslayer bench train`: trains the SAME config (read from src/model/presets/*.json)
with the architecture of scripts/golden/make_fixture.py (pre-norm RMSNorm with separate Q and K/V
norms, RoPE rotate-half, GQA/MQA, cross-layer K/V sharing, SwiGLU, no biases, untied head unless the
config ties it), AdamW betas (0.9, 0.95) eps 1e-8 wd 0.1 on matrices only, global-norm clip 1.0.

Modes: fp32 (eager, TF32 off), bf16 (autocast eager), compile (bf16 autocast + torch.compile).
Random token ids, uniform over the vocabulary. tokens/s = B*T / median step time; every step ends
with a synchronize (as our trainer's step ends with a host read), timed by CUDA events on CUDA.
Prints a table and one JSON object per line (--json: JSON lines only). Needs only torch.

  python3 bench/gpu/torch_train.py                      # small-H64-MQA, B 32, T 512 on cuda
  /usr/bin/python3 bench/gpu/torch_train.py --device cpu --config tiny-H16-MQA --batch 2 --seq 32 \\
      --steps 3 --warmup 1 --modes fp32                 # smoke test on a CPU-only torch
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DEFAULTS = {"normEps": 1e-5, "ropeBase": 10000.0, "tiedEmbeddings": False, "initStd": 0.01275}
# Dense datasheet peaks (TFLOP/s) by (device pattern, dtype); MFU is printed against these.
PEAKS = [("h100", "fp32", 67.0), ("h100", "bf16", 989.0), ("h200", "fp32", 67.0), ("h200", "bf16", 989.0)]


# ---- config: the preset JSON families of src/model/presets (base fields + one entry per model) ----
def load_config(name, model_json=None):
    if model_json:
        with open(model_json) as f:
            cfg = json.load(f)
    else:
        cfg = None
        for path in sorted(glob.glob(os.path.join(ROOT, "src", "model", "presets", "*.json"))):
            with open(path) as f:
                fam = json.load(f)
            for m in fam["models"]:
                if m["name"].lower() == name.lower():
                    cfg = {**fam["base"], **m}
        if cfg is None:
            sys.exit(f"unknown preset {name!r}: see src/model/presets/*.json (e.g. small-H64-MQA)")
    return {**DEFAULTS, **cfg}


def producers(cfg):
    """layer -> producer layer, as src/model/sharing.ts."""
    L, s = cfg["nLayers"], cfg.get("kvSharing", 1)
    if isinstance(s, dict):
        s = s.get("factor") or s.get("pattern") or s.get("map")
    if isinstance(s, list):
        return list(s)
    if isinstance(s, int):
        return [l - l % s for l in range(L)]
    if L <= 2:
        return list(range(L))
    P = 2 + math.ceil((L - 2) / 2)
    sizes = {
        "keep-ends": [1] + [2 if i < (L - 2) // 2 else 1 for i in range(math.ceil((L - 2) / 2))] + [1],
        "dense-front": [1] * (P - 2) + [L - P + 1, 1],
        "dense-back": [1, L - P + 1] + [1] * (P - 2),
    }[s]
    out = []
    for g in sizes:
        out += [len(out)] * g
    return out


def train_flops_per_token(cfg, T):
    """src/model/accounting.ts trainFlopsPerToken: 3 x forward at the causal mean context (T+1)/2."""
    V, C, L = cfg["vocabSize"], cfg["dModel"], cfg["nLayers"]
    H, Hkv, D, Fd = cfg["nHeads"], cfg["nKvHeads"], cfg["headDim"], cfg["ffnDim"]
    P = len(set(producers(cfg)))
    macs = L * (2 * C * H * D + 3 * C * Fd) + P * 2 * C * Hkv * D + V * C
    return 3 * (2 * macs + L * 4 * H * D * (T + 1) / 2)


# ---- the model (same math as scripts/golden/make_fixture.py, as nn.Modules) ----
class RMSNorm(torch.nn.Module):
    def __init__(self, c, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope(x, cos, sin):
    """x: (B, T, h, D); pairs (i, i + D/2); cos, sin: (T, D/2)."""
    half = x.shape[-1] // 2
    c, s = cos[None, :, None, :].to(x.dtype), sin[None, :, None, :].to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


def attention(q, k, v):
    """q: (B, T, H, D); k, v: (B, T, Hkv, D); query head h reads K/V head h // (H / Hkv). Causal."""
    H, Hkv = q.shape[2], k.shape[2]
    if Hkv != H:
        k = k.repeat_interleave(H // Hkv, dim=2)
        v = v.repeat_interleave(H // Hkv, dim=2)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
    if hasattr(F, "scaled_dot_product_attention"):
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    else:  # torch < 2.0
        s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        T = s.shape[-1]
        s = s.masked_fill(~torch.ones(T, T, dtype=torch.bool, device=s.device).tril(), float("-inf"))
        o = s.softmax(-1) @ v
    return o.transpose(1, 2)  # (B, T, H, D)


class Layer(torch.nn.Module):
    def __init__(self, cfg, producer):
        super().__init__()
        C, H, Hkv, D, Fd, eps = (cfg[k] for k in ("dModel", "nHeads", "nKvHeads", "headDim", "ffnDim", "normEps"))
        self.H, self.Hkv, self.D, self.F = H, Hkv, D, Fd
        self.q_norm = RMSNorm(C, eps)
        self.wq = torch.nn.Linear(C, H * D, bias=False)
        self.producer = producer
        if producer:
            self.kv_norm = RMSNorm(C, eps)
            self.wk = torch.nn.Linear(C, Hkv * D, bias=False)
            self.wv = torch.nn.Linear(C, Hkv * D, bias=False)
        self.wo = torch.nn.Linear(H * D, C, bias=False)
        self.ffn_norm = RMSNorm(C, eps)
        self.w_gate_up = torch.nn.Linear(C, 2 * Fd, bias=False)
        self.w_down = torch.nn.Linear(Fd, C, bias=False)

    def forward(self, x, kv, cos, sin):
        B, T, _ = x.shape
        q = rope(self.wq(self.q_norm(x)).view(B, T, self.H, self.D), cos, sin)
        if self.producer:
            xkv = self.kv_norm(x)
            k = rope(self.wk(xkv).view(B, T, self.Hkv, self.D), cos, sin)
            kv = (k, self.wv(xkv).view(B, T, self.Hkv, self.D))
        x = x + self.wo(attention(q, *kv).reshape(B, T, self.H * self.D))
        gu = self.w_gate_up(self.ffn_norm(x))
        x = x + self.w_down(F.silu(gu[..., : self.F]) * gu[..., self.F :])
        return x, kv


class ClaLm(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        prod = producers(cfg)
        self.embed = torch.nn.Embedding(cfg["vocabSize"], cfg["dModel"])
        self.layers = torch.nn.ModuleList(Layer(cfg, prod[l] == l) for l in range(cfg["nLayers"]))
        self.norm = RMSNorm(cfg["dModel"], cfg["normEps"])
        self.lm_head = None
        if not cfg["tiedEmbeddings"]:
            self.lm_head = torch.nn.Linear(cfg["dModel"], cfg["vocabSize"], bias=False)
        D = cfg["headDim"]
        inv = cfg["ropeBase"] ** (-2.0 * torch.arange(D // 2, dtype=torch.float64) / D)
        ang = torch.arange(cfg["maxSeqLen"], dtype=torch.float64)[:, None] * inv[None, :]
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, 0.0, cfg["initStd"])

    def forward(self, ids, targets):
        T = ids.shape[1]
        cos, sin = self.cos[:T], self.sin[:T]
        x, kv = self.embed(ids), None
        for layer in self.layers:
            x, kv = layer(x, kv, cos, sin)
        x = self.norm(x)
        logits = x @ self.embed.weight.T if self.lm_head is None else self.lm_head(x)
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1))


# ---- one mode: build, warm up, time ----
def run_mode(mode, cfg, args, device):
    torch.manual_seed(args.seed)
    model = ClaLm(cfg).to(device)
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    extra = {"fused": True} if device.type == "cuda" else {}
    opt = torch.optim.AdamW(groups, lr=3e-4, betas=(0.9, 0.95), eps=1e-8, **extra)
    fwd = torch.compile(model) if mode == "compile" else model
    amp = mode in ("bf16", "compile")
    B, T, V = args.batch, args.seq, cfg["vocabSize"]
    gen = torch.Generator(device="cpu").manual_seed(args.seed)

    def batch():
        toks = torch.randint(0, V, (B, T + 1), generator=gen)
        return toks[:, :T].contiguous().to(device), toks[:, 1:].contiguous().to(device)

    def step():
        ids, targets = batch()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = fwd(ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    for _ in range(args.warmup):
        loss = step()
    sync()
    warm_s = time.perf_counter() - t0
    times, losses = [], []
    for _ in range(args.steps):
        if device.type == "cuda":
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            loss = step()
            e1.record()
            sync()
            times.append(e0.elapsed_time(e1) / 1000)
        else:
            s0 = time.perf_counter()
            loss = step()
            times.append(time.perf_counter() - s0)
        losses.append(loss.item())
    med = statistics.median(times)
    tps = B * T / med
    tflops = train_flops_per_token(cfg, T) * tps / 1e12
    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    dtype = "fp32" if mode == "fp32" else "bf16"
    peak = next((p for pat, d, p in PEAKS if pat in dev_name.lower() and d == dtype), None)
    return {
        "bench": "train",
        "peer": "pytorch",
        "mode": mode,
        "config": cfg["name"],
        "params": sum(p.numel() for p in model.parameters()),
        "batch": B,
        "seq": T,
        "steps": args.steps,
        "warmup": args.warmup,
        "warmupSeconds": round(warm_s, 3),
        "medianStepSeconds": med,
        "tokensPerSecond": tps,
        "trainFlopsPerToken": train_flops_per_token(cfg, T),
        "tflops": tflops,
        **({"peakTflops": peak, "mfu": tflops / peak} if peak else {}),
        "finalLoss": losses[-1],
        "device": dev_name,
        **({"threads": torch.get_num_threads()} if device.type == "cpu" else {}),
        "torch": torch.__version__,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="small-H64-MQA", help="preset name (src/model/presets/*.json)")
    ap.add_argument("--model-json", help="a ModelConfig JSON file instead of a preset")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=None, help="default: the config's maxSeqLen")
    ap.add_argument("--steps", type=int, default=20, help="timed steps (median)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first (compile happens here)")
    ap.add_argument("--modes", default="fp32,bf16,compile")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--threads", type=int, help="cpu: intra-op threads (torch.set_num_threads)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="JSON lines only")
    ap.add_argument("--out", help="also append the JSON lines to this file")
    args = ap.parse_args()
    cfg = load_config(args.config, args.model_json)
    args.seq = args.seq or cfg["maxSeqLen"]
    if args.seq > cfg["maxSeqLen"]:
        sys.exit(f"--seq {args.seq} exceeds the config's maxSeqLen {cfg['maxSeqLen']}")
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("CUDA is not available: pass --device cpu")
    # fp32 means fp32: no TF32 anywhere (also keeps the bf16 modes' fp32 parts exact)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows = []
    for mode in args.modes.split(","):
        try:
            row = run_mode(mode, cfg, args, device)
        except Exception as e:  # one failing mode (e.g. no compiler for torch.compile) still reports
            row = {"bench": "train", "peer": "pytorch", "mode": mode, "config": cfg["name"], "error": repr(e)[:500]}
        rows.append(row)
        line = json.dumps(row)
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(line + "\n")
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        return
    print(f"\n{'by':<18} {'config':<20} {'BxT':<10} {'ms/step':>9} {'tokens/s':>11} {'TFLOP/s':>8} {'MFU':>6}")
    for r in rows:
        if "error" in r:
            print(f"{'pytorch ' + r['mode']:<18} {r['config']:<20} failed: {r['error'][:80]}")
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if "mfu" in r else ""
        print(
            f"{'pytorch ' + r['mode']:<18} {r['config']:<20} {str(r['batch']) + 'x' + str(r['seq']):<10} "
            f"{1e3 * r['medianStepSeconds']:>9.2f} {r['tokensPerSecond']:>11.0f} {r['tflops']:>8.2f} {mfu:>6}"
        )
    dev = next((r["device"] for r in rows if "device" in r), args.device)
    print(f"device: {dev}; torch {torch.__version__}; MFU against dense datasheet peaks (fp32 67, bf16 989 TFLOP/s)")


if __name__ == "__main__":
    main()
