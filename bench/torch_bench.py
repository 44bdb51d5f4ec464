#!/usr/bin/python3
"""torch_bench.py NET [options]: the PyTorch side of the issue-3 step
benchmark (bench/run_bench.sh).  Builds NET with tests/parity/ref_nets.py
(the reference models written from the spec, same state_dict names as
sharpc) and times the step `EXE bench` times, on synthetic data:

  search-first  architecture step: forward + backward on a validation batch,
                gradients for the alphas only, Adam(lr 3e-4, betas (0.5,
                0.999), wd 1e-3); then the weight step: forward + backward on
                a training batch, gradients for the weights only, clip to
                norm 5, SGD(lr 0.025, momentum 0.9, wd 3e-4);
  train         forward + backward (loss + aux_weight * aux loss) + clip + SGD.

Prints each step, the median time per phase, the median and minimum step
time, the peak RSS (resource.getrusage ru_maxrss and VmHWM) and one final
`RESULT key=value ...` line for scripts.  --device cuda runs on GPU 0
(tests/gpu/run.sh, against `EXE bench --device cuda`): every phase is timed
after torch.cuda.synchronize(), and the RESULT line adds the peak GPU memory
allocated (torch.cuda.max_memory_allocated)."""

import argparse
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import ref_nets  # noqa: E402

# The benchmark networks, in the style of tests/parity/cases.py; each matches
# the .nas file named in `nas` (relative to the repository root).
CONFIGS = {
    # bench/sharpdarts_search_c16.nas: PRIMITIVES, 4 steps, max_w.
    "sharpdarts_search_c16": dict(nas="bench/sharpdarts_search_c16.nas", kind="search", input=(3, 32, 32),
                                  classes=10, C=16, layers=8, primitives="PRIMITIVES", weighting="max_w",
                                  steps=4),
    # examples/darts_v2.nas: DARTS_V2 with the original DARTS ops, aux head after cell 13.
    "darts_v2": dict(nas="examples/darts_v2.nas", kind="genotype", input=(3, 32, 32), classes=10, C=36,
                     layers=20, C_mid=32, genotype="DARTS_V2", optable="DARTS_OPS", auxiliary=True),
    # examples/fashion_mnist.nas: DARTS_PRIMITIVES with SharpSepConv, 3 steps, max_w.
    "fashion_search": dict(nas="examples/fashion_mnist.nas", kind="search", input=(1, 28, 28), classes=10,
                           C=8, layers=5, primitives="DARTS_PRIMITIVES", weighting="max_w", steps=3),
    # A genotype found on Fashion-MNIST (no aux head): the genotype, C, layers and input come from the
    # .nas file (--nas FILE overrides it, e.g. runs/search-out/genotype.nas of scripts/run-main.sh).
    "fashion_found": dict(nas="tests/ship/fashion_found.nas", kind="genotype", input=(1, 28, 28), classes=10,
                          C=8, layers=5, from_nas=True),
}


def config(net, nas=None):
    """The configuration of net; with from_nas, completed from its .nas file (or nas)."""
    cfg = dict(CONFIGS[net])
    if nas:
        cfg["nas"] = os.path.abspath(nas)
    else:
        cfg["nas"] = os.path.join(HERE, "..", cfg["nas"])
    if cfg.pop("from_nas", False):
        name, _, settings = ref_nets.genotype_from_nas(cfg["nas"])
        cfg.update(settings, genotype=name)
    elif nas:
        sys.exit("torch_bench: --nas applies only to fashion_found")
    return cfg


