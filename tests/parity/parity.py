#!/usr/bin/python3
"""Whole-network parity tests: sharpc-built executables against a PyTorch
reference written from the specification (ref_nets.py).

Usage
  parity.py SHARPC [CASE ...]          run the named cases (default: all)
  parity.py SHARPC --nas FILE --kind search|genotype [network options]
  parity.py --self-test                test the reference itself (no executable)
  parity.py --list                     list the cases
Options: --exe EXE (use a built executable, skip `sharpc build`), --batch N,
--seed S, --aux-weight X, --ref-dtype float64|float32, --keep (keep the temp dir),
--no-eval (training-mode pass only).

Contract with the executable (`sharpc build FILE.nas -o EXE`):
  EXE gradients --weights W.safetensors --batch B.safetensors -o OUT.safetensors
                [--eval] [--aux-weight X]
  W   every state_dict tensor: weights F32, BN running_mean/running_var F32,
      num_batches_tracked I64 shape [], and for a search network alphas_normal
      and alphas_reduce F32 (edges, primitives).
  B   images F32 [N,C,H,W], labels I64 [N].
  OUT logits F32 [N,classes]; aux_logits F32 (aux head present and not --eval);
      loss F32 [] = mean CE(logits) + X * mean CE(aux_logits) (X default 0.4);
      grad/<name> F32 for every trainable weight and architecture parameter;
      grad/images F32; every BN buffer after the forward pass under its own
      name (training mode: running stats updated with momentum 0.1 and the
      unbiased variance, num_batches_tracked + 1; --eval: BN uses the running
      stats and the buffers come back unchanged).  Drop path is off.  The
      mixed-op weighting comes from the .nas file's search block.
  In --eval mode the auxiliary head does not run; its weights' gradients may
  be absent from OUT or be zero.

What is compared: logits, aux_logits, loss, every grad/<name> (weights,
alphas, images), every BN buffer; elementwise |a-b| <= 1e-5 + 1e-4*|b| (b the
reference), num_batches_tracked exactly.  The reference runs by default in
float64 from the same float32 weights and batch (the exact answer, so a
correct float32 implementation is judged by its own error only); use
--ref-dtype float32 for plain float32 PyTorch.  Prints the number of tensors
compared and the worst ratio (|a-b|)/(1e-5+1e-4|b|) with its tensor; exits 1
on any mismatch or missing tensor.  Every case runs in training mode and with
--eval.

float32 allowance: PyTorch float32 itself does NOT meet that tolerance
against float64 on the weight gradients of the larger networks in training
mode (BN backward over few pixels cancels; `--self-test` shows worst ratios of
~2 for darts_v2_aux_* and ~15 for the search supernets).  So by default a
tensor also passes when its worst ratio is at most --noise-factor (4) times the
worst ratio of PyTorch float32 on the same tensor; the line printed for each
case gives both.  --strict turns the allowance off.

Initialization (deterministic, torch.manual_seed): PyTorch's default init,
then BN gamma in [0.5,1.5] and beta ~ 0.1 N(0,1) where affine, running_mean ~
0.1 N(0,1), running_var in [0.5,1.5], num_batches_tracked 7, alphas ~ 0.1
N(0,1) (resampled until every row's top two differ by > 1e-3, so max_w's
argmax is well defined); images ~ N(0,1), labels uniform.

Cases (cases.py; the .nas files are in this folder):
  tiny_max_w, tiny_scalar     examples/tiny.nas (3-op list, 2 steps, 8x8, one
                              reduction), max_w and scalar
  sharp_search_{max_w,scalar}_{9,8}
                              the sharpDARTS space (PRIMITIVES, 4 steps), C 4,
                              5 cells (reductions at 1 and 3), 9x9 (odd all
                              the way: 9, 5, 3) and 8x8, 2 images
  darts_search_8              the original DARTS space (DARTS_PRIMITIVES with
                              the DARTS ops, DARTS FactorizedReduce), scalar
  darts_v2_aux_32, darts_v2_aux_33
                              DARTS_V2 with the DARTS ops, C 6, 5 cells,
                              auxiliary head after cell 3 (maps 8x8 and 9x9:
                              the head's 5x5/3 pool then 2x2 conv need 8..10),
                              8 images
  darts_v2_11                 DARTS_V2 at 11x11 (11, 6, 3), no auxiliary head
  ssc_darts_9, ssc_darts_8    SHARPSEPCONV_DARTS (SharpSepConv, FactorizedReduce
                              with the padding fix, avg pool counting the pad)
  all_ops_sharp_9             every primitive of the sharpDARTS table OPS at
                              stride 1 and 2 in a hand-made genotype, C_mid 8
  all_ops_darts_8             every original DARTS op and nor_conv_k at stride 1
                              and 2, DARTS FactorizedReduce
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("parity: PyTorch missing: install Debian's python3-torch (apt-get install python3-torch)")
    sys.exit(1)

import ref_nets  # noqa: E402
from ref_nets import load_safetensors, save_safetensors  # noqa: E402
from cases import CASES  # noqa: E402

ATOL, RTOL = 1e-5, 1e-4


# ---------------------------------------------------------------------------
# model, weights and batch
# ---------------------------------------------------------------------------

def make_model(cfg, seed):
    torch.manual_seed(seed)
    model = ref_nets.build(cfg)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                if m.affine:
                    m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                m.num_batches_tracked.fill_(7)
        for name in ("alphas_normal", "alphas_reduce"):
            if hasattr(model, name):
                a = getattr(model, name)
                while True:
                    v = 0.1 * torch.randn(a.shape, generator=g)
                    top2 = v.topk(2, dim=-1).values
                    if (top2[:, 0] - top2[:, 1]).min() > 1e-3:
                        break
                a.copy_(v)
    return model


def weights_of(model):
    """The W file contents: the state_dict (alphas included for a search net)."""
    sd = model.state_dict()
    keep = set(sd)
    for n in ("alphas_normal", "alphas_reduce"):
        if n in keep and n not in model.arch_names():
            keep.discard(n)
    return {k: v.detach().clone() for k, v in sd.items() if k in keep}


def make_batch(cfg, n, seed):
    g = torch.Generator().manual_seed(seed + 2)
    c, h, w = cfg["input"]
    return {"images": torch.randn(n, c, h, w, generator=g),
            "labels": torch.randint(0, cfg["classes"], (n,), generator=g, dtype=torch.int64)}


def reference(cfg, W, B, eval_mode, aux_weight, dtype):
    """Run the reference on weights W and batch B; return the OUT dict the
    executable must produce (in float64 or float32)."""
    model = ref_nets.build(cfg)
    model.load_state_dict(W, strict=True)
    model = model.to(dtype)
    model.train(not eval_mode)
    images = B["images"].to(dtype).clone().requires_grad_(True)
    logits, aux = model(images)
    loss = F.cross_entropy(logits, B["labels"])
    if aux is not None:
        loss = loss + aux_weight * F.cross_entropy(aux, B["labels"])
    model.zero_grad()
    loss.backward()
    out = {"logits": logits.detach(), "loss": loss.detach()}
    if aux is not None:
        out["aux_logits"] = aux.detach()
    optional_zero = set()
    for name, p in model.named_parameters():
        if name.startswith("alphas_") and name not in model.arch_names():
            continue
        if p.grad is None:
            optional_zero.add("grad/" + name)
            out["grad/" + name] = torch.zeros_like(p)
        else:
            out["grad/" + name] = p.grad.detach().clone()
    out["grad/images"] = images.grad.detach().clone()
    if eval_mode:
        # the executable's eval mode is a forward only: logits, loss, buffers
        out = {k: v for k, v in out.items() if not k.startswith("grad/")}
        optional_zero = set()
    params = {n for n, _ in model.named_parameters()}
    for name, t in model.state_dict().items():
        if name not in params:
            out[name] = t.detach().clone()
    return out, optional_zero


# ---------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------

def _ratio(a, b):
    return ((a.double() - b.double()).abs() / (ATOL + RTOL * b.double().abs()))


def compare(got, want, optional_zero=(), noise=None, noise_factor=4.0):
    """Returns (failures, n_compared, worst_ratio, worst_name, worst_noise).
    noise: the float32 reference; a tensor passes if its worst ratio is <= 1
    or <= noise_factor times the float32 reference's own worst ratio on it."""
    fails = []
    worst, worst_name, n = 0.0, None, 0
    worst_noise = 0.0
    for name in sorted(want):
        b = want[name]
        if name not in got:
            if name in optional_zero:
                continue
            fails.append("missing tensor %s" % name)
            continue
        a = got[name]
        if tuple(a.shape) != tuple(b.shape):
            fails.append("%s: shape %s, expected %s" % (name, list(a.shape), list(b.shape)))
            continue
        if b.dtype == torch.int64:
            if a.dtype != torch.int64:
                fails.append("%s: dtype %s, expected int64" % (name, a.dtype))
            elif not torch.equal(a, b):
                fails.append("%s: %s, expected %s" % (name, a.tolist(), b.tolist()))
            n += 1
            continue
        if a.dtype != torch.float32:
            fails.append("%s: dtype %s, expected float32" % (name, a.dtype))
            continue
        n += 1
        if a.numel() == 0:
            continue
        a64, b64 = a.double(), b.double()
        if not torch.isfinite(a64).all():
            fails.append("%s: non-finite values" % name)
            continue
        r = _ratio(a64, b64)
        ratio = r.max().item()
        if ratio > worst:
            worst, worst_name = ratio, name
        allowed = 1.0
        r32 = None
        if noise is not None and name in noise:
            r32 = _ratio(noise[name], b64).max().item()
            worst_noise = max(worst_noise, r32)
            allowed = max(1.0, noise_factor * r32)
        if ratio > allowed:
            idx = int(r.flatten().argmax())
            fails.append("%s: worst ratio %.3g at flat index %d (got %.9g, expected %.9g)%s"
                         % (name, ratio, idx, a64.flatten()[idx].item(), b64.flatten()[idx].item(),
                            "" if r32 is None else "; PyTorch float32 ratio %.3g" % r32))
    for name in sorted(set(got) - set(want)):
        print("    note: unexpected tensor in OUT: %s" % name)
    return fails, n, worst, worst_name, worst_noise


