/* loader_table.h: the small network table the loader tests check files
 * against (test_loader.c, tests/fuzz/fuzz_weights.c): a conv with its batch
 * norm folded, a copied linear weight, the same batch norm as scale/shift.
 * Include after codegen/ship/lib/model_load.c. */
/* conv.weight [2,1,1,2], bn.{weight,bias,running_mean,running_var} [2], fc.weight [1,2] */
static const MTensor tensors[] = {
    { "conv.weight", 4, { 2, 1, 1, 2 } }, { "bn.weight", 1, { 2 } },        { "bn.bias", 1, { 2 } },
    { "bn.running_mean", 1, { 2 } },      { "bn.running_var", 1, { 2 } },  { "fc.weight", 2, { 1, 2 } },
};
static const MFold folds[] = {
    { M_FOLD_CONV_BN, 0, 1, 2, 3, 4, 1e-5, 0, 2, 2, 0, 4 },
    { M_FOLD_COPY, 5, -1, -1, -1, -1, 0, 0, 0, 0, 6, 0 },
    { M_FOLD_BN, -1, 1, 2, 3, 4, 1e-5, 0, 2, 0, 8, 10 },
};
