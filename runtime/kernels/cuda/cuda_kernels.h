/* cuda_kernels.h: the host-side facts about the CUDA kernel templates of
 * runtime/kernels/cuda/ (the .cu files), shared by the code generator (which lists the
 * instantiations a graph needs), the runtime (which launches them) and the
 * tests. Header only, C11, no CUDA headers needed.
 *
 * - KC_KERNELS: one row per kernel template: its name, its source file and
 *   the number of template arguments (all int). A kernel instantiation is
 *   written "name<a0,a1,...>" (the NVRTC name expression); a kernel with no
 *   template arguments is written "name".
 * - kc_expr(): the NVRTC name expression of an instantiation.
 * - kc_launch(): the grid and block of an instantiation at batch N.
 * - kc_pw_tile(), kc_dw_vw(), kc_split(), kc_mixed_nb(), kc_norm_nb(): the tuning choices
 *   that become template arguments, so every user picks the same ones. */
#ifndef SHARP_CUDA_KERNELS_H
#define SHARP_CUDA_KERNELS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Threads per block of every kernel (SHARP_NT in sharp_cuda.cuh). */
#define KC_NT 256

/* X(id, source file, template argument count) */
#define KC_KERNELS(X)                 \
    X(conv2d_fwd, "conv.cu", 13)        \
    X(conv2d_bwd_data, "conv.cu", 13)   \
    X(conv2d_bwd_weight, "conv.cu", 13) \
    X(dwconv_fwd, "conv.cu", 12)        \
    X(pw_fwd, "conv.cu", 8)             \
    X(pw_bwd_data, "conv.cu", 8)        \
    X(pw_bwd_weight, "conv.cu", 9)      \
    X(splitk_reduce, "conv.cu", 2)      \
    X(bn_train_fwd, "bn.cu", 4)         \
    X(bn_train_bwd, "bn.cu", 4)         \
    X(bn_eval_fwd, "bn.cu", 4)          \
    X(bn_eval_bwd, "bn.cu", 3)          \
    X(channel_affine, "bn.cu", 5)       \
    X(bn_mix_fwd, "bn.cu", 7)           \
    X(bn_mix_bwd, "bn.cu", 5)           \
    X(bn_mix_dot, "bn.cu", 4)           \
    X(relu_fwd, "elementwise.cu", 1)    \
    X(relu_bwd, "elementwise.cu", 1)    \
    X(add_fwd, "elementwise.cu", 1)     \
    X(add_bwd, "elementwise.cu", 1)     \
    X(acc, "elementwise.cu", 1)         \
    X(scale, "elementwise.cu", 1)       \
    X(zero, "elementwise.cu", 1)        \
    X(drop_path, "elementwise.cu", 1)   \
    X(maxpool_fwd, "pool.cu", 9)        \
    X(maxpool_bwd, "pool.cu", 9)        \
    X(avgpool_fwd, "pool.cu", 10)       \
    X(avgpool_bwd, "pool.cu", 10)       \
    X(pad_fwd, "pad.cu", 7)             \
    X(pad_bwd, "pad.cu", 7)             \
    X(slice_fwd, "pad.cu", 4)           \
    X(slice_bwd, "pad.cu", 4)           \
    X(concat_put, "pad.cu", 4)          \
    X(gap_fwd, "gap.cu", 2)             \
    X(gap_bwd, "gap.cu", 2)             \
    X(linear_fwd, "linear.cu", 3)       \
    X(linear_bwd_data, "linear.cu", 2)  \
    X(linear_bwd_weight, "linear.cu", 3) \
    X(softmax_ce, "softmax_ce.cu", 1)   \
    X(batch_mean, "softmax_ce.cu", 0)   \
    X(topk_correct, "softmax_ce.cu", 1) \
    X(mixed_fwd, "mixed.cu", 3)         \
    X(mixed_acc, "mixed.cu", 4)         \
    X(mixed_bwd_data, "mixed.cu", 3)    \
    X(mixed_bwd_w, "mixed.cu", 3)       \
    X(mixed_bwd_w_final, "mixed.cu", 3) \
    X(arch_softmax_fwd, "mixed.cu", 2)  \
    X(arch_softmax_bwd, "mixed.cu", 2)  \
    X(sgd_step, "optim.cu", 1)          \
    X(adam_step, "optim.cu", 0)         \
    X(grad_sq_part, "optim.cu", 1)      \
    X(clip_coef, "optim.cu", 1)         \
    X(clip_scale, "optim.cu", 0)        \
    X(vec_copy, "optim.cu", 0)          \
    X(vec_axpy, "optim.cu", 0)          \
    X(unrolled_w, "optim.cu", 0)        \
    X(hvp_combine, "optim.cu", 0)

