/* relu.c: the rectified linear unit, forward and backward, elements in
 * parallel. */
#include "cpu_kernels.h"

/* y = max(0, x), in place allowed. */
K_FN void k_relu_fwd(ptrdiff_t n, const real *x, real *y)
{
    K_OMP(parallel for simd if(k_par((double)n)) schedule(static))
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : (real)0;
}

/* gx += gy masked by y > 0. */
K_FN void k_relu_bwd_acc(ptrdiff_t n, const real *y, const real *gy, real *gx)
{
    K_OMP(parallel for simd if(k_par((double)n)) schedule(static))
    for (ptrdiff_t i = 0; i < n; i++)
        gx[i] += y[i] > 0 ? gy[i] : (real)0;
}

/* gx = gy masked by y > 0, in place allowed. */
K_FN void k_relu_bwd(ptrdiff_t n, const real *y, const real *gy, real *gx)
{
    K_OMP(parallel for simd if(k_par((double)n)) schedule(static))
    for (ptrdiff_t i = 0; i < n; i++)
        gx[i] = y[i] > 0 ? gy[i] : (real)0;
}
