/* cpu_kernels.h: the plain (reference) CPU kernels of the runtime, forward
 * and backward. One section per kernel file in runtime/kernels/cpu/.
 *
 * Conventions shared by every kernel:
 * - Layout is NCHW, contiguous. Shapes are plain int arguments so that a
 *   backend can specialize a kernel by passing literal constants and
 *   inlining (the C backend copies these sources as `static inline` through
 *   K_FN; the LLVM backend inlines their bitcode). The shape of every
 *   tensor argument is written beside it, e.g. `x: (N, C, H, W)`.
 * - Argument order: shape ints, then attribute ints/scalars, then input
 *   tensors, then output tensors, then caller-provided scratch.
 * - The element type is `real`: float by default, double when compiled with
 *   -DSHARP_REAL=double (the finite-difference tests build the same sources
 *   that way). Long reductions (batch statistics, dot products, weight
 *   gradients, linear layers, losses) accumulate in `real_acc` (double).
 * - Outputs are OVERWRITTEN, forward and backward alike: data gradients,
 *   weight gradients and architecture gradients. No kernel accumulates into
 *   its output, so the caller never has to zero anything first. Where a
 *   tensor feeds several consumers, or a parameter is shared (the alphas of
 *   all normal cells), the caller sums the pieces with k_acc / k_add_fwd.
 * - Gradient outputs documented "may be NULL" are skipped when NULL.
 * - No kernel allocates memory or keeps state; no kernel checks its shapes
 *   (the compiler has checked them).
 * - Output sizes follow PyTorch (floor mode): see k_out_size().
 * - Tuned kernels keep their plain reference beside them, named `_ref`
 *   (same signature and semantics); tests/kernels compares the two. The
 *   tuned ones parallelize with OpenMP when built with -fopenmp (K_OMP), and
 *   give the same bits for the same thread count: batch reductions use fixed
 *   partitions merged in a fixed order, never atomics.
 */
#ifndef SHARP_CPU_KERNELS_H
#define SHARP_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifndef SHARP_REAL
#define SHARP_REAL float
#define SHARP_REAL_IS_FLOAT 1 /* lets tuned kernels use float vector intrinsics */
#endif
/* The tensor element type of this build. */
typedef SHARP_REAL real;
#if defined(__AVX512F__) && defined(SHARP_REAL_IS_FLOAT)
#include <immintrin.h>
/* A few tuned kernels (the depthwise row copies, the flat pools)
 * use AVX-512 intrinsics in float builds where GCC leaves the loop scalar;
 * each keeps its plain C version beside it, computing the same values. */
#define K_AVX512 1
/* The mask of the first r lanes of 16 (none for r <= 0, all for r >= 16). */
static inline __mmask16 k_mask16(int r)
{
    return r >= 16 ? (__mmask16)0xFFFF : r <= 0 ? (__mmask16)0 : (__mmask16)((1u << r) - 1);
}
#endif
/* The accumulator of long reductions. */
typedef double real_acc;

/* Storage class of every kernel; a backend that pastes the kernels into one
 * translation unit defines it as `static inline` before including them. */
#ifndef K_FN
#define K_FN
#endif

/* ---- shared helpers (header only) ---- */

/* Keeps a function out of its callers, so that every caller gets the bits
 * of one compiled body (a body inlined into a caller that prefers other
 * vector widths would sum its lanes in another order); for GCC also out of
 * interprocedural specialization (noipa: a clone for a constant length
 * may unroll its lanes differently). The body is compiled in each
 * translation unit that calls it, so callers that must agree bit for bit
 * are kernels, built with the same flags (tests call them through kernels). */
#if defined(__GNUC__) && !defined(__clang__)
#define K_NOINLINE __attribute__((noipa, unused))
#elif defined(__GNUC__)
#define K_NOINLINE __attribute__((noinline, unused))
#else
#define K_NOINLINE
#endif

/* Asks for the n values at p in the cache ahead of their use: the kernels
 * that work plane by plane fetch the next plane while they work on this
 * one (planes of one channel are short runs far apart, which the hardware
 * prefetchers do not follow; a depthwise plane's loads would otherwise
 * stall the copy that pads it). */
static inline void k_prefetch(const real *p, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i += 64 / (ptrdiff_t)sizeof(real))
        __builtin_prefetch(p + i, 0, 3);
}

/* out[i] (+)= x[i] > 0 ? g[i] : 0 for i < n, added when acc: the
 * arithmetic of k_relu_bwd(_acc) (x the ReLU's input or output), for the
 * kernels that mask a gradient as they write it. */
static inline void k_relu_mask(ptrdiff_t n, const real *restrict x, const real *restrict g,
                               real *restrict out, int acc)
{
    if (acc)
        for (ptrdiff_t i = 0; i < n; i++)
            out[i] += x[i] > 0 ? g[i] : (real)0;
    else
        for (ptrdiff_t i = 0; i < n; i++)
            out[i] = x[i] > 0 ? g[i] : (real)0;
}

/* K_OMP(parallel for) expands to `#pragma omp parallel for` in an OpenMP
 * build and to nothing otherwise (no unknown-pragma warnings). */
#ifdef _OPENMP
#include <omp.h>
#define K_PRAGMA_(x) _Pragma(#x)
#define K_OMP(x) K_PRAGMA_(omp x)
#else
#define K_OMP(x)
#endif

