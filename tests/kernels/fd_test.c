/* fd_test.c: every kernel backward against central finite differences.
 *
 * Built against the double-precision build of the kernel sources
 * (-DSHARP_REAL=double). For a scalar loss L = sum(gy * y) with a random gy,
 * each input element v is perturbed to v +- eps and
 * dL/dv ~ sum(gy * (y(v+eps) - y(v-eps))) / (2 eps) (the difference is taken
 * elementwise before the sum, which keeps roundoff far below the tolerance).
 * The analytic gradient must satisfy |a - fd| <= ATOL + RTOL*|fd|. Also checks
 * the MixedOp multipliers of spec §13.8 exactly. */
#include "cpu_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-6
#define RTOL 1e-6
#define ATOL 1e-8
#define MAXIN 10

/* One finite-difference case: inputs, their analytic gradients and one output. */
typedef struct Fd Fd;
struct Fd {
    const char *name;
    int p[24];            /* integer attributes, meaning set by the case's functions */
    real r[4];            /* real attributes */
    int nin;              /* number of inputs */
    real *in[MAXIN];      /* inputs */
    ptrdiff_t len[MAXIN]; /* input lengths */
    real *grad[MAXIN];    /* analytic gradients, written by bwd */
    int skip[MAXIN];      /* 1: input is not differentiated (labels, masks) */
    real *out;            /* output */
    ptrdiff_t nout;       /* output length */
    real *gy;             /* output gradient */
    real *scratch[4];     /* per-case scratch, sized by the setup */
    void (*fwd)(Fd *f);   /* out = f(in) */
    void (*bwd)(Fd *f);   /* grad = J^T gy */
};

static int total_checks, failures;
static double worst_abs, worst_rel, worst_ratio;
static const char *worst_case = "";

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* Uniform in [-1, 1). */
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2 - 1;
}

static real *alloc(ptrdiff_t n)
{
    real *p = calloc((size_t)(n > 0 ? n : 1), sizeof(real));
    if (!p) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        exit(1);
    }
    return p;
}

static real *rand_tensor(ptrdiff_t n, double lo, double hi)
{
    real *p = alloc(n);
    for (ptrdiff_t i = 0; i < n; i++)
        p[i] = (real)(lo + (hi - lo) * (urand() + 1) / 2);
    return p;
}

/* Adds input i of length n, uniform in [-1, 1). */
static real *add_in(Fd *f, ptrdiff_t n)
{
    int i = f->nin++;
    f->len[i] = n;
    f->in[i] = rand_tensor(n, -1, 1);
    f->grad[i] = alloc(n);
    return f->in[i];
}

/* Runs the case: forward, backward, then a finite difference per element. */
static void fd_run(Fd *f, ptrdiff_t nout)
{
    f->nout = nout;
    f->out = alloc(nout);
    f->gy = rand_tensor(nout, -1, 1);
    real *yp = alloc(nout);
    f->fwd(f);
    f->bwd(f);
    int checks = 0, bad = 0;
    double cabs = 0, crel = 0;
    for (int i = 0; i < f->nin; i++) {
        if (f->skip[i])
            continue;
        for (ptrdiff_t j = 0; j < f->len[i]; j++) {
            real v = f->in[i][j];
            f->in[i][j] = v + EPS;
            f->fwd(f);
            memcpy(yp, f->out, sizeof(real) * (size_t)nout);
            f->in[i][j] = v - EPS;
            f->fwd(f);
            f->in[i][j] = v;
            double d = 0;
            for (ptrdiff_t k = 0; k < nout; k++)
                d += (double)f->gy[k] * ((double)yp[k] - (double)f->out[k]);
            double fd = d / (2 * EPS), a = f->grad[i][j];
            double err = fabs(a - fd), rel = err / (fabs(fd) > 1e-3 ? fabs(fd) : 1e-3);
            double ratio = err / (ATOL + RTOL * fabs(fd));
            checks++;
            if (err > cabs)
                cabs = err;
            if (rel > crel)
                crel = rel;
            if (ratio > worst_ratio) {
                worst_ratio = ratio;
                worst_case = f->name;
            }
            if (ratio > 1) {
                if (bad < 5)
                    fprintf(stderr, "FAIL %s: input %d [%td]: analytic %.12g fd %.12g\n", f->name,
                            i, j, a, fd);
                bad++;
            }
        }
    }
    total_checks += checks;
    failures += bad;
    if (cabs > worst_abs)
        worst_abs = cabs;
    if (crel > worst_rel)
        worst_rel = crel;
    printf("%-44s %6d checks  max abs err %.2e  max rel err %.2e%s\n", f->name, checks, cabs,
           crel, bad ? "  FAILED" : "");
    for (int i = 0; i < f->nin; i++) {
        free(f->in[i]);
        free(f->grad[i]);
    }
    for (int i = 0; i < 4; i++)
        free(f->scratch[i]);
    free(f->out);
    free(f->gy);
    free(yp);
}

