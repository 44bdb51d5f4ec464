# darts.nas: the DARTS CIFAR-10 search space (sharpdarts.md §3): the original
# DARTS operations (DARTS_PRIMITIVES with the DARTS op table), C 16, 8 cells,
# 4 steps, scalar weighting.
import "prelude.nas";

cell darts_normal { steps 4; concat 2, 3, 4, 5; edge mixed(DARTS_PRIMITIVES_ORIGINAL); }
cell darts_reduce : darts_normal { }

network darts_search : cifar_base {
  C 16;
  layers 8;
  cells darts_normal, darts_reduce;
  preprocess_reduce darts_factorized_reduce;
}

search {
  network darts_search;
  weighting scalar;
  order second;
  epochs 50;
  batch 64;
  seed 2;
  split 0.5;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine(min = 1e-3);
  arch adam(lr = 3e-4, betas = (0.5, 0.999), eps = 1e-8, decay = 1e-3);
  augment crop(4), flip;
}
