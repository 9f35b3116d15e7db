#!/usr/bin/env python3
# Peer for `crosslayer bench decode`: Hugging Face transformers `generate` with a static KV cache
# on a LlamaForCausalLM shaped like the small-H64-MQA preset (random weights; num_key_value_heads=1),
# greedy, per batch x context. Decode ms/step = (time(prefill + 1 + steps tokens) - time(prefill +
# 1 token)) / steps, so prefill is excluded. Prints one JSON object per line, then a table.
# HF Llama has no cross-layer sharing, so there is no MQA-CLA2 twin here: compare against the MQA row.
import argparse
import json
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

# small-H64-MQA (src/model/presets/small.json)
SHAPES = dict(vocab_size=8192, hidden_size=512, intermediate_size=1376, num_hidden_layers=8,
              num_attention_heads=8, num_key_value_heads=1, head_dim=64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", default="1,16,128")
    ap.add_argument("--contexts", default="512,4096")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    ap.add_argument("--compile", action="store_true", help="torch.compile the decode step")
    ap.add_argument("--json", action="store_true", help="JSON lines only (no table)")
    a = ap.parse_args()
    batches = [int(x) for x in a.batches.split(",")]
    contexts = [int(x) for x in a.contexts.split(",")]
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = getattr(torch, a.dtype)
    cfg = LlamaConfig(**SHAPES, max_position_embeddings=max(contexts) + a.steps + 8, rms_norm_eps=1e-5,
                      rope_theta=10000.0, tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg).to(device=dev, dtype=dtype).eval()
    if a.compile:
        model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)
    device = torch.cuda.get_device_name() if dev == "cuda" else "cpu"

    def timed(ids: torch.Tensor, new: int) -> float:
        if dev == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new, min_new_tokens=new,
                           do_sample=False, cache_implementation="static", pad_token_id=0, eos_token_id=None)
        if dev == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    rows = []
    for context in contexts:
        for batch in batches:
            ids = torch.randint(1, cfg.vocab_size, (batch, context), device=dev)
            timed(ids, 1 + a.steps)  # warm-up (cache allocation, kernels, compilation)
            one = min(timed(ids, 1) for _ in range(2))
            full = min(timed(ids, 1 + a.steps) for _ in range(2))
            step_ms = max(full - one, 1e-9) / a.steps * 1e3
            row = dict(bench="hf-decode", peer="transformers-static-cache", device=device, config="small-H64-MQA",
                       dtype=a.dtype, batch=batch, context=context, steps=a.steps, compiled=a.compile,
                       stepMs=step_ms, tokensPerSecond=batch * 1e3 / step_ms)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if not a.json:
        print(f"{'batch':>6} {'context':>8} {'ms/step':>10} {'tokens/s':>11}   ({device}, {a.dtype})")
        for r in rows:
            print(f"{r['batch']:>6} {r['context']:>8} {r['stepMs']:>10.3f} {r['tokensPerSecond']:>11.1f}")


if __name__ == "__main__":
    main()
