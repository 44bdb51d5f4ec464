# imagenet_sharp_darts.nas: the SHARP_DARTS genotype as the ImageNet mobile
# network (sharpdarts.md §6.4, §6.6): C 48, 14 cells, C_mid 96, 224x224.
import "prelude.nas";
import "genotypes.nas";

network imagenet_sharp_darts : imagenet_final { genotype SHARP_DARTS; C_mid 96; }

train {
  network imagenet_sharp_darts;
  epochs 300;
  batch 256;
  weights sgd(lr = 0.1, momentum = 0.9, decay = 1e-4);
  schedule cosine_power(min = 1.6e-4, order = 10, warmup = 10);
  augment flip, autoaugment;
  drop_path 0.0;
  auxiliary 0.4;
}
