/* pad.c: zero padding with per-side amounts that may be negative (crop or
 * shift), and channel slices. Both backwards overwrite. Planes or samples
 * run in parallel above k_par's threshold. */
#include "cpu_kernels.h"

#include <string.h>

/* Copies the rows/columns common to a (Ha, Wa) plane a and a (Hb, Wb) plane
 * b, where a's pixel (i, j) is b's (i + top, j + left); b pixels with no
 * source in a become 0. Serves pad (a = x) and its backward (a = gy with
 * negated offsets). */
static void pad_plane(int Ha, int Wa, int Hb, int Wb, int top, int left, const real *a, real *b)
{
    for (int i = 0; i < Hb; i++) {
        real *br = b + (ptrdiff_t)i * Wb;
        int ia = i - top;
        if (ia < 0 || ia >= Ha) {
            memset(br, 0, sizeof(real) * (size_t)Wb);
            continue;
        }
        const real *ar = a + (ptrdiff_t)ia * Wa;
        for (int j = 0; j < Wb; j++) {
            int ja = j - left;
            br[j] = ja >= 0 && ja < Wa ? ar[ja] : (real)0;
        }
    }
}

/* Pad / crop forward. */
K_FN void k_pad_fwd(int N, int C, int H, int W, int top, int bottom, int left, int right,
                    const real *x, real *y)
{
    int Ho = H + top + bottom, Wo = W + left + right;
    K_OMP(parallel for if(k_par((double)N * C * Ho * Wo)) schedule(static))
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++)
        pad_plane(H, W, Ho, Wo, top, left, x + nc * H * W, y + nc * Ho * Wo);
}

/* Pad / crop backward: the inverse window, zeros where x was cropped. */
K_FN void k_pad_bwd(int N, int C, int H, int W, int top, int bottom, int left, int right,
                    const real *gy, real *gx)
{
    int Ho = H + top + bottom, Wo = W + left + right;
    K_OMP(parallel for if(k_par((double)N * C * H * W)) schedule(static))
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++)
        pad_plane(Ho, Wo, H, W, -top, -left, gy + nc * Ho * Wo, gx + nc * H * W);
}

/* Channel slice forward. */
K_FN void k_slice_channels_fwd(int N, int C, int HW, int c0, int Cs, const real *x, real *y)
{
    K_OMP(parallel for if(k_par((double)N * Cs * HW)) schedule(static))
    for (int n = 0; n < N; n++)
        memcpy(y + (ptrdiff_t)n * Cs * HW, x + ((ptrdiff_t)n * C + c0) * HW,
               sizeof(real) * (size_t)Cs * (size_t)HW);
}

/* Channel slice backward. */
K_FN void k_slice_channels_bwd(int N, int C, int HW, int c0, int Cs, const real *gy, real *gx)
{
    K_OMP(parallel for if(k_par((double)N * C * HW)) schedule(static))
    for (int n = 0; n < N; n++) {
        real *g = gx + (ptrdiff_t)n * C * HW;
        memset(g, 0, sizeof(real) * (size_t)c0 * (size_t)HW);
        memcpy(g + (ptrdiff_t)c0 * HW, gy + (ptrdiff_t)n * Cs * HW,
               sizeof(real) * (size_t)Cs * (size_t)HW);
        memset(g + (ptrdiff_t)(c0 + Cs) * HW, 0, sizeof(real) * (size_t)(C - c0 - Cs) * (size_t)HW);
    }
}
