# sharp_search_scalar_9.nas (parity case): the sharpDARTS search space (PRIMITIVES,
# 4 steps, sharpdarts.md §2, §3) at C 4 with 5 cells (reductions at cells 1 and 3),
# 9x9 input, scalar weighting.
import "prelude.nas";

network sharp_search_small : cifar_base {
  input 3x9x9;
  classes 10;
  C 4;
  layers 5;
  cells search_normal, search_reduce;
}

search {
  network sharp_search_small;
  weighting scalar;
}