/* Number of threads of the enclosing parallel region (1 outside one). */
static inline int k_omp_nthreads(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Index of the calling thread in the enclosing parallel region. */
static inline int k_omp_thread(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Threads a parallel region started here would get. */
static inline int k_omp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Parallel loops below this much work (flops or elements) run on one thread. */
#define K_PAR_MIN 32768

/* Marks a helper that only pragmas may use (unused without OpenMP, which
 * clang reports for a static function of the main file, as in an emitted
 * model.c). */
#if defined(__GNUC__) || defined(__clang__)
#define K_PRAGMA_ONLY __attribute__((unused))
#else
#define K_PRAGMA_ONLY
#endif

/* Whether a loop of `work` flops or elements is worth a parallel region:
 * K_OMP(parallel for if(k_par(work))). */
K_PRAGMA_ONLY static inline int k_par(double work)
{
    return work > K_PAR_MIN;
}

/* Output length of a window op along one axis: floor((n + 2p - d(k-1) - 1)/s) + 1. */
static inline int k_out_size(int n, int k, int s, int p, int d)
{
    return (n + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* Range [*lo, *hi) of output indices o in [0, n_out) whose input index
 * o*s + off lies in [0, n_in); lets window loops run without bounds tests. */
static inline void k_valid_range(int n_out, int s, int off, int n_in, int *lo, int *hi)
{
    int l = off >= 0 ? 0 : (-off + s - 1) / s;
    int h = n_in - 1 - off < 0 ? 0 : (n_in - 1 - off) / s + 1;
    if (h > n_out)
        h = n_out;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

/* ---- conv2d_fast.c: 2-D convolution, no bias (tuned) ----
 * Every conv takes (N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g):
 * kernel kh x kw, stride (sh, sw), zero padding ph rows top and bottom and pw
 * columns left and right, dilation (dh, dw), g groups (g = Ci = Co is
 * depthwise). Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw).
 * Pointwise convs run as a blocked GEMM, depthwise ones as row loops
 * vectorized along the width, all others as im2col panels (bounded, on the
 * stack) fed to the same GEMM. The references are in conv2d.c below. */

/* Forward: y = conv(x, w).
 * x: (N, Ci, H, W), w: (Co, Ci/g, kh, kw), y: (N, Co, Ho, Wo). */
K_FN void k_conv2d_fwd(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                       int ph, int pw, int dh, int dw, int g,
                       const real *x, const real *w, real *y);
/* Gradient of the input (overwrites gx).
 * gy: (N, Co, Ho, Wo), w: (Co, Ci/g, kh, kw), gx: (N, Ci, H, W). */
K_FN void k_conv2d_bwd_data(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                            int ph, int pw, int dh, int dw, int g,
                            const real *gy, const real *w, real *gx);
/* The same gradient added to gx (a piece of a gradient that already holds
 * others): depthwise convs give the bits of k_conv2d_bwd_data then k_acc;
 * the others sum in another order (gx joins the sums first). */
K_FN void k_conv2d_bwd_data_acc(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                int sw, int ph, int pw, int dh, int dw, int g,
                                const real *gy, const real *w, real *gx);
/* The data gradient of a conv whose input went through a ReLU, x that
 * ReLU's input (the conv reads relu(x)), into x's gradient: gx = (x > 0 ?
 * g : 0), or gx += that when acc, g the data gradient k_conv2d_bwd_data
 * writes: its bits, then k_relu_bwd(_acc)'s. t: scratch of gx's size for
 * g when acc (unused otherwise). Pointwise convs (1x1, stride 1, no
 * padding, one group) mask each column chunk of g while it is in cache;
 * others write g whole, then mask it. */
K_FN void k_conv2d_bwd_data_relu(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                 int sw, int ph, int pw, int dh, int dw, int g, const real *gy,
                                 const real *w, const real *x, real *t, real *gx, int acc);
/* The same for the last of a ReLU's consumers in the backward: gr (the
 * ReLU's gradient, with its other consumers' pieces) += the data gradient
 * (k_conv2d_bwd_data_acc's bits), then gx (+)= (x > 0 ? gr : 0)
 * (k_relu_bwd(_acc)'s), each pointwise column chunk while in cache. */
K_FN void k_conv2d_bwd_data_acc_relu(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                     int sw, int ph, int pw, int dh, int dw, int g,
                                     const real *gy, const real *w, const real *x, real *gr,
                                     real *gx, int acc);
/* Gradient of the weight (overwrites gw).
 * x: (N, Ci, H, W), gy: (N, Co, Ho, Wo), gw: (Co, Ci/g, kh, kw). */
K_FN void k_conv2d_bwd_weight(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, int g,
                              const real *x, const real *gy, real *gw);

/* Fused prologue (BN + ReLU into the conv input): the conv reads
 * x_eff = relu((x - pre_mean[c])*pre_scale[c] + pre_shift[c]) for input
 * channel c instead of x, zero padding applied after the transform; with
 * pre_scale == NULL, x_eff = relu(x) (pre_mean, pre_shift unused). The
 * arithmetic is that of k_bn_train_fwd / k_relu_fwd, so x_eff has the bits
 * the unfused chain would have stored. Depthwise convs take the tuned paths,
 * and so do pointwise ones (1x1, stride 1, unpadded, one group) with
 * pre_scale == NULL; any other conv runs the reference.
 * x: (N, Ci, H, W), pre_*: (Ci), w, y, gy, gw as above. */
K_FN void k_conv2d_fwd_pre(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, int g,
                           const real *pre_mean, const real *pre_scale, const real *pre_shift,
                           const real *x, const real *w, real *y);
K_FN void k_conv2d_bwd_weight_pre(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                  int sw, int ph, int pw, int dh, int dw, int g,
                                  const real *pre_mean, const real *pre_scale,
                                  const real *pre_shift, const real *x, const real *gy, real *gw);
/* A pointwise conv (1x1, stride 1, unpadded, one group) whose output a
 * training BN normalizes next: y as k_conv2d_fwd (pre 0) or
 * k_conv2d_fwd_pre with a plain ReLU (pre 1) writes it, and the BN's plane
 * moments of y (N, Co, 2; k_bn_plane_moments), each plane while it is in
 * cache. x: (N, Ci, H, W), w: (Co, Ci, 1, 1), y: (N, Co, H, W). */
K_FN void k_conv2d_fwd_moments(int N, int Ci, int H, int W, int Co, int pre, const real *x, const real *w,
                               real *y, real *moments);

/* A depthwise conv (C channels; with pre != 0 it reads its input through
 * the prologue of k_conv2d_fwd_pre, pre_* as there) whose
 * one consumer is a pointwise conv to Co channels (1x1, stride 1, no
 * padding, one group), in one pass: each sample's depthwise planes go into
 * a slice of z that the same thread reuses, and the pointwise GEMM reads
 * them there while they are in cache, so the depthwise output makes no
 * round trip through memory. z is the depthwise output's buffer
 * (N, C, Ho, Wo), used as scratch: afterwards it does not hold that
 * output. y gets the bits of k_conv2d_fwd_pre (pre) or k_conv2d_fwd into
 * z, then k_conv2d_fwd. moments != NULL: also the batch norm's plane
 * moments of y (N, Co, 2; k_bn_plane_moments), while y is in cache.
 * x: (N, C, H, W), wd: (C, 1, kh, kw), wp: (Co, C, 1, 1), y: (N, Co, Ho, Wo). */
K_FN void k_conv2d_dwpw_fwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw, int ph,
                            int pw, int dh, int dw, int Co, int pre, const real *pre_mean,
                            const real *pre_scale, const real *pre_shift, const real *x,
                            const real *wd, real *z, const real *wp, real *y, real *moments);

/* The weight gradient gwp (Co, C, 1, 1) of that pointwise conv, its input
 * (the depthwise output, not stored) recomputed plane by plane into the
 * threads' slices of z (N, C, Ho, Wo; scratch, as above) as the tiles ask
 * for it: the bits of k_conv2d_fwd(_pre) into z, then k_conv2d_bwd_weight.
 * gy: (N, Co, Ho, Wo). */
K_FN void k_conv2d_dwpw_bwd_weight(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, int dh, int dw, int Co, int pre,
                                   const real *pre_mean, const real *pre_scale,
                                   const real *pre_shift, const real *x, const real *wd, real *z,
                                   const real *gy, real *gwp);

/* The backward of that pair through the depthwise output's gradient,
 * which is never stored: gx (N, C, H, W; written, or added when acc != 0)
 * and gwd (C, 1, kh, kw) get the bits of k_conv2d_bwd_data of the
 * pointwise conv into z (N, C, Ho, Wo; scratch: per-thread slices and the
 * weight gradient's per-sample shares), then k_conv2d_bwd_data(_acc) and
 * k_conv2d_bwd_weight(_pre) of the depthwise conv from z. gwp != NULL:
 * also the pointwise conv's weight gradient (Co, C, 1, 1) with the bits of
 * k_conv2d_dwpw_bwd_weight, the depthwise output recomputed into zr (N, C,
 * Ho, Wo; scratch) from the padded x planes the depthwise weight gradient
 * reads, each run of samples' share summed while its gy is in cache.
 * mask != 0 (a plain ReLU prologue: pre, no pre_scale): gx is the gradient
 * of x, the ReLU's input, not of its output: each plane goes through the
 * mask x > 0 (the bits of k_relu_bwd(_acc) after the unmasked gx); t:
 * scratch of gx's size, used when acc and the planes do not fit the stack.
 * bn_parts != NULL (a BN + ReLU prologue, gx written, no mask): also that
 * BN's backward sums of gx (N, C, 2; k_bn_relu_bwd_sums per plane), for
 * k_bn_train_bwd_parts. gx, gwd or gwp NULL: not computed. gy: (N, Co, Ho,
 * Wo), the pointwise output's gradient. */
K_FN void k_conv2d_dwpw_bwd_data(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                                 int ph, int pw, int dh, int dw, int Co, int pre,
                                 const real *pre_mean, const real *pre_scale,
                                 const real *pre_shift, const real *x, const real *wd, real *z,
                                 const real *wp, const real *gy, real *gx, int acc, int mask,
                                 real *t, real *gwd, real *zr, real *gwp, real *bn_parts);
/* The same when the pointwise output y (N, Co, Ho, Wo) goes through a
 * training BN and a ReLU prologue (bn_mean its batch mean, bn_scale and
 * bn_shift the prologue's): gr is the ReLU's output gradient, and the
 * pointwise output's is applied from it plane by plane as it is read
 * (k_bn_relu_bwd_apply with bn_coef of k_bn_train_bwd_parts), into the
 * threads' runs in gyb (scratch (N, Co, Ho, Wo)); the bits of
 * k_bn_train_bwd_relu, then k_conv2d_dwpw_bwd_data on its gx. */
K_FN void k_conv2d_dwpw_bwd_data_bn(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                                    int ph, int pw, int dh, int dw, int Co, int pre,
                                    const real *pre_mean, const real *pre_scale,
                                    const real *pre_shift, const real *x, const real *wd, real *z,
                                    const real *wp, const real *gr, real *gx, int acc, int mask,
                                    real *t, real *gwd, real *zr, real *gwp, real *bn_parts,
                                    const real *y, const real *bn_mean, const real *bn_scale,
                                    const real *bn_shift, const real *bn_coef, real *gyb);
/* k_conv2d_dwpw_bwd_data with the backward of an add_bn BN (normalized in
 * its add, through a drop path when dmask is not NULL) that follows the
 * pointwise conv: ga is the add's gradient, applied per plane where read
 * (k_bn_add_bwd_apply with bn_coef from k_bn_train_bwd_add_coef, keep and
 * dmask the drop path's) instead of the BN's written output gradient; y
 * the pointwise output (the BN's input), gyb scratch as for _bn; the bits
 * of k_bn_train_bwd_add then k_conv2d_dwpw_bwd_data. */
K_FN void k_conv2d_dwpw_bwd_data_bnadd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                                       int ph, int pw, int dh, int dw, int Co, int pre,
                                       const real *pre_mean, const real *pre_scale,
                                       const real *pre_shift, const real *x, const real *wd, real *z,
                                       const real *wp, const real *ga, real *gx, int acc, int mask,
                                       real *t, real *gwd, real *zr, real *gwp, real *bn_parts,
                                       const real *y, const real *bn_mean, real keep, const real *dmask,
                                       const real *bn_coef, real *gyb);

/* The backward of a pointwise conv (1x1, stride 1, unpadded, one group;
 * x: (N, Ci, H, W), w: (Co, Ci, 1, 1), reading relu(x) when rb) whose
 * output y (N, Co, H, W) a plain training BN normalizes, with that BN's
 * output gradient applied where it is read: gr is the BN's output
 * gradient, bn_mean its batch mean and bn_coef (3 Co) its coefficients as
 * k_bn_train_bwd_add_coef (keep 1, no mask) writes them; each sample's
 * applied gradient (k_bn_add_bwd_apply) goes into gyb (scratch, N*Co*H*W
 * values: the threads' runs of samples and the weight gradient's
 * partials), and from there into both gradients while in cache. gx (NULL:
 * not wanted): the data gradient, written or added (acc); with mask, through
 * the ReLU whose input x is: w^T g into tb (added to it when tacc: tb holds
 * the ReLU's gradient from its other consumers), then gx (+)= x > 0 ? tb
 * : 0. gw (NULL: not wanted): the weight gradient. The bits of
 * k_bn_train_bwd, then k_conv2d_bwd_data(_acc), k_conv2d_bwd_data_relu or
 * k_conv2d_bwd_data_acc_relu, and k_conv2d_bwd_weight (rb 0) or
 * k_conv2d_bwd_weight_pre with a plain ReLU (rb 1). */
K_FN void k_conv2d_pw_bwd_bn(int N, int Ci, int H, int W, int Co, int rb, const real *x, const real *w,
                             const real *gr, const real *y, const real *bn_mean, const real *bn_coef,
                             real *gx, int acc, int mask, real *tb, int tacc, real *gw, real *gyb);

/* FactorizedReduce (prelude.nas) in one kernel each way: y =
 * concat(conv_1(r), conv_2(pad(r))), conv_1 and conv_2 1x1 of stride 2
 * (Co1 and Co2 outputs, weights w1 (Co1, C), w2 (Co2, C)), the pad cropping
 * one row and column at the top left (and adding zeros at the bottom
 * right, which only an odd plane reads): conv_2 reads r at (2i + 1,
 * 2j + 1), 0 past the plane. r = relu(x) when rb, else x; neither the
 * pad's output nor (rb) the ReLU's is stored. The same bits as the
 * unfused kernels (k_relu_fwd, k_pad_fwd, k_conv2d_fwd, the concat's
 * copies). x: (N, C, H, W), y: (N, Co1 + Co2, Ho, Wo), Ho = (H + 1) / 2, Wo
 * likewise. */
K_FN void k_fr_fwd(int N, int C, int H, int W, int Co1, int Co2, int rb, const real *x, const real *w1,
                   const real *w2, real *y);
/* Its backward from gy: (N, Co1 + Co2, Ho, Wo): the weight gradients into
 * gw1, gw2, and into gx the gradient of r (the pad's piece, then
 * conv_1's) or, with mask (rb only), of x through the ReLU (as
 * k_relu_bwd(_acc) would pass it), written, or added when acc; each
 * skipped when NULL; the bits of the unfused steps. The data gradient is
 * written in one pass from per-sample pieces on the stack; planes too large
 * for that take the unfused steps, with t (scratch of x's size) holding the
 * ReLU's gradient when mask. */
K_FN void k_fr_bwd(int N, int C, int H, int W, int Co1, int Co2, int rb, const real *x, const real *w1,
                   const real *w2, const real *gy, real *gx, int mask, int acc, real *t, real *gw1,
                   real *gw2);

/* The padded planes of the depthwise path, lent to the pools (pool.c):
 * plane src (Hi, Wi) into buf as sh*sw phase planes of R rows of L values,
 * padded row k, column k2 at ((k % sh)*sw + k2 % sw)*R*L + (k / sh)*L +
 * k2 / sw, holding src[k - pt][k2 - pl]. Only the values inside the plane
 * are written (rows k < sh*R, phase columns < L): the caller keeps the
 * padding value in the rest of buf. */
K_FN void k_plane_phases(const real *src, int Hi, int Wi, int pt, int pl, int sh, int sw, int R, int L,
                         real *buf);

/* x_eff of one value of channel c (see k_conv2d_fwd_pre). */
static inline real k_pre_val(real v, const real *pre_mean, const real *pre_scale,
                             const real *pre_shift, int c)
{
    real t = pre_scale ? (v - pre_mean[c]) * pre_scale[c] + pre_shift[c] : v;
    return t > 0 ? t : (real)0;
}

/* ---- conv2d.c: the plain reference convolutions ----
 * Same arguments and results as the three above, direct loops. */

K_FN void k_conv2d_fwd_ref(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, int g,
                           const real *x, const real *w, real *y);
K_FN void k_conv2d_bwd_data_ref(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                int sw, int ph, int pw, int dh, int dw, int g,
                                const real *gy, const real *w, real *gx);
K_FN void k_conv2d_bwd_weight_ref(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                  int sw, int ph, int pw, int dh, int dw, int g,
                                  const real *x, const real *gy, real *gw);
/* References of the fused-prologue convs, same arguments. */
K_FN void k_conv2d_fwd_pre_ref(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                               int sw, int ph, int pw, int dh, int dw, int g,
                               const real *pre_mean, const real *pre_scale,
                               const real *pre_shift, const real *x, const real *w, real *y);
K_FN void k_conv2d_bwd_weight_pre_ref(int N, int Ci, int H, int W, int Co, int kh, int kw,
                                      int sh, int sw, int ph, int pw, int dh, int dw, int g,
                                      const real *pre_mean, const real *pre_scale,
                                      const real *pre_shift, const real *x, const real *gy,
                                      real *gw);

/* ---- batch_norm.c: batch normalization (PyTorch semantics) ----
 * HW is H*W (1 for a (N, C) input). gamma and beta are both NULL for a
 * non-affine BN. M = N*HW is the number of values per channel. The two
 * training kernels are tuned; k_bn_train_fwd_ref / k_bn_train_bwd_ref are
 * their plain references (same arguments). */

/* Training forward: normalizes with the batch mean and biased batch
 * variance, y = gamma*(x - mean)*invstd + beta, invstd = 1/sqrt(var + eps).
 * Saves mean and invstd for the backward (save_* may be NULL when no
 * backward follows) and updates the running estimates in place,
 * run = (1 - momentum)*run + momentum*stat with the UNBIASED variance
 * var*M/(M-1) for run_var (run_mean/run_var may be NULL to skip).
 * y == NULL computes the statistics only (a BN fused into its consumers,
 * which apply k_bn_affine's scale and shift themselves).
 * x, y: (N, C, HW); gamma, beta, save_mean, save_invstd, run_mean, run_var: (C). */
K_FN void k_bn_train_fwd(int N, int C, int HW, real eps, real momentum,
                         const real *x, const real *gamma, const real *beta,
                         real *y, real *save_mean, real *save_invstd,
                         real *run_mean, real *run_var);
/* The moments of one plane of n values that k_bn_train_fwd takes, in real
 * lanes (a plane is at most a few thousand values): m[0] its sum, m[1] the
 * sum of squared deviations from its own mean, in a second pass that finds
 * the plane in cache. A producer that still holds its output planes in
 * cache (k_conv2d_dwpw_fwd) computes them with this function and the BN
 * merges them; one compiled body (K_NOINLINE) gives every caller the same
 * bits. Real lanes lose nothing the tolerance against PyTorch (whose own
 * reductions run in float) would notice, and they run twice the lanes of
 * real_acc, in which the planes are merged. */
static K_NOINLINE void k_bn_plane_moments(int n, const real *p, real *m)
{
    real s = 0, r = 0;
    K_OMP(simd reduction(+:s))
    for (int i = 0; i < n; i++)
        s += p[i];
    real mean = s / (real)n;
    K_OMP(simd reduction(+:r))
    for (int i = 0; i < n; i++) {
        real d = p[i] - mean;
        r += d * d;
    }
    m[0] = s;
    m[1] = r;
}
/* k_bn_train_fwd with the plane moments given: moments (N, C, 2) as
 * k_bn_plane_moments writes them, for plane (n, c) at (n*C + c)*2; the
 * same bits as k_bn_train_fwd, which reads x for them. */
K_FN void k_bn_train_fwd_moments(int N, int C, int HW, real eps, real momentum,
                                 const real *moments, const real *x, const real *gamma,
                                 const real *beta, real *y, real *save_mean,
                                 real *save_invstd, real *run_mean, real *run_var);
/* Training backward from the saved statistics (overwrites gx, ggamma, gbeta;
 * ggamma and gbeta may be NULL, and are for a non-affine BN).
 * x, gy, gx: (N, C, HW); gamma, save_mean, save_invstd, ggamma, gbeta: (C). */
K_FN void k_bn_train_bwd(int N, int C, int HW,
                         const real *x, const real *gy, const real *gamma,
                         const real *save_mean, const real *save_invstd,
                         real *gx, real *ggamma, real *gbeta);
/* The same for the output gradient coef*gy (a mixed op's BN candidate,
 * whose gradient is its coefficient times the mixed output's). */
K_FN void k_bn_train_bwd_scaled(int N, int C, int HW, const real *x, const real *gy, real coef,
                                const real *gamma, const real *save_mean,
                                const real *save_invstd, real *gx, real *ggamma, real *gbeta);
/* The same for a BN normalized in its add (add_bn, see ir.h): gy is the
 * add's gradient, through a drop path after the BN when mask is not NULL
 * (gy / keep * mask[n] for sample n): the bits of k_drop_path_bwd then
 * k_bn_train_bwd. mask: (N). */
K_FN void k_bn_train_bwd_add(int N, int C, int HW, const real *x, const real *gy, real keep,
                             const real *mask, const real *gamma, const real *save_mean,
                             const real *save_invstd, real *gx, real *ggamma, real *gbeta);
/* The same for a BN whose only consumer is a ReLU fused into the next
 * convs (a prologue): gy is the ReLU's output gradient, masked where the
 * ReLU's input (k_pre_val of x with save_mean, pre_scale, pre_shift) is not
 * positive; the same as k_relu_bwd_pre then k_bn_train_bwd, without the
 * intermediate gradient. pre_*: (C). */
K_FN void k_bn_train_bwd_relu(int N, int C, int HW, const real *x, const real *gy,
                              const real *pre_scale, const real *pre_shift, const real *gamma,
                              const real *save_mean, const real *save_invstd, real *gx,
                              real *ggamma, real *gbeta);
/* One plane (n values) of k_bn_train_bwd_relu's sums: ab[0] = sum g,
 * ab[1] = sum g*(x - mu), g = gp where (x - mu)*ps + pb > 0 (k_pre_val),
 * else 0, in real lanes; and its output gradient, out = k*(g - mg - (x -
 * mu)*mgx). One compiled body each (K_NOINLINE), so that a kernel that
 * computes the sums while it holds the planes (k_conv2d_dwpw_bwd_data's
 * bn_parts) or applies the gradient where it reads it
 * (k_conv2d_dwpw_bwd_data_bn) has the bits of k_bn_train_bwd_relu. */
static K_NOINLINE void k_bn_relu_bwd_sums(int n, const real *gp, const real *xp, real mu, real ps,
                                          real pb, real *ab)
{
    real a = 0, b = 0;
    K_OMP(simd reduction(+:a) reduction(+:b))
    for (int i = 0; i < n; i++) {
        real t = (xp[i] - mu) * ps + pb;
        real g = t > 0 ? gp[i] : (real)0;
        a += g;
        b += g * (xp[i] - mu);
    }
    ab[0] = a;
    ab[1] = b;
}
static K_NOINLINE void k_bn_relu_bwd_apply(int n, const real *gp, const real *xp, real mu, real ps,
                                           real pb, real k, real mg, real mgx, real *out)
{
    K_OMP(simd)
    for (int i = 0; i < n; i++) {
        real t = (xp[i] - mu) * ps + pb;
        real g = t > 0 ? gp[i] : (real)0;
        out[i] = k * (g - mg - (xp[i] - mu) * mgx);
    }
}
/* The output gradient of k_bn_train_bwd_add (and k_bn_train_bwd) from
 * its coefficients: out = k*(g - mg - (x - mu)*mgx), g = gp / keep * m
 * through a drop path (drop), else gp. One compiled body, so that a kernel
 * applying it where it reads gy (k_conv2d_dwpw_bwd_data_bnadd) has the
 * bits of k_bn_train_bwd_add. */
static K_NOINLINE void k_bn_add_bwd_apply(int n, const real *gp, const real *xp, real mu, int drop, real keep,
                                          real m, real k, real mg, real mgx, real *out)
{
    if (drop) {
        K_OMP(simd)
        for (int i = 0; i < n; i++)
            out[i] = k * (gp[i] / keep * m - mg - (xp[i] - mu) * mgx);
    } else {
        K_OMP(simd)
        for (int i = 0; i < n; i++)
            out[i] = k * (gp[i] - mg - (xp[i] - mu) * mgx);
    }
}
/* The plane sums of k_bn_train_bwd_relu into parts (N, C, 2): what a
 * producer that holds the planes computes with k_bn_relu_bwd_sums. */
K_FN void k_bn_relu_bwd_parts(int N, int C, int HW, const real *x, const real *gy,
                              const real *save_mean, const real *pre_scale, const real *pre_shift,
                              real *parts);
/* k_bn_train_bwd_relu from plane sums that its input's producer computed
 * (parts (N, C, 2) as k_bn_relu_bwd_sums writes them, plane (n, c) at
 * (n*C + c)*2): ggamma, gbeta and, per channel, coef[c] = k, coef[C + c] =
 * mg, coef[2C + c] = mgx of k_bn_relu_bwd_apply, for the consumer that
 * applies the gradient (k_conv2d_dwpw_bwd_data_bn); the same bits. */
K_FN void k_bn_train_bwd_parts(int N, int C, int HW, const real *parts, const real *gamma,
                               const real *save_invstd, real *coef, real *ggamma, real *gbeta);
/* k_bn_train_bwd_add without the output gradient: ggamma, gbeta and the
 * coefficients coef (3C: k, mg, mgx) of k_bn_add_bwd_apply, for the
 * producer of x that applies the gradient where it reads it
 * (k_conv2d_dwpw_bwd_data_bnadd); the same bits. */
K_FN void k_bn_train_bwd_add_coef(int N, int C, int HW, const real *x, const real *gy, real keep,
                                  const real *mask, const real *gamma, const real *save_mean,
                                  const real *save_invstd, real *coef, real *ggamma, real *gbeta);
K_FN void k_bn_train_fwd_ref(int N, int C, int HW, real eps, real momentum,
                             const real *x, const real *gamma, const real *beta,
                             real *y, real *save_mean, real *save_invstd,
                             real *run_mean, real *run_var);
K_FN void k_bn_train_bwd_ref(int N, int C, int HW,
                             const real *x, const real *gy, const real *gamma,
                             const real *save_mean, const real *save_invstd,
                             real *gx, real *ggamma, real *gbeta);
/* Eval forward with the running estimates:
 * y = gamma*(x - run_mean)/sqrt(run_var + eps) + beta.
 * x, y: (N, C, HW); gamma, beta, run_mean, run_var: (C). */
K_FN void k_bn_eval_fwd(int N, int C, int HW, real eps,
                        const real *x, const real *gamma, const real *beta,
                        const real *run_mean, const real *run_var, real *y);
/* Eval backward: gx = gy*gamma/sqrt(run_var + eps) (overwrites); ggamma and
 * gbeta (NULL to skip) get the affine gradients with the running statistics.
 * x, gy, gx: (N, C, HW); gamma, run_mean, run_var, ggamma, gbeta: (C). */
K_FN void k_bn_eval_bwd(int N, int C, int HW, real eps,
                        const real *x, const real *gy, const real *gamma,
                        const real *run_mean, const real *run_var,
                        real *gx, real *ggamma, real *gbeta);

/* Scale and shift of a fused training BN from its saved statistics:
 * scale = gamma*invstd (invstd when gamma is NULL), shift = beta (0).
 * gamma, beta, save_invstd, scale, shift: (C). */
K_FN void k_bn_affine(int C, const real *gamma, const real *beta, const real *save_invstd,
                      real *scale, real *shift);
/* The same for the eval forward (mean: run_mean):
 * scale = gamma/sqrt(run_var + eps), shift = beta. gamma, beta, run_var, scale, shift: (C). */
K_FN void k_bn_eval_affine(int C, real eps, const real *gamma, const real *beta,
                           const real *run_var, real *scale, real *shift);
/* *dot = <gy, y> for the training BN output y = (x - mean)*gamma*invstd + beta
 * recomputed from x and the saved statistics (the architecture gradient of
 * a mixed op whose candidate ends in a BN; the sum runs in real_acc).
 * x, gy: (N, C, HW); gamma, beta (NULL for non-affine), save_*: (C). */
K_FN void k_bn_out_dot(int N, int C, int HW, const real *x, const real *gamma, const real *beta,
                       const real *save_mean, const real *save_invstd, const real *gy,
                       real_acc *dot);
/* y (+)= coef * ((x - mean[c])*scale[c] + shift[c]): a mixed op's BN
 * candidate added straight into the mixed output (first != 0 overwrites),
 * scale and shift from k_bn_affine or k_bn_eval_affine (mean: the saved
 * batch mean or run_mean). x, y: (N, C, HW); mean, scale, shift: (C). */
K_FN void k_bn_out_acc(int N, int C, int HW, const real *x, const real *mean, const real *scale,
                       const real *shift, real coef, int first, real *y);
/* y = in0 + in1, each input a stored tensor (bnK 0: xK) or the output of
 * a BN that was not kept (bnK 1: (xK - meanK[c])*scaleK[c] + shiftK[c], the
 * arithmetic of k_bn_train_fwd / k_bn_eval_fwd with scale and shift as in
 * k_bn_out_acc), through a drop path when maskK is not NULL (v / keep *
 * maskK[n]): the bits of those kernels, k_add_fwd, then k_concat_put of the
 * sum into channels cy..cy+C-1 of y (N, Cy, HW) (Cy = C, cy = 0: all of
 * it). x*: (N, C, HW); mean*, scale*, shift*: (C), NULL for bnK 0;
 * mask*: (N). */
K_FN void k_add_bn(int N, int C, int HW, int bn0, const real *x0, const real *mean0,
                   const real *scale0, const real *shift0, const real *mask0, int bn1,
                   const real *x1, const real *mean1, const real *scale1, const real *shift1,
                   const real *mask1, real keep, int Cy, int cy, real *y);

/* ---- relu.c: rectified linear unit ---- */

/* y = max(0, x); y may alias x (in place). x, y: (n). */
K_FN void k_relu_fwd(ptrdiff_t n, const real *x, real *y);
/* gx = gy where y > 0, else 0 (overwrites; gx may alias gy). y is the
 * forward output (the forward input gives the same mask).
 * y, gy, gx: (n). */
K_FN void k_relu_bwd(ptrdiff_t n, const real *y, const real *gy, real *gx);
/* gx += gy where y > 0 (the bits of k_relu_bwd then k_acc). */
K_FN void k_relu_bwd_acc(ptrdiff_t n, const real *y, const real *gy, real *gx);
/* ReLU backward of a fused prologue: gx = gy where x_eff > 0, else 0, with
 * x_eff recomputed from x as in k_conv2d_fwd_pre (overwrites; gx may alias gy).
 * x, gy, gx: (N, C, HW); pre_*: (C). */
K_FN void k_relu_bwd_pre(int N, int C, int HW, const real *pre_mean, const real *pre_scale,
                         const real *pre_shift, const real *x, const real *gy, real *gx);

/* ---- pool.c: max and average pooling (floor mode, no dilation) ----
 * Window kh x kw, stride (sh, sw), padding (ph, pw) with ph <= kh/2 and
 * pw <= kw/2. Ho = k_out_size(H, kh, sh, ph, 1), Wo likewise. The two
 * kernels are tuned; the k_*pool_*_ref are their plain references (same
 * arguments, same bits). */

/* Max pool; padding acts as -inf. x: (N, C, H, W), y: (N, C, Ho, Wo). */
K_FN void k_maxpool_fwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, const real *x, real *y);
/* Max pool backward: recomputes each window's argmax from x (the first
 * maximum in row-major window order wins, as in PyTorch) and routes gy
 * there (overwrites gx).
 * x, gx: (N, C, H, W), gy: (N, C, Ho, Wo). */
K_FN void k_maxpool_bwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, const real *x, const real *gy, real *gx);
/* Average pool. count_include_pad != 0 divides by the window clipped to the
 * padded input (kh*kw in floor mode), otherwise by the in-image taps.
 * x: (N, C, H, W), y: (N, C, Ho, Wo). */
K_FN void k_avgpool_fwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int count_include_pad, const real *x, real *y);
/* Average pool backward (overwrites gx). gy: (N, C, Ho, Wo), gx: (N, C, H, W). */
K_FN void k_avgpool_bwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int count_include_pad, const real *gy, real *gx);
K_FN void k_maxpool_fwd_ref(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                            int ph, int pw, const real *x, real *y);
K_FN void k_avgpool_fwd_ref(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                            int ph, int pw, int count_include_pad, const real *x, real *y);
K_FN void k_maxpool_bwd_ref(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                            int ph, int pw, const real *x, const real *gy, real *gx);
K_FN void k_avgpool_bwd_ref(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                            int ph, int pw, int count_include_pad, const real *gy, real *gx);

