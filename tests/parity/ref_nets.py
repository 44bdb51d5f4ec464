"""Reference PyTorch networks for the sharpc parity tests.

Written from the specification only (shared/docs/sharpdarts.md, §1 ops, §2
primitive lists, §3 search supernet, §6 final networks, §6.2 auxiliary head)
and from shared/docs/weights-format.md (module paths = tensor names).  No code
was taken from the DARTS or sharpDARTS repositories.

Also holds a minimal safetensors reader/writer in pure Python (+ torch), since
Debian's torch 1.13 ships without the safetensors package.
"""

import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

_ST_DTYPES = {
    "F32": (torch.float32, 4),
    "F64": (torch.float64, 8),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "F16": (torch.float16, 2),
    "U8": (torch.uint8, 1),
}
_ST_NAMES = {v[0]: k for k, v in _ST_DTYPES.items()}


def save_safetensors(tensors, path, metadata=None):
    """Write {name: tensor} as a safetensors file (little-endian data)."""
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _ST_NAMES:
            raise ValueError("safetensors: unsupported dtype %s for %s" % (t.dtype, name))
        # .numpy() is native-endian; every supported host (x86, arm64) is little-endian.
        data = t.numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Read a safetensors file into {name: tensor} (copies, writable)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError("%s: header length %d past end of file" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in _ST_DTYPES:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        tdtype, size = _ST_DTYPES[dt]
        a, b = info["data_offsets"]
        shape = [int(s) for s in info["shape"]]
        count = 1
        for s in shape:
            count *= s
        if b - a != count * size or base + b > len(raw):
            raise ValueError("%s: tensor %s: bad data_offsets %r for shape %r" % (path, name, [a, b], shape))
        buf = bytearray(raw[base + a:base + b])
        if count:
            t = torch.frombuffer(buf, dtype=tdtype).clone().reshape(shape)
        else:
            t = torch.zeros(shape, dtype=tdtype)
        out[name] = t
    return out


# ---------------------------------------------------------------------------
# §1 base operations
# ---------------------------------------------------------------------------

def bn(C, affine, eps=1e-5):
    return nn.BatchNorm2d(C, eps=eps, momentum=0.1, affine=affine)


def conv(cin, cout, k, stride=1, pad=0, dil=1, groups=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dil, groups=groups, bias=False)


class Zero(nn.Module):
    """§1.3: all zeros of shape [N, C, ceil(H/s), ceil(W/s)]; no gradient flows."""

    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)


class Identity(nn.Module):
    def forward(self, x):
        return x


class FactorizedReduce(nn.Module):
    """§1.3.  key_padding=True is the sharpDARTS fix (zero row/column at
    bottom/right of the shifted branch); False is the DARTS original."""

    def __init__(self, cin, cout, affine, key_padding=True):
        super().__init__()
        assert cout % 2 == 0
        self.key_padding = key_padding
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = conv(cin, cout // 2, 1, stride=2)
        self.conv_2 = conv(cin, cout // 2, 1, stride=2)
        self.bn = bn(cout, affine)

    def forward(self, x):
        r = self.relu(x)
        a = self.conv_1(r)
        shifted = r[:, :, 1:, 1:]
        if self.key_padding:
            shifted = F.pad(shifted, (0, 1, 0, 1))
        b = self.conv_2(shifted)
        return self.bn(torch.cat([a, b], dim=1))


class ReLUConvBN(nn.Module):
    """§1.5: ReLU; conv(k, s, p); BN."""

    def __init__(self, cin, cout, k, stride, pad, affine):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), conv(cin, cout, k, stride, pad), bn(cout, affine))

    def forward(self, x):
        return self.op(x)


class ConvBNReLU(nn.Module):
    """§1.5: conv; BN; ReLU (nor_conv_k of DARTS_OPS)."""

    def __init__(self, cin, cout, k, stride, pad, affine):
        super().__init__()
        self.op = nn.Sequential(conv(cin, cout, k, stride, pad), bn(cout, affine), nn.ReLU(inplace=False))

    def forward(self, x):
        return self.op(x)


