#!/usr/bin/python3
"""Compares sharprt's optimizers with PyTorch: torch.optim.SGD (momentum,
weight decay), torch.optim.Adam (betas, eps, weight decay) and
torch.nn.utils.clip_grad_norm_ run a few steps on the same data as
`train_rt_tests optim-tool`; every element must agree to 1e-6 relative.

usage: optim_torch_check.py TRAIN_RT_TESTS TMPDIR
"""
import os
import struct
import subprocess
import sys

try:
    import torch
except ImportError:
    print("FAIL: torch is not importable by %s: install Debian's python3-torch" % sys.executable)
    sys.exit(1)

RTOL, ATOL = 1e-6, 1e-12
failures = 0
tool, tmp = sys.argv[1], sys.argv[2]


def run_tool(args, data):
    src, dst = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")
    with open(src, "wb") as f:
        f.write(data)
    subprocess.run([tool, "optim-tool", args[0], src, dst] + [str(a) for a in args[1:]], check=True)
    with open(dst, "rb") as f:
        return f.read()


def floats(buf, n, off):
    return torch.frombuffer(bytearray(buf[off:off + 4 * n]), dtype=torch.float32), off + 4 * n


def compare(what, got, want):
    """Worst |a-b| / (|b| + ATOL/RTOL) over the elements; records a failure."""
    global failures
    err = (got.double() - want.double()).abs()
    bound = RTOL * want.double().abs() + ATOL
    worst = int(torch.argmax(err / bound))
    ratio = float(err[worst] / bound[worst])
    if ratio > 1:
        failures += 1
        print("FAIL: %s: element %d: %.9g vs torch %.9g" % (what, worst, float(got[worst]), float(want[worst])))
    return float(err.max()), ratio


def check_step_optimizer(name, make, args, n=1000, steps=5):
    torch.manual_seed(hash(name) % 1000)
    p0 = torch.randn(n)
    grads = [torch.randn(n) * (0.1 + k) for k in range(steps)]
    data = p0.numpy().tobytes() + b"".join(g.numpy().tobytes() for g in grads)
    out = run_tool([name.split()[0]] + args + [steps, n], data)
    param = torch.nn.Parameter(p0.clone())
    opt = make([param])
    worst, off = (0.0, 0.0), 0
    for k in range(steps):
        param.grad = grads[k].clone()
        opt.step()
        got, off = floats(out, n, off)
        e = compare("%s step %d" % (name, k + 1), got, param.detach())
        worst = max(worst, e, key=lambda x: x[1])
    state = opt.state[param]
    keys = ["momentum_buffer"] if name.startswith("sgd") else ["exp_avg", "exp_avg_sq"]
    for key in keys:
        if state.get(key) is None:
            continue
        got, off = floats(out, n, off)
        e = compare("%s state %s" % (name, key), got, state[key])
        worst = max(worst, e, key=lambda x: x[1])
    print("%-28s %d steps x %d elements: worst abs err %.3g (%.3f of tolerance)" % (name, steps, n, worst[0], worst[1]))


check_step_optimizer("sgd momentum wd", lambda ps: torch.optim.SGD(ps, lr=0.025, momentum=0.9, weight_decay=3e-4),
                     [0.025, 0.9, 3e-4])
check_step_optimizer("sgd no momentum", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0, weight_decay=1e-2),
                     [0.1, 0, 1e-2])
check_step_optimizer("sgd no decay", lambda ps: torch.optim.SGD(ps, lr=0.5, momentum=0.5), [0.5, 0.5, 0])
check_step_optimizer("adam search (§5.2)",
                     lambda ps: torch.optim.Adam(ps, lr=3e-4, betas=(0.5, 0.999), eps=1e-8, weight_decay=1e-3),
                     [3e-4, 0.5, 0.999, 1e-8, 1e-3])
check_step_optimizer("adam defaults", lambda ps: torch.optim.Adam(ps, lr=1e-2), [1e-2, 0.9, 0.999, 1e-8, 0])

# clip_grad_norm_: one case that clips, one below the limit, one at ~1e-6 of it.
for max_norm, scale in ((5.0, 1.0), (100.0, 1.0), (5.0, 0.01)):
    torch.manual_seed(int(max_norm) + int(scale * 100))
    sizes = [37, 1000, 1, 256]
    grads = [torch.randn(s) * scale for s in sizes]
    out = run_tool(["clip", max_norm, len(sizes)] + sizes, b"".join(g.numpy().tobytes() for g in grads))
    total = struct.unpack("<d", out[:8])[0]
    params = [torch.nn.Parameter(torch.zeros(s)) for s in sizes]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    want_total = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    if abs(total - want_total) > RTOL * abs(want_total):
        failures += 1
        print("FAIL: clip max_norm %g: total norm %.9g vs torch %.9g" % (max_norm, total, want_total))
    off, worst = 8, (0.0, 0.0)
    for p, s in zip(params, sizes):
        got, off = floats(out, s, off)
        worst = max(worst, compare("clip max_norm %g" % max_norm, got, p.grad), key=lambda x: x[1])
    print("clip_grad_norm_ max %-6g total %.6g (torch %.6g): worst abs err %.3g (%.3f of tolerance)"
          % (max_norm, total, want_total, worst[0], worst[1]))

if failures:
    print("%d failure(s)" % failures)
    sys.exit(1)
print("optimizers match torch %s to %g relative" % (torch.__version__, RTOL))
