# tiny_scalar.nas: examples/tiny.nas with scalar weighting instead of max_w: the
# smallest useful search space, for tests: 8x8 RGB input, C 4,
# 3 cells (one reduction), 2 steps, a three-op list with a pool, a skip and
# a SharpSepConv, scalar weighting (here).
import "prelude.nas";

ops TINY = [max_pool_3x3, skip_connect, sep_conv_3x3];

cell tiny_normal { steps 2; edge mixed(TINY); }
cell tiny_reduce : tiny_normal { }

network tiny : cifar_base {
  input 3x8x8;
  classes 4;
  C 4;
  layers 3;
  reduce_at 1;
  cells tiny_normal, tiny_reduce;
}

search {
  network tiny;
  weighting scalar;
  epochs 1;
  batch 4;
  seed 1;
}
