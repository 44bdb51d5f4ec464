#!/usr/bin/python3
"""torch_ref.py: PyTorch reference values for the CPU kernels.

Usage: torch_ref.py OUT.bin

Draws random inputs with a fixed seed, runs each op forward and backward in
PyTorch (float32, CPU) and writes inputs, attributes and expected outputs to
OUT.bin, which tests/kernels/torch_test.c reads and checks the float kernels
against. The cases are listed once, here.

File format (little endian):
  "SKT1", int32 case count, then per case:
  str kind, str label, int32 n, int32 ints[n], int32 m, float64 reals[m],
  int32 t, then t tensors: str name, int32 ndim, int32 dims[ndim],
  float32 data[prod(dims)].
  A str is int32 length + bytes.
"""
import os
import struct
import sys

if len(sys.argv) != 2:
    sys.exit("usage: torch_ref.py OUT.bin")
out = sys.argv[1]
if os.path.exists(out):
    os.remove(out)  # a stale file must never be compared

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    sys.stderr.write(
        "kernels_torch_gen: cannot import torch (%s).\n"
        "The PyTorch reference needs Debian's python3-torch: apt-get install python3-torch\n" % e)
    sys.exit(1)

torch.manual_seed(1234)
torch.set_num_threads(1)

cases = []


def case(kind, label, ints=(), reals=(), **tensors):
    """Records one case; tensors are written in keyword order."""
    cases.append((kind, label, [int(i) for i in ints], [float(r) for r in reals],
                  [(k, v.detach().to(torch.float32).contiguous()) for k, v in tensors.items()]))


