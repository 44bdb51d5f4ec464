# sharpsepconv_darts_max_w.nas: the published SHARPSEPCONV_DARTS_MAX_W genotype (SharpSepConvDARTS_Max-W) as the CIFAR-10 network
# built from the sharpDARTS op table: C 36, 20 cells, C_mid 32, auxiliary
# head; trained with the sharpDARTS settings (sharpdarts.md §6.5).
import "prelude.nas";
import "genotypes.nas";

network sharpsepconv_darts_max_w : cifar_final { genotype SHARPSEPCONV_DARTS_MAX_W; }

train {
  network sharpsepconv_darts_max_w;
  epochs 2000;
  batch 64;
  seed 0;
  weights sgd(lr = 0.025, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine_power(min = 1e-8, order = 2, warmup = 5);
  augment crop(4), flip, autoaugment, cutout(16);
  drop_path 0.2;
  auxiliary 0.4;
}