# ---------------------------------------------------------------------------
# running a case
# ---------------------------------------------------------------------------

def run_cmd(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


def run_case(name, cfg, sharpc, exe, args):
    tmp = tempfile.mkdtemp(prefix="parity-%s-" % name)
    ok = True
    try:
        batch = args.batch or cfg.get("batch", 2)
        model = make_model(cfg, args.seed)
        W = weights_of(model)
        B = make_batch(cfg, batch, args.seed)
        wpath, bpath = os.path.join(tmp, "W.safetensors"), os.path.join(tmp, "B.safetensors")
        save_safetensors(W, wpath)
        save_safetensors(B, bpath)
        W2 = load_safetensors(wpath)
        if set(W2) != set(W) or any(not torch.equal(W2[k], W[k]) or W2[k].dtype != W[k].dtype for k in W):
            print("parity %s: FAIL: weights file does not read back identically" % name)
            return False
        # with --low-memory: that build, and the default one, whose outputs
        # must be the same bytes
        same_as = None
        if exe is None:
            nas = cfg["nas"] if os.path.isabs(cfg["nas"]) else os.path.join(HERE, cfg["nas"])
            for e, flags in [("net", ["--low-memory"] if args.low_memory else [])] + \
                    ([("net-default", [])] if args.low_memory else []):
                path = os.path.join(tmp, e)
                rc, log = run_cmd([sharpc, "build", nas, "-o", path] + flags, cwd=HERE)
                if rc != 0 or not os.path.exists(path):
                    print("parity %s: FAIL: sharpc build %s exited %d\n%s" % (name, " ".join(flags), rc, log))
                    return False
            exe = os.path.join(tmp, "net")
            if args.low_memory:
                same_as = os.path.join(tmp, "net-default")
        dtype = torch.float64 if args.ref_dtype == "float64" else torch.float32
        modes = [False] if args.no_eval else [False, True]
        for eval_mode in modes:
            mode = "eval" if eval_mode else "train"
            opath = os.path.join(tmp, "OUT-%s.safetensors" % mode)

            def gradients_cmd(e, out):
                c = [e, "gradients", "--weights", wpath, "--batch", bpath, "-o", out]
                if eval_mode:
                    c.append("--eval")
                if args.aux_weight is not None:
                    c += ["--aux-weight", repr(args.aux_weight)]
                return c
            cmd = gradients_cmd(exe, opath)
            spath = os.path.join(tmp, "saved-%s.safetensors" % mode)
            if sharpc is not None:
                cmd += ["--save-weights", spath]
            rc, log = run_cmd(cmd)
            if rc != 0 or not os.path.exists(opath):
                print("parity %s [%s]: FAIL: %s exited %d\n%s" % (name, mode, " ".join(cmd), rc, log))
                ok = False
                continue
            if same_as is not None:
                dpath = os.path.join(tmp, "OUT-%s-default.safetensors" % mode)
                rc, log = run_cmd(gradients_cmd(same_as, dpath))
                same = rc == 0
                if same:
                    with open(opath, "rb") as fa, open(dpath, "rb") as fb:
                        same = fa.read() == fb.read()
                print("parity %-24s [%-5s] %-4s --low-memory build's outputs %s the default build's"
                      % (name, mode, "ok" if same else "FAIL", "are byte for byte" if same else "differ from"))
                if not same:
                    print(log)
                    ok = False
            got = load_safetensors(opath)
            if sharpc is not None:
                # sharpc's weights file loads into the PyTorch model as it is
                try:
                    saved = load_safetensors(spath)
                    m2 = ref_nets.build(cfg)
                    m2.load_state_dict({k: v for k, v in saved.items()}, strict=True)
                    sd = m2.state_dict()
                    same = all(torch.equal(sd[k], got[k]) for k in sd if k in got)
                    if not same:
                        raise ValueError("saved buffers differ from the OUT file's")
                except Exception as e:  # noqa: BLE001 (report any failure)
                    print("parity %s [%s]: FAIL: the weights sharpc wrote do not load into PyTorch: %s"
                          % (name, mode, e))
                    ok = False
            aux_w = 0.4 if args.aux_weight is None else args.aux_weight
            want, optional = reference(cfg, W, B, eval_mode, aux_w, dtype)
            noise = None
            if dtype == torch.float64 and not args.strict:
                noise, _ = reference(cfg, W, B, eval_mode, aux_w, torch.float32)
            fails, n, worst, wname, wnoise = compare(got, want, optional, noise, args.noise_factor)
            status = "ok" if not fails else "FAIL"
            print("parity %-24s [%-5s] %-4s %4d tensors compared, worst ratio %.3g (%s)%s"
                  % (name, mode, status, n, worst, wname,
                     "" if noise is None else "; PyTorch float32's own worst %.3g" % wnoise))
            for f in fails[:40]:
                print("    " + f)
            if len(fails) > 40:
                print("    ... %d more" % (len(fails) - 40))
            ok = ok and not fails
    finally:
        if args.keep:
            print("parity %s: files kept in %s" % (name, tmp))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return ok


# ---------------------------------------------------------------------------
# acting as the executable (used by --self-test to test the harness itself)
# ---------------------------------------------------------------------------

def act_as_exe(case, argv):
    """`parity.py --act-as-exe CASE gradients --weights W --batch B -o OUT
    [--eval] [--aux-weight X]`: the contract implemented with the float32
    reference, to test the harness end to end without sharpc."""
    p = argparse.ArgumentParser(prog="fake-exe")
    p.add_argument("command", choices=["gradients"])
    p.add_argument("--weights", required=True)
    p.add_argument("--batch", required=True)
    p.add_argument("-o", required=True)
    p.add_argument("--eval", action="store_true")
    p.add_argument("--aux-weight", type=float, default=0.4)
    a = p.parse_args(argv)
    W = load_safetensors(a.weights)
    B = load_safetensors(a.batch)
    out, optional = reference(CASES[case], W, B, a.eval, a.aux_weight, torch.float32)
    for n in optional:  # the executable may leave these out
        out.pop(n, None)
    if os.environ.get("PARITY_FAKE_BREAK"):  # self-test: the harness must catch this
        what = os.environ["PARITY_FAKE_BREAK"]
        if what == "drop":
            out.pop("grad/images")
        else:
            out[what] = out[what] * 1.001 + 1e-4
    save_safetensors({k: (v.float() if v.is_floating_point() else v) for k, v in out.items()}, a.o)
    return 0


# ---------------------------------------------------------------------------
# self-test
# ---------------------------------------------------------------------------

def finite_difference_check(cfg, eval_mode, seed=0, n_weight=12, n_image=6):
    """Gradients of the reference against central finite differences in
    float64: all alpha entries, n_weight random weight entries, n_image image
    entries.  Returns the worst relative error."""
    model = make_model(cfg, seed).double()
    model.train(not eval_mode)
    B = make_batch(cfg, cfg.get("batch", 2), seed)
    images = B["images"].double().requires_grad_(True)
    labels = B["labels"]

    def loss_fn():
        logits, aux = model(images)
        loss = F.cross_entropy(logits, labels)
        if aux is not None:
            loss = loss + 0.4 * F.cross_entropy(aux, labels)
        return loss

    model.zero_grad()
    loss_fn().backward()
    g = torch.Generator().manual_seed(seed + 3)
    probes = []
    for name, p in model.named_parameters():
        if name.startswith("alphas_"):
            if name in model.arch_names():
                probes += [(name, p, i) for i in range(p.numel())]
    weights = [(n, p) for n, p in model.named_parameters() if not n.startswith("alphas_") and p.grad is not None]
    for _ in range(n_weight):
        n, p = weights[int(torch.randint(len(weights), (1,), generator=g))]
        probes.append((n, p, int(torch.randint(p.numel(), (1,), generator=g))))
    for _ in range(n_image):
        probes.append(("images", images, int(torch.randint(images.numel(), (1,), generator=g))))
    worst, where = 0.0, None
    eps = 1e-6
    with torch.no_grad():
        for name, t, i in probes:
            flat = t.view(-1)
            analytic = t.grad.view(-1)[i].item()
            old = flat[i].item()
            flat[i] = old + eps
            lp = loss_fn().item()
            flat[i] = old - eps
            lm = loss_fn().item()
            flat[i] = old
            numeric = (lp - lm) / (2 * eps)
            err = abs(numeric - analytic) / (1e-6 + abs(numeric))
            if err > worst:
                worst, where = err, "%s[%d] (autograd %.9g, finite difference %.9g)" % (name, i, analytic, numeric)
    return worst, where, len(probes)


def max_w_gradient_check():
    """§3 / §13.8: max_w multipliers and the non-detached max."""
    w = torch.tensor([0.1, 0.2, 0.7])
    coef = 1.0 - w.max() + w
    assert torch.allclose(coef, torch.tensor([0.4, 0.5, 1.0])), coef
    o = torch.randn(3, 5, dtype=torch.float64)
    wv = torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64, requires_grad=True)
    y = ((1 - wv.max() + wv)[:, None] * o).sum(0)
    gy = torch.randn(5, dtype=torch.float64)
    (y * gy).sum().backward()
    s = (o * gy).sum(1)
    expect = s - torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64) * s.sum()
    assert torch.allclose(wv.grad, expect), (wv.grad, expect)