/* ---- conv2d: p = N Ci H W Co kh kw sh sw ph pw dh dw g; in = x, w ---- */

#define CONV_ARGS(f)                                                                               \
    (f)->p[0], (f)->p[1], (f)->p[2], (f)->p[3], (f)->p[4], (f)->p[5], (f)->p[6], (f)->p[7],        \
        (f)->p[8], (f)->p[9], (f)->p[10], (f)->p[11], (f)->p[12], (f)->p[13]

static void conv_fwd(Fd *f)
{
    k_conv2d_fwd(CONV_ARGS(f), f->in[0], f->in[1], f->out);
}

static void conv_bwd(Fd *f)
{
    k_conv2d_bwd_data(CONV_ARGS(f), f->gy, f->in[1], f->grad[0]);
    k_conv2d_bwd_weight(CONV_ARGS(f), f->in[0], f->gy, f->grad[1]);
}

static void conv_case(const char *name, int N, int Ci, int H, int W, int Co, int kh, int kw,
                      int sh, int sw, int ph, int pw, int dh, int dw, int g)
{
    Fd f = {.name = name, .p = {N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g}};
    f.fwd = conv_fwd;
    f.bwd = conv_bwd;
    add_in(&f, (ptrdiff_t)N * Ci * H * W);
    add_in(&f, (ptrdiff_t)Co * (Ci / g) * kh * kw);
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    fd_run(&f, (ptrdiff_t)N * Co * Ho * Wo);
}

/* ---- fused BN + ReLU + conv: p = conv args, affine; in = x, w (gamma beta) ----
 * The training BN computes statistics only (y == NULL), k_bn_affine turns
 * them into scale and shift, and the conv reads relu(bn(x)) through its
 * prologue; the backward is the weight gradient with the prologue, the data
 * gradient, the ReLU mask recomputed from x, and the BN backward. */

static void fused_fwd(Fd *f)
{
    int N = f->p[0], C = f->p[1], HW = f->p[2] * f->p[3], aff = f->p[14];
    real *mean = f->scratch[0], *invstd = f->scratch[1], *scale = f->scratch[2], *shift = f->scratch[3];
    const real *gamma = aff ? f->in[2] : NULL, *beta = aff ? f->in[3] : NULL;
    k_bn_train_fwd(N, C, HW, (real)1e-5, (real)0.1, f->in[0], gamma, beta, NULL, mean, invstd, NULL,
                   NULL);
    k_bn_affine(C, gamma, beta, invstd, scale, shift);
    k_conv2d_fwd_pre(CONV_ARGS(f), mean, scale, shift, f->in[0], f->in[1], f->out);
}

static void fused_bwd(Fd *f)
{
    int N = f->p[0], C = f->p[1], HW = f->p[2] * f->p[3], aff = f->p[14];
    real *mean = f->scratch[0], *invstd = f->scratch[1], *scale = f->scratch[2], *shift = f->scratch[3];
    const real *gamma = aff ? f->in[2] : NULL;
    fused_fwd(f);
    ptrdiff_t n = (ptrdiff_t)N * C * HW;
    real *g = alloc(n);
    k_conv2d_bwd_weight_pre(CONV_ARGS(f), mean, scale, shift, f->in[0], f->gy, f->grad[1]);
    k_conv2d_bwd_data(CONV_ARGS(f), f->gy, f->in[1], g);
    k_relu_bwd_pre(N, C, HW, mean, scale, shift, f->in[0], g, g);
    k_bn_train_bwd(N, C, HW, f->in[0], g, gamma, mean, invstd, f->grad[0], aff ? f->grad[2] : NULL,
                   aff ? f->grad[3] : NULL);
    free(g);
}

