/* zero.c: the `none` op, an all-zero output (strided), with no gradient. */
#include "cpu_kernels.h"

#include <string.h>

/* y = zeros of shape (N, C, ceil(H/s), ceil(W/s)). */
K_FN void k_zero_fwd(int N, int C, int H, int W, int s, real *y)
{
    int Ho = (H + s - 1) / s, Wo = (W + s - 1) / s;
    memset(y, 0, sizeof(real) * (size_t)N * (size_t)C * (size_t)Ho * (size_t)Wo);
}

/* gx = 0: the reference multiplies by 0, so nothing flows back. */
K_FN void k_zero_bwd(int N, int C, int H, int W, int s, real *gx)
{
    (void)s;
    memset(gx, 0, sizeof(real) * (size_t)N * (size_t)C * (size_t)H * (size_t)W);
}