def safetensors_round_trip(tmp):
    t = {
        "a.weight": torch.randn(3, 2, 1, 1),
        "b.num_batches_tracked": torch.tensor(5, dtype=torch.int64),
        "labels": torch.tensor([1, 0, 3], dtype=torch.int64),
        "empty": torch.zeros(0, 4),
        "d": torch.randn(7, dtype=torch.float64),
        "loss": torch.tensor(1.25),
    }
    path = os.path.join(tmp, "rt.safetensors")
    save_safetensors(t, path, metadata={"format": "pt"})
    r = load_safetensors(path)
    assert set(r) == set(t), (set(r), set(t))
    for k in t:
        assert r[k].dtype == t[k].dtype and tuple(r[k].shape) == tuple(t[k].shape) and torch.equal(r[k], t[k]), k
    with open(path, "rb") as f:
        hlen = int.from_bytes(f.read(8), "little")
    assert hlen % 8 == 0
    # a full weights file
    model = make_model(CASES["darts_v2_aux_32"], 0)
    W = weights_of(model)
    save_safetensors(W, path)
    r = load_safetensors(path)
    assert set(r) == set(W)
    for k in W:
        assert r[k].dtype == W[k].dtype and torch.equal(r[k], W[k]), k
    assert r["stem.1.num_batches_tracked"].shape == torch.Size([])
    m2 = ref_nets.build(CASES["darts_v2_aux_32"])
    m2.load_state_dict(r, strict=True)


