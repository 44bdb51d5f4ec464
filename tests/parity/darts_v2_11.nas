# darts_v2_11.nas (parity case): DARTS_V2 with the DARTS operations at an odd size
# (11 -> 6 -> 3), C 6, 5 cells, no auxiliary head (the map at cell 3 is too small).
import "prelude.nas";
import "genotypes.nas";

network darts_v2_small : cifar_final {
  input 3x11x11;
  classes 10;
  C 6;
  layers 5;
  genotype DARTS_V2;
  optable DARTS_OPS;
  auxiliary false;
}

train { network darts_v2_small; }