/* ---- pad.c: zero padding / cropping / shifting, and channel slices ---- */

/* Pads x with top rows above, bottom rows below, left and right columns of
 * zeros; a negative amount crops instead (pad bottom/right 1 and top/left -1
 * shifts the image up-left by one pixel, as FactorizedReduce needs).
 * Ho = H + top + bottom, Wo = W + left + right.
 * x: (N, C, H, W), y: (N, C, Ho, Wo). */
K_FN void k_pad_fwd(int N, int C, int H, int W, int top, int bottom, int left, int right,
                    const real *x, real *y);
/* Pad backward: gx = the matching window of gy, 0 where x was cropped away
 * (overwrites). gy: (N, C, Ho, Wo), gx: (N, C, H, W). */
K_FN void k_pad_bwd(int N, int C, int H, int W, int top, int bottom, int left, int right,
                    const real *gy, real *gx);
/* Channel slice y = x[:, c0:c0+Cs]. x: (N, C, HW), y: (N, Cs, HW). */
K_FN void k_slice_channels_fwd(int N, int C, int HW, int c0, int Cs, const real *x, real *y);
/* Slice backward: gx = gy in channels c0..c0+Cs-1 and 0 elsewhere (overwrites).
 * gy: (N, Cs, HW), gx: (N, C, HW). */
