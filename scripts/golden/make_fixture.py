#!/usr/bin/env python3
"""Golden fixture for the CLA transformer, written from the spec (docs/model-math.md), NOT from our
TypeScript: a minimal PyTorch model (pre-norm RMSNorm with separate Q and K/V norms, RoPE in the HF
rotate-half convention, GQA, cross-layer K/V sharing, SwiGLU, no biases), its logits, loss, every
gradient, and three AdamW steps with global-norm clipping. Computed in float64 from float32 weights.

Usage (Debian's python3-torch):  /usr/bin/python3 scripts/golden/make_fixture.py
Writes test/fixtures/golden-gqa-cla2.json (checked in; CI runs no Python).
"""
import base64
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)

CONFIG = {
    "name": "golden-gqa-cla2",
    "vocabSize": 24,
    "dModel": 16,
    "nLayers": 4,
    "nHeads": 4,
    "nKvHeads": 2,
    "headDim": 6,  # H*D = 24 != C on purpose
    "ffnDim": 20,
    "normEps": 1e-5,
    "ropeBase": 10000.0,
    "tiedEmbeddings": False,
    "initStd": 0.3,
    "maxSeqLen": 16,
    "kvSharing": {"kind": "uniform", "factor": 2},
    "kvDtype": "f32",
}
B, T = 2, 7
ADAMW = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weightDecay": 0.1, "maxNorm": 1.0}
STEPS = 3


def producers(cfg):
    s = cfg["kvSharing"]["factor"]
    return [l - l % s for l in range(cfg["nLayers"])]


def param_specs(cfg):
    """(name, shape, init, decay) in the documented checkpoint naming."""
    V, C, L = cfg["vocabSize"], cfg["dModel"], cfg["nLayers"]
    H, Hkv, D, F = cfg["nHeads"], cfg["nKvHeads"], cfg["headDim"], cfg["ffnDim"]
    prod = producers(cfg)
    specs = [("embed.weight", (V, C), "normal", True)]
    for l in range(L):
        p = f"layers.{l}."
        specs.append((p + "q_norm.weight", (C,), "norm", False))
        if prod[l] == l:
            specs.append((p + "kv_norm.weight", (C,), "norm", False))
        specs.append((p + "wq.weight", (H * D, C), "normal", True))
        if prod[l] == l:
            specs.append((p + "wk.weight", (Hkv * D, C), "normal", True))
            specs.append((p + "wv.weight", (Hkv * D, C), "normal", True))
        specs.append((p + "wo.weight", (C, H * D), "normal", True))
        specs.append((p + "ffn_norm.weight", (C,), "norm", False))
        specs.append((p + "w_gate_up.weight", (2 * F, C), "normal", True))
        specs.append((p + "w_down.weight", (C, F), "normal", True))
    specs.append(("norm.weight", (C,), "norm", False))
    if not cfg["tiedEmbeddings"]:
        specs.append(("lm_head.weight", (V, C), "normal", True))
    return specs


