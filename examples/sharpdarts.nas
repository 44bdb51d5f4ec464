# sharpdarts.nas: the SharpSepConvDARTS search space (sharpdarts.md §2, §3,
# §5): DARTS_PRIMITIVES built from the sharpDARTS op table (SharpSepConv),
# Max-W weighting, first order, Cosine Power Annealing, the README settings.
import "prelude.nas";

cell ssc_normal { steps 4; concat 2, 3, 4, 5; edge mixed(DARTS_PRIMITIVES); }
cell ssc_reduce : ssc_normal { }

network sharpdarts_search : cifar_base {
  C 16;
  layers 8;
  cells ssc_normal, ssc_reduce;
}

search {
  network sharpdarts_search;
  weighting max_w;
  order first;
  epochs 120;
  batch 48;
  seed 22;
  split 0.5;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine_power(min = 1e-4, order = 2, warmup = 5);
  arch adam(lr = 3e-4, betas = (0.5, 0.999), eps = 1e-8, decay = 1e-3);
  augment crop(4), flip, autoaugment, cutout(16);
}
