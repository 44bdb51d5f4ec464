# all_ops_darts_8.nas (parity case): a hand-made genotype that uses every original DARTS
# operation (the prelude's darts_* primitives, sharpdarts.md §1.6) and the nor_conv ops
# once at stride 1 and once at stride 2; 7 nodes, C 4, 3 cells (reduction at cell 1),
# 8x8 input (the DARTS FactorizedReduce needs even sizes), DARTS preprocess_reduce.
# ALL_DARTS_OPS in ref_nets.py.
import "prelude.nas";

ALL_DARTS_OPS = Genotype(normal=[('darts_none', 0), ('darts_max_pool_3x3', 1), ('darts_avg_pool_3x3', 2), ('darts_skip_connect', 1), ('darts_sep_conv_3x3', 3), ('darts_sep_conv_5x5', 0), ('darts_sep_conv_7x7', 4), ('darts_dil_conv_3x3', 2), ('darts_dil_conv_5x5', 5), ('darts_conv_7x1_1x7', 1), ('nor_conv_3x3', 6), ('nor_conv_5x5', 3), ('nor_conv_7x7', 7), ('darts_sep_conv_3x3', 7)], normal_concat=[2, 3, 4, 5, 6, 7, 8], reduce=[('darts_none', 0), ('darts_max_pool_3x3', 1), ('darts_avg_pool_3x3', 0), ('darts_skip_connect', 1), ('darts_sep_conv_3x3', 0), ('darts_sep_conv_5x5', 1), ('darts_sep_conv_7x7', 0), ('darts_dil_conv_3x3', 1), ('darts_dil_conv_5x5', 0), ('darts_conv_7x1_1x7', 1), ('nor_conv_3x3', 0), ('nor_conv_5x5', 1), ('nor_conv_7x7', 0), ('darts_skip_connect', 7)], reduce_concat=[2, 3, 4, 5, 6, 7, 8])

network all_ops_darts : cifar_final {
  input 3x8x8;
  classes 10;
  C 4;
  layers 3;
  reduce_at 1;
  preprocess_reduce darts_factorized_reduce;
  genotype ALL_DARTS_OPS;
  auxiliary false;
}

train { network all_ops_darts; }
