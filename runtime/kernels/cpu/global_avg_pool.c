/* global_avg_pool.c: mean over each (n, c) plane, forward and backward,
 * planes in parallel (each plane's sum unchanged). */
#include "cpu_kernels.h"

/* y[n, c] = mean of x[n, c, :]. */
K_FN void k_gap_fwd(int N, int C, int HW, const real *x, real *y)
{
    K_OMP(parallel for if(k_par((double)N * C * HW)) schedule(static))
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        const real *xp = x + nc * HW;
        real_acc s = 0;
        for (int i = 0; i < HW; i++)
            s += xp[i];
        y[nc] = (real)(s / HW);
    }
}

/* gx[n, c, :] = gy[n, c] / HW. */
K_FN void k_gap_bwd(int N, int C, int HW, const real *gy, real *gx)
{
    K_OMP(parallel for if(k_par((double)N * C * HW)) schedule(static))
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        real g = gy[nc] / (real)HW;
        real *gp = gx + nc * HW;
        for (int i = 0; i < HW; i++)
            gp[i] = g;
    }
}
