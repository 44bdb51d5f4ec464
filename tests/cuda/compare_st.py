#!/usr/bin/env python3
"""compare_st.py A B [ATOL RTOL]: compares every tensor of two safetensors
files (checkpoints or weights) element by element within atol + rtol*|b|;
prints the tensors compared, the worst element (by its excess over the
tolerance) and exits 1 on a difference, a missing tensor or a bad file.
Standard library only (the header is JSON, the data little-endian)."""
import json
import struct
import sys

FMT = {"F32": "f", "F64": "d", "I64": "q", "I32": "i"}


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    head = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        fmt = FMT[t["dtype"]]
        cnt = (b - a) // struct.calcsize(fmt)
        out[name] = struct.unpack_from("<%d%s" % (cnt, fmt), data, a)
    return out


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    atol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
    rtol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4
    if sorted(a) != sorted(b):
        print("FAIL: the files hold different tensors:", sorted(set(a) ^ set(b))[:8])
        return 1
    worst, where, bad, elems = -1.0, "", 0, 0
    for name in sorted(a):
        x, y = a[name], b[name]
        if len(x) != len(y):
            print("FAIL: %s has %d and %d elements" % (name, len(x), len(y)))
            return 1
        for i, (u, v) in enumerate(zip(x, y)):
            elems += 1
            tol = atol + rtol * abs(v)
            if u != u or v != v:
                r = float("inf")
            else:
                r = abs(u - v) / tol if tol > 0 else (0.0 if u == v else float("inf"))
            if r > worst:
                worst, where = r, "%s[%d]: %.9g vs %.9g" % (name, i, u, v)
            if r > 1:
                bad += 1
    print("%d tensors, %d elements compared (|a-b| <= %g + %g*|b|); worst at %.3g of the tolerance: %s"
          % (len(a), elems, atol, rtol, worst, where))
    if bad:
        print("FAIL: %d elements outside the tolerance" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
