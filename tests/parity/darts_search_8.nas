# darts_search_8.nas (parity case): the original DARTS search space
# (DARTS_PRIMITIVES_ORIGINAL: avg pool without the padding count, DARTS SepConv and
# DilConv, FactorizedReduce without the padding fix), C 4, 5 cells, 8x8 input, scalar.
import "prelude.nas";

cell darts_normal { steps 4; concat 2, 3, 4, 5; edge mixed(DARTS_PRIMITIVES_ORIGINAL); }
cell darts_reduce : darts_normal { }

network darts_search_small : cifar_base {
  input 3x8x8;
  classes 10;
  C 4;
  layers 5;
  cells darts_normal, darts_reduce;
  preprocess_reduce darts_factorized_reduce;
}

search {
  network darts_search_small;
  weighting scalar;
}