K_FN void k_slice_channels_bwd(int N, int C, int HW, int c0, int Cs, const real *gy, real *gx);

/* ---- concat.c: concatenation along channels ---- */

/* Copies one input into channels c0..c0+Ci-1 of y (the building block of
 * k_concat_fwd; a backend may call it once per input).
 * x: (N, Ci, HW), y: (N, Ctot, HW). */
K_FN void k_concat_put(int N, int Ctot, int HW, int c0, int Ci, const real *x, real *y);
/* y = cat(x[0], ..., x[n_in-1]) along channels, Ctot = sum of Cs.
 * Cs: (n_in) channel counts, x[i]: (N, Cs[i], HW), y: (N, Ctot, HW). */
K_FN void k_concat_fwd(int N, int HW, int n_in, const int *Cs, const real *const *x, real *y);
/* Splits gy back into the inputs' gradients (overwrites each gx[i]; a NULL
 * gx[i] is skipped). Cs: (n_in), gy: (N, Ctot, HW), gx[i]: (N, Cs[i], HW). */
K_FN void k_concat_bwd(int N, int HW, int n_in, const int *Cs, const real *gy, real *const *gx);

/* ---- elementwise.c: add, accumulate, scale, dot ---- */

/* y = a + b; y may alias a or b. a, b, y: (n). */
K_FN void k_add_fwd(ptrdiff_t n, const real *a, const real *b, real *y);
/* Add backward: ga = gy and gb = gy (overwrites; either may be NULL).
 * gy, ga, gb: (n). */