static void fused_case(const char *name, int N, int Ci, int H, int W, int Co, int kh, int kw,
                       int sh, int sw, int ph, int pw, int dh, int dw, int g, int affine)
{
    Fd f = {.name = name, .p = {N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, affine}};
    f.fwd = fused_fwd;
    f.bwd = fused_bwd;
    real *x = add_in(&f, (ptrdiff_t)N * Ci * H * W);
    for (ptrdiff_t i = 0; i < (ptrdiff_t)N * Ci * H * W; i++)
        x[i] = x[i] * 2 + (real)0.5;
    add_in(&f, (ptrdiff_t)Co * (Ci / g) * kh * kw);
    if (affine) {
        real *gm = add_in(&f, Ci);
        for (int c = 0; c < Ci; c++)
            gm[c] += (real)1.5;
        add_in(&f, Ci);
    }
    for (int i = 0; i < 4; i++)
        f.scratch[i] = alloc(Ci);
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    fd_run(&f, (ptrdiff_t)N * Co * Ho * Wo);
}

/* ---- batch norm: p = N C HW affine train; r = eps; in = x (gamma beta) ---- */

static void bn_fwd(Fd *f)
{
    int N = f->p[0], C = f->p[1], HW = f->p[2], aff = f->p[3];
    const real *gamma = aff ? f->in[1] : NULL, *beta = aff ? f->in[2] : NULL;
    if (f->p[4])
        k_bn_train_fwd(N, C, HW, f->r[0], (real)0.1, f->in[0], gamma, beta, f->out,
                       f->scratch[0], f->scratch[1], NULL, NULL);
    else
        k_bn_eval_fwd(N, C, HW, f->r[0], f->in[0], gamma, beta, f->scratch[2], f->scratch[3],
                      f->out);
}

static void bn_bwd(Fd *f)
{
    int N = f->p[0], C = f->p[1], HW = f->p[2], aff = f->p[3];
    const real *gamma = aff ? f->in[1] : NULL;
    real *gg = aff ? f->grad[1] : NULL, *gb = aff ? f->grad[2] : NULL;
    bn_fwd(f); /* refresh the saved statistics for the unperturbed input */
    if (f->p[4])
        k_bn_train_bwd(N, C, HW, f->in[0], f->gy, gamma, f->scratch[0], f->scratch[1],
                       f->grad[0], gg, gb);
    else
        k_bn_eval_bwd(N, C, HW, f->r[0], f->in[0], f->gy, gamma, f->scratch[2], f->scratch[3],
                      f->grad[0], gg, gb);
}

static void bn_case(const char *name, int N, int C, int HW, int affine, int train, double eps)
{
    Fd f = {.name = name, .p = {N, C, HW, affine, train}, .r = {(real)eps}};
    f.fwd = bn_fwd;
    f.bwd = bn_bwd;
    real *x = add_in(&f, (ptrdiff_t)N * C * HW);
    for (ptrdiff_t i = 0; i < (ptrdiff_t)N * C * HW; i++)
        x[i] = x[i] * 2 + (real)0.5; /* nonzero mean, non-unit variance */
    if (affine) {
        real *g = add_in(&f, C);
        for (int c = 0; c < C; c++)
            g[c] += (real)1.5;
        add_in(&f, C);
    }
    f.scratch[0] = alloc(C);
    f.scratch[1] = alloc(C);
    f.scratch[2] = rand_tensor(C, -0.5, 0.5); /* running mean */
    f.scratch[3] = rand_tensor(C, 0.5, 2.0);  /* running var */
    fd_run(&f, (ptrdiff_t)N * C * HW);
}