class SharpSepConv(nn.Module):
    """§1.1: ReLU, dw(k,s,p,d), pw->c_mid, BN, ReLU, dw(k,1,(k-1)/2), pw->Cout, BN."""

    def __init__(self, cin, cout, k, stride, pad, dil, c_mid, affine):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            conv(cin, cin, k, stride, pad, dil, groups=cin),
            conv(cin, c_mid, 1),
            bn(c_mid, affine),
            nn.ReLU(inplace=False),
            conv(c_mid, c_mid, k, 1, (k - 1) // 2, 1, groups=c_mid),
            conv(c_mid, cout, 1),
            bn(cout, affine),
        )

    def forward(self, x):
        return self.op(x)


class DartsSepConv(nn.Module):
    """§1.6 DARTS SepConv: the ReLU-dw-pw-BN block twice; the first pw is C_in->C_in."""

    def __init__(self, cin, cout, k, stride, pad, affine):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            conv(cin, cin, k, stride, pad, groups=cin),
            conv(cin, cin, 1),
            bn(cin, affine),
            nn.ReLU(inplace=False),
            conv(cin, cin, k, 1, pad, groups=cin),
            conv(cin, cout, 1),
            bn(cout, affine),
        )

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    """§1.5 DARTS DilConv: ReLU; dw(k, s, p, d); pw; BN (a single block)."""

    def __init__(self, cin, cout, k, stride, pad, dil, affine):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            conv(cin, cin, k, stride, pad, dil, groups=cin),
            conv(cin, cout, 1),
            bn(cout, affine),
        )

    def forward(self, x):
        return self.op(x)


class Conv7x1_1x7(nn.Module):
    """§1.2 / §1.6: ReLU; conv 1x7 stride (1,s) pad (0,3) Cin->Cin; conv 7x1
    stride (s,1) pad (3,0) Cin->Cout; BN (eps 1e-3 in OPS, 1e-5 in DARTS)."""

    def __init__(self, cin, cout, stride, affine, eps):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(cin, cin, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(cin, cout, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            bn(cout, affine, eps),
        )

    def forward(self, x):
        return self.op(x)


class ResizablePool(nn.Module):
    """§1.4: the 3x3 pool (pad 1); if Cin != Cout, then pw and BN3."""

    def __init__(self, cin, cout, stride, kind, affine, count_include_pad=True):
        super().__init__()
        if kind == "max":
            pool = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            pool = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=count_include_pad)
        layers = [pool]
        if cin != cout:
            layers += [conv(cin, cout, 1), bn(cout, affine, 1e-3)]
        self.op = nn.Sequential(*layers)

    def forward(self, x):
        return self.op(x)


# ---------------------------------------------------------------------------
# §1.2 the sharpDARTS op table OPS and §1.6 the DARTS ops
# ---------------------------------------------------------------------------

def _ssc(k, pad, dil=1, mult=1, mid=None):
    def make(cin, cout, stride, affine, c_mid):
        cm = c_mid if mid == "C_mid" else int(cout * mult)
        return SharpSepConv(cin, cout, k, stride, pad, dil, cm, affine)
    return make


SHARP_OPS = {
    "none": lambda cin, cout, s, aff, cm: Zero(s),
    "max_pool_3x3": lambda cin, cout, s, aff, cm: ResizablePool(cin, cout, s, "max", aff),
    "avg_pool_3x3": lambda cin, cout, s, aff, cm: ResizablePool(cin, cout, s, "avg", aff, True),
    "skip_connect": lambda cin, cout, s, aff, cm: Identity() if s == 1 else FactorizedReduce(cin, cout, aff, True),
    "sep_conv_3x3": _ssc(3, 1),
    "sep_conv_5x5": _ssc(5, 2),
    "sep_conv_7x7": _ssc(7, 3),
    "dil_conv_3x3": _ssc(3, 2, 2),
    "dil_conv_5x5": _ssc(5, 4, 2),
    "flood_conv_3x3": _ssc(3, 1, 1, 4),
    "flood_conv_5x5": _ssc(5, 2, 1, 4),
    "dil_flood_conv_3x3": _ssc(3, 2, 2, 4),
    "choke_conv_3x3": _ssc(3, 1, 1, mid="C_mid"),
    "dil_choke_conv_3x3": _ssc(3, 2, 2, mid="C_mid"),
    "conv_7x1_1x7": lambda cin, cout, s, aff, cm: Conv7x1_1x7(cin, cout, s, aff, 1e-3),
}