typedef enum {
#define KC_ENUM(id, file, nargs) KC_##id,
    KC_KERNELS(KC_ENUM)
#undef KC_ENUM
    KC__COUNT
} KcKernel;

/* The source files, in a fixed order (sharp_cuda.cuh is included by each). */
static const char *const kc_files[] = { "conv.cu", "bn.cu", "elementwise.cu", "pool.cu", "pad.cu",
                                        "gap.cu", "linear.cu", "softmax_ce.cu", "mixed.cu", "optim.cu" };
#define KC_NFILES ((int)(sizeof kc_files / sizeof kc_files[0]))
/* The header every source includes, by this name. */
#define KC_HEADER "sharp_cuda.cuh"

static inline const char *kc_name(KcKernel k)
{
    static const char *const names[] = {
#define KC_NAME(id, file, nargs) #id,
        KC_KERNELS(KC_NAME)
#undef KC_NAME
    };
    return (unsigned)k < KC__COUNT ? names[k] : "?";
}

static inline const char *kc_file(KcKernel k)
{
    static const char *const files[] = {
#define KC_FILE(id, file, nargs) file,
        KC_KERNELS(KC_FILE)
#undef KC_FILE
    };
    return (unsigned)k < KC__COUNT ? files[k] : "?";
}

static inline int kc_nargs(KcKernel k)
{
    static const int n[] = {
#define KC_NARGS(id, file, nargs) nargs,
        KC_KERNELS(KC_NARGS)
#undef KC_NARGS
    };
    return (unsigned)k < KC__COUNT ? n[k] : 0;
}

/* Writes the name expression of k<a...> ("name<a0,a1,...>", or "name"
 * without template arguments) into buf. */
static inline void kc_expr(KcKernel k, const int *a, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s", kc_name(k));
    for (int i = 0; i < kc_nargs(k) && n >= 0 && (size_t)n < len; i++)
        n += snprintf(buf + n, len - (size_t)n, "%s%d", i ? "," : "<", a[i]);
    if (kc_nargs(k) && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ">");
}

