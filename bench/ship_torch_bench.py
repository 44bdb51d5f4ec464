#!/usr/bin/python3
"""ship_torch_bench.py NET WEIGHTS IMAGES.npy [--batch 64] [--threads 2]:
the PyTorch side of bench/ship_bench.sh. Loads NET (a bench/torch_bench.py
config) with WEIGHTS, eval mode, torch.no_grad(), and times the forward at
batch 1 and at --batch (median of repeats over ~3 s each). Prints the
activation memory PyTorch needed at --batch: the growth of the process's
peak RSS (VmHWM) over a forward, after the weights are loaded and one
warm-up forward at batch 1 has run. Ends with a RESULT line."""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import torch  # noqa: E402

import ref_nets  # noqa: E402
from torch_bench import CONFIGS, vmhwm_kib  # noqa: E402


def timed(model, x, seconds=3.0):
    ts = []
    start = time.perf_counter()
    while len(ts) < 3 or (time.perf_counter() - start < seconds and len(ts) < 200):
        t0 = time.perf_counter()
        model(x)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2] * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("net")
    ap.add_argument("weights")
    ap.add_argument("images")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = ref_nets.build(CONFIGS[a.net])
    model.load_state_dict(ref_nets.load_safetensors(a.weights), strict=True)
    model.eval()
    x = torch.from_numpy(np.load(a.images))
    with torch.no_grad():
        model(x[:1])
        base = vmhwm_kib()
        model(x[:a.batch])
        act_kib = vmhwm_kib() - base
        t1 = timed(model, x[:1])
        tb = timed(model, x[:a.batch])
    print("torch: batch 1: %.3f ms; batch %d: %.3f ms (%.3f ms/image); peak RSS growth over a batch-%d forward "
          "%.1f MiB" % (t1, a.batch, tb, tb / a.batch, a.batch, act_kib / 1024))
    print("RESULT t1_ms=%.4f tb_ms=%.4f act_mib=%.2f" % (t1, tb, act_kib / 1024))


if __name__ == "__main__":
    main()
