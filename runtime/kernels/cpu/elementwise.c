/* elementwise.c: add, copy, accumulate, scale and dot product over flat
 * tensors.
 * The loops run in parallel over the elements (OpenMP, above k_par's
 * threshold) with each element's arithmetic unchanged; the dot product
 * sums fixed blocks, whose size depends on n only, so no result depends on
 * the thread count. */
#include "cpu_kernels.h"

/* y = a + b. */
K_FN void k_add_fwd(ptrdiff_t n, const real *a, const real *b, real *y)
{
    K_OMP(parallel for simd if(k_par((double)n)) schedule(static))
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

/* Both inputs of an add receive gy. */
K_FN void k_add_bwd(ptrdiff_t n, const real *gy, real *ga, real *gb)
{
    K_OMP(parallel if(k_par((double)n)))
    {
        if (ga) {
            K_OMP(for simd schedule(static))
            for (ptrdiff_t i = 0; i < n; i++)
                ga[i] = gy[i];
        }
        if (gb) {
            K_OMP(for simd schedule(static))
            for (ptrdiff_t i = 0; i < n; i++)
                gb[i] = gy[i];
        }
    }
}

/* y = x: a copy that both threads share (the generated programs' memcpy ran
 * on one thread while the other waited). */
K_FN void k_copy(ptrdiff_t n, const real *x, real *y)
{
    K_OMP(parallel for simd if(k_par((double)n)) schedule(static))
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = x[i];
}

/* y += x. */
K_FN void k_acc(ptrdiff_t n, const real *x, real *y)
{
    K_OMP(parallel for simd if(k_par((double)n)) schedule(static))
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] += x[i];
}

/* y = a*x. */
K_FN void k_scale_fwd(ptrdiff_t n, real a, const real *x, real *y)
{
    K_OMP(parallel for simd if(k_par((double)n)) schedule(static))
    for (ptrdiff_t i = 0; i < n; i++)
        y[i] = a * x[i];
}

/* gx = a*gy. */
K_FN void k_scale_bwd(ptrdiff_t n, real a, const real *gy, real *gx)
{
    K_OMP(parallel for simd if(k_par((double)n)) schedule(static))
    for (ptrdiff_t i = 0; i < n; i++)
        gx[i] = a * gy[i];
}

/* sum a*b: blocks of at least 4096 values (at most 256 blocks) each summed
 * on its own, 512 products at a time in real lanes (vectorized) added into
 * real_acc, then the block sums in order. */
K_FN real_acc k_dot(ptrdiff_t n, const real *a, const real *b)
{
    enum { MAXB = 256 };
    ptrdiff_t B = n > (ptrdiff_t)4096 * MAXB ? (n + MAXB - 1) / MAXB : 4096;
    int nb = (int)((n + B - 1) / B);
    real_acc part[MAXB];
    K_OMP(parallel for if(k_par((double)n)) schedule(static))
    for (int k = 0; k < nb; k++) {
        ptrdiff_t i0 = k * B, i1 = i0 + B < n ? i0 + B : n;
        real_acc s = 0;
        for (ptrdiff_t j0 = i0; j0 < i1; j0 += 512) {
            ptrdiff_t j1 = j0 + 512 < i1 ? j0 + 512 : i1;
            real r = 0;
            K_OMP(simd reduction(+:r))
            for (ptrdiff_t i = j0; i < j1; i++)
                r += a[i] * b[i];
            s += r;
        }
        part[k] = s;
    }
    real_acc s = 0;
    for (int k = 0; k < nb; k++)
        s += part[k];
    return s;
}