# The original DARTS operations (§1.6), under the prelude's darts_ names.
DARTS_ORIG_OPS = {
    "darts_none": lambda cin, cout, s, aff, cm: Zero(s),
    "darts_max_pool_3x3": lambda cin, cout, s, aff, cm: nn.MaxPool2d(3, stride=s, padding=1),
    "darts_avg_pool_3x3": lambda cin, cout, s, aff, cm: nn.AvgPool2d(3, stride=s, padding=1, count_include_pad=False),
    "darts_skip_connect": lambda cin, cout, s, aff, cm: Identity() if s == 1 else FactorizedReduce(cin, cout, aff, False),
    "darts_sep_conv_3x3": lambda cin, cout, s, aff, cm: DartsSepConv(cin, cout, 3, s, 1, aff),
    "darts_sep_conv_5x5": lambda cin, cout, s, aff, cm: DartsSepConv(cin, cout, 5, s, 2, aff),
    "darts_sep_conv_7x7": lambda cin, cout, s, aff, cm: DartsSepConv(cin, cout, 7, s, 3, aff),
    "darts_dil_conv_3x3": lambda cin, cout, s, aff, cm: DilConv(cin, cout, 3, s, 2, 2, aff),
    "darts_dil_conv_5x5": lambda cin, cout, s, aff, cm: DilConv(cin, cout, 5, s, 4, 2, aff),
    "darts_conv_7x1_1x7": lambda cin, cout, s, aff, cm: Conv7x1_1x7(cin, cout, s, aff, 1e-5),
    "nor_conv_3x3": lambda cin, cout, s, aff, cm: ConvBNReLU(cin, cout, 3, s, 1, aff),
    "nor_conv_5x5": lambda cin, cout, s, aff, cm: ConvBNReLU(cin, cout, 5, s, 2, aff),
    "nor_conv_7x7": lambda cin, cout, s, aff, cm: ConvBNReLU(cin, cout, 7, s, 3, aff),
}

ALL_OPS = dict(SHARP_OPS)
ALL_OPS.update(DARTS_ORIG_OPS)

# The prelude's op table DARTS_OPS: DARTS names -> original DARTS operations.
DARTS_OPS_TABLE = {n: "darts_" + n for n in
                   ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                    "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5", "sep_conv_7x7", "conv_7x1_1x7"]}

# §2 primitive lists (column order of the alphas).
PRIMITIVES = ["none", "max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3",
              "flood_conv_3x3", "dil_flood_conv_3x3", "choke_conv_3x3", "dil_choke_conv_3x3"]
SHARPER_PRIMITIVES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                      "sep_conv_5x5", "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5",
                      "flood_conv_3x3", "flood_conv_5x5", "dil_flood_conv_3x3"]
DARTS_PRIMITIVES = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                    "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
# DARTS_PRIMITIVES resolved through DARTS_OPS (the original DARTS search space).
DARTS_PRIMITIVES_ORIGINAL = [DARTS_OPS_TABLE[n] for n in DARTS_PRIMITIVES]
TINY = ["max_pool_3x3", "skip_connect", "sep_conv_3x3"]

PRIMITIVE_LISTS = {
    "PRIMITIVES": PRIMITIVES,
    "SHARPER_PRIMITIVES": SHARPER_PRIMITIVES,
    "DARTS_PRIMITIVES": DARTS_PRIMITIVES,
    "DARTS_PRIMITIVES_ORIGINAL": DARTS_PRIMITIVES_ORIGINAL,
    "TINY": TINY,
}


def make_op(name, cin, cout, stride, affine, c_mid, optable=None):
    impl = optable.get(name, name) if optable else name
    return ALL_OPS[impl](cin, cout, stride, affine, c_mid)


# ---------------------------------------------------------------------------
# §3 search supernet
# ---------------------------------------------------------------------------

class MixedOp(nn.Module):
    """One search edge: every candidate of the list; pools get BN(affine=False)."""

    def __init__(self, C, stride, primitives, c_mid):
        super().__init__()
        self._ops = nn.ModuleList()
        for name in primitives:
            op = make_op(name, C, C, stride, False, c_mid)
            if "pool" in name:
                op = nn.Sequential(op, bn(C, False))
            self._ops.append(op)

    def forward(self, x, w, weighting):
        if weighting == "scalar":
            coef = w
        elif weighting == "max_w":
            coef = 1.0 - w.max() + w  # the max is NOT detached (§3)
        else:
            raise ValueError(weighting)
        out = None
        for k, op in enumerate(self._ops):
            y = coef[k] * op(x)
            out = y if out is None else out + y
        return out