K_FN void k_add_bwd(ptrdiff_t n, const real *gy, real *ga, real *gb);
/* y = x, on all threads. x, y: (n). */
K_FN void k_copy(ptrdiff_t n, const real *x, real *y);
/* y += x, the one accumulating helper (sums gradient pieces). x, y: (n). */
K_FN void k_acc(ptrdiff_t n, const real *x, real *y);
/* y = a*x for a constant scalar a; y may alias x. x, y: (n). */
K_FN void k_scale_fwd(ptrdiff_t n, real a, const real *x, real *y);
/* Scale backward: gx = a*gy (overwrites; gx may alias gy). The gradient of
 * a, if wanted, is k_dot(n, gy, x). gy, gx: (n). */
K_FN void k_scale_bwd(ptrdiff_t n, real a, const real *gy, real *gx);
/* Returns sum_i a[i]*b[i], accumulated in real_acc. a, b: (n). */
K_FN real_acc k_dot(ptrdiff_t n, const real *a, const real *b);

/* ---- zero.c: the `none` op ---- */

/* The Zero(s) op: y = 0 of shape (N, C, ceil(H/s), ceil(W/s)); x is not read.
 * y: (N, C, ceil(H/s), ceil(W/s)). */
K_FN void k_zero_fwd(int N, int C, int H, int W, int s, real *y);
/* No gradient flows through Zero: gx = 0 (overwrites). gx: (N, C, H, W). */
K_FN void k_zero_bwd(int N, int C, int H, int W, int s, real *gx);

