/* concat.c: concatenation along channels and its backward (a split); the
 * copies run in parallel over samples above k_par's threshold. */
#include "cpu_kernels.h"

#include <string.h>

/* One input into its channel range of y. */
K_FN void k_concat_put(int N, int Ctot, int HW, int c0, int Ci, const real *x, real *y)
{
    K_OMP(parallel for if(k_par((double)N * Ci * HW)) schedule(static))
    for (int n = 0; n < N; n++)
        memcpy(y + ((ptrdiff_t)n * Ctot + c0) * HW, x + (ptrdiff_t)n * Ci * HW,
               sizeof(real) * (size_t)Ci * (size_t)HW);
}

/* Concat forward over n_in inputs. */
K_FN void k_concat_fwd(int N, int HW, int n_in, const int *Cs, const real *const *x, real *y)
{
    int Ctot = 0;
    for (int i = 0; i < n_in; i++)
        Ctot += Cs[i];
    for (int i = 0, c0 = 0; i < n_in; c0 += Cs[i], i++)
        k_concat_put(N, Ctot, HW, c0, Cs[i], x[i], y);
}

/* Concat backward: each input's gradient is its channel slice of gy. */
K_FN void k_concat_bwd(int N, int HW, int n_in, const int *Cs, const real *gy, real *const *gx)
{
    int Ctot = 0;
    for (int i = 0; i < n_in; i++)
        Ctot += Cs[i];
    for (int i = 0, c0 = 0; i < n_in; c0 += Cs[i], i++)
        if (gx[i])
            k_slice_channels_fwd(N, Ctot, HW, c0, Cs[i], gy, gx[i]);
}