/* ---- relu: in = x ---- */

static void relu_fwd(Fd *f)
{
    k_relu_fwd(f->len[0], f->in[0], f->out);
}

static void relu_bwd(Fd *f)
{
    relu_fwd(f);
    k_relu_bwd(f->len[0], f->out, f->gy, f->grad[0]);
}

static void relu_case(void)
{
    Fd f = {.name = "relu (2,3,5,7)"};
    f.fwd = relu_fwd;
    f.bwd = relu_bwd;
    add_in(&f, 2 * 3 * 5 * 7);
    fd_run(&f, 2 * 3 * 5 * 7);
}

/* ---- pools: p = N C H W kh kw sh sw ph pw max cip; in = x ---- */

static void pool_fwd(Fd *f)
{
    int *p = f->p;
    if (p[10])
        k_maxpool_fwd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], f->in[0], f->out);
    else
        k_avgpool_fwd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[11], f->in[0],
                      f->out);
}

static void pool_bwd(Fd *f)
{
    int *p = f->p;
    if (p[10])
        k_maxpool_bwd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], f->in[0], f->gy,
                      f->grad[0]);
    else
        k_avgpool_bwd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[11], f->gy,
                      f->grad[0]);
}

static void pool_case(const char *name, int N, int C, int H, int W, int k, int s, int pad,
                      int is_max, int cip)
{
    Fd f = {.name = name, .p = {N, C, H, W, k, k, s, s, pad, pad, is_max, cip}};
    f.fwd = pool_fwd;
    f.bwd = pool_bwd;
    add_in(&f, (ptrdiff_t)N * C * H * W);
    int Ho = k_out_size(H, k, s, pad, 1), Wo = k_out_size(W, k, s, pad, 1);
    fd_run(&f, (ptrdiff_t)N * C * Ho * Wo);
}

/* ---- pad: p = N C H W top bottom left right; in = x ---- */

static void pad_fwd(Fd *f)
{
    int *p = f->p;
    k_pad_fwd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], f->in[0], f->out);
}

static void pad_bwd(Fd *f)
{
    int *p = f->p;
    k_pad_bwd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], f->gy, f->grad[0]);
}

static void pad_case(const char *name, int N, int C, int H, int W, int t, int b, int l, int r)
{
    Fd f = {.name = name, .p = {N, C, H, W, t, b, l, r}};
    f.fwd = pad_fwd;
    f.bwd = pad_bwd;
    add_in(&f, (ptrdiff_t)N * C * H * W);
    fd_run(&f, (ptrdiff_t)N * C * (H + t + b) * (W + l + r));
}

/* ---- channel slice: p = N C HW c0 Cs; in = x ---- */

static void slice_fwd(Fd *f)
{
    k_slice_channels_fwd(f->p[0], f->p[1], f->p[2], f->p[3], f->p[4], f->in[0], f->out);
}

static void slice_bwd(Fd *f)
{
    k_slice_channels_bwd(f->p[0], f->p[1], f->p[2], f->p[3], f->p[4], f->gy, f->grad[0]);
}

static void slice_case(void)
{
    Fd f = {.name = "slice channels (2,7,3x5)[2:5]", .p = {2, 7, 15, 2, 3}};
    f.fwd = slice_fwd;
    f.bwd = slice_bwd;
    add_in(&f, 2 * 7 * 15);
    fd_run(&f, 2 * 3 * 15);
}

/* ---- concat: p = N HW n C0..; in = x0.. ---- */

static void concat_fwd(Fd *f)
{
    k_concat_fwd(f->p[0], f->p[1], f->p[2], f->p + 3, (const real *const *)f->in, f->out);
}

static void concat_bwd(Fd *f)
{
    k_concat_bwd(f->p[0], f->p[1], f->p[2], f->p + 3, f->gy, f->grad);
}

static void concat_case(void)
{
    Fd f = {.name = "concat (2,{3,1,4},3x3)", .p = {2, 9, 3, 3, 1, 4}};
    f.fwd = concat_fwd;
    f.bwd = concat_bwd;
    for (int i = 0; i < 3; i++)
        add_in(&f, 2 * f.p[3 + i] * 9);
    fd_run(&f, 2 * 8 * 9);
}

