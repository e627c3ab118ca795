"""The machine's practical ceiling: single-precision matrix-multiply rate (GFLOP/s) of libtorch's BLAS.

    matmul.py --threads N [--size 1024] [--device cpu|cuda]

Best of several timed 1024 x 1024 x 1024 products on the given threads (on a GPU: 4096³, float32 without TF32, as
the engine runs by default); prints one JSON line.
"""
import argparse
import json
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, required=True)
parser.add_argument("--size", type=int)
parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
args = parser.parse_args()
torch.set_num_threads(args.threads)
device = torch.device(args.device)
size = args.size or (4096 if device.type == "cuda" else 1024)
torch.backends.cuda.matmul.allow_tf32 = False


def synchronize():
    if device.type == "cuda":
        torch.cuda.synchronize()


a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
for _ in range(3):
    a @ b
synchronize()
best = 0.0
for _ in range(5):
    started, repeats = time.perf_counter(), 10
    for _ in range(repeats):
        a @ b
    synchronize()
    best = max(best, 2 * size ** 3 * repeats / (time.perf_counter() - started) / 1e9)
print(json.dumps({"threads": args.threads, "size": size, "device": args.device, "gflops": round(best, 1)}))
