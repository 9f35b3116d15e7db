# PyTorch peer for the WebGPU benchmarks on the same GPU: square matmul in fp32 (TF32 off) and bf16,
# and causal scaled_dot_product_attention forward (+ backward) at the ops-bench shapes, fp32 and
# bf16. CUDA-event timing, median of 20 after 5 warm-ups. JSON lines, then a table last.
#   python3 bench/gpu/torch_matmul.py
import json
import statistics

import torch
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = "cuda"


def time_ms(fn, reps=20, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)


rows = []
name = torch.cuda.get_device_name(0)
for dtype in (torch.float32, torch.bfloat16):
    for n in (1024, 2048, 4096, 8192):
        a = torch.rand(n, n, device=dev, dtype=dtype) - 0.5
        b = torch.rand(n, n, device=dev, dtype=dtype) - 0.5
        ms = time_ms(lambda: a @ b)
        rows.append({"op": "matmul", "dtype": str(dtype)[6:], "shape": [n, n, n], "ms": ms,
                     "tflops": 2 * n**3 / ms / 1e9})

# [B, T, S, H, Hkv, D], causal (S == T here, so is_causal matches the backend's convention)
for dtype in (torch.float32, torch.bfloat16):
    for B, T, S, H, Hkv, D in ((1, 512, 512, 8, 8, 64), (1, 1024, 1024, 8, 2, 64),
                               (1, 1024, 1024, 16, 1, 128), (1, 2048, 2048, 8, 8, 64),
                               (1, 4096, 4096, 16, 4, 64)):
        q = torch.randn(B, H, T, D, device=dev, dtype=dtype, requires_grad=True)
        k = torch.randn(B, H, S, D, device=dev, dtype=dtype, requires_grad=True)  # GQA expanded
        v = torch.randn(B, H, S, D, device=dev, dtype=dtype, requires_grad=True)
        pairs = T * (T + 1) / 2
        flops = 4 * B * H * D * pairs
        fwd = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)
        ms = time_ms(fwd)
        o = fwd()
        g = torch.randn_like(o)
        bwd_ms = time_ms(lambda: torch.autograd.grad(o, (q, k, v), g, retain_graph=True))
        shape = [B, T, S, H, Hkv, D]
        rows.append({"op": "attention", "dtype": str(dtype)[6:], "shape": shape, "ms": ms,
                     "tflops": flops / ms / 1e9})
        rows.append({"op": "attentionBackward", "dtype": str(dtype)[6:], "shape": shape, "ms": bwd_ms,
                     "tflops": 2.5 * flops / bwd_ms / 1e9})

for r in rows:
    print(json.dumps({"peer": "torch " + torch.__version__, "device": name, **r}))
print(f"\nPyTorch {torch.__version__} on {name} (fp32 with TF32 off)")
print(f"{'op':<18} {'dtype':<9} {'shape':<28} {'ms':>9} {'TFLOP/s':>8}")
for r in rows:
    print(f"{r['op']:<18} {r['dtype']:<9} {str(r['shape']):<28} {r['ms']:>9.3f} {r['tflops']:>8.2f}")