/* ---- elementwise: p = op (0 add, 1 scale); r = a ---- */

static void elt_fwd(Fd *f)
{
    if (f->p[0] == 0)
        k_add_fwd(f->len[0], f->in[0], f->in[1], f->out);
    else
        k_scale_fwd(f->len[0], f->r[0], f->in[0], f->out);
}

static void elt_bwd(Fd *f)
{
    if (f->p[0] == 0)
        k_add_bwd(f->len[0], f->gy, f->grad[0], f->grad[1]);
    else
        k_scale_bwd(f->len[0], f->r[0], f->gy, f->grad[0]);
}

static void elt_case(const char *name, int op)
{
    Fd f = {.name = name, .p = {op}, .r = {(real)-0.37}};
    f.fwd = elt_fwd;
    f.bwd = elt_bwd;
    add_in(&f, 60);
    if (op == 0)
        add_in(&f, 60);
    fd_run(&f, 60);
}

/* ---- zero: p = N C H W s; in = x (unused by the forward) ---- */

static void zero_fwd(Fd *f)
{
    k_zero_fwd(f->p[0], f->p[1], f->p[2], f->p[3], f->p[4], f->out);
}

static void zero_bwd(Fd *f)
{
    k_zero_bwd(f->p[0], f->p[1], f->p[2], f->p[3], f->p[4], f->grad[0]);
}

static void zero_case(void)
{
    Fd f = {.name = "zero s2 (2,3,7,7)", .p = {2, 3, 7, 7, 2}};
    f.fwd = zero_fwd;
    f.bwd = zero_bwd;
    add_in(&f, 2 * 3 * 49);
    for (ptrdiff_t i = 0; i < f.len[0]; i++)
        f.grad[0][i] = 1; /* must be overwritten with 0 */
    fd_run(&f, 2 * 3 * 16);
}

/* ---- global average pool: p = N C HW; in = x ---- */

static void gap_fwd(Fd *f)
{
    k_gap_fwd(f->p[0], f->p[1], f->p[2], f->in[0], f->out);
}

static void gap_bwd(Fd *f)
{
    k_gap_bwd(f->p[0], f->p[1], f->p[2], f->gy, f->grad[0]);
}

static void gap_case(void)
{
    Fd f = {.name = "global avg pool (3,4,5x5)", .p = {3, 4, 25}};
    f.fwd = gap_fwd;
    f.bwd = gap_bwd;
    add_in(&f, 3 * 4 * 25);
    fd_run(&f, 12);
}

/* ---- linear: p = N I O; in = x, W, b ---- */

static void linear_fwd(Fd *f)
{
    k_linear_fwd(f->p[0], f->p[1], f->p[2], f->in[0], f->in[1], f->in[2], f->out);
}

static void linear_bwd(Fd *f)
{
    k_linear_bwd(f->p[0], f->p[1], f->p[2], f->in[0], f->in[1], f->gy, f->grad[0], f->grad[1],
                 f->grad[2]);
}

static void linear_case(void)
{
    Fd f = {.name = "linear (5,12)->7", .p = {5, 12, 7}};
    f.fwd = linear_fwd;
    f.bwd = linear_bwd;
    add_in(&f, 5 * 12);
    add_in(&f, 7 * 12);
    add_in(&f, 7);
    fd_run(&f, 5 * 7);
}

/* ---- softmax cross-entropy: p = N K; in = logits; labels in scratch ---- */

static void ce_labels(Fd *f, int32_t *lab)
{
    for (int n = 0; n < f->p[0]; n++)
        lab[n] = (int32_t)f->scratch[0][n];
}

static void ce_fwd(Fd *f)
{
    int32_t lab[64];
    ce_labels(f, lab);
    f->out[0] = k_softmax_ce(f->p[0], f->p[1], f->in[0], lab, 1, NULL);
}

static void ce_bwd(Fd *f)
{
    int32_t lab[64];
    ce_labels(f, lab);
    k_softmax_ce(f->p[0], f->p[1], f->in[0], lab, f->gy[0], f->grad[0]);
}

