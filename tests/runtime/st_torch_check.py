#!/usr/bin/python3
"""Cross-checks sharpc's safetensors reader and writer against an independent
implementation: torch tensors serialized by hand (struct + json, the reference
writer's layout) and C-written files parsed by hand back into torch tensors.

Debian's torch 1.13 ships without the `safetensors` package, so the format is
written and read here from its specification.

usage: st_torch_check.py RT_TESTS TMPDIR
"""
import json
import os
import random
import struct
import subprocess
import sys

import torch

DTYPES = {  # file name -> (torch dtype, element size, reference writer rank)
    "F32": (torch.float32, 4, 3),
    "F64": (torch.float64, 8, 4),
    "I64": (torch.int64, 8, 5),
    "I32": (torch.int32, 4, 2),
    "U8": (torch.uint8, 1, 1),
}
NAME_OF = {v[0]: k for k, v in DTYPES.items()}

failures = 0


def check(cond, msg):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", msg)


def tensor_bytes(t):
    return t.contiguous().numpy().tobytes() if t.numel() else b""


def write_reference(path, tensors, metadata=None, pretty=False, data_order=None):
    """Writes a safetensors file. Canonical form (pretty=False): the reference
    writer's layout, sorted by dtype rank then name, compact JSON with raw
    UTF-8, __metadata__ first, padded with spaces to 8 bytes. pretty=True
    writes an equivalent file the C reader must also accept: indented, ASCII
    escapes, keys shuffled, data in `data_order`."""
    names = sorted(tensors, key=lambda n: (-DTYPES[NAME_OF[tensors[n].dtype]][2], n.encode()))
    if data_order is not None:
        names = data_order
    header, data, off = {}, bytearray(), 0
    for n in names:
        t = tensors[n]
        b = tensor_bytes(t)
        header[n] = {"dtype": NAME_OF[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        data += b
        off += len(b)
    if pretty:
        items = list(header.items())
        random.Random(5).shuffle(items)
        header = dict(items)
        if metadata is not None:
            header["__metadata__"] = metadata
        text = json.dumps(header, indent=2, ensure_ascii=True).encode()
        text += b"\n"
    else:
        full = {}
        if metadata is not None:
            full["__metadata__"] = metadata
        full.update(header)
        text = json.dumps(full, separators=(",", ":"), ensure_ascii=False).encode()
        text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(data))


def read_by_hand(path, strict_layout=True):
    """Parses a safetensors file into ({name: tensor}, metadata, header names
    in order), checking the invariants the C writer promises."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    text = raw[8 : 8 + n]
    data = raw[8 + n :]
    header = json.loads(text.decode("utf-8"))
    if strict_layout:
        check(n % 8 == 0, f"{path}: header length {n} not a multiple of 8")
        check(text.rstrip(b" ").endswith(b"}") and len(text) - len(text.rstrip(b" ")) < 8, f"{path}: padding")
    meta = header.pop("__metadata__", None)
    out, spans = {}, []
    for name, info in header.items():
        dt, size, _ = DTYPES[info["dtype"]]
        b, e = info["data_offsets"]
        shape = info["shape"]
        numel = 1
        for d in shape:
            numel *= d
        check(e - b == numel * size, f"{path}: '{name}' size")
        if strict_layout:
            check(b % size == 0, f"{path}: '{name}' misaligned at {b}")
        spans.append((b, e))
        if numel:
            out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=dt).reshape(shape).clone()
        else:
            out[name] = torch.empty(shape, dtype=dt)
    spans.sort()
    pos = 0
    for b, e in spans:
        check(b == pos, f"{path}: data not contiguous at {b}")
        pos = e
    check(pos == len(data), f"{path}: {len(data) - pos} trailing bytes")
    return out, meta, list(header)


def parse_dump(text):
    """Parses `rt_tests st-tool dump` output into ({name: tensor}, metadata)."""
    tensors, meta = {}, {}
    for line in text.splitlines():
        parts = line.split(" ")
        if parts[0] == "meta":
            meta[bytes.fromhex(parts[1]).decode()] = bytes.fromhex(parts[2] if len(parts) > 2 else "").decode()
            continue
        name = bytes.fromhex(parts[1]).decode()
        dtype = DTYPES[parts[2]][0]
        ndim = int(parts[3])
        shape = [int(x) for x in parts[4 : 4 + ndim]]
        vals = parts[5 + ndim :]
        if dtype.is_floating_point:
            values = [float.fromhex(v) for v in vals]
        else:
            values = [int(v) for v in vals]
        tensors[name] = torch.tensor(values, dtype=dtype).reshape(shape)
    return tensors, meta


def same(a, b):
    """Bitwise equality of two tensors (NaN-safe through the bytes)."""
    return a.dtype == b.dtype and list(a.shape) == list(b.shape) and tensor_bytes(a) == tensor_bytes(b)


def make_state_dict():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1, bias=False),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
        torch.nn.BatchNorm2d(8, affine=False),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 10),
    )
    model.train()
    model(torch.randn(4, 3, 8, 8))  # running stats and num_batches_tracked move
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    # Other dtypes, a 0-size tensor, special floats and a non-ASCII name.
    sd["extra.f64"] = torch.randn(3, 2, dtype=torch.float64)
    sd["extra.i32"] = torch.tensor([-2**31, 0, 2**31 - 1], dtype=torch.int32)
    sd["extra.u8"] = torch.arange(0, 256, 37, dtype=torch.uint8).reshape(1, -1)
    sd["extra.empty"] = torch.empty(0, 4)
    sd["extra.special"] = torch.tensor([float("inf"), -0.0, 1e-45, 3.4028235e38])
    sd["extra.n\u00e4me \"quoted\""] = torch.tensor([1.5])
    return model, sd


def run(args):
    p = subprocess.run(args, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    tool, tmp = sys.argv[1], sys.argv[2]
    os.makedirs(tmp, exist_ok=True)
    model, sd = make_state_dict()
    meta = {"format": "pt", "producer": "st_torch_check.py"}
    print(f"state_dict: {len(sd)} tensors, e.g. " + ", ".join(f"{k} {NAME_OF[v.dtype]} {list(v.shape)}" for k, v in list(sd.items())[:6]))
    check(sd["1.num_batches_tracked"].dtype == torch.int64 and sd["1.num_batches_tracked"].dim() == 0,
          "num_batches_tracked is an int64 scalar")

    # 1. torch -> file by hand -> C reader: every value, bit for bit.
    ref = os.path.join(tmp, "torch_ref.safetensors")
    write_reference(ref, sd, meta)
    rc, out, err = run([tool, "st-tool", "dump", ref])
    check(rc == 0, f"C reader rejected the reference file: {err}")
    got, got_meta = parse_dump(out)
    check(set(got) == set(sd), f"names differ: {set(got) ^ set(sd)}")
    check(got_meta == meta, f"metadata differs: {got_meta}")
    bad = [k for k in sd if k in got and not same(got[k], sd[k])]
    check(not bad, f"C reader values differ from torch for {bad}")
    print(f"C reader vs torch: {len(sd)} tensors, {sum(v.numel() for v in sd.values())} elements, "
          f"{len(bad)} differ")

    # 2. C copy of the reference file: byte-identical (same layout rules), and
    #    readable by hand into the same torch tensors.
    copy = os.path.join(tmp, "c_copy.safetensors")
    rc, out, err = run([tool, "st-tool", "copy", ref, copy])
    check(rc == 0, f"C copy failed: {err}")
    ref_bytes, copy_bytes = open(ref, "rb").read(), open(copy, "rb").read()
    check(ref_bytes == copy_bytes, "C writer's bytes differ from the reference layout")
    print(f"C writer vs reference layout: {len(copy_bytes)} bytes, identical: {ref_bytes == copy_bytes}")
    back, back_meta, _ = read_by_hand(copy)
    check(all(same(back[k], sd[k]) for k in sd) and back_meta == meta, "hand-read C copy differs")

    # 3. The C-written weights load into the torch model (names and shapes).
    model2 = make_state_dict()[0]
    for p in model2.parameters():
        torch.nn.init.zeros_(p)
    model_keys = set(model2.state_dict())
    model2.load_state_dict({k: v for k, v in back.items() if k in model_keys}, strict=True)
    check(all(same(model2.state_dict()[k], sd[k]) for k in model_keys), "load_state_dict round trip")

    # 4. An equivalent file in another style (indented, \\u escapes, shuffled
    #    keys, metadata last, data in reverse order): same content, and the C
    #    copy of it is the canonical file again.
    pretty = os.path.join(tmp, "torch_pretty.safetensors")
    order = sorted(sd, key=lambda n: (-DTYPES[NAME_OF[sd[n].dtype]][2], n.encode()))[::-1]
    write_reference(pretty, sd, meta, pretty=True, data_order=order)
    rc, out, err = run([tool, "st-tool", "dump", pretty])
    check(rc == 0, f"C reader rejected the pretty file: {err}")
    got2, meta2 = parse_dump(out)
    check(set(got2) == set(sd) and all(same(got2[k], sd[k]) for k in sd) and meta2 == meta, "pretty file content")
    copy2 = os.path.join(tmp, "c_copy2.safetensors")
    rc, out, err = run([tool, "st-tool", "copy", pretty, copy2])
    check(rc == 0 and open(copy2, "rb").read() == ref_bytes, f"C copy of the pretty file is not canonical: {err}")

    # 5. A file written by C from scratch, checked against torch's arithmetic.
    pat = os.path.join(tmp, "c_pattern.safetensors")
    rc, out, err = run([tool, "st-tool", "pattern", pat])
    check(rc == 0, f"C pattern writer failed: {err}")
    t, m, names = read_by_hand(pat)
    want = {
        "pattern.f32": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) * 0.25 - 3.0,
        "pattern.f64": torch.arange(5, dtype=torch.float64) / 3.0,
        "pattern.i64": torch.tensor(-1234567890123, dtype=torch.int64),
        "pattern.i32": torch.tensor([-1, 0, 1], dtype=torch.int32),
        "pattern.u8": torch.tensor([[0, 127], [128, 255]], dtype=torch.uint8),
        "pattern.empty": torch.empty(3, 0),
    }
    check(set(t) == set(want), f"pattern names {sorted(t)}")
    bad = [k for k in want if k in t and not same(t[k], want[k])]
    check(not bad, f"C pattern values differ from torch for {bad}")
    check(m == {"format": "pt"}, f"pattern metadata {m}")
    check(names == ["pattern.i64", "pattern.f64", "pattern.empty", "pattern.f32", "pattern.i32", "pattern.u8"],
          f"pattern header order {names}")
    print(f"C-written pattern file vs torch: {len(want)} tensors, {len(bad)} differ")

    # 6. Files the reference format forbids are rejected by the C reader.
    bad_files = {
        "gap": (b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8),
        "size": (b'{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8),
        "dtype": (b'{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}', 4),
        "json": (b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', 4),
    }
    for what, (text, ndata) in bad_files.items():
        p = os.path.join(tmp, f"bad_{what}.safetensors")
        with open(p, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + bytes(ndata))
        rc, out, err = run([tool, "st-tool", "check", p])
        check(rc == 1 and out.startswith("rejected: "), f"bad file '{what}' accepted: {out}{err}")
        print(f"bad file {what}: {out.strip()}")

    if failures:
        print(f"{failures} check(s) failed")
        sys.exit(1)
    print("safetensors torch cross-check: all checks passed")


if __name__ == "__main__":
    main()