/* ---- global_avg_pool.c: global average pooling ---- */

/* y[n, c] = mean over HW of x[n, c]. x: (N, C, HW), y: (N, C). */
K_FN void k_gap_fwd(int N, int C, int HW, const real *x, real *y);
/* gx[n, c, :] = gy[n, c] / HW (overwrites). gy: (N, C), gx: (N, C, HW). */
K_FN void k_gap_bwd(int N, int C, int HW, const real *gy, real *gx);

/* ---- linear.c: fully connected layer with bias ---- */

/* y = x W^T + b (b may be NULL). x: (N, I), Wt: (O, I), b: (O), y: (N, O). */
K_FN void k_linear_fwd(int N, int I, int O, const real *x, const real *Wt, const real *b,
                       real *y);
/* Gradients gx = gy W, gW = gy^T x, gb = sum_n gy (all overwritten; each may
 * be NULL). x, gx: (N, I), Wt, gW: (O, I), gy: (N, O), gb: (O). */
K_FN void k_linear_bwd(int N, int I, int O, const real *x, const real *Wt, const real *gy,
                       real *gx, real *gW, real *gb);

/* ---- softmax_ce.c: softmax cross-entropy loss and accuracy ---- */

/* Returns the softmax cross-entropy averaged over the batch. If glogits is
 * not NULL it gets gscale * d(loss)/d(logits) = gscale*(softmax - onehot)/N
 * (overwrites); gscale is the loss's weight, 1 for the main loss.
 * logits, glogits: (N, K), labels: (N) in [0, K). */
