/* elementwise.c: add, accumulate, scale and dot product over flat tensors. */
#include "cpu_kernels.h"

/* y = a + b. */
K_FN void k_add_fwd(ptrdiff_t n, const real *a, const real *b, real *y)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

/* Both inputs of an add receive gy. */
K_FN void k_add_bwd(ptrdiff_t n, const real *gy, real *ga, real *gb)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        if (ga)
            ga[i] = gy[i];
        if (gb)
            gb[i] = gy[i];
    }
}

/* y += x. */
K_FN void k_acc(ptrdiff_t n, const real *x, real *y)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] += x[i];
}

/* y = a*x. */
K_FN void k_scale_fwd(ptrdiff_t n, real a, const real *x, real *y)
{
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = a * x[i];
}

/* gx = a*gy. */
K_FN void k_scale_bwd(ptrdiff_t n, real a, const real *gy, real *gx)
{
    for (ptrdiff_t i = 0; i < n; i++)
        gx[i] = a * gy[i];
}

/* sum a*b in real_acc. */
K_FN real_acc k_dot(ptrdiff_t n, const real *a, const real *b)
{
    real_acc s = 0;
    for (ptrdiff_t i = 0; i < n; i++)
        s += (real_acc)a[i] * b[i];
    return s;
}
