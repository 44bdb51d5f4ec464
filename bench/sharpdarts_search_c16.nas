# sharpdarts_search_c16.nas: the issue-3 benchmark network: the sharpDARTS
# search space (PRIMITIVES, sharpdarts.md §2, §3) at C 16, 8 cells, 4 steps per
# cell, 3x32x32 input, Max-W weighting, with the sharpDARTS first-order search
# settings. examples/sharpdarts.nas searches DARTS_PRIMITIVES instead.
import "prelude.nas";

network sharpdarts_search_c16 : cifar_base {
  C 16;
  layers 8;
  cells search_normal, search_reduce;
}

search {
  network sharpdarts_search_c16;
  weighting max_w;
  order first;
  batch 48;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  arch adam(lr = 3e-4, betas = (0.5, 0.999), eps = 1e-8, decay = 1e-3);
}
