# all_ops_sharp_9.nas (parity case): a hand-made genotype that uses every primitive of
# the sharpDARTS op table OPS (sharpdarts.md §1.2; dil_flood_conv_5x5 excluded) once at
# stride 1 (normal cell) and once at stride 2 (reduction cell); 8 nodes, C 4, 3 cells
# (reduction at cell 1), 9x9 input, C_mid 8 for the choke ops. ALL_SHARP_OPS in ref_nets.py.
import "prelude.nas";

ALL_SHARP_OPS = Genotype(normal=[('none', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 2), ('skip_connect', 1), ('sep_conv_3x3', 3), ('sep_conv_5x5', 0), ('sep_conv_7x7', 4), ('dil_conv_3x3', 2), ('dil_conv_5x5', 5), ('flood_conv_3x3', 1), ('flood_conv_5x5', 6), ('dil_flood_conv_3x3', 3), ('choke_conv_3x3', 7), ('dil_choke_conv_3x3', 0), ('conv_7x1_1x7', 8), ('sep_conv_3x3', 8)], normal_concat=[2, 3, 4, 5, 6, 7, 8, 9], reduce=[('none', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_7x7', 0), ('dil_conv_3x3', 1), ('dil_conv_5x5', 0), ('flood_conv_3x3', 1), ('flood_conv_5x5', 0), ('dil_flood_conv_3x3', 1), ('choke_conv_3x3', 0), ('dil_choke_conv_3x3', 1), ('conv_7x1_1x7', 0), ('skip_connect', 8)], reduce_concat=[2, 3, 4, 5, 6, 7, 8, 9])

network all_ops_sharp : cifar_final {
  input 3x9x9;
  classes 10;
  C 4;
  layers 3;
  reduce_at 1;
  C_mid 8;
  genotype ALL_SHARP_OPS;
  auxiliary false;
}

train { network all_ops_sharp; }
