# train_fm.nas (ship train case): SHARPSEPCONV_DARTS on Fashion-MNIST, C 4,
# 5 cells, with an auxiliary head sized for 7x7 features (the CIFAR one
# needs 8x8) and every training feature on: drop path, cutout, Cosine Power
# Annealing with warmup, gradient clipping.
import "prelude.nas";
import "genotypes.nas";

network train_fm : cifar_final {
  input 1x28x28;
  classes 10;
  C 4;
  layers 5;
  genotype SHARPSEPCONV_DARTS;
  auxiliary_head {
    features: {
      relu;
      avg_pool(5, stride = 2, pad = 0, count_include_pad = false);
      conv(1, out = 16); bn; relu;
      conv(2, out = 32); bn; relu;
    }
    classifier: linear(out = classes);
  }
}

train {
  network train_fm;
  epochs 3;
  batch 16;
  seed 7;
  weights sgd(lr = 0.05, momentum = 0.9, decay = 3e-4, clip = 5);
  schedule cosine_power(min = 1e-4, order = 2, warmup = 1);
  augment crop(4), flip, cutout(8);
  drop_path 0.2;
  auxiliary 0.4;
  dataset fashion_mnist;
}
