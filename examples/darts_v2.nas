# darts_v2.nas: the DARTS_V2 genotype (DARTS, second order) as the CIFAR-10
# network with the original DARTS operations: C 36, 20 cells, auxiliary head.
import "prelude.nas";
import "genotypes.nas";

network darts_v2 : cifar_final { genotype DARTS_V2; optable DARTS_OPS; }

train {
  network darts_v2;
  epochs 600;
  batch 96;
  seed 0;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine(min = 0);
  augment crop(4), flip, cutout(16);
  drop_path 0.2;
  auxiliary 0.4;
}