def rnd(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def leaf(*shape):
    return rnd(*shape).requires_grad_(True)


def conv(label, N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g):
    x, w = leaf(N, Ci, H, W), leaf(Co, Ci // g, kh, kw)
    y = F.conv2d(x, w, None, (sh, sw), (ph, pw), (dh, dw), g)
    gy = rnd(*y.shape)
    y.backward(gy)
    case("conv2d", label, [N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g],
         x=x, w=w, gy=gy, y=y, gx=x.grad, gw=w.grad)


def bn(label, N, C, H, W, affine, train, eps, momentum=0.1):
    x = (rnd(N, C, H, W) * 2 + 0.5).requires_grad_(True)
    gamma = (rnd(C) * 0.5 + 1).requires_grad_(True) if affine else None
    beta = leaf(C) if affine else None
    rm, rv = rnd(C) * 0.3, torch.rand(C) + 0.5
    rm0, rv0 = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=bool(train), momentum=momentum, eps=eps)
    gy = rnd(*y.shape)
    y.backward(gy)
    t = dict(x=x, run_mean=rm0, run_var=rv0, gy=gy, y=y, gx=x.grad, run_mean_out=rm, run_var_out=rv)
    if affine:
        t.update(gamma=gamma, beta=beta, ggamma=gamma.grad, gbeta=beta.grad)
    if train:
        xd = x.detach().double()
        mean = xd.mean((0, 2, 3))
        var = xd.var((0, 2, 3), unbiased=False)
        t.update(mean=mean, invstd=1 / torch.sqrt(var + eps))
    case("bn", label, [N, C, H, W, affine, train], [eps, momentum], **t)


def relu(label, *shape):
    x = leaf(*shape)
    y = F.relu(x)
    gy = rnd(*shape)
    y.backward(gy)
    case("relu", label, [x.numel()], x=x, gy=gy, y=y, gx=x.grad)


def pool(label, N, C, H, W, k, s, p, is_max, cip=1, x=None):
    x = leaf(N, C, H, W) if x is None else x.requires_grad_(True)
    if is_max:
        y = F.max_pool2d(x, k, s, p)
    else:
        y = F.avg_pool2d(x, k, s, p, count_include_pad=bool(cip))
    gy = rnd(*y.shape)
    y.backward(gy)
    case("pool", label, [N, C, H, W, k, k, s, s, p, p, is_max, cip], x=x, gy=gy, y=y, gx=x.grad)


def pad(label, N, C, H, W, t, b, l, r):
    x = leaf(N, C, H, W)
    y = F.pad(x, (l, r, t, b))
    gy = rnd(*y.shape)
    y.backward(gy)
    case("pad", label, [N, C, H, W, t, b, l, r], x=x, gy=gy, y=y, gx=x.grad)


def slice_channels(label, N, C, H, W, c0, Cs):
    x = leaf(N, C, H, W)
    y = x[:, c0:c0 + Cs]
    gy = rnd(*y.shape)
    y.backward(gy)
    case("slice", label, [N, C, H * W, c0, Cs], x=x, gy=gy, y=y, gx=x.grad)


def concat(label, N, H, W, Cs):
    xs = [leaf(N, c, H, W) for c in Cs]
    y = torch.cat(xs, 1)
    gy = rnd(*y.shape)
    y.backward(gy)
    t = {}
    for i, x in enumerate(xs):
        t["x%d" % i] = x
    t.update(gy=gy, y=y)
    for i, x in enumerate(xs):
        t["gx%d" % i] = x.grad
    case("concat", label, [N, H * W, len(Cs)] + list(Cs), **t)


def elementwise():
    a, b = leaf(3, 4, 5), leaf(3, 4, 5)
    y = a + b
    gy = rnd(3, 4, 5)
    y.backward(gy)
    case("add", "add (3,4,5)", [60], a=a, b=b, gy=gy, y=y, ga=a.grad, gb=b.grad)
    x = leaf(2, 3, 7)
    y = x * 0.4
    gy = rnd(2, 3, 7)
    y.backward(gy)
    case("scale", "scale 0.4 (2,3,7)", [42], [0.4], x=x, gy=gy, y=y, gx=x.grad)


def zero(label, N, C, H, W, s):
    x = leaf(N, C, H, W)
    y = x[:, :, ::s, ::s].mul(0.)
    gy = rnd(*y.shape)
    y.backward(gy)
    case("zero", label, [N, C, H, W, s], x=x, gy=gy, y=y, gx=x.grad)


def gap(label, N, C, H, W):
    x = leaf(N, C, H, W)
    y = F.adaptive_avg_pool2d(x, 1).view(N, C)
    gy = rnd(N, C)
    y.backward(gy)
    case("gap", label, [N, C, H * W], x=x, gy=gy, y=y, gx=x.grad)


def linear(label, N, I, O):
    x, W, b = leaf(N, I), leaf(O, I), leaf(O)
    y = F.linear(x, W, b)
    gy = rnd(N, O)
    y.backward(gy)
    case("linear", label, [N, I, O], x=x, W=W, b=b, gy=gy, y=y, gx=x.grad, gW=W.grad, gb=b.grad)


def softmax_ce(label, N, K, gscale):
    z = (rnd(N, K) * 3).requires_grad_(True)
    lab = torch.randint(0, K, (N,))
    loss = F.cross_entropy(z, lab)
    (loss * gscale).backward()
    top = z.detach().topk(5, 1).indices
    top1 = (top[:, :1] == lab[:, None]).any(1).sum()
    top5 = (top == lab[:, None]).any(1).sum()
    case("softmax_ce", label, [N, K], [gscale], logits=z, labels=lab.float(), loss=loss.view(1),
         glogits=z.grad, top1=top1.float().view(1), top5=top5.float().view(1))


def drop_path(label, N, C, H, W, keep):
    x = leaf(N, C, H, W)
    mask = torch.bernoulli(torch.full((N,), keep))
    mask[0], mask[1] = 0.0, 1.0
    y = x.div(keep).mul(mask.view(N, 1, 1, 1))
    gy = rnd(*y.shape)
    y.backward(gy)
    case("drop_path", label, [N, C * H * W], [keep], x=x, mask=mask, gy=gy, y=y, gx=x.grad)


def arch_softmax(label, E, P):
    alpha = (1e-3 * rnd(E, P)).requires_grad_(True) if E > 4 else leaf(E, P)
    w = F.softmax(alpha, dim=-1)
    gw = rnd(E, P)
    w.backward(gw)
    case("arch_softmax", label, [E, P], alpha=alpha, gw=gw, w=w, galpha=alpha.grad)


def mixed(label, n, P, mode, none):
    w = F.softmax(rnd(P), 0).requires_grad_(True)
    o = rnd(P, n)
    if none >= 0:
        o[none] = 0
    o.requires_grad_(True)
    c = w if mode == 0 else 1 - w.max() + w
    y = (c[:, None] * o).sum(0)
    gy = rnd(n)
    y.backward(gy)
    case("mixed", label, [n, P, mode, none], w=w, o=o, gy=gy, y=y, go=o.grad, gw=w.grad)


conv("conv 3x3 s1 p1 (2,16,8,8)->16", 2, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1)
conv("stem conv 3x3 (2,3,9,9)->12", 2, 3, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1)
conv("pw 1x1 (3,16,5,5)->24", 3, 16, 5, 5, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1)
conv("pw 1x1 s2 (2,8,7,7)->4 (FactorizedReduce)", 2, 8, 7, 7, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1)
conv("dw 3x3 s1 p1 (2,8,8,8)", 2, 8, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8)
conv("dw 3x3 s2 p1 odd (2,8,7,7)", 2, 8, 7, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1, 8)
conv("dw 5x5 s1 p2 (2,6,9,9)", 2, 6, 9, 9, 6, 5, 5, 1, 1, 2, 2, 1, 1, 6)
conv("dw 7x7 s2 p3 (1,4,10,10)", 1, 4, 10, 10, 4, 7, 7, 2, 2, 3, 3, 1, 1, 4)
conv("dw 3x3 d2 p2 (2,8,8,8)", 2, 8, 8, 8, 8, 3, 3, 1, 1, 2, 2, 2, 2, 8)
conv("dw 5x5 d2 p4 s2 (2,4,9,9)", 2, 4, 9, 9, 4, 5, 5, 2, 2, 4, 4, 2, 2, 4)
conv("groups 4 (2,8,6,6)->12", 2, 8, 6, 6, 12, 3, 3, 1, 1, 1, 1, 1, 1, 4)
conv("conv 1x7 s(1,2) p(0,3) (2,6,8,8)", 2, 6, 8, 8, 6, 1, 7, 1, 2, 0, 3, 1, 1, 1)
conv("conv 7x1 s(2,1) p(3,0) (2,6,8,4)", 2, 6, 8, 4, 6, 7, 1, 2, 1, 3, 0, 1, 1, 1)
conv("pw 1x1 GEMM odd (2,20,7,7)->36", 2, 20, 7, 7, 36, 1, 1, 1, 1, 0, 0, 1, 1, 1)
conv("pw 1x1 GEMM (2,33,9,9)->17", 2, 33, 9, 9, 17, 1, 1, 1, 1, 0, 0, 1, 1, 1)
conv("pw 1x1 GEMM 2 tiles (2,16,16,16)->16", 2, 16, 16, 16, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1)
conv("dw 3x3 s1 p1 even width (2,5,6,10)", 2, 5, 6, 10, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5)
conv("dw 5x5 s2 p2 (2,4,9,8)", 2, 4, 9, 8, 4, 5, 5, 2, 2, 2, 2, 1, 1, 4)
conv("dw 3x3 d2 p2 s2 (2,4,10,9)", 2, 4, 10, 9, 4, 3, 3, 2, 2, 2, 2, 2, 2, 4)
conv("aux head 2x2 (2,32,2,2)->48", 2, 32, 2, 2, 48, 2, 2, 1, 1, 0, 0, 1, 1, 1)
bn("bn train affine (4,6,5,5)", 4, 6, 5, 5, 1, 1, 1e-5)
bn("bn train non-affine (3,5,4,4)", 3, 5, 4, 4, 0, 1, 1e-5)
bn("bn3 train affine (8,4,3,3)", 8, 4, 3, 3, 1, 1, 1e-3)
bn("bn eval affine (2,6,4,4)", 2, 6, 4, 4, 1, 0, 1e-5)
bn("bn eval non-affine (2,5,3,3)", 2, 5, 3, 3, 0, 0, 1e-5)
relu("relu (2,5,6,6)", 2, 5, 6, 6)
pool("max 3x3 s1 p1 (2,4,8,8)", 2, 4, 8, 8, 3, 1, 1, 1)
pool("max 3x3 s2 p1 (2,4,8,8)", 2, 4, 8, 8, 3, 2, 1, 1)
pool("max 3x3 s2 p1 odd (2,3,7,7)", 2, 3, 7, 7, 3, 2, 1, 1)
pool("max 3x3 s2 p1 ties, first max wins (2,3,7,7)", 2, 3, 7, 7, 3, 2, 1, 1,
     x=torch.randint(-1, 2, (2, 3, 7, 7)).float())
pool("max 3x3 s1 p1 all negative, pad is -inf", 2, 3, 6, 6, 3, 1, 1, 1,
     x=-torch.rand(2, 3, 6, 6) - 1)
pool("avg 3x3 s1 p1 include pad (2,4,7,7)", 2, 4, 7, 7, 3, 1, 1, 0, 1)
pool("avg 3x3 s1 p1 exclude pad (2,4,7,7)", 2, 4, 7, 7, 3, 1, 1, 0, 0)
pool("avg 3x3 s2 p1 include pad (2,3,8,8)", 2, 3, 8, 8, 3, 2, 1, 0, 1)
pool("avg 3x3 s2 p1 exclude pad odd (2,3,7,7)", 2, 3, 7, 7, 3, 2, 1, 0, 0)
pool("avg 5x5 s3 p0 (2,3,8,8) (aux head)", 2, 3, 8, 8, 5, 3, 0, 0, 0)
pad("pad shift up-left (-1,1,-1,1) (2,4,7,7)", 2, 4, 7, 7, -1, 1, -1, 1)
pad("pad (1,2,3,0) (2,3,5,4)", 2, 3, 5, 4, 1, 2, 3, 0)
pad("crop (-1,-2,0,-3) (2,3,6,7)", 2, 3, 6, 7, -1, -2, 0, -3)
slice_channels("slice [3:8] of (2,10,4,4)", 2, 10, 4, 4, 3, 5)
concat("concat {4,4,4,4} (2,4x4)", 2, 4, 4, [4, 4, 4, 4])
concat("concat {3,5} (2,3x5)", 2, 3, 5, [3, 5])
elementwise()
zero("zero s1 (2,3,5,5)", 2, 3, 5, 5, 1)
zero("zero s2 odd (2,3,7,7)", 2, 3, 7, 7, 2)
gap("global avg pool (3,16,8,8)", 3, 16, 8, 8)
linear("linear (4,256)->10", 4, 256, 10)
softmax_ce("softmax ce (16,10)", 16, 10, 1.0)
softmax_ce("softmax ce aux weight 0.4 (8,10)", 8, 10, 0.4)
drop_path("drop path keep 0.8 (6,3,4,4)", 6, 3, 4, 4, 0.8)
arch_softmax("arch softmax (14,8) alpha 1e-3", 14, 8)
arch_softmax("arch softmax (3,5)", 3, 5)
mixed("mixed scalar P8", 50, 8, 0, -1)
mixed("mixed max_w P8", 50, 8, 1, -1)
mixed("mixed scalar P9 with none 0", 40, 9, 0, 0)
mixed("mixed max_w P9 with none 0", 40, 9, 1, 0)


def wstr(f, s):
    b = s.encode()
    f.write(struct.pack("<i", len(b)))
    f.write(b)


tmp = out + ".tmp"
with open(tmp, "wb") as f:
    f.write(b"SKT1")
    f.write(struct.pack("<i", len(cases)))
    for kind, label, ints, reals, tensors in cases:
        wstr(f, kind)
        wstr(f, label)
        f.write(struct.pack("<i%di" % len(ints), len(ints), *ints))
        f.write(struct.pack("<i%dd" % len(reals), len(reals), *reals))
        f.write(struct.pack("<i", len(tensors)))
        for name, t in tensors:
            wstr(f, name)
            f.write(struct.pack("<i%di" % t.dim(), t.dim(), *t.shape))
            f.write(struct.pack("<%df" % t.numel(), *t.flatten().tolist()))
os.replace(tmp, out)
print("kernels_torch_gen: torch %s, %d cases written to %s" % (torch.__version__, len(cases), out))
