# ssc_darts_9.nas (parity case): the SHARPSEPCONV_DARTS genotype (sharpDARTS ops:
# SharpSepConv, avg pool counting the padding, FactorizedReduce with the padding fix),
# C 4, 5 cells, 9x9 input, no auxiliary head.
import "prelude.nas";
import "genotypes.nas";

network ssc_darts_small : cifar_final {
  input 3x9x9;
  classes 10;
  C 4;
  layers 5;
  genotype SHARPSEPCONV_DARTS;
  auxiliary false;
}

train { network ssc_darts_small; }
