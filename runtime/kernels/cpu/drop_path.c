/* drop_path.c: drop path with a caller-drawn per-sample keep mask, samples
 * in parallel. */
#include "cpu_kernels.h"

/* y[n] = x[n] / keep * mask[n] (division first, as the reference does). */
K_FN void k_drop_path_fwd(int N, ptrdiff_t D, real keep, const real *mask, const real *x,
                          real *y)
{
    K_OMP(parallel for if(k_par((double)N * D)) schedule(static))
    for (int n = 0; n < N; n++) {
        real m = mask[n];
        const real *xp = x + (ptrdiff_t)n * D;
        real *yp = y + (ptrdiff_t)n * D;
        for (ptrdiff_t i = 0; i < D; i++)
            yp[i] = xp[i] / keep * m;
    }
}

/* gx[n] = gy[n] / keep * mask[n]. */
K_FN void k_drop_path_bwd(int N, ptrdiff_t D, real keep, const real *mask, const real *gy,
                          real *gx)
{
    k_drop_path_fwd(N, D, keep, mask, gy, gx);
}