def self_test(args):
    ok = True
    tmp = tempfile.mkdtemp(prefix="parity-selftest-")
    try:
        safetensors_round_trip(tmp)
        print("self-test safetensors round trip: ok")
        max_w_gradient_check()
        print("self-test max_w multipliers and gradient (§13.8, max not detached): ok")
        fd_cases = [("tiny_max_w", False), ("tiny_scalar", False), ("tiny_max_w", True),
                    ("darts_v2_aux_32", False), ("all_ops_sharp_9", False), ("all_ops_darts_8", False)]
        for case, ev in fd_cases:
            worst, where, n = finite_difference_check(CASES[case], ev)
            good = worst < 1e-4
            ok = ok and good
            print("self-test finite differences %-16s [%-5s] %-4s %3d probes, worst rel. error %.2e at %s"
                  % (case, "eval" if ev else "train", "ok" if good else "FAIL", n, worst, where))
        # the harness end to end, with the float32 reference acting as the executable
        def fake(case):
            wrapper = os.path.join(tmp, "fake-%s" % case)
            with open(wrapper, "w") as f:
                f.write('#!/bin/sh\nexec %s %s --act-as-exe %s "$@"\n'
                        % (sys.executable, os.path.abspath(__file__), case))
            os.chmod(wrapper, 0o755)
            return wrapper

        # (each run starts a PyTorch process per mode: the big search space and
        # the broken executables run the training mode only)
        print("self-test: the harness with PyTorch float32 acting as the executable:")
        train_only = argparse.Namespace(**dict(vars(args), no_eval=True))
        for case in args.cases or ["tiny_max_w", "tiny_scalar", "sharp_search_max_w_9", "darts_v2_aux_33",
                                   "all_ops_sharp_9", "all_ops_darts_8"]:
            mode_args = train_only if case == "sharp_search_max_w_9" and not args.cases else args
            ok = run_case(case, CASES[case], None, fake(case), mode_args) and ok
        print("self-test: the harness must reject broken executables (FAIL lines expected):")
        for brk in ["grad/alphas_normal", "cells.2.preprocess0.bn.running_var", "loss", "drop"]:
            os.environ["PARITY_FAKE_BREAK"] = brk
            caught = not run_case("tiny_max_w", CASES["tiny_max_w"], None, fake("tiny_max_w"), train_only)
            del os.environ["PARITY_FAKE_BREAK"]
            print("self-test broken %-40s %s" % (brk, "caught: ok" if caught else "NOT CAUGHT: FAIL"))
            ok = ok and caught
        # check_names.py (the names of every case against sharpc) is the test
        # parity_names, not repeated here.
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("self-test: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


# ---------------------------------------------------------------------------

def custom_case(a):
    c, h, w = (int(x) for x in a.input.split("x"))
    cfg = dict(nas=os.path.abspath(a.nas), kind=a.kind, input=(c, h, w), classes=a.classes, C=a.C,
               layers=a.layers, C_mid=a.C_mid, fr_key_padding=not a.darts_fr, batch=a.batch or 2)
    if a.reduce_at:
        cfg["reduce_at"] = [int(x) for x in a.reduce_at.split(",")]
    if a.kind == "search":
        cfg.update(primitives=a.primitives, weighting=a.weighting, steps=a.steps)
        if a.concat:
            cfg["concat"] = [int(x) for x in a.concat.split(",")]
    else:
        cfg.update(genotype=a.genotype, optable=a.optable, auxiliary=a.auxiliary_at is not None,
                   auxiliary_at=a.auxiliary_at)
    return cfg


def main(argv):
    p = argparse.ArgumentParser(description="sharpc whole-network parity tests (see the module docstring)")
    p.add_argument("sharpc", nargs="?", help="path to the sharpc binary")
    p.add_argument("cases", nargs="*", help="case names (default: all)")
    p.add_argument("--self-test", action="store_true")
    p.add_argument("--list", action="store_true")
    p.add_argument("--act-as-exe", metavar="CASE")
    p.add_argument("--exe", help="use this executable instead of running `sharpc build`")
    p.add_argument("--batch", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--aux-weight", type=float)
    p.add_argument("--ref-dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--no-eval", action="store_true")
    p.add_argument("--strict", action="store_true",
                   help="plain elementwise tolerance, no allowance for float32 rounding (see the docstring)")
    p.add_argument("--noise-factor", type=float, default=4.0)
    p.add_argument("--low-memory", action="store_true",
                   help="build with `sharpc build --low-memory`; its outputs must equal the default build's bytes")
    # a network not in cases.py
    p.add_argument("--nas")
    p.add_argument("--kind", choices=["search", "genotype"])
    p.add_argument("--input", default="3x8x8")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--C", type=int, default=4)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--reduce-at", help="comma-separated cell indices")
    p.add_argument("--C-mid", type=int, default=32)
    p.add_argument("--darts-fr", action="store_true", help="preprocess_reduce is darts_factorized_reduce")
    p.add_argument("--primitives", default="PRIMITIVES", choices=sorted(ref_nets.PRIMITIVE_LISTS))
    p.add_argument("--weighting", default="scalar", choices=["scalar", "max_w"])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--concat")
    p.add_argument("--genotype", choices=sorted(ref_nets.GENOTYPES))
    p.add_argument("--optable", choices=["DARTS_OPS"])
    p.add_argument("--auxiliary-at", type=int)
    if argv[:1] == ["--act-as-exe"]:
        return act_as_exe(argv[1], argv[2:])
    a = p.parse_args(argv)
    if a.list:
        for n, c in CASES.items():
            print("%-24s %s" % (n, c["nas"]))
        return 0
    if a.self_test:
        return self_test(a)
    if not a.sharpc and not a.exe:
        p.error("give the sharpc binary (or --exe)")
    sharpc = os.path.abspath(a.sharpc) if a.sharpc else None
    if sharpc and not os.path.exists(sharpc):
        print("parity: %s: no such file" % sharpc)
        return 1
    if a.nas:
        todo = [(os.path.basename(a.nas), custom_case(a))]
    else:
        names = a.cases or list(CASES)
        unknown = [n for n in names if n not in CASES]
        if unknown:
            p.error("unknown case(s): %s (see --list)" % ", ".join(unknown))
        todo = [(n, CASES[n]) for n in names]
    exe = os.path.abspath(a.exe) if a.exe else None
    failed = [n for n, cfg in todo if not run_case(n, cfg, sharpc, exe, a)]
    print("parity: %d of %d cases passed%s" % (len(todo) - len(failed), len(todo),
                                              "" if not failed else "; failed: " + ", ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
