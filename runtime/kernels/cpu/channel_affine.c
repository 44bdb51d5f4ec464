/* channel_affine.c: a per-channel scale and shift with an optional ReLU,
 * the epilogue of inference: the bias of a convolution that absorbed its
 * batch norm, or a batch norm with no convolution before it. */
#include "cpu_kernels.h"

/* y = x * scale[c] + shift[c], then max(0, .) when relu; scale NULL means
 * 1 and shift NULL means 0; in place (y == x) allowed.
 * x, y: (N, C, HW), scale, shift: (C). */
K_FN void k_channel_affine_fwd(int N, int C, int HW, int relu, const real *scale, const real *shift,
                               const real *x, real *y)
{
    K_OMP(parallel for if(k_par((double)N * C * HW)) schedule(static))
    for (int nc = 0; nc < N * C; nc++) {
        int c = nc % C;
        real s = scale ? scale[c] : (real)1, b = shift ? shift[c] : (real)0;
        const real *xp = x + (ptrdiff_t)nc * HW;
        real *yp = y + (ptrdiff_t)nc * HW;
        if (relu)
            for (int i = 0; i < HW; i++) {
                real t = xp[i] * s + b;
                yp[i] = t > 0 ? t : (real)0;
            }
        else
            for (int i = 0; i < HW; i++) yp[i] = xp[i] * s + b;
    }
}
