# prelude.nas: the standard primitives of sharpDARTS and DARTS, written in
# the .nas language from base operations (sharpdarts.md §1), their op lists
# (§2), and base networks with the CIFAR and ImageNet stems and heads (§3, §6).
#
# Inside a primitive, these names are built in: C_in (input channels), C_out
# (requested output channels), stride, affine (default of `bn`), C_mid (the
# network's mid-channel setting), H and W (input size).
#
# Naming: both op tables live side by side. The sharpDARTS table (`OPS`)
# uses the plain names (sep_conv_3x3, ...); the original DARTS operations are
# prefixed darts_ (darts_sep_conv_3x3, ...). The op list DARTS_OPS maps the
# DARTS primitive names onto them, so genotypes print and import with the
# names DARTS uses.

# ---- building blocks ----

# SharpSepConv (§1.1): stride and dilation on the first depthwise conv only.
primitive sharp_sep_conv(k, pad, dil = 1, mult = 1, mid = 0) {
  let c_mid = mid;
  if mid == 0 { let c_mid = floor(C_out * mult); }
  op: {
    relu;
    dwconv(k, stride = stride, pad = pad, dil = dil);
    conv(1, out = c_mid);
    bn;
    relu;
    dwconv(k, pad = (k - 1) / 2);
    conv(1, out = C_out);
    bn;
  }
}

# ReLUConvBN (§1.5): preprocessing of cell inputs.
primitive relu_conv_bn(k = 1, pad = 0) {
  op: { relu; conv(k, stride = stride, pad = pad, out = C_out); bn; }
}

# FactorizedReduce with the sharpDARTS padding fix (§1.3): the second branch
# sees the input shifted up-left by one pixel, zero-filled at the bottom/right.
primitive factorized_reduce {
  relu;
  concat {
    { conv_1: conv(1, stride = 2, out = C_out / 2); }
    { pad(top = -1, left = -1, bottom = 1, right = 1); conv_2: conv(1, stride = 2, out = C_out / 2); }
  }
  bn: bn;
}

# The DARTS original: no padding; for odd sizes the branches disagree.
primitive darts_factorized_reduce {
  relu;
  concat {
    { conv_1: conv(1, stride = 2, out = C_out / 2); }
    { pad(top = -1, left = -1); conv_2: conv(1, stride = 2, out = C_out / 2); }
  }
  bn: bn;
}

# ResizablePool (§1.4): the pool, then a 1x1 conv and BN3 when channels change.
primitive resizable_max_pool {
  op: {
    max_pool(3, stride = stride, pad = 1);
    if C_in != C_out { conv(1, out = C_out); bn(eps = 1e-3); }
  }
}
primitive resizable_avg_pool {
  op: {
    avg_pool(3, stride = stride, pad = 1, count_include_pad = true);
    if C_in != C_out { conv(1, out = C_out); bn(eps = 1e-3); }
  }
}

# ---- the sharpDARTS op table `OPS` (§1.2) ----

primitive none { zero(stride = stride); }
primitive max_pool_3x3 { resizable_max_pool; } mixed { bn(affine = false); }
primitive avg_pool_3x3 { resizable_avg_pool; } mixed { bn(affine = false); }
primitive skip_connect { if stride == 1 { identity; } else { factorized_reduce; } }
primitive sep_conv_3x3 { sharp_sep_conv(3, 1); }
primitive sep_conv_5x5 { sharp_sep_conv(5, 2); }
primitive sep_conv_7x7 { sharp_sep_conv(7, 3); }
primitive dil_conv_3x3 { sharp_sep_conv(3, 2, dil = 2); }
primitive dil_conv_5x5 { sharp_sep_conv(5, 4, dil = 2); }
primitive flood_conv_3x3 { sharp_sep_conv(3, 1, mult = 4); }
primitive flood_conv_5x5 { sharp_sep_conv(5, 2, mult = 4); }
primitive dil_flood_conv_3x3 { sharp_sep_conv(3, 2, dil = 2, mult = 4); }
# As in the reference: pad 2 for an effective kernel of 9, so it shrinks the
# map by 4 (§1.2 note 2). It is in no op list; a cell using it fails to check.
primitive dil_flood_conv_5x5 { sharp_sep_conv(5, 2, dil = 2, mult = 4); }
primitive choke_conv_3x3 { sharp_sep_conv(3, 1, mid = C_mid); }
primitive dil_choke_conv_3x3 { sharp_sep_conv(3, 2, dil = 2, mid = C_mid); }
primitive conv_7x1_1x7 {
  op: {
    relu;
    conv(1x7, stride = (1, stride), pad = (0, 3), out = C_in);
    conv(7x1, stride = (stride, 1), pad = (3, 0), out = C_out);
    bn(eps = 1e-3);
  }
}

# ---- the original DARTS operations (§1.6), Cin = Cout = C ----

