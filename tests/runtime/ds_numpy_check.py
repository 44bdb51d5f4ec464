#!/usr/bin/python3
"""Cross-checks sharpc's data set loaders against independent writers and
torch's arithmetic: .npy files written by numpy (format versions 1, 2 and 3),
IDX files gzip-compressed by python's gzip module, CIFAR-10 batches written
from numpy arrays; the C loader's pixels (NCHW) and labels must match, and its
normalization must equal torch's float32 `x.float().div(255)`, `sub(mean)`,
`div(std)` (what torchvision's ToTensor and Normalize do) bit for bit.

usage: ds_numpy_check.py RT_TESTS TMPDIR
"""
import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import torch

failures = 0

NORMS = {
    "cifar10": ((0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768)),
    "cifar10.1": ((0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860405969887955,), (0.35302424825650003,)),
}


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", msg)


def run_tool(tool, mode, d, name, split, limit):
    p = subprocess.run([tool, "ds-tool", mode, d, name, split, str(limit)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def load_dump(tool, d, name, split, limit):
    rc, out, err = run_tool(tool, "dump", d, name, split, limit)
    lines = out.splitlines()
    check(rc == 0, f"{d}: dump failed: {out[:300]}{err}")
    if rc:
        return None, None, None
    n, c, h, w, classes, dsname = lines[0].split()
    n, c, h, w = int(n), int(c), int(h), int(w)
    labels = np.array([int(l.split()[0]) for l in lines[1:]], dtype=np.int64)
    pixels = np.stack([np.frombuffer(bytes.fromhex(l.split()[1]), dtype=np.uint8) for l in lines[1:]])
    return pixels.reshape(n, c, h, w), labels, dsname


def torch_normalize(x_nchw, name):
    mean, std = NORMS[name]
    t = torch.from_numpy(np.array(x_nchw)).float().div(255)
    m = torch.as_tensor(mean, dtype=torch.float32)[:, None, None]
    s = torch.as_tensor(std, dtype=torch.float32)[:, None, None]
    return t.sub(m).div(s)


def compare(tool, d, name, split, want_x, want_y, want_name, limit=1000):
    """Compares the first `limit` images of the C loader with want_x/want_y."""
    want_x, want_y = want_x[:limit], want_y[:limit]
    x, y, dsname = load_dump(tool, d, name, split, limit)
    if x is None:
        return
    check(dsname == want_name, f"{d}: name {dsname}, expected {want_name}")
    check(x.shape == want_x.shape and np.array_equal(x, want_x), f"{d}: pixels differ {x.shape} vs {want_x.shape}")
    check(np.array_equal(y, want_y), f"{d}: labels differ")
    rc, out, err = run_tool(tool, "normalize", d, name, split, limit)
    check(rc == 0, f"{d}: normalize failed: {out[:300]}{err}")
    got = torch.tensor([float.fromhex(v) for v in out.splitlines()[1:]], dtype=torch.float32)
    want = torch_normalize(want_x, want_name).reshape(-1)
    same = got.shape == want.shape and torch.equal(got, want)
    worst = (got.double() - want.double()).abs().max().item() if got.shape == want.shape else float("inf")
    check(same, f"{d}: normalization differs from torch, worst |diff| {worst:.3e}")
    print(f"{d} ({want_name}, {split}): {x.shape[0]} images {tuple(x.shape[1:])} match; "
          f"normalized {got.numel()} values, worst |diff| vs torch {worst:.3e}")


def main():
    tool, tmp = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(7)

    # CIFAR-10.1: numpy-written .npy in every format version, NHWC uint8.
    for version in [(1, 0), (2, 0), (3, 0)]:
        d = os.path.join(tmp, f"cifar101_v{version[0]}")
        os.makedirs(d, exist_ok=True)
        x = rng.integers(0, 256, size=(11, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, size=(11,)).astype(np.int64)
        with open(os.path.join(d, "cifar10.1_v6_data.npy"), "wb") as f:
            np.lib.format.write_array(f, x, version=version)
        with open(os.path.join(d, "cifar10.1_v6_labels.npy"), "wb") as f:
            np.lib.format.write_array(f, y if version != (2, 0) else y.astype(">i4"), version=version)
        compare(tool, d, "-", "test", x.transpose(0, 3, 1, 2), y, "cifar10.1")

    # CIFAR-10 binary batches from numpy arrays (CHW records).
    d = os.path.join(tmp, "cifar10")
    os.makedirs(d, exist_ok=True)
    xs, ys = [], []
    for b in range(1, 6):
        x = rng.integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, size=(4,), dtype=np.uint8)
        rec = np.concatenate([y[:, None], x.reshape(4, -1)], axis=1)
        rec.tofile(os.path.join(d, f"data_batch_{b}.bin"))
        xs.append(x)
        ys.append(y)
    compare(tool, d, "cifar10", "train", np.concatenate(xs), np.concatenate(ys).astype(np.int64), "cifar10")

    # MNIST-style IDX compressed by python's gzip.
    d = os.path.join(tmp, "mnist")
    os.makedirs(d, exist_ok=True)
    x = rng.integers(0, 256, size=(9, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, size=(9,), dtype=np.uint8)
    with gzip.open(os.path.join(d, "t10k-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, 9, 28, 28) + x.tobytes())
    with gzip.open(os.path.join(d, "t10k-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x801, 9) + y.tobytes())
    compare(tool, d, "-", "test", x[:, None], y.astype(np.int64), "mnist")

    # The real Fashion-MNIST test split, when installed (runtime_fashion_mnist
    # requires it): its first 500 images and their normalization.
    fm = "/usr/share/datasets/fashion-mnist"
    if os.path.isdir(fm):
        raw = gzip.open(os.path.join(fm, "t10k-images-idx3-ubyte.gz")).read()[16:]
        lab = gzip.open(os.path.join(fm, "t10k-labels-idx1-ubyte.gz")).read()[8:]
        x = np.frombuffer(raw, dtype=np.uint8).reshape(10000, 1, 28, 28)
        compare(tool, fm, "-", "test", x, np.frombuffer(lab, dtype=np.uint8).astype(np.int64), "fashion-mnist", 500)

    if failures:
        print(f"{failures} check(s) failed")
        sys.exit(1)
    print("data set numpy/torch cross-check: all checks passed")


if __name__ == "__main__":
    main()
