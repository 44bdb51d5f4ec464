# Genotype literals: unknown op names, bad input indices, odd pair counts.
import "prelude.nas";

G1 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_9x9', 1), ('skip_connect', 0), ('sep_conv_3x3', 2)], normal_concat=[2, 3], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 4))
G2 = Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])

network g1 : cifar_final { genotype G1; }
network g2 : cifar_final { genotype G2; }
G3 = Genotype(normal=[("sep_conv_3x3", 0), ("skip_connect", 5)], normal_concat=[2], reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1)], reduce_concat=[2])
network g4 : cifar_final { genotype G3; }
network g3 : cifar_final { genotype DARTS_V9; }

# ---- expected diagnostics ----
#> genotype.nas:4:45: error: unknown primitive 'sep_conv_9x9' (did you mean 'sep_conv_3x3'?)
#>      Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_9x9', 1), ('skip_connect', 0), ('sep_conv_3x3', 2)], normal_concat=[2,
#>                                             ^~~~~~~~~~~~~~
#> genotype.nas:5:15: error: Genotype normal needs an even number of (op, input) pairs, two per node
#>     G2 = Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce
#>                   ^~~~~~~~~~~~~~~~~~~~~~~~~~~~
#> genotype.nas:9:44: error: node 2 can read states 0 to 1 only (the two cell inputs and earlier nodes), not 5
#>     = Genotype(normal=[("sep_conv_3x3", 0), ("skip_connect", 5)], normal_concat=[2], reduce=[("max_pool_3x3", 0), ("max_pool
#>                                             ^~~~~~~~~~~~~~~~~~~
#> genotype.nas:11:37: error: unknown genotype 'DARTS_V9'
#>     network g3 : cifar_final { genotype DARTS_V9; }
#>                                         ^~~~~~~~
#> 4 errors