primitive darts_none { zero(stride = stride); }
primitive darts_max_pool_3x3 { max_pool(3, stride = stride, pad = 1); } mixed { bn(affine = false); }
primitive darts_avg_pool_3x3 { avg_pool(3, stride = stride, pad = 1, count_include_pad = false); } mixed { bn(affine = false); }
primitive darts_skip_connect { if stride == 1 { identity; } else { darts_factorized_reduce; } }
# DARTS SepConv: the ReLU-dw-pw-BN block applied twice.
primitive darts_sep_conv(k) {
  op: {
    relu; dwconv(k, stride = stride, pad = (k - 1) / 2); conv(1, out = C_in); bn;
    relu; dwconv(k, pad = (k - 1) / 2); conv(1, out = C_out); bn;
  }
}
# DARTS DilConv: a single ReLU-dw-pw-BN block.
primitive darts_dil_conv(k, pad, dil) {
  op: { relu; dwconv(k, stride = stride, pad = pad, dil = dil); conv(1, out = C_out); bn; }
}
primitive darts_sep_conv_3x3 { darts_sep_conv(3); }
primitive darts_sep_conv_5x5 { darts_sep_conv(5); }
primitive darts_sep_conv_7x7 { darts_sep_conv(7); }
primitive darts_dil_conv_3x3 { darts_dil_conv(3, 2, 2); }
primitive darts_dil_conv_5x5 { darts_dil_conv(5, 4, 2); }
primitive darts_conv_7x1_1x7 {
  op: {
    relu;
    conv(1x7, stride = (1, stride), pad = (0, 3), out = C_in);
    conv(7x1, stride = (stride, 1), pad = (3, 0), out = C_out);
    bn;
  }
}
# ConvBNReLU (§1.5), the nor_conv ops of the sharpDARTS DARTS_OPS table.
primitive nor_conv(k) { op: { conv(k, stride = stride, pad = (k - 1) / 2, out = C_out); bn; relu; } }
primitive nor_conv_3x3 { nor_conv(3); }
primitive nor_conv_5x5 { nor_conv(5); }
primitive nor_conv_7x7 { nor_conv(7); }

# ---- primitive lists (§2); the order is the column order of the alphas ----

ops PRIMITIVES = [none, max_pool_3x3, skip_connect, sep_conv_3x3, dil_conv_3x3, flood_conv_3x3,
                  dil_flood_conv_3x3, choke_conv_3x3, dil_choke_conv_3x3];
ops SHARPER_PRIMITIVES = [none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5,
                          sep_conv_7x7, dil_conv_3x3, dil_conv_5x5, flood_conv_3x3, flood_conv_5x5,
                          dil_flood_conv_3x3];
ops DARTS_PRIMITIVES = [none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5,
                        dil_conv_3x3, dil_conv_5x5];
# The original DARTS operations under the DARTS names: as a search list and
# as the op table that resolves DARTS genotypes (optable DARTS_OPS).
ops DARTS_OPS = [none = darts_none, max_pool_3x3 = darts_max_pool_3x3, avg_pool_3x3 = darts_avg_pool_3x3,
                 skip_connect = darts_skip_connect, sep_conv_3x3 = darts_sep_conv_3x3,
                 sep_conv_5x5 = darts_sep_conv_5x5, dil_conv_3x3 = darts_dil_conv_3x3,
                 dil_conv_5x5 = darts_dil_conv_5x5, sep_conv_7x7 = darts_sep_conv_7x7,
                 conv_7x1_1x7 = darts_conv_7x1_1x7];
ops DARTS_PRIMITIVES_ORIGINAL = [none = darts_none, max_pool_3x3 = darts_max_pool_3x3,
                                 avg_pool_3x3 = darts_avg_pool_3x3, skip_connect = darts_skip_connect,
                                 sep_conv_3x3 = darts_sep_conv_3x3, sep_conv_5x5 = darts_sep_conv_5x5,
                                 dil_conv_3x3 = darts_dil_conv_3x3, dil_conv_5x5 = darts_dil_conv_5x5];
ops MULTICHANNELNET_PRIMITIVES = [ResizablePool = resizable_max_pool, SharpSepConv = hc_sharp_sep_conv];
primitive hc_sharp_sep_conv { sharp_sep_conv(3, 1, mid = C_out); }

# ---- search cells (§3): every node reads every earlier state ----

cell search_normal { steps 4; concat 2, 3, 4, 5; edge mixed(PRIMITIVES); }
cell search_reduce : search_normal { }

# ---- base networks: stems, heads, preprocessing ----

network cifar_base {
  input 3x32x32;
  classes 10;
  C 16;
  layers 8;
  reduce_at layers / 3, 2 * layers / 3;
  preprocess relu_conv_bn;
  preprocess_reduce factorized_reduce;
  stem { conv(3, pad = 1, out = 3 * C); bn(affine = true); }
  head { global_avg_pool; classifier: linear(out = classes); }
}

# Final CIFAR networks (§6.1, §6.2): C 36, 20 cells, auxiliary head after cell 2L/3.
network cifar_final : cifar_base {
  C 36;
  layers 20;
  C_mid 32;
  auxiliary_at 2 * layers / 3;
  auxiliary_head {
    features: {
      relu;
      avg_pool(5, stride = 3, pad = 0, count_include_pad = false);
      conv(1, out = 128); bn; relu;
      conv(2, out = 768); bn; relu;
    }
    classifier: linear(out = classes);
  }
}

# ImageNet (§6.4): two stems take 224 to 28; cell 0 sees a reduced s0.
network imagenet_final : cifar_final {
  input 3x224x224;
  classes 1000;
  C 48;
  layers 14;
  C_mid 96;
  stem0 { conv(3, stride = 2, pad = 1, out = C / 2); bn; relu; conv(3, stride = 2, pad = 1, out = C); bn; }
  stem1 { relu; conv(3, stride = 2, pad = 1, out = C); bn; }
  head { avg_pool(7); classifier: linear(out = classes); }
  auxiliary_head {
    features: {
      relu;
      avg_pool(5, stride = 2, pad = 0, count_include_pad = false);
      conv(1, out = 128); bn; relu;
      conv(2, out = 768); bn; relu;
    }
    classifier: linear(out = classes);
  }
}
