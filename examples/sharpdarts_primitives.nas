# sharpdarts_primitives.nas: the full sharpDARTS space, the PRIMITIVES list
# (9 ops incl. flood and choke convolutions), first order, scalar weighting.
import "prelude.nas";

network sharp_search : cifar_base { cells search_normal, search_reduce; }

search {
  network sharp_search;
  weighting scalar;
  order first;
  epochs 120;
  batch 24;
  seed 23;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine_power(min = 1e-4, order = 2, warmup = 5);
  arch adam(lr = 3e-4, betas = (0.5, 0.999), decay = 1e-3);
  augment crop(4), flip, autoaugment, cutout(16);
}