def _preprocess(C_pp, C_p, C, reduction_prev, affine, fr_key_padding):
    if reduction_prev:
        p0 = FactorizedReduce(C_pp, C, affine, fr_key_padding)
    else:
        p0 = ReLUConvBN(C_pp, C, 1, 1, 0, affine)
    p1 = ReLUConvBN(C_p, C, 1, 1, 0, affine)
    return p0, p1


class SearchCell(nn.Module):
    def __init__(self, steps, concat, C_pp, C_p, C, reduction, reduction_prev, primitives, c_mid,
                 fr_key_padding=True):
        super().__init__()
        self.reduction = reduction
        self.steps = steps
        self.concat = list(concat)
        self.preprocess0, self.preprocess1 = _preprocess(C_pp, C_p, C, reduction_prev, False, fr_key_padding)
        self._ops = nn.ModuleList()
        for i in range(steps):
            for j in range(2 + i):
                stride = 2 if reduction and j < 2 else 1
                self._ops.append(MixedOp(C, stride, primitives, c_mid))

    def forward(self, s0, s1, weights, weighting):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for i in range(self.steps):
            acc = None
            for j, h in enumerate(states):
                y = self._ops[e](h, weights[e], weighting)
                acc = y if acc is None else acc + y
                e += 1
            states.append(acc)
        return torch.cat([states[i] for i in self.concat], dim=1)


def reduction_cells(layers, reduce_at=None):
    if reduce_at is None:
        reduce_at = [layers // 3, 2 * layers // 3]
    return set(reduce_at)


class SearchNetwork(nn.Module):
    """§3: stem conv3x3 + BN(affine), cells, GAP, Linear.  The alphas are
    registered as parameters named alphas_normal / alphas_reduce so that the
    state_dict carries the names of a sharpc weights file."""

    def __init__(self, C, classes, layers, primitives, weighting, steps=4, concat=None,
                 reduce_at=None, stem_multiplier=3, c_mid=32, in_channels=3, fr_key_padding=True):
        super().__init__()
        self.weighting = weighting
        self.steps = steps
        concat = list(concat) if concat is not None else list(range(2, steps + 2))
        red = reduction_cells(layers, reduce_at)
        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(conv(in_channels, C_curr, 3, 1, 1), bn(C_curr, True))
        C_pp, C_p, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in red
            if reduction:
                C_curr *= 2
            cell = SearchCell(steps, concat, C_pp, C_p, C_curr, reduction, reduction_prev, primitives,
                              c_mid, fr_key_padding)
            self.cells.append(cell)
            reduction_prev = reduction
            C_pp, C_p = C_p, len(concat) * C_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, classes)
        n_edges = sum(2 + i for i in range(steps))
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(n_edges, len(primitives)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(n_edges, len(primitives)))
        self.has_normal = any(not c.reduction for c in self.cells)
        self.has_reduce = any(c.reduction for c in self.cells)

    def arch_names(self):
        names = []
        if self.has_normal:
            names.append("alphas_normal")
        if self.has_reduce:
            names.append("alphas_reduce")
        return names

    def forward(self, x):
        s0 = s1 = self.stem(x)
        wn = F.softmax(self.alphas_normal, dim=-1)
        wr = F.softmax(self.alphas_reduce, dim=-1)
        for cell in self.cells:
            w = wr if cell.reduction else wn
            s0, s1 = s1, cell(s0, s1, w, self.weighting)
        out = self.global_pooling(s1)
        return self.classifier(out.view(out.size(0), -1)), None


# ---------------------------------------------------------------------------
# §6 final networks
# ---------------------------------------------------------------------------

