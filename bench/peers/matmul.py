"""The machine's practical ceiling: single-precision matrix-multiply rate (GFLOP/s) of libtorch's BLAS.

    matmul.py --threads N [--size 1024]

Best of several timed 1024 x 1024 x 1024 products on the given threads; prints one JSON line.
"""
import argparse
import json
import time

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, required=True)
parser.add_argument("--size", type=int, default=1024)
args = parser.parse_args()
torch.set_num_threads(args.threads)
a, b = torch.randn(args.size, args.size), torch.randn(args.size, args.size)
for _ in range(3):
    a @ b
best = 0.0
for _ in range(5):
    started, repeats = time.perf_counter(), 10
    for _ in range(repeats):
        a @ b
    best = max(best, 2 * args.size ** 3 * repeats / (time.perf_counter() - started) / 1e9)
print(json.dumps({"threads": args.threads, "size": args.size, "gflops": round(best, 1)}))