K_FN real k_softmax_ce(int N, int K, const real *logits, const int32_t *labels, real gscale,
                       real *glogits);
/* Number of samples whose label is among the top k logits: those where fewer
 * than k logits are strictly greater than the label's logit (ties count as
 * correct). logits: (N, K), labels: (N). */
K_FN int k_topk_correct(int N, int K, int k, const real *logits, const int32_t *labels);

/* ---- drop_path.c: drop path (per-sample stochastic depth) ---- */

/* y[n] = x[n] / keep * mask[n]; the caller draws mask[n] ~ Bernoulli(keep)
 * (0 or 1). y may alias x. x, y: (N, D) with D = C*H*W, mask: (N). */
K_FN void k_drop_path_fwd(int N, ptrdiff_t D, real keep, const real *mask, const real *x,
                          real *y);
/* gx[n] = gy[n] / keep * mask[n] (overwrites; gx may alias gy).
 * gy, gx: (N, D), mask: (N). */
K_FN void k_drop_path_bwd(int N, ptrdiff_t D, real keep, const real *mask, const real *gy,
                          real *gx);

/* ---- channel_affine.c: per-channel scale, shift and ReLU (inference) ---- */

/* y = x * scale[c] + shift[c], then max(0, .) when relu; scale NULL means
 * 1, shift NULL means 0; in place allowed. x, y: (N, C, HW), scale, shift: (C). */