class GenotypeCell(nn.Module):
    def __init__(self, pairs, concat, C_pp, C_p, C, reduction, reduction_prev, c_mid, optable,
                 fr_key_padding=True):
        super().__init__()
        assert len(pairs) % 2 == 0
        self.reduction = reduction
        self.steps = len(pairs) // 2
        self.indices = [j for _, j in pairs]
        self.concat = list(concat)
        self.preprocess0, self.preprocess1 = _preprocess(C_pp, C_p, C, reduction_prev, True, fr_key_padding)
        self._ops = nn.ModuleList()
        for name, j in pairs:
            stride = 2 if reduction and j < 2 else 1
            self._ops.append(make_op(name, C, C, stride, True, c_mid, optable))

    def forward(self, s0, s1):
        # drop path is off (probability 0) in the gradients test mode.
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for t in range(self.steps):
            h1 = self._ops[2 * t](states[self.indices[2 * t]])
            h2 = self._ops[2 * t + 1](states[self.indices[2 * t + 1]])
            states.append(h1 + h2)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """§6.2: ReLU, AvgPool 5/3/0 (no pad count), 1x1 conv->128, BN, ReLU,
    2x2 conv->768, BN, ReLU, Linear(768->classes)."""

    def __init__(self, C, classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            conv(C, 128, 1), bn(128, True), nn.ReLU(inplace=False),
            conv(128, 768, 2), bn(768, True), nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


class NetworkCIFAR(nn.Module):
    """§6.1 with genotype = dict(normal, normal_concat, reduce, reduce_concat)."""

    def __init__(self, C, classes, layers, genotype, auxiliary=False, auxiliary_at=None, reduce_at=None,
                 stem_multiplier=3, c_mid=32, optable=None, in_channels=3, fr_key_padding=True):
        super().__init__()
        red = reduction_cells(layers, reduce_at)
        self.auxiliary_at = (2 * layers // 3 if auxiliary_at is None else auxiliary_at) if auxiliary else None
        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(conv(in_channels, C_curr, 3, 1, 1), bn(C_curr, True))
        C_pp, C_p, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        C_aux = None
        for i in range(layers):
            reduction = i in red
            if reduction:
                C_curr *= 2
                pairs, concat = genotype["reduce"], genotype["reduce_concat"]
            else:
                pairs, concat = genotype["normal"], genotype["normal_concat"]
            self.cells.append(GenotypeCell(pairs, concat, C_pp, C_p, C_curr, reduction, reduction_prev,
                                           c_mid, optable, fr_key_padding))
            reduction_prev = reduction
            C_pp, C_p = C_p, len(concat) * C_curr
            if i == self.auxiliary_at:
                C_aux = C_p
        if self.auxiliary_at is not None:
            self.auxiliary_head = AuxiliaryHeadCIFAR(C_aux, classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, classes)

    def arch_names(self):
        return []

    def forward(self, x):
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.auxiliary_at and self.training:
                aux = self.auxiliary_head(s1)
        out = self.global_pooling(s1)
        return self.classifier(out.view(out.size(0), -1)), aux


# ---------------------------------------------------------------------------
# §4.3 genotypes used by the tests (from the spec's tables)
# ---------------------------------------------------------------------------

def _g(normal, reduce, normal_concat=(2, 3, 4, 5), reduce_concat=(2, 3, 4, 5)):
    return {"normal": list(normal), "normal_concat": list(normal_concat),
            "reduce": list(reduce), "reduce_concat": list(reduce_concat)}


GENOTYPES = {
    "DARTS_V2": _g(
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
         ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
        [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
         ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)]),
    "SHARPSEPCONV_DARTS": _g(
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 2),
         ("skip_connect", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("sep_conv_3x3", 1)],
        [("max_pool_3x3", 0), ("skip_connect", 1), ("skip_connect", 2), ("avg_pool_3x3", 0),
         ("skip_connect", 2), ("avg_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 3)]),
    # Coverage genotypes (tests/parity/all_ops_*.nas): every primitive of a
    # table once at stride 1 (normal) and once at stride 2 (reduce).
    "ALL_SHARP_OPS": _g(
        [("none", 0), ("max_pool_3x3", 1), ("avg_pool_3x3", 2), ("skip_connect", 1),
         ("sep_conv_3x3", 3), ("sep_conv_5x5", 0), ("sep_conv_7x7", 4), ("dil_conv_3x3", 2),
         ("dil_conv_5x5", 5), ("flood_conv_3x3", 1), ("flood_conv_5x5", 6), ("dil_flood_conv_3x3", 3),
         ("choke_conv_3x3", 7), ("dil_choke_conv_3x3", 0), ("conv_7x1_1x7", 8), ("sep_conv_3x3", 8)],
        [("none", 0), ("max_pool_3x3", 1), ("avg_pool_3x3", 0), ("skip_connect", 1),
         ("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("sep_conv_7x7", 0), ("dil_conv_3x3", 1),
         ("dil_conv_5x5", 0), ("flood_conv_3x3", 1), ("flood_conv_5x5", 0), ("dil_flood_conv_3x3", 1),
         ("choke_conv_3x3", 0), ("dil_choke_conv_3x3", 1), ("conv_7x1_1x7", 0), ("skip_connect", 8)],
        normal_concat=range(2, 10), reduce_concat=range(2, 10)),
    "ALL_DARTS_OPS": _g(
        [("darts_none", 0), ("darts_max_pool_3x3", 1), ("darts_avg_pool_3x3", 2), ("darts_skip_connect", 1),
         ("darts_sep_conv_3x3", 3), ("darts_sep_conv_5x5", 0), ("darts_sep_conv_7x7", 4),
         ("darts_dil_conv_3x3", 2), ("darts_dil_conv_5x5", 5), ("darts_conv_7x1_1x7", 1),
         ("nor_conv_3x3", 6), ("nor_conv_5x5", 3), ("nor_conv_7x7", 7), ("darts_sep_conv_3x3", 7)],
        [("darts_none", 0), ("darts_max_pool_3x3", 1), ("darts_avg_pool_3x3", 0), ("darts_skip_connect", 1),
         ("darts_sep_conv_3x3", 0), ("darts_sep_conv_5x5", 1), ("darts_sep_conv_7x7", 0),
         ("darts_dil_conv_3x3", 1), ("darts_dil_conv_5x5", 0), ("darts_conv_7x1_1x7", 1),
         ("nor_conv_3x3", 0), ("nor_conv_5x5", 1), ("nor_conv_7x7", 0), ("darts_skip_connect", 7)],
        normal_concat=range(2, 9), reduce_concat=range(2, 9)),
}



def genotype_from_nas(path):
    """(name, genotype, settings) of a .nas file written like sharpc's
    genotype.nas: the `NAME = Genotype(normal=[...], ...)` line (Python
    literal syntax) and the network's `C N;`, `layers N;` and `input CxHxW;`
    lines. The genotype is also registered in GENOTYPES under NAME."""
    import ast
    import re
    with open(path) as f:
        text = f.read()
    m = re.search(r"^(\w+)\s*=\s*Genotype\((.*)\)\s*$", text, re.M)
    if not m:
        raise ValueError("%s: no `NAME = Genotype(...)` line" % path)
    call = ast.parse("f(%s)" % m.group(2), mode="eval").body
    kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    g = _g(kw["normal"], kw["reduce"], kw["normal_concat"], kw["reduce_concat"])
    GENOTYPES[m.group(1)] = g
    settings = {}
    for key in ("C", "layers"):
        v = re.search(r"^\s*%s\s+(\d+)\s*;" % key, text, re.M)
        if v:
            settings[key] = int(v.group(1))
    v = re.search(r"^\s*input\s+(\d+)x(\d+)x(\d+)\s*;", text, re.M)
    if v:
        settings["input"] = tuple(int(t) for t in v.groups())
    return m.group(1), g, settings


# ---------------------------------------------------------------------------
# building a network from a case description
# ---------------------------------------------------------------------------

def build(cfg):
    """cfg: dict with 'kind' ('search' | 'genotype') and the settings of the
    matching .nas network (see parity.py CASES)."""
    common = dict(C=cfg["C"], classes=cfg["classes"], layers=cfg["layers"],
                  reduce_at=cfg.get("reduce_at"), c_mid=cfg.get("C_mid", 32),
                  in_channels=cfg["input"][0], fr_key_padding=cfg.get("fr_key_padding", True))
    if cfg["kind"] == "search":
        return SearchNetwork(primitives=PRIMITIVE_LISTS[cfg["primitives"]], weighting=cfg["weighting"],
                             steps=cfg.get("steps", 4), concat=cfg.get("concat"), **common)
    if cfg["kind"] == "genotype":
        optable = DARTS_OPS_TABLE if cfg.get("optable") == "DARTS_OPS" else None
        return NetworkCIFAR(genotype=GENOTYPES[cfg["genotype"]], auxiliary=cfg.get("auxiliary", False),
                            auxiliary_at=cfg.get("auxiliary_at"), optable=optable, **common)
    raise ValueError("unknown network kind %r" % cfg["kind"])
