# sharper.nas: the SharperDARTS space, SHARPER_PRIMITIVES (12 ops), Max-W.
import "prelude.nas";

cell sharper_normal { steps 4; concat 2, 3, 4, 5; edge mixed(SHARPER_PRIMITIVES); }
cell sharper_reduce : sharper_normal { }

network sharper_search : cifar_base { cells sharper_normal, sharper_reduce; }

search {
  network sharper_search;
  weighting max_w;
  order first;
  epochs 120;
  batch 16;
  seed 22;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine_power(min = 1e-4, order = 2, warmup = 5);
  arch adam(lr = 3e-4, betas = (0.5, 0.999), decay = 1e-3);
  augment crop(4), flip, autoaugment, cutout(16);
}
