# devloop_train.nas: DARTS_V2 on 3x32x32 images (CIFAR-10's format; the
# device-loop test writes random data in it), C 4, 5 cells, with the CIFAR
# auxiliary head and every training feature on: drop path, cutout, Cosine
# Power Annealing with warmup, gradient clipping (run_devloop.sh).
import "prelude.nas";
import "genotypes.nas";

network devloop_train : cifar_final {
  input 3x32x32;
  classes 10;
  C 4;
  layers 5;
  genotype DARTS_V2;
}

train {
  network devloop_train;
  epochs 2;
  batch 8;
  seed 7;
  weights sgd(lr = 0.05, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine_power(min = 1e-4, order = 2, warmup = 1);
  augment crop(4), flip, cutout(8);
  drop_path 0.2;
  auxiliary 0.4;
  dataset cifar10;
}
