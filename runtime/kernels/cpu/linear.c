/* linear.c: the fully connected layer y = x W^T + b, forward and backward. */
#include "cpu_kernels.h"

/* Forward; each output is a real_acc dot product. */
K_FN void k_linear_fwd(int N, int I, int O, const real *x, const real *Wt, const real *b,
                       real *y)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            real_acc s = b ? b[o] : 0;
            const real *xr = x + (ptrdiff_t)n * I, *wr = Wt + (ptrdiff_t)o * I;
            for (int i = 0; i < I; i++)
                s += (real_acc)xr[i] * wr[i];
            y[(ptrdiff_t)n * O + o] = (real)s;
        }
}

/* Backward: input, weight and bias gradients, each optional. */
K_FN void k_linear_bwd(int N, int I, int O, const real *x, const real *Wt, const real *gy,
                       real *gx, real *gW, real *gb)
{
    if (gx)
        for (int n = 0; n < N; n++)
            for (int i = 0; i < I; i++) {
                real_acc s = 0;
                for (int o = 0; o < O; o++)
                    s += (real_acc)gy[(ptrdiff_t)n * O + o] * Wt[(ptrdiff_t)o * I + i];
                gx[(ptrdiff_t)n * I + i] = (real)s;
            }
    if (gW)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < I; i++) {
                real_acc s = 0;
                for (int n = 0; n < N; n++)
                    s += (real_acc)gy[(ptrdiff_t)n * O + o] * x[(ptrdiff_t)n * I + i];
                gW[(ptrdiff_t)o * I + i] = (real)s;
            }
    if (gb)
        for (int o = 0; o < O; o++) {
            real_acc s = 0;
            for (int n = 0; n < N; n++)
                s += gy[(ptrdiff_t)n * O + o];
            gb[o] = (real)s;
        }
}