static void ce_case(void)
{
    Fd f = {.name = "softmax cross-entropy (6,10)", .p = {6, 10}};
    f.fwd = ce_fwd;
    f.bwd = ce_bwd;
    real *z = add_in(&f, 60);
    for (int i = 0; i < 60; i++)
        z[i] *= 4;
    f.scratch[0] = alloc(6);
    for (int n = 0; n < 6; n++)
        f.scratch[0][n] = (real)((n * 7 + 3) % 10);
    fd_run(&f, 1);
}

/* ---- drop path: p = N D; r = keep; in = x; mask in scratch ---- */

static void dp_fwd(Fd *f)
{
    k_drop_path_fwd(f->p[0], f->p[1], f->r[0], f->scratch[0], f->in[0], f->out);
}

static void dp_bwd(Fd *f)
{
    k_drop_path_bwd(f->p[0], f->p[1], f->r[0], f->scratch[0], f->gy, f->grad[0]);
}

static void dp_case(void)
{
    Fd f = {.name = "drop path (4,2x3x3) keep 0.8", .p = {4, 18}, .r = {(real)0.8}};
    f.fwd = dp_fwd;
    f.bwd = dp_bwd;
    add_in(&f, 4 * 18);
    f.scratch[0] = alloc(4);
    f.scratch[0][0] = 1;
    f.scratch[0][2] = 1;
    f.scratch[0][3] = 1;
    fd_run(&f, 4 * 18);
}

/* ---- mixed op: p = n P mode none; in = o0..o(P-1), w ---- */

static void mixed_ops(Fd *f, const real **o)
{
    for (int k = 0; k < f->p[1]; k++)
        o[k] = k == f->p[3] ? NULL : f->in[k];
}

static void mixed_fwd(Fd *f)
{
    const real *o[MAXIN];
    mixed_ops(f, o);
    k_mixed_fwd(f->p[0], f->p[1], f->p[2], f->in[f->p[1]], o, f->out);
}

static void mixed_bwd(Fd *f)
{
    const real *o[MAXIN];
    mixed_ops(f, o);
    k_mixed_bwd(f->p[0], f->p[1], f->p[2], f->in[f->p[1]], o, f->gy, f->grad, f->grad[f->p[1]]);
}

static void mixed_case(const char *name, int mode, int none)
{
    int n = 30, P = 5;
    Fd f = {.name = name, .p = {n, P, mode, none}};
    f.fwd = mixed_fwd;
    f.bwd = mixed_bwd;
    for (int k = 0; k < P; k++)
        add_in(&f, n);
    real *alpha = rand_tensor(P, -1, 1), *w = add_in(&f, P);
    k_arch_softmax_fwd(1, P, alpha, w); /* distinct weights, no ties */
    free(alpha);
    if (none >= 0)
        f.skip[none] = 1; /* that input is never read */
    fd_run(&f, n);
}

/* ---- arch softmax: p = E P; in = alpha ---- */

static void asm_fwd(Fd *f)
{
    k_arch_softmax_fwd(f->p[0], f->p[1], f->in[0], f->out);
}

static void asm_bwd(Fd *f)
{
    asm_fwd(f);
    k_arch_softmax_bwd(f->p[0], f->p[1], f->out, f->gy, f->grad[0]);
}

static void asm_case(void)
{
    Fd f = {.name = "arch softmax (14,8)", .p = {14, 8}};
    f.fwd = asm_fwd;
    f.bwd = asm_bwd;
    add_in(&f, 14 * 8);
    fd_run(&f, 14 * 8);
}

/* ---- exact checks: spec §13.8 ---- */

static void spec_check(const char *what, double got, double want)
{
    total_checks++;
    if (fabs(got - want) > 1e-15) {
        fprintf(stderr, "FAIL spec %s: got %.17g want %.17g\n", what, got, want);
        failures++;
    }
}

