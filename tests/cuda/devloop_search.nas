# devloop_search.nas: a small search space on 3x32x32 images (CIFAR-10's
# format; the device-loop test writes random data in it) for the device
# loop's checks (run_devloop.sh): C 4, 3 cells (one reduction), 2 steps,
# a pool, a skip, a SharpSepConv and a dilated convolution, Max-W weighting.
import "prelude.nas";

ops DEVLOOP = [max_pool_3x3, skip_connect, sep_conv_3x3, dil_conv_3x3];

cell dl_normal { steps 2; edge mixed(DEVLOOP); }
cell dl_reduce : dl_normal { }

network devloop : cifar_base {
  input 3x32x32;
  classes 10;
  C 4;
  layers 3;
  reduce_at 1;
  cells dl_normal, dl_reduce;
}

search {
  network devloop;
  weighting max_w;
  order first;
  epochs 1;
  batch 8;
  seed 5;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine_power(min = 1e-4, order = 2, warmup = 0);
  arch adam(lr = 3e-4, betas = (0.5, 0.999), eps = 1e-8, decay = 1e-3);
  augment crop(4), flip;
  dataset cifar10;
}
