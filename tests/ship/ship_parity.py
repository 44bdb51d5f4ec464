#!/usr/bin/python3
"""Parity of `sharpc emit --target c` (standalone inference) with PyTorch and
with the sharpc-built network in eval mode.

Usage: ship_parity.py SHARPC CASE [--embed] [--cc CC] [--batch N] [--keep]
       ship_parity.py --write-weights CASE FILE   (random weights of CASE)

For a case (tests/parity/cases.py, or one of SHIP_CASES below): random
weights with non-trivial BN statistics (tests/parity/parity.py make_model)
are written as W.safetensors and random images as images.npy; then
  - PyTorch (ref_nets.py, float64) gives the reference logits in eval mode;
  - `sharpc build` + `EXE gradients --eval` gives sharpc's own eval logits;
  - `sharpc emit --target c --weights W` writes the C, `make CC=CC` builds it
    with -std=c99 -O2 -Wall -Wextra -Werror -pedantic, and `classify
    images.npy --logits L.npy --batch 2` gives the emitted logits (the
    batch of 5 runs in chunks of 2, so chunking is exercised).
Both comparisons use |a-b| <= 1e-5 + 1e-4*|b| elementwise (b the reference);
the test prints the tensors compared and the worst ratio, and exits 1 on any
mismatch. Needs Debian's python3-torch (run with /usr/bin/python3).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PARITY = os.path.join(HERE, "..", "parity")
sys.path.insert(0, PARITY)
try:
    import numpy as np
    import torch
except ImportError:
    print("ship_parity: FAIL: PyTorch is missing: install Debian's python3-torch "
          "(apt-get install python3-torch) and run with /usr/bin/python3")
    sys.exit(1)
import parity  # noqa: E402
import ref_nets  # noqa: E402
from cases import CASES  # noqa: E402

# The genotype a Fashion-MNIST search found (runs of examples/fashion_mnist.nas).
ref_nets.genotype_from_nas(os.path.join(HERE, "fashion_found.nas"))

SHIP_CASES = {
    # bench/ship_bench.sh: examples/darts_v2.nas (C 36, 20 cells, aux head)
    "darts_v2_bench": dict(kind="genotype", nas=os.path.join(HERE, "..", "..", "examples", "darts_v2.nas"),
                           input=(3, 32, 32), classes=10, C=36, layers=20, C_mid=32, genotype="DARTS_V2",
                           optable="DARTS_OPS", auxiliary=True),
    "fashion_found": dict(kind="genotype", nas=os.path.join(HERE, "fashion_found.nas"), input=(1, 28, 28),
                          classes=10, C=8, layers=5, genotype="FOUND"),
}


def run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


def worst(got, want):
    r = ((got.double() - want.double()).abs() / (parity.ATOL + parity.RTOL * want.double().abs()))
    return r.max().item()


def raw_file_case(a, cfg, W, tmp, d, tag):
    """Raw pixels through the classifier's own readers: an IDX image + label
    file pair (1x28x28, found by name) or a CIFAR-10 binary batch (3x32x32),
    normalized by the classifier as in training (fashion-mnist / cifar10
    constants) and compared with PyTorch on the same normalized floats."""
    c, h, w = cfg["input"]
    n = a.batch
    g = np.random.RandomState(a.seed + 7)
    pix = g.randint(0, 256, size=(n, c, h, w)).astype(np.uint8)
    lab = g.randint(0, cfg["classes"], size=n).astype(np.uint8)
    if c == 1:
        mean, std = [0.2860405969887955], [0.35302424825650003]
        path = os.path.join(tmp, "t10k-images-idx3-ubyte")
        with open(path, "wb") as f:
            f.write(bytes([0, 0, 8, 3]) + n.to_bytes(4, "big") + h.to_bytes(4, "big") + w.to_bytes(4, "big"))
            f.write(pix.tobytes())
        with open(os.path.join(tmp, "t10k-labels-idx1-ubyte"), "wb") as f:
            f.write(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + lab.tobytes())
        kind = "IDX"
    else:
        mean, std = [0.49139968, 0.48215827, 0.44653124], [0.24703233, 0.24348505, 0.26158768]
        path = os.path.join(tmp, "test_batch.bin")
        with open(path, "wb") as f:
            for i in range(n):
                f.write(bytes([int(lab[i])]) + pix[i].tobytes())
        kind = "CIFAR-10 binary"
    x = torch.from_numpy(pix).float() / 255.0
    for ch in range(c):
        x[:, ch] = (x[:, ch] - torch.tensor(mean[ch], dtype=torch.float32)) / torch.tensor(std[ch], dtype=torch.float32)
    B = {"images": x, "labels": torch.from_numpy(lab.astype(np.int64))}
    want, _ = parity.reference(cfg, W, B, True, 0.4, torch.float64)
    want = want["logits"]
    lpath = os.path.join(tmp, "L-raw.npy")
    cmd = [os.path.join(d, "classify"), path, "--logits", lpath, "--batch", "3"]
    if not a.embed:
        cmd += ["--weights", os.path.join(tmp, "W.safetensors")]
    rc, log = run(cmd)
    acc_want = (want.argmax(1).numpy() == lab).mean() * 100
    if rc != 0 or ("accuracy: %.2f%%" % acc_want) not in log:
        print("%s: FAIL: %s exited %d or did not print accuracy %.2f%%:\n%s" % (tag, " ".join(cmd), rc, acc_want, log))
        return False
    r = worst(torch.from_numpy(np.load(lpath)), want)
    print("%s: %s: %s input (%d images, labels %s): logits against PyTorch on the same normalized pixels, worst "
          "ratio %.3g; printed %s" % (tag, "ok" if r <= 1 else "FAIL", kind, n,
                                      "found by name" if c == 1 else "in the file", r, log.strip()))
    return r <= 1


def main(argv):
    if argv[:1] == ["--write-weights"] and len(argv) == 3:
        cfg = SHIP_CASES.get(argv[1]) or CASES[argv[1]]
        parity.save_safetensors(parity.weights_of(parity.make_model(cfg, 0)), argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sharpc")
    ap.add_argument("case")
    ap.add_argument("--embed", action="store_true", help="emit with --embed-weights")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-exe", action="store_true",
                    help="compare with PyTorch only (skip building the sharpc executable)")
    a = ap.parse_args(argv)
    cfg = SHIP_CASES.get(a.case) or CASES.get(a.case)
    if cfg is None:
        print("ship_parity: unknown case %s" % a.case)
        return 2
    nas = cfg["nas"] if os.path.isabs(cfg["nas"]) else os.path.join(PARITY, cfg["nas"])
    tag = "ship %s%s [%s]" % (a.case, " embedded" if a.embed else "", a.cc)
    tmp = tempfile.mkdtemp(prefix="ship-%s-" % a.case)
    try:
        model = parity.make_model(cfg, a.seed)
        W = parity.weights_of(model)
        B = parity.make_batch(cfg, a.batch, a.seed)
        wpath = os.path.join(tmp, "W.safetensors")
        parity.save_safetensors(W, wpath)
        parity.save_safetensors(B, os.path.join(tmp, "B.safetensors"))
        np.save(os.path.join(tmp, "images.npy"), B["images"].numpy().astype("<f4"))
        want, _ = parity.reference(cfg, W, B, True, 0.4, torch.float64)
        want = want["logits"]

        # sharpc's own network in eval mode
        sharp = None
        exe = os.path.join(tmp, "net")
        if not a.no_exe:
            rc, log = run([a.sharpc, "build", nas, "-o", exe], cwd=PARITY)
            if rc != 0:
                print("%s: FAIL: sharpc build exited %d\n%s" % (tag, rc, log))
                return 1
            out = os.path.join(tmp, "OUT.safetensors")
            rc, log = run([exe, "gradients", "--eval", "--weights", wpath, "--batch",
                           os.path.join(tmp, "B.safetensors"), "-o", out])
            if rc != 0:
                print("%s: FAIL: %s gradients --eval exited %d\n%s" % (tag, exe, rc, log))
                return 1
            sharp = parity.load_safetensors(out)["logits"]

        # the emitted C
        d = os.path.join(tmp, "emit")
        cmd = [a.sharpc, "emit", nas, "--target", "c", "-o", d, "--weights", wpath]
        if a.embed:
            cmd.append("--embed-weights")
        rc, log = run(cmd, cwd=PARITY)
        if rc != 0:
            print("%s: FAIL: %s exited %d\n%s" % (tag, " ".join(cmd), rc, log))
            return 1
        print(log.strip())
        rc, log = run(["make", "CC=" + a.cc], cwd=d)
        if rc != 0:
            print("%s: FAIL: make CC=%s exited %d\n%s" % (tag, a.cc, rc, log))
            return 1
        lpath = os.path.join(tmp, "L.npy")
        cmd = [os.path.join(d, "classify"), os.path.join(tmp, "images.npy"), "--logits", lpath, "--batch", "2"]
        if not a.embed:
            cmd += ["--weights", wpath]
        rc, log = run(cmd)
        if rc != 0:
            print("%s: FAIL: %s exited %d\n%s" % (tag, " ".join(cmd), rc, log))
            return 1
        got = torch.from_numpy(np.load(lpath))
        if got.shape != want.shape:
            print("%s: FAIL: logits shape %s, want %s" % (tag, tuple(got.shape), tuple(want.shape)))
            return 1
        r_ref = worst(got, want)
        r_sharp = worst(got, sharp) if sharp is not None else 0.0
        ok = r_ref <= 1 and r_sharp <= 1
        if sharp is not None:
            print("%s: %s: 2 tensors compared (logits [%d, %d] against PyTorch float64 and against the sharpc "
                  "executable's eval mode), worst ratio %.3g and %.3g (limit 1: |a-b| <= 1e-5 + 1e-4*|b|)"
                  % (tag, "ok" if ok else "FAIL", got.shape[0], got.shape[1], r_ref, r_sharp))
        else:
            print("%s: %s: 1 tensor compared (logits [%d, %d] against PyTorch float64), worst ratio %.3g "
                  "(limit 1: |a-b| <= 1e-5 + 1e-4*|b|)" % (tag, "ok" if ok else "FAIL", got.shape[0], got.shape[1],
                                                         r_ref))
        if tuple(cfg["input"]) in ((1, 28, 28), (3, 32, 32)):
            ok = raw_file_case(a, cfg, W, tmp, d, tag) and ok
        return 0 if ok else 1
    finally:
        if a.keep:
            print("files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