def rmsnorm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, base):
    """x: (B, T, h, D); pairs (i, i + D/2), angle = t * base^(-2i/D)."""
    D = x.shape[-1]
    half = D // 2
    inv = base ** (-2.0 * torch.arange(half, dtype=torch.float64) / D)
    ang = torch.arange(x.shape[1], dtype=torch.float64)[:, None] * inv[None, :]  # (T, D/2)
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def attention(q, k, v):
    """q: (B, T, H, D); k, v: (B, T, Hkv, D); query head h reads K/V head h // (H / Hkv)."""
    H, Hkv, D = q.shape[2], k.shape[2], q.shape[3]
    k = k.repeat_interleave(H // Hkv, dim=2)
    v = v.repeat_interleave(H // Hkv, dim=2)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    Tq = s.shape[-1]
    mask = torch.ones(Tq, Tq, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    return (s.softmax(-1) @ v).transpose(1, 2)  # (B, T, H, D)


def forward(P, cfg, ids):
    Bs, Ts = ids.shape
    H, Hkv, D, F = cfg["nHeads"], cfg["nKvHeads"], cfg["headDim"], cfg["ffnDim"]
    eps, base = cfg["normEps"], cfg["ropeBase"]
    prod = producers(cfg)
    x = P["embed.weight"][ids]  # (B, T, C)
    kv = {}
    for l in range(cfg["nLayers"]):
        p = f"layers.{l}."
        xq = rmsnorm(x, P[p + "q_norm.weight"], eps)
        q = rope((xq @ P[p + "wq.weight"].T).view(Bs, Ts, H, D), base)
        if prod[l] == l:
            xkv = rmsnorm(x, P[p + "kv_norm.weight"], eps)
            k = rope((xkv @ P[p + "wk.weight"].T).view(Bs, Ts, Hkv, D), base)
            v = (xkv @ P[p + "wv.weight"].T).view(Bs, Ts, Hkv, D)
            kv[l] = (k, v)
        k, v = kv[prod[l]]
        x = x + attention(q, k, v).reshape(Bs, Ts, H * D) @ P[p + "wo.weight"].T
        gu = rmsnorm(x, P[p + "ffn_norm.weight"], eps) @ P[p + "w_gate_up.weight"].T
        x = x + (torch.nn.functional.silu(gu[..., :F]) * gu[..., F:]) @ P[p + "w_down.weight"].T
    head = P["embed.weight"] if cfg["tiedEmbeddings"] else P["lm_head.weight"]
    return rmsnorm(x, P["norm.weight"], eps) @ head.T  # (B, T, V)


def loss_fn(logits, targets):
    V = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1)


def b64(t, dtype):
    return base64.b64encode(t.detach().to(dtype).contiguous().numpy().tobytes()).decode("ascii")


def main():
    g = torch.Generator().manual_seed(1234)
    specs = param_specs(CONFIG)
    P = {}
    for name, shape, init, _ in specs:
        if init == "normal":
            w = torch.randn(shape, generator=g, dtype=torch.float32) * CONFIG["initStd"]
        else:  # norms: ones plus noise, so their gradients are not degenerate
            w = 1 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float32)
        P[name] = w.to(torch.float32).to(torch.float64).requires_grad_(True)  # f32-exact values
    init_params = {n: b64(P[n], torch.float32) for n, _, _, _ in specs}

    V = CONFIG["vocabSize"]
    ids = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    targets[1, 2] = -1  # one ignored position

    logits = forward(P, CONFIG, ids)
    loss = loss_fn(logits, targets)
    loss.backward()
    grads = {n: b64(P[n].grad, torch.float64) for n, _, _, _ in specs}
    logits0 = b64(logits, torch.float64)
    loss0 = loss.item()

    # Three AdamW steps (PyTorch semantics, decoupled decay on matrices only) with clipping:
    # g *= min(1, maxNorm / ||g||) where ||g|| is the global L2 norm of all gradients.
    a = ADAMW
    m = {n: torch.zeros_like(P[n]) for n in P}
    v = {n: torch.zeros_like(P[n]) for n in P}
    steps = []
    for step in range(1, STEPS + 1):
        for n in P:
            P[n].grad = None
        loss = loss_fn(forward(P, CONFIG, ids), targets)
        loss.backward()
        with torch.no_grad():
            norm = math.sqrt(sum(float((P[n].grad ** 2).sum()) for n in P))
            clip = min(1.0, a["maxNorm"] / norm) if norm > 0 else 1.0
            bc1, bc2 = 1 - a["beta1"] ** step, 1 - a["beta2"] ** step
            for name, _, _, decay in specs:
                gr = P[name].grad * clip
                m[name].mul_(a["beta1"]).add_((1 - a["beta1"]) * gr)
                v[name].mul_(a["beta2"]).add_((1 - a["beta2"]) * gr * gr)
                wd = a["weightDecay"] if decay else 0.0
                upd = (m[name] / bc1) / ((v[name] / bc2).sqrt() + a["eps"])
                P[name].sub_(a["lr"] * (wd * P[name] + upd))
        steps.append({"step": step, "loss": loss.item(), "gradNorm": norm})
    final_params = {n: b64(P[n], torch.float64) for n, _, _, _ in specs}
    with torch.no_grad():
        final_loss = loss_fn(forward(P, CONFIG, ids), targets).item()

    out = {
        "about": "made by scripts/golden/make_fixture.py (PyTorch %s, float64 math, float32 weights); "
        "base64 little-endian arrays" % torch.__version__,
        "config": CONFIG,
        "batch": {"batchSize": B, "seqLen": T, "ids": ids.flatten().tolist(), "targets": targets.flatten().tolist()},
        "adamw": {**ADAMW, "steps": STEPS},
        "params": {"dtype": "f32", "tensors": init_params},
        "logits": {"dtype": "f64", "shape": [B, T, V], "data": logits0},
        "loss": loss0,
        "grads": {"dtype": "f64", "tensors": grads},
        "steps": steps,
        "finalParams": {"dtype": "f64", "tensors": final_params},
        "finalLoss": final_loss,
    }
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    path = os.path.join(root, "test", "fixtures", "golden-gqa-cla2.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {path}: {os.path.getsize(path)} bytes; loss {loss0:.6f}, steps {steps}, final {final_loss:.6f}")


if __name__ == "__main__":
    main()
