# published.nas: every network whose parameter and multiply-add counts the
# spec (sharpdarts.md §13) gives; test_stats asserts each.
import "genotypes.nas";
import "prelude.nas";
network v2 : cifar_final { genotype DARTS_V2; optable DARTS_OPS; }
network v2ssc : cifar_final { genotype DARTS_V2; }
network v1 : cifar_final { genotype DARTS_V1; optable DARTS_OPS; }
network ssc : cifar_final { genotype SHARPSEPCONV_DARTS; }
network sharp : cifar_final { genotype SHARP_DARTS; }
network ssc_maxw : cifar_final { genotype SHARPSEPCONV_DARTS_MAX_W; }
network ssc_maxw14 : cifar_final { genotype SHARPSEPCONV_DARTS_MAX_W; layers 14; }
network smaxw14 : cifar_final { genotype SHARP_DARTS_MAX_W; layers 14; C_mid 96; }
network sharper_s : cifar_final { genotype SHARPER_SCALAR; }
network sharper_m : cifar_final { genotype SHARPER_MAX_W; }
network nasnet : cifar_final { genotype NASNet; }
network amoeba : cifar_final { genotype AmoebaNet; }
network in_ssc : imagenet_final { genotype SHARPSEPCONV_DARTS; }
network in_sharp96 : imagenet_final { genotype SHARP_DARTS; }
network in_sharp32 : imagenet_final { genotype SHARP_DARTS; C_mid 32; }
network in_sharper : imagenet_final { genotype SHARPER_MAX_W; }
network in_v2 : imagenet_final { genotype DARTS_V2; optable DARTS_OPS; }
cell dn { steps 4; edge mixed(DARTS_PRIMITIVES_ORIGINAL); }
cell dr : dn { }
network darts_search : cifar_base { cells dn, dr; preprocess_reduce darts_factorized_reduce; }
cell sn { steps 4; edge mixed(DARTS_PRIMITIVES); }
cell sr : sn { }
network ssc_search : cifar_base { cells sn, sr; }
network sharp_search : cifar_base { cells search_normal, search_reduce; }
cell xn { steps 4; edge mixed(SHARPER_PRIMITIVES); }
cell xr : xn { }
network sharper_search : cifar_base { cells xn, xr; }