K_FN void k_channel_affine_fwd(int N, int C, int HW, int relu, const real *scale, const real *shift,
                               const real *x, real *y);

/* ---- mixed.c: the MixedOp weighted sum and the architecture softmax ---- */

/* How a MixedOp turns an edge's softmax weights w into multipliers c. */
typedef enum {
    MIX_SCALAR = 0, /* DARTS: c_k = w_k */
    MIX_MAX_W = 1,  /* sharpDARTS Max-W: c_k = 1 - max_j w_j + w_k, max not detached */
} KMixMode;

/* w = softmax over each row of alpha. alpha, w: (E, P). */
K_FN void k_arch_softmax_fwd(int E, int P, const real *alpha, real *w);
/* galpha = w * (gw - <gw, w>) per row (overwrites). w, gw, galpha: (E, P). */
K_FN void k_arch_softmax_bwd(int E, int P, const real *w, const real *gw, real *galpha);
/* Multipliers of one edge for mode (KMixMode). w, c: (P). */
K_FN void k_mixed_coef(int P, int mode, const real *w, real *c);
/* y = sum_k c_k * o[k], c = k_mixed_coef(w). o[k] == NULL stands for an
 * all-zero output (the `none` op) and is skipped.
 * w: (P), o[k]: (n), y: (n). */
K_FN void k_mixed_fwd(ptrdiff_t n, int P, int mode, const real *w, const real *const *o,
                      real *y);
/* The same added to y (y += sum_k c_k * o[k]): the candidates that are not
 * BNs, after the BN candidates went in through k_bn_out_acc. */
K_FN void k_mixed_fwd_acc(ptrdiff_t n, int P, int mode, const real *w, const real *const *o,
                          real *y);
/* MixedOp backward (all outputs overwritten; go[k] and gw may be NULL):
 * go[k] = c_k * gy; with d_k = <gy, o[k]> (0 for a NULL o[k]),
 * scalar: gw_j = d_j; max_w: gw_j = d_j - [j == argmax w] * sum_k d_k, the
 * first maximum winning ties.
 * w, gw: (P), o[k], go[k], gy: (n). */
K_FN void k_mixed_bwd(ptrdiff_t n, int P, int mode, const real *w, const real *const *o,
                      const real *gy, real *const *go, real *gw);
/* The weight gradient of k_mixed_bwd from the dot products d_k = <gy, o[k]>
 * (computed by the caller, e.g. some by k_bn_out_dot). w, gw: (P), d: (P). */
K_FN void k_mixed_wgrad(int P, int mode, const real *w, const real_acc *d, real *gw);

#endif