def vmhwm_kib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def check_names(sharpc, net, cfg):
    """Names, shapes and parameter count of the PyTorch model against sharpc's IR
    (tests/parity/check_names.py on this benchmark's configuration)."""
    import check_names as cn
    cn.CASES = {net: cfg}
    problems, n, count = cn.check_case(os.path.abspath(sharpc), net)
    print("check_names %s: %s, %d tensors, %d parameters" % (net, "ok" if not problems else "MISMATCH", n, count))
    for p in problems:
        print("    " + p)
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("net", choices=sorted(CONFIGS))
    ap.add_argument("--mode", choices=["search-first", "train"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--aux-weight", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--check-names", metavar="SHARPC",
                    help="only compare the model's state_dict with `SHARPC dump --ir` of its .nas file")
    ap.add_argument("--nas", metavar="FILE", help="fashion_found: the genotype .nas file to read instead")
    a = ap.parse_args()
    cfg = config(a.net, a.nas)
    if a.check_names:
        return check_names(a.check_names, a.net, cfg)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    model = ref_nets.build(cfg).to(dev)
    model.train()
    search = cfg["kind"] == "search" if a.mode is None else a.mode == "search-first"
    arch_names = set(model.arch_names())
    if search and not arch_names:
        sys.exit("torch_bench: %s has no architecture parameters; use --mode train" % a.net)
    arch = [p for n, p in model.named_parameters() if n in arch_names]
    weights = [p for n, p in model.named_parameters() if n not in arch_names]
    w_opt = torch.optim.SGD(weights, lr=0.025, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam(arch, lr=3e-4, betas=(0.5, 0.999), eps=1e-8, weight_decay=1e-3) if arch else None

    N, shape = a.batch, cfg["input"]
    xt, yt = torch.randn(N, *shape).to(dev), torch.randint(0, cfg["classes"], (N,)).to(dev)
    xv, yv = torch.randn(N, *shape).to(dev), torch.randint(0, cfg["classes"], (N,)).to(dev)

    def clock():
        # the time once the GPU has finished what was queued
        if a.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter()

    def loss_of(x, y):
        logits, aux = model(x)
        loss = F.cross_entropy(logits, y)
        if aux is not None:
            loss = loss + a.aux_weight * F.cross_entropy(aux, y)
        return loss

    def grads_into(loss, params):
        # gradients of these parameters only (as sharpc's gw / garch = NULL)
        for p, g in zip(params, torch.autograd.grad(loss, params)):
            p.grad = g

    phases = ["arch_fwd", "arch_bwd", "arch_opt", "w_fwd", "w_bwd", "w_opt", "step", "cpu"]
    times = {k: [] for k in phases}
    nparam = sum(p.numel() for p in weights)
    print("bench %s (torch %s, %d threads): mode %s, batch %d, %d weights, %d warmup + %d timed steps"
          % (a.net, torch.__version__, torch.get_num_threads(), "search-first" if search else "train", N,
             nparam, a.warmup, a.steps))
    rss_ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for s in range(a.warmup + a.steps):
        t = dict.fromkeys(phases, 0.0)
        c0, t0 = time.process_time(), clock()
        if search:
            loss_v = loss_of(xv, yv)
            t1 = clock()
            t["arch_fwd"] = t1 - t0
            grads_into(loss_v, arch)
            t2 = clock()
            t["arch_bwd"] = t2 - t1
            a_opt.step()
            t["arch_opt"] = clock() - t2
        t1 = clock()
        loss_t = loss_of(xt, yt)
        t2 = clock()
        t["w_fwd"] = t2 - t1
        grads_into(loss_t, weights)
        t3 = clock()
        t["w_bwd"] = t3 - t2
        gnorm = torch.nn.utils.clip_grad_norm_(weights, 5.0)
        w_opt.step()
        t4 = clock()
        t["w_opt"] = t4 - t3
        t["step"] = t4 - t0
        t["cpu"] = time.process_time() - c0
        for p in weights + arch:
            p.grad = None
        what = "warmup %d" % (s + 1) if s < a.warmup else "step %d" % (s - a.warmup + 1)
        detail = ("arch %.3f + %.3f + %.4f, " % (t["arch_fwd"], t["arch_bwd"], t["arch_opt"])) if search else ""
        print("  %s: %.3f s (%sweights %.3f + %.3f + %.4f), loss %.4f, grad norm %.3f, CPU %.2f s"
              % (what, t["step"], detail, t["w_fwd"], t["w_bwd"], t["w_opt"], loss_t.item(), gnorm.item(),
                 t["cpu"]),
              flush=True)
        if s >= a.warmup:
            for k in phases:
                times[k].append(t[k])

    def median(v):
        v = sorted(v)
        n = len(v)
        return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])

    med = {k: median(v) for k, v in times.items()}
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm = vmhwm_kib()
    print("  median per phase: " + ", ".join("%s %.3f s" % (k, med[k]) for k in phases
                                             if search or not k.startswith("arch")))
    print("  step: median %.3f s, min %.3f s; peak RSS %.1f MiB (ru_maxrss), VmHWM %.1f MiB, RSS before the "
          "first step %.1f MiB" % (med["step"], min(times["step"]), maxrss / 1024, hwm / 1024, rss_ready / 1024))
    print("RESULT side=torch net=%s mode=%s batch=%d threads=%d steps=%d median_s=%.4f min_s=%.4f cpu_s=%.4f "
          "arch_fwd_s=%.4f arch_bwd_s=%.4f arch_opt_s=%.4f w_fwd_s=%.4f w_bwd_s=%.4f w_opt_s=%.4f "
          "maxrss_kib=%d vmhwm_kib=%d device=%s gpu_peak_mib=%.1f"
          % (a.net, "search-first" if search else "train", N, torch.get_num_threads(), a.steps, med["step"],
             min(times["step"]), med["cpu"], med["arch_fwd"], med["arch_bwd"], med["arch_opt"], med["w_fwd"], med["w_bwd"],
             med["w_opt"], maxrss, hwm, a.device,
             torch.cuda.max_memory_allocated() / 1048576 if a.device == "cuda" else 0.0))


if __name__ == "__main__":
    sys.exit(main())
