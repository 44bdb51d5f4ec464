# fashion_found.nas (ship case): the genotype a Fashion-MNIST search of
# examples/fashion_mnist.nas found, C 8, 5 cells, 1x28x28, no auxiliary head.
import "prelude.nas";

FOUND = Genotype(normal=[('dil_conv_3x3', 0), ('dil_conv_5x5', 1), ('avg_pool_3x3', 2), ('dil_conv_5x5', 1), ('sep_conv_5x5', 2), ('skip_connect', 3)], normal_concat=[2, 3, 4], reduce=[('skip_connect', 1), ('dil_conv_3x3', 0), ('dil_conv_5x5', 2), ('sep_conv_3x3', 1), ('dil_conv_3x3', 3), ('skip_connect', 2)], reduce_concat=[2, 3, 4])

network found : cifar_final {
  input 1x28x28;
  classes 10;
  C 8;
  layers 5;
  genotype FOUND;
  auxiliary false;
}

train { network found; dataset fashion_mnist; }