/* Output length of a window op (k_out_size of cpu_kernels.h). */
static inline int kc_out(int n, int k, int s, int p, int d)
{
    return (n + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* Pointwise GEMM tile (BM rows of M, BN columns) for an M x NN product. */
static inline void kc_pw_tile(int M, int NN, int *bm, int *bn)
{
    *bm = M <= 16 ? 16 : M <= 32 ? 32 : 64;
    *bn = NN <= 16 ? 16 : NN <= 32 ? 32 : 64;
}

/* Outputs per thread along the width in dwconv_fwd (fewer for wide
 * kernels, whose taps already fill the registers). */
static inline int kc_dw_vw(int Wo, int kw)
{
    int v = kw >= 5 ? 2 : 4;
    return Wo >= v ? v : Wo >= 2 ? 2 : 1;
}

/* Split-K slices of pw_bwd_weight: enough blocks to fill a GPU when the
 * Co x Ci output is small, for a reduction of about P*64 terms. */
static inline int kc_split(int Co, int Ci, int P)
{
    int bm, bn;
    kc_pw_tile(Co, Ci, &bm, &bn);
    int tiles = ((Co + bm - 1) / bm) * ((Ci + bn - 1) / bn);
    int s = 256 / (tiles > 0 ? tiles : 1);
    int maxs = P * 64 / 256; /* keep >= 256 terms per slice at batch 64 */
    if (s > maxs)
        s = maxs;
    if (s > 64)
        s = 64;
    return s < 1 ? 1 : s;
}

/* Blocks of mixed_bwd_w's first pass for per-sample size D. */
static inline int kc_mixed_nb(int D)
{
    int nb = D / 256;
    return nb < 1 ? 1 : nb > 128 ? 128 : nb;
}

/* Blocks of grad_sq_part (the gradient norm's first pass) for n values. */
static inline int kc_norm_nb(int64_t n)
{
    int64_t nb = n / (4 * 256);
    return nb < 1 ? 1 : nb > 256 ? 256 : (int)nb;
}

/* Launch geometry. */
typedef struct {
    unsigned grid[3];  /* blocks */
    unsigned block[3]; /* threads */
} KcLaunch;

static inline unsigned kc_blocks(int64_t work)
{
    int64_t b = (work + KC_NT - 1) / KC_NT;
    if (b < 1)
        b = 1;
    return b > 65535 * 16 ? 65535u * 16u : (unsigned)b; /* grid-stride loops cover the rest */
}

/* Fills l with the grid and block of kernel k instantiated with template
 * arguments a (kc_nargs(k) of them) at batch N. */
static inline void kc_launch(KcKernel k, const int *a, int N, KcLaunch *l)
{
    int64_t n = N;
    l->grid[0] = l->grid[1] = l->grid[2] = 1;
    l->block[0] = KC_NT;
    l->block[1] = l->block[2] = 1;
    switch (k) {
    case KC_conv2d_fwd: { /* Ci H W Co KH KW SH SW PH PW DH DW G */
        int Ho = kc_out(a[1], a[4], a[6], a[8], a[10]), Wo = kc_out(a[2], a[5], a[7], a[9], a[11]);
        l->grid[0] = kc_blocks(n * a[3] * Ho * Wo);
        break;
    }
    case KC_conv2d_bwd_data:
        l->grid[0] = kc_blocks(n * a[0] * a[1] * a[2]);
        break;
    case KC_conv2d_bwd_weight: /* one block per (co, ci/g, group of <= 16 taps) */
        l->grid[0] = (unsigned)(a[3] * (a[0] / a[12]));
        l->grid[1] = (unsigned)((a[4] * a[5] + 15) / 16);
        break;
    case KC_dwconv_fwd: { /* C H W KH KW SH SW PH PW DH DW VW */
        int Ho = kc_out(a[1], a[3], a[5], a[7], a[9]), Wo = kc_out(a[2], a[4], a[6], a[8], a[10]);
        l->grid[0] = kc_blocks(n * a[0] * Ho * ((Wo + a[11] - 1) / a[11]));
        break;
    }
    case KC_pw_fwd: { /* Ci H W Co SH SW BM BN */
        int P = ((a[1] - 1) / a[4] + 1) * ((a[2] - 1) / a[5] + 1);
        l->grid[0] = (unsigned)((P + a[7] - 1) / a[7]);
        l->grid[1] = (unsigned)((a[3] + a[6] - 1) / a[6]);
        l->grid[2] = (unsigned)N;
        break;
    }
    case KC_pw_bwd_data:
        l->grid[0] = (unsigned)((a[1] * a[2] + a[7] - 1) / a[7]);
        l->grid[1] = (unsigned)((a[0] + a[6] - 1) / a[6]);
        l->grid[2] = (unsigned)N;
        break;
    case KC_pw_bwd_weight: /* Ci H W Co SH SW BM BN SPLIT */
        l->grid[0] = (unsigned)((a[0] + a[7] - 1) / a[7]);
        l->grid[1] = (unsigned)((a[3] + a[6] - 1) / a[6]);
        l->grid[2] = (unsigned)a[8];
        break;
    case KC_splitk_reduce:
        l->grid[0] = kc_blocks(a[1]);
        break;
    case KC_bn_train_fwd:
    case KC_bn_train_bwd:
    case KC_bn_eval_bwd: /* one block per channel */
    case KC_bn_mix_fwd:
    case KC_bn_mix_bwd:
        l->grid[0] = (unsigned)a[0];
        break;
    case KC_bn_eval_fwd:
    case KC_channel_affine:
        l->grid[0] = kc_blocks(n * a[0] * a[1]);
        break;
    case KC_relu_fwd:
    case KC_relu_bwd:
    case KC_add_fwd:
    case KC_add_bwd:
    case KC_acc:
    case KC_scale:
    case KC_zero:
    case KC_drop_path:
        l->grid[0] = kc_blocks(a[0] % 4 == 0 ? n * (a[0] / 4) : n * a[0]);
        break;
    case KC_maxpool_fwd:
    case KC_avgpool_fwd: { /* C H W KH KW SH SW PH PW */
        int Ho = kc_out(a[1], a[3], a[5], a[7], 1), Wo = kc_out(a[2], a[4], a[6], a[8], 1);
        l->grid[0] = kc_blocks(n * a[0] * Ho * Wo);
        break;
    }
    case KC_maxpool_bwd:
    case KC_avgpool_bwd:
        l->grid[0] = kc_blocks(n * a[0] * a[1] * a[2]);
        break;
    case KC_pad_fwd: /* C H W T B L R */
        l->grid[0] = kc_blocks(n * a[0] * (a[1] + a[3] + a[4]) * (a[2] + a[5] + a[6]));
        break;
    case KC_pad_bwd:
        l->grid[0] = kc_blocks(n * a[0] * a[1] * a[2]);
        break;
    case KC_slice_fwd: /* C HW C0 CS */
        l->grid[0] = kc_blocks(n * a[3] * a[1]);
        break;
    case KC_slice_bwd:
        l->grid[0] = kc_blocks(n * a[0] * a[1]);
        break;
    case KC_concat_put: /* CTOT HW C0 CI */
        l->grid[0] = kc_blocks(n * a[3] * a[1]);
        break;
    case KC_gap_fwd: /* one warp per (n, c) */
        l->grid[0] = kc_blocks(n * a[0] * 32);
        break;
    case KC_gap_bwd:
        l->grid[0] = kc_blocks(n * a[0] * a[1]);
        break;
    case KC_linear_fwd: /* I O BIAS: one warp per output */
        l->grid[0] = kc_blocks(n * a[1] * 32);
        break;
    case KC_linear_bwd_data:
        l->grid[0] = kc_blocks(n * a[0]);
        break;
    case KC_linear_bwd_weight:
        l->grid[0] = kc_blocks((int64_t)a[1] * a[0] + a[1]);
        break;
    case KC_softmax_ce: /* one warp per sample */
        l->grid[0] = kc_blocks(n * 32);
        break;
    case KC_batch_mean:
    case KC_topk_correct:
    case KC_mixed_bwd_w_final:
        l->grid[0] = 1;
        break;
    case KC_mixed_fwd:
    case KC_mixed_acc:
    case KC_mixed_bwd_data:
        l->grid[0] = kc_blocks(n * a[0]);
        break;
    case KC_mixed_bwd_w: /* D P NB */
        l->grid[0] = (unsigned)a[2];
        break;
    case KC_bn_mix_dot: /* C HW AFFINE NB */
        l->grid[0] = (unsigned)a[3];
        break;
    case KC_sgd_step: /* N: the element count */
    case KC_adam_step:
    case KC_clip_scale:
    case KC_vec_copy:
    case KC_vec_axpy:
    case KC_unrolled_w:
    case KC_hvp_combine:
        l->grid[0] = kc_blocks(n);
        break;
    case KC_grad_sq_part: /* NB */
        l->grid[0] = (unsigned)a[0];
        break;
    case KC_clip_coef:
        l->grid[0] = 1;
        break;
    case KC_arch_softmax_fwd:
    case KC_arch_softmax_bwd:
        l->grid[0] = kc_blocks(a[0]);
        break;
    case KC__COUNT:
        break;
    }
}

/* The kernel named `name` (without template arguments), KC__COUNT if none. */
static inline KcKernel kc_find(const char *name)
{
    for (int k = 0; k < KC__COUNT; k++)
        if (strcmp(kc_name((KcKernel)k), name) == 0)
            return (KcKernel)k;
    return KC__COUNT;
}

#endif
