# fashion_mnist.nas: a search space small enough to search on 2 CPU cores
# (about 15 minutes): 28x28 grey images, C 8, 5 cells, 3 steps per cell,
# the DARTS_PRIMITIVES with SharpSepConv, Max-W weighting, first order.
import "prelude.nas";

cell fm_normal { steps 3; edge mixed(DARTS_PRIMITIVES); }
cell fm_reduce : fm_normal { }

network fashion_search : cifar_base {
  input 1x28x28;
  classes 10;
  C 8;
  layers 5;
  cells fm_normal, fm_reduce;
}

search {
  network fashion_search;
  weighting max_w;
  order first;
  epochs 10;
  batch 32;
  seed 22;
  split 0.5;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine_power(min = 1e-4, order = 2, warmup = 2);
  arch adam(lr = 3e-4, betas = (0.5, 0.999), eps = 1e-8, decay = 1e-3);
  augment crop(4), flip;
  dataset fashion_mnist;
}