static void spec_cases(void)
{
    real w[3] = {0.1, 0.2, 0.7}, c[3];
    double sc[3] = {0.1, 0.2, 0.7}, mw[3] = {1 - 0.7 + 0.1, 1 - 0.7 + 0.2, 1.0};
    k_mixed_coef(3, MIX_SCALAR, w, c);
    for (int k = 0; k < 3; k++)
        spec_check("scalar multiplier", c[k], sc[k]);
    k_mixed_coef(3, MIX_MAX_W, w, c);
    for (int k = 0; k < 3; k++)
        spec_check("max_w multiplier", c[k], mw[k]);
    spec_check("max_w 0.4", c[0], 0.4);
    spec_check("max_w 0.5", c[1], 0.5);
    real u[8], cu[8];
    for (int k = 0; k < 8; k++)
        u[k] = 0.125;
    k_mixed_coef(8, MIX_MAX_W, u, cu);
    for (int k = 0; k < 8; k++)
        spec_check("uniform max_w multiplier", cu[k], 1.0);
    /* Exact tie for the maximum: the first one takes the max term. */
    real wt[3] = {0.4, 0.4, 0.2}, o0[2] = {1, 2}, o1[2] = {3, -1}, o2[2] = {0.5, 4}, gy[2] = {1, 1};
    const real *ot[3] = {o0, o1, o2};
    real gw[3];
    k_mixed_bwd(2, 3, MIX_MAX_W, wt, ot, gy, NULL, gw);
    spec_check("max_w tie gw0", gw[0], 3 - (3 + 2 + 4.5));
    spec_check("max_w tie gw1", gw[1], 2);
    spec_check("max_w tie gw2", gw[2], 4.5);
    printf("%-44s %6d checks  (exact)\n", "spec 13.8 multipliers, max_w tie", 19);
}

