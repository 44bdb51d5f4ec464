# darts_v2_aux_32.nas (parity case): the DARTS_V2 genotype with the original DARTS
# operations (optable DARTS_OPS), C 6, 5 cells (reductions at 1 and 3), auxiliary head
# after cell 3. A 32x32 input gives the head a 8x8 map (its 5x5/3 pool needs 8..10).
import "prelude.nas";
import "genotypes.nas";

network darts_v2_small : cifar_final {
  input 3x32x32;
  classes 10;
  C 6;
  layers 5;
  genotype DARTS_V2;
  optable DARTS_OPS;
}

train { network darts_v2_small; }
