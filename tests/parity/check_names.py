#!/usr/bin/python3
"""check_names.py SHARPC [CASE...]: for each parity case (default: all), run
`sharpc dump --ir` on its .nas file and compare the IR's `param` lines (name,
shape, dtype) with the state_dict of the PyTorch reference (ref_nets.py, with
the alphas registered under their checkpoint names).  Also compares the
trainable parameter count (aux head and alphas excluded) with `dump --stats`.
Prints every difference; exits 1 if there is any."""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import torch  # noqa: F401
except ImportError:
    print("parity: PyTorch missing: install Debian's python3-torch (apt-get install python3-torch)")
    sys.exit(1)

import ref_nets  # noqa: E402
from cases import CASES  # noqa: E402

PARAM_RE = re.compile(r'^\s*%\d+ = param "([^"]+)" (f32|i64)\[([^\]]*)\] (\w+)')


def ir_params(sharpc, nas):
    out = subprocess.run([sharpc, "dump", "--ir", nas], cwd=HERE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True)
    if out.returncode != 0:
        raise RuntimeError("sharpc dump --ir %s failed:\n%s" % (nas, out.stderr))
    params = {}
    for line in out.stdout.splitlines():
        m = PARAM_RE.match(line)
        if m:
            name, dt, shape, role = m.groups()
            dims = tuple(int(d) for d in shape.split(",")) if shape.strip() else ()
            if name in params:
                raise RuntimeError("%s: parameter %s declared twice in the IR" % (nas, name))
            params[name] = (dims, dt, role)
    return params


def ir_param_count(sharpc, nas):
    out = subprocess.run([sharpc, "dump", "--stats", nas], cwd=HERE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True)
    if out.returncode != 0:
        raise RuntimeError("sharpc dump --stats %s failed:\n%s" % (nas, out.stderr))
    m = re.search(r"^\s*parameters\s+([\d,]+)", out.stdout, re.M)
    return int(m.group(1).replace(",", "")) if m else None


def torch_params(model):
    trainable = {n for n, _ in model.named_parameters()}
    res = {}
    for name, t in model.state_dict().items():
        dt = "i64" if t.dtype == torch.int64 else "f32"
        if name.startswith("alphas_"):
            role = "arch"
        elif name in trainable:
            role = "weight"
        else:
            role = "buffer"
        res[name] = (tuple(t.shape), dt, role)
    return res


def check_case(sharpc, case):
    cfg = CASES[case]
    problems = []
    ir = ir_params(sharpc, cfg["nas"])
    torch.manual_seed(0)
    model = ref_nets.build(cfg)
    tp = torch_params(model)
    # a search network with only one cell type would have one alphas tensor
    for n in ("alphas_normal", "alphas_reduce"):
        if n in tp and n not in model.arch_names():
            del tp[n]
    for name in sorted(set(ir) | set(tp)):
        if name not in tp:
            problems.append("only in sharpc IR: %s %s %s" % (name, list(ir[name][0]), ir[name][1]))
        elif name not in ir:
            problems.append("only in PyTorch:   %s %s %s" % (name, list(tp[name][0]), tp[name][1]))
        elif ir[name] != tp[name]:
            problems.append("differs: %s  sharpc %s %s %s  PyTorch %s %s %s"
                            % ((name,) + (list(ir[name][0]),) + ir[name][1:] + (list(tp[name][0]),) + tp[name][1:]))
    # parameter count (weights only; aux head and alphas excluded, §11)
    n_torch = sum(p.numel() for n, p in model.named_parameters()
                  if "auxiliary" not in n and not n.startswith("alphas_"))
    n_ir = ir_param_count(sharpc, cfg["nas"])
    if n_ir != n_torch:
        problems.append("parameter count: sharpc dump --stats %s, PyTorch %d" % (n_ir, n_torch))
    return problems, len(tp), n_torch


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    sharpc = os.path.abspath(argv[1])
    cases = argv[2:] or list(CASES)
    bad = 0
    for case in cases:
        try:
            problems, n, count = check_case(sharpc, case)
        except Exception as e:  # report and go on with the other cases
            problems, n, count = ["error: %s" % e], 0, 0
        status = "ok" if not problems else "MISMATCH (%d)" % len(problems)
        print("check_names %-24s %-14s %4d tensors, %d parameters" % (case, status, n, count))
        for p in problems:
            print("    " + p)
        bad += bool(problems)
    print("check_names: %d of %d cases differ" % (bad, len(cases)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