int main(void)
{
    printf("finite differences in double: eps %g, |a-fd| <= %g + %g*|fd|\n", EPS, ATOL, RTOL);
    conv_case("conv 3x3 s1 p1 (2,3,7,7)->4", 2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    conv_case("conv 3x3 s2 p1 (2,3,8,8)->4", 2, 3, 8, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1);
    conv_case("conv 3x3 s2 p1 odd (1,2,7,9)->3", 1, 2, 7, 9, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1);
    conv_case("conv 1x1 s2 p0 (2,4,7,7)->2", 2, 4, 7, 7, 2, 1, 1, 2, 2, 0, 0, 1, 1, 1);
    conv_case("dw 3x3 d2 p2 (2,4,8,7)", 2, 4, 8, 7, 4, 3, 3, 1, 1, 2, 2, 2, 2, 4);
    conv_case("dw 5x5 s2 d2 p4 (1,3,9,9)", 1, 3, 9, 9, 3, 5, 5, 2, 2, 4, 4, 2, 2, 3);
    conv_case("dw 5x5 p2 (2,2,6,6)", 2, 2, 6, 6, 2, 5, 5, 1, 1, 2, 2, 1, 1, 2);
    conv_case("groups 2 3x3 (2,4,5,6)->6", 2, 4, 5, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2);
    conv_case("conv 1x7 s(1,2) p(0,3) (2,3,6,9)->3", 2, 3, 6, 9, 3, 1, 7, 1, 2, 0, 3, 1, 1, 1);
    conv_case("conv 7x1 s(2,1) p(3,0) (2,3,9,5)->4", 2, 3, 9, 5, 4, 7, 1, 2, 1, 3, 0, 1, 1, 1);
    conv_case("conv 3x3 no pad (1,2,5,5)->2", 1, 2, 5, 5, 2, 3, 3, 1, 1, 0, 0, 1, 1, 1);
    conv_case("pw 1x1 GEMM (2,5,7,7)->6", 2, 5, 7, 7, 6, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    conv_case("pw 1x1 GEMM (1,3,9,9)->5", 1, 3, 9, 9, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    conv_case("dw 3x3 p1 even width (2,3,5,8)", 2, 3, 5, 8, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3);
    conv_case("dw 3x3 p1 odd width (1,2,6,7)", 1, 2, 6, 7, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2);
    conv_case("dw 5x5 s2 p2 (1,2,8,9)", 1, 2, 8, 9, 2, 5, 5, 2, 2, 2, 2, 1, 1, 2);
    conv_case("dw 3x3 s2 d2 p2 (1,2,9,8)", 1, 2, 9, 8, 2, 3, 3, 2, 2, 2, 2, 2, 2, 2);
    conv_case("aux 2x2 im2col (2,6,2,2)->5", 2, 6, 2, 2, 5, 2, 2, 1, 1, 0, 0, 1, 1, 1);
    fused_case("bn+relu+dw 3x3 p1 affine (2,3,6,7)", 2, 3, 6, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, 1);
    fused_case("bn+relu+dw 5x5 p2 non-affine (2,2,6,6)", 2, 2, 6, 6, 2, 5, 5, 1, 1, 2, 2, 1, 1, 2, 0);
    fused_case("bn+relu+dw 3x3 s2 d2 p2 (1,2,9,8)", 1, 2, 9, 8, 2, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1);
    fused_case("bn+relu+conv 1x1 ref path (2,3,5,5)->4", 2, 3, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1);
    bn_case("bn train affine (4,3,5x5)", 4, 3, 25, 1, 1, 1e-5);
    bn_case("bn train non-affine (3,4,3x3)", 3, 4, 9, 0, 1, 1e-5);
    bn_case("bn train affine eps 1e-3 (8,5,1)", 8, 5, 1, 1, 1, 1e-3);
    bn_case("bn eval affine (2,3,4x4)", 2, 3, 16, 1, 0, 1e-5);
    bn_case("bn eval non-affine (2,3,3x3)", 2, 3, 9, 0, 0, 1e-3);
    relu_case();
    pool_case("max 3x3 s1 p1 (2,3,6,6)", 2, 3, 6, 6, 3, 1, 1, 1, 0);
    pool_case("max 3x3 s2 p1 odd (2,2,7,7)", 2, 2, 7, 7, 3, 2, 1, 1, 0);
    pool_case("max 2x2 s2 p0 (1,2,6,6)", 1, 2, 6, 6, 2, 2, 0, 1, 0);
    pool_case("avg 3x3 s1 p1 include pad (2,3,5,6)", 2, 3, 5, 6, 3, 1, 1, 0, 1);
    pool_case("avg 3x3 s1 p1 exclude pad (2,3,5,6)", 2, 3, 5, 6, 3, 1, 1, 0, 0);
    pool_case("avg 3x3 s2 p1 include pad (2,2,7,7)", 2, 2, 7, 7, 3, 2, 1, 0, 1);
    pool_case("avg 3x3 s2 p1 exclude pad (2,2,8,8)", 2, 2, 8, 8, 3, 2, 1, 0, 0);
    pad_case("pad shift up-left (-1,1,-1,1) (2,3,5,5)", 2, 3, 5, 5, -1, 1, -1, 1);
    pad_case("pad (2,1,0,3) (1,2,4,3)", 1, 2, 4, 3, 2, 1, 0, 3);
    pad_case("crop (-2,-1,-1,0) (2,2,6,5)", 2, 2, 6, 5, -2, -1, -1, 0);
    pad_case("pad/crop mixed (1,-2,-3,2) (1,2,6,7)", 1, 2, 6, 7, 1, -2, -3, 2);
    slice_case();
    concat_case();
    elt_case("add (60)", 0);
    elt_case("scale -0.37 (60)", 1);
    zero_case();
    gap_case();
    linear_case();
    ce_case();
    dp_case();
    mixed_case("mixed scalar P5", MIX_SCALAR, -1);
    mixed_case("mixed max_w P5", MIX_MAX_W, -1);
    mixed_case("mixed scalar P5 with none op 0", MIX_SCALAR, 0);
    mixed_case("mixed max_w P5 with none op 2", MIX_MAX_W, 2);
    asm_case();
    spec_cases();
    printf("kernels_fd: %d checks, %d failed; worst abs err %.3e, worst rel err %.3e, "
           "worst err/tol %.3f (%s)\n",
           total_checks, failures, worst_abs, worst_rel, worst_ratio, worst_case);
    return failures ? 1 : 0;
}
