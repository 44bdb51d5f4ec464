/* gpu_vs_cpu.c: runs every CUDA kernel of runtime/kernels/cuda/ on random
 * data at a few shapes and compares it with its CPU reference (kc_ref.h,
 * called with the same template and launch arguments on host copies; the
 * optimizers with rt_optim.c): |gpu - cpu| <= 1e-5 + 1e-4*|cpu|
 * elementwise, printing the worst element of each check. Exits 77
 * (skipped) without a GPU.
 * usage: gpu_vs_cpu KERNEL_DIR */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"
#include "cuda_kernels.h"
#include "kernel_ref.h"
#include "sharprt.h"

static const char *kdir;
static int checks, failures;
static char err[16384];

#define DIE(...)                                \
    do {                                        \
        fprintf(stderr, "gpu_vs_cpu: " __VA_ARGS__); \
        fprintf(stderr, "\n");                  \
        exit(1);                                \
    } while (0)
#define OK(call)                                \
    do {                                        \
        if ((call) != 0)                        \
            DIE("%s: %s", #call, err);          \
    } while (0)

/* ---- data ---- */

static uint64_t rng = 88172645463325252ULL;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *rnd(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}
static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }
static RtDevPtr dev(const float *h, size_t n)
{
    RtDevPtr d;
    OK(rt_cuda_alloc(&d, sizeof(float) * (n ? n : 1), err, sizeof err));
    if (h)
        OK(rt_cuda_h2d(d, h, sizeof(float) * n, err, sizeof err));
    else
        OK(rt_cuda_memset0(d, sizeof(float) * (n ? n : 1), err, sizeof err));
    return d;
}
static float *host(RtDevPtr d, size_t n)
{
    float *h = malloc(sizeof(float) * (n ? n : 1));
    OK(rt_cuda_d2h(h, d, sizeof(float) * n, err, sizeof err));
    return h;
}

/* Compares n values, prints the worst, counts a failure. */
static void cmp_host(const char *what, const float *got, const float *want, size_t n)
{
    double worst = -1e30, wa = 0, wb = 0;
    size_t wi = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double a = got[i], b = want[i], ex = fabs(a - b) - (1e-5 + 1e-4 * fabs(b));
        if (ex > worst || a != a) {
            worst = a != a ? 1e30 : ex;
            wi = i;
            wa = a;
            wb = b;
        }
        bad += ex > 0 || a != a;
    }
    checks++;
    failures += bad > 0;
    printf("%s %-52s n=%-7zu worst [%zu] gpu %.7g cpu %.7g (|d| %.2g)\n", bad ? "FAIL" : "ok  ", what, n, wi, wa, wb,
           fabs(wa - wb));
}

/* The same for n values on the device. */
static void cmp(const char *what, RtDevPtr dgot, const float *want, size_t n)
{
    float *got = host(dgot, n);
    cmp_host(what, got, want, n);
    free(got);
}

/* ---- kernels ---- */

typedef struct {
    char expr[160];
    RtCudaImage *img;
    RtCudaModule *mod;
    void *fn;
} Loaded;
static Loaded cache[512];
static int ncache;
static RtCudaSource header;

/* Launches kernel k<a...> at batch N with cuLaunchKernel arguments args. */
static void launch(KcKernel k, const int *a, int N, void **args)
{
    char expr[160];
    kc_expr(k, a, expr, sizeof expr);
    Loaded *l = NULL;
    for (int i = 0; i < ncache; i++)
        if (strcmp(cache[i].expr, expr) == 0)
            l = &cache[i];
    if (!l) {
        if (ncache == 512)
            DIE("too many kernels");
        l = &cache[ncache++];
        snprintf(l->expr, sizeof l->expr, "%s", expr);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", kdir, kc_file(k));
        FILE *f = fopen(path, "rb");
        if (!f)
            DIE("cannot open %s", path);
        static char text[1 << 20];
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
        RtCudaSource src = { kc_file(k), text };
        const char *e = expr;
        OK(rt_nvrtc_compile(&src, &header, 1, &e, 1, NULL, &l->img, err, sizeof err));
        OK(rt_cuda_module_load(l->img, &l->mod, err, sizeof err));
        if (!(l->fn = rt_cuda_function(l->mod, expr, err, sizeof err)))
            DIE("%s", err);
    }
    KcLaunch g;
    kc_launch(k, a, N, &g);
    OK(rt_cuda_launch(l->fn, g.grid, g.block, args, err, sizeof err));
    OK(rt_cuda_sync(err, sizeof err));
}

#define A(...) ((const int[]){ __VA_ARGS__ })
#define ARGS(...) ((void *[]){ __VA_ARGS__ })

/* Runs the CPU reference of kernel k<a...> with host arguments args. */
static void ref(KcKernel k, const int *a, void **args)
{
    OK(kc_ref_launch(k, a, args, err, sizeof err));
}

/* ---- checks per kernel family ---- */

static void t_conv(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
                   int g)
{
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    size_t nx = (size_t)N * Ci * H * W, nw = (size_t)Co * (Ci / g) * kh * kw, ny = (size_t)N * Co * Ho * Wo;
    float *x = rnd(nx), *w = rnd(nw), *gy = rnd(ny), *y = zeros(ny), *gx = zeros(nx), *gw = zeros(nw);
    const int *ta = A(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    ref(KC_conv2d_fwd, ta, ARGS(&N, &x, &w, &y));
    ref(KC_conv2d_bwd_data, ta, ARGS(&N, &gy, &w, &gx));
    ref(KC_conv2d_bwd_weight, ta, ARGS(&N, &x, &gy, &gw));
    RtDevPtr dx = dev(x, nx), dw_ = dev(w, nw), dgy = dev(gy, ny), dy = dev(NULL, ny), dgx = dev(NULL, nx),
             dgw = dev(NULL, nw);
    char what[160];
    bool dwise = g > 1 && g == Ci && g == Co, pwise = kh == 1 && kw == 1 && ph == 0 && pw == 0 && g == 1;
    if (dwise) {
        launch(KC_dwconv_fwd, A(Ci, H, W, kh, kw, sh, sw, ph, pw, dh, dw, kc_dw_vw(Wo, kw)), N, ARGS(&N, &dx, &dw_, &dy));
        snprintf(what, sizeof what, "dwconv_fwd C%d %dx%d k%dx%d s%d p%d d%d", Ci, H, W, kh, kw, sh, ph, dh);
    } else if (pwise) {
        int bm, bn;
        kc_pw_tile(Co, Ho * Wo, &bm, &bn);
        launch(KC_pw_fwd, A(Ci, H, W, Co, sh, sw, bm, bn), N, ARGS(&N, &dx, &dw_, &dy));
        snprintf(what, sizeof what, "pw_fwd %d->%d %dx%d s%d", Ci, Co, H, W, sh);
    } else {
        launch(KC_conv2d_fwd, ta, N, ARGS(&N, &dx, &dw_, &dy));
        snprintf(what, sizeof what, "conv2d_fwd %d->%d %dx%d k%dx%d s%dx%d g%d", Ci, Co, H, W, kh, kw, sh, sw, g);
    }
    cmp(what, dy, y, ny);
    if (pwise) {
        int bm, bn;
        kc_pw_tile(Ci, H * W, &bm, &bn);
        launch(KC_pw_bwd_data, A(Ci, H, W, Co, sh, sw, bm, bn), N, ARGS(&N, &dgy, &dw_, &dgx));
        snprintf(what, sizeof what, "pw_bwd_data %d->%d %dx%d s%d", Ci, Co, H, W, sh);
        cmp(what, dgx, gx, nx);
        for (int split = 1; split <= 3; split += 2) {
            kc_pw_tile(Co, Ci, &bm, &bn);
            RtDevPtr part = dev(NULL, (size_t)split * Co * Ci);
            float *zero = NULL;
            launch(KC_pw_bwd_weight, A(Ci, H, W, Co, sh, sw, bm, bn, split), N, ARGS(&N, &dx, &dgy, &dgw, &part));
            if (split > 1)
                launch(KC_splitk_reduce, A(split, Co * Ci), N, ARGS(&part, &dgw));
            (void)zero;
            snprintf(what, sizeof what, "pw_bwd_weight %d->%d %dx%d s%d split %d", Ci, Co, H, W, sh, split);
            cmp(what, dgw, gw, nw);
            rt_cuda_free(part);
        }
    } else {
        launch(KC_conv2d_bwd_data, ta, N, ARGS(&N, &dgy, &dw_, &dgx));
        snprintf(what, sizeof what, "conv2d_bwd_data %d->%d k%dx%d s%d g%d", Ci, Co, kh, kw, sh, g);
        cmp(what, dgx, gx, nx);
        launch(KC_conv2d_bwd_weight, ta, N, ARGS(&N, &dx, &dgy, &dgw));
        snprintf(what, sizeof what, "conv2d_bwd_weight %d->%d k%dx%d s%d g%d", Ci, Co, kh, kw, sh, g);
        cmp(what, dgw, gw, nw);
    }
    free(x), free(w), free(gy), free(y), free(gx), free(gw);
    rt_cuda_free(dx), rt_cuda_free(dw_), rt_cuda_free(dgy), rt_cuda_free(dy), rt_cuda_free(dgx), rt_cuda_free(dgw);
}

static void t_bn(int N, int C, int HW, int affine, int relu)
{
    size_t n = (size_t)N * C * HW;
    float eps = 1e-5f, mom = 0.1f;
    float *x = rnd(n), *gy = rnd(n), *ga = rnd(C), *be = rnd(C), *rm = rnd(C), *rv = rnd(C);
    for (int c = 0; c < C; c++)
        rv[c] = 1.5f + rv[c];
    float *rm0 = malloc(sizeof(float) * C), *rv0 = malloc(sizeof(float) * C);
    memcpy(rm0, rm, sizeof(float) * C);
    memcpy(rv0, rv, sizeof(float) * C);
    float *y = zeros(n), *sm = zeros(C), *si = zeros(C), *gx = zeros(n), *gg = zeros(C), *gb = zeros(C);
    const float *G = affine ? ga : NULL, *B = affine ? be : NULL;
    RtDevPtr dx = dev(x, n), dgy = dev(gy, n), dga = dev(ga, C), dbe = dev(be, C), drm = dev(rm, C), drv = dev(rv, C);
    RtDevPtr dy = dev(NULL, n), dsm = dev(NULL, C), dsi = dev(NULL, C), dgx = dev(NULL, n), dgg = dev(NULL, C),
             dgb = dev(NULL, C);
    RtDevPtr dG = affine ? dga : 0, dB = affine ? dbe : 0;
    char what[160];
    /* train forward (+ fused ReLU) */
    ref(KC_bn_train_fwd, A(C, HW, affine, relu), ARGS(&N, &eps, &mom, &x, &G, &B, &y, &sm, &si, &rm, &rv));
    launch(KC_bn_train_fwd, A(C, HW, affine, relu), N,
           ARGS(&N, &eps, &mom, &dx, &dG, &dB, &dy, &dsm, &dsi, &drm, &drv));
    snprintf(what, sizeof what, "bn_train_fwd C%d HW%d affine%d relu%d: y", C, HW, affine, relu);
    cmp(what, dy, y, n);
    cmp("  save_mean", dsm, sm, C);
    cmp("  save_invstd", dsi, si, C);
    cmp("  running_mean", drm, rm, C);
    cmp("  running_var (unbiased)", drv, rv, C);
    /* train backward: relu mask from y first */
    ref(KC_bn_train_bwd, A(C, HW, affine, relu), ARGS(&N, &x, &y, &gy, &G, &sm, &si, &gx, &gg, &gb));
    launch(KC_bn_train_bwd, A(C, HW, affine, relu), N, ARGS(&N, &dx, &dy, &dgy, &dG, &dsm, &dsi, &dgx, &dgg, &dgb));
    snprintf(what, sizeof what, "bn_train_bwd C%d HW%d affine%d relu%d: gx", C, HW, affine, relu);
    cmp(what, dgx, gx, n);
    cmp("  ggamma", dgg, gg, C);
    cmp("  gbeta", dgb, gb, C);
    /* eval forward / backward with the original running stats */
    OK(rt_cuda_h2d(drm, rm0, sizeof(float) * C, err, sizeof err));
    OK(rt_cuda_h2d(drv, rv0, sizeof(float) * C, err, sizeof err));
    ref(KC_bn_eval_fwd, A(C, HW, affine, relu), ARGS(&N, &eps, &x, &G, &B, &rm0, &rv0, &y));
    launch(KC_bn_eval_fwd, A(C, HW, affine, relu), N, ARGS(&N, &eps, &dx, &dG, &dB, &drm, &drv, &dy));
    snprintf(what, sizeof what, "bn_eval_fwd C%d HW%d affine%d relu%d", C, HW, affine, relu);
    cmp(what, dy, y, n);
    ref(KC_bn_eval_bwd, A(C, HW, affine), ARGS(&N, &eps, &x, &gy, &G, &rm0, &rv0, &gx, &gg, &gb));
    launch(KC_bn_eval_bwd, A(C, HW, affine), N, ARGS(&N, &eps, &dx, &dgy, &dG, &drm, &drv, &dgx, &dgg, &dgb));
    snprintf(what, sizeof what, "bn_eval_bwd C%d HW%d affine%d: gx", C, HW, affine);
    cmp(what, dgx, gx, n);
    cmp("  ggamma", dgg, gg, C);
    cmp("  gbeta", dgb, gb, C);
    free(x), free(gy), free(ga), free(be), free(rm), free(rv), free(rm0), free(rv0), free(y), free(sm), free(si);
    free(gx), free(gg), free(gb);
    RtDevPtr all[] = { dx, dgy, dga, dbe, drm, drv, dy, dsm, dsi, dgx, dgg, dgb };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        rt_cuda_free(all[i]);
}

static void t_elementwise(int N, int D)
{
    size_t n = (size_t)N * D;
    float *a = rnd(n), *b = rnd(n), *y = zeros(n), *mask = zeros(N), s = 0.7f, keep = 0.8f;
    for (int i = 0; i < N; i++)
        mask[i] = (float)(i % 2);
    RtDevPtr da = dev(a, n), db = dev(b, n), dy = dev(NULL, n), dz = dev(NULL, n), dm = dev(mask, N);
    char what[96];
    ref(KC_relu_fwd, A(D), ARGS(&N, &a, &y));
    launch(KC_relu_fwd, A(D), N, ARGS(&N, &da, &dy));
    snprintf(what, sizeof what, "relu_fwd D%d", D);
    cmp(what, dy, y, n);
    ref(KC_relu_bwd, A(D), ARGS(&N, &a, &b, &y));
    launch(KC_relu_bwd, A(D), N, ARGS(&N, &da, &db, &dy));
    snprintf(what, sizeof what, "relu_bwd D%d", D);
    cmp(what, dy, y, n);
    ref(KC_add_fwd, A(D), ARGS(&N, &a, &b, &y));
    launch(KC_add_fwd, A(D), N, ARGS(&N, &da, &db, &dy));
    snprintf(what, sizeof what, "add_fwd D%d", D);
    cmp(what, dy, y, n);
    launch(KC_add_bwd, A(D), N, ARGS(&N, &da, &dy, &dz));
    snprintf(what, sizeof what, "add_bwd D%d", D);
    cmp(what, dz, a, n);
    ref(KC_acc, A(D), ARGS(&N, &b, &y)); /* y = a + b + b */
    launch(KC_add_fwd, A(D), N, ARGS(&N, &da, &db, &dy));
    launch(KC_acc, A(D), N, ARGS(&N, &db, &dy));
    snprintf(what, sizeof what, "acc D%d", D);
    cmp(what, dy, y, n);
    ref(KC_scale, A(D), ARGS(&N, &s, &a, &y));
    launch(KC_scale, A(D), N, ARGS(&N, &s, &da, &dy));
    snprintf(what, sizeof what, "scale D%d", D);
    cmp(what, dy, y, n);
    ref(KC_drop_path, A(D), ARGS(&N, &keep, &mask, &a, &y));
    launch(KC_drop_path, A(D), N, ARGS(&N, &keep, &dm, &da, &dy));
    snprintf(what, sizeof what, "drop_path D%d", D);
    cmp(what, dy, y, n);
    ref(KC_zero, A(D), ARGS(&N, &y));
    launch(KC_zero, A(D), N, ARGS(&N, &dy));
    snprintf(what, sizeof what, "zero D%d", D);
    cmp(what, dy, y, n);
    free(a), free(b), free(y), free(mask);
    rt_cuda_free(da), rt_cuda_free(db), rt_cuda_free(dy), rt_cuda_free(dz), rt_cuda_free(dm);
}

static void t_pool(int N, int C, int H, int W, int k, int s, int p)
{
    int Ho = k_out_size(H, k, s, p, 1), Wo = k_out_size(W, k, s, p, 1);
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * Ho * Wo;
    float *x = rnd(nx), *gy = rnd(ny), *y = zeros(ny), *gx = zeros(nx);
    RtDevPtr dx = dev(x, nx), dgy = dev(gy, ny), dy = dev(NULL, ny), dgx = dev(NULL, nx);
    char what[96];
    ref(KC_maxpool_fwd, A(C, H, W, k, k, s, s, p, p), ARGS(&N, &x, &y));
    launch(KC_maxpool_fwd, A(C, H, W, k, k, s, s, p, p), N, ARGS(&N, &dx, &dy));
    snprintf(what, sizeof what, "maxpool_fwd %dx%d k%d s%d p%d", H, W, k, s, p);
    cmp(what, dy, y, ny);
    ref(KC_maxpool_bwd, A(C, H, W, k, k, s, s, p, p), ARGS(&N, &x, &gy, &gx));
    launch(KC_maxpool_bwd, A(C, H, W, k, k, s, s, p, p), N, ARGS(&N, &dx, &dgy, &dgx));
    snprintf(what, sizeof what, "maxpool_bwd %dx%d k%d s%d p%d", H, W, k, s, p);
    cmp(what, dgx, gx, nx);
    for (int cip = 0; cip < 2; cip++) {
        ref(KC_avgpool_fwd, A(C, H, W, k, k, s, s, p, p, cip), ARGS(&N, &x, &y));
        launch(KC_avgpool_fwd, A(C, H, W, k, k, s, s, p, p, cip), N, ARGS(&N, &dx, &dy));
        snprintf(what, sizeof what, "avgpool_fwd %dx%d k%d s%d p%d cip%d", H, W, k, s, p, cip);
        cmp(what, dy, y, ny);
        ref(KC_avgpool_bwd, A(C, H, W, k, k, s, s, p, p, cip), ARGS(&N, &gy, &gx));
        launch(KC_avgpool_bwd, A(C, H, W, k, k, s, s, p, p, cip), N, ARGS(&N, &dgy, &dgx));
        snprintf(what, sizeof what, "avgpool_bwd %dx%d k%d s%d p%d cip%d", H, W, k, s, p, cip);
        cmp(what, dgx, gx, nx);
    }
    free(x), free(gy), free(y), free(gx);
    rt_cuda_free(dx), rt_cuda_free(dgy), rt_cuda_free(dy), rt_cuda_free(dgx);
}

static void t_pad_slice(int N, int C, int H, int W, int t, int b, int l, int r)
{
    int Ho = H + t + b, Wo = W + l + r, HW = H * W;
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * Ho * Wo;
    float *x = rnd(nx), *gy = rnd(ny), *y = zeros(ny), *gx = zeros(nx);
    RtDevPtr dx = dev(x, nx), dgy = dev(gy, ny), dy = dev(NULL, ny), dgx = dev(NULL, nx);
    char what[96];
    ref(KC_pad_fwd, A(C, H, W, t, b, l, r), ARGS(&N, &x, &y));
    launch(KC_pad_fwd, A(C, H, W, t, b, l, r), N, ARGS(&N, &dx, &dy));
    snprintf(what, sizeof what, "pad_fwd %d,%d,%d,%d", t, b, l, r);
    cmp(what, dy, y, ny);
    ref(KC_pad_bwd, A(C, H, W, t, b, l, r), ARGS(&N, &gy, &gx));
    launch(KC_pad_bwd, A(C, H, W, t, b, l, r), N, ARGS(&N, &dgy, &dgx));
    snprintf(what, sizeof what, "pad_bwd %d,%d,%d,%d", t, b, l, r);
    cmp(what, dgx, gx, nx);
    int c0 = 1, cs = C - 2;
    size_t ns = (size_t)N * cs * HW;
    RtDevPtr ds = dev(NULL, ns);
    ref(KC_slice_fwd, A(C, HW, c0, cs), ARGS(&N, &x, &y));
    launch(KC_slice_fwd, A(C, HW, c0, cs), N, ARGS(&N, &dx, &ds));
    cmp("slice_fwd", ds, y, ns);
    ref(KC_slice_bwd, A(C, HW, c0, cs), ARGS(&N, &y, &gx));
    launch(KC_slice_bwd, A(C, HW, c0, cs), N, ARGS(&N, &ds, &dgx));
    cmp("slice_bwd", dgx, gx, nx);
    /* concat_put of the slice back into a zeroed full tensor */
    memset(gx, 0, sizeof(float) * nx);
    ref(KC_concat_put, A(C, HW, c0, cs), ARGS(&N, &y, &gx));
    OK(rt_cuda_memset0(dgx, sizeof(float) * nx, err, sizeof err));
    launch(KC_concat_put, A(C, HW, c0, cs), N, ARGS(&N, &ds, &dgx));
    cmp("concat_put", dgx, gx, nx);
    free(x), free(gy), free(y), free(gx);
    rt_cuda_free(dx), rt_cuda_free(dgy), rt_cuda_free(dy), rt_cuda_free(dgx), rt_cuda_free(ds);
}

static void t_head(int N, int C, int HW, int K)
{
    size_t nx = (size_t)N * C * HW;
    float *x = rnd(nx), *gp = rnd((size_t)N * C), *p = zeros((size_t)N * C), *gx = zeros(nx);
    RtDevPtr dx = dev(x, nx), dgp = dev(gp, (size_t)N * C), dp = dev(NULL, (size_t)N * C), dgx = dev(NULL, nx);
    ref(KC_gap_fwd, A(C, HW), ARGS(&N, &x, &p));
    launch(KC_gap_fwd, A(C, HW), N, ARGS(&N, &dx, &dp));
    cmp("gap_fwd", dp, p, (size_t)N * C);
    ref(KC_gap_bwd, A(C, HW), ARGS(&N, &gp, &gx));
    launch(KC_gap_bwd, A(C, HW), N, ARGS(&N, &dgp, &dgx));
    cmp("gap_bwd", dgx, gx, nx);
    /* linear C -> K with bias */
    float *W = rnd((size_t)K * C), *b = rnd(K), *z = zeros((size_t)N * K), *gz = rnd((size_t)N * K);
    float *gW = zeros((size_t)K * C), *gb = zeros(K), *gin = zeros((size_t)N * C);
    RtDevPtr dW = dev(W, (size_t)K * C), db = dev(b, K), dz = dev(NULL, (size_t)N * K), dgz = dev(gz, (size_t)N * K);
    RtDevPtr dgW = dev(NULL, (size_t)K * C), dgb = dev(NULL, K), dgin = dev(NULL, (size_t)N * C);
    ref(KC_linear_fwd, A(C, K, 1), ARGS(&N, &gp, &W, &b, &z));
    launch(KC_linear_fwd, A(C, K, 1), N, ARGS(&N, &dgp, &dW, &db, &dz));
    cmp("linear_fwd", dz, z, (size_t)N * K);
    ref(KC_linear_bwd_data, A(C, K), ARGS(&N, &gz, &W, &gin));
    ref(KC_linear_bwd_weight, A(C, K, 1), ARGS(&N, &gp, &gz, &gW, &gb));
    launch(KC_linear_bwd_data, A(C, K), N, ARGS(&N, &dgz, &dW, &dgin));
    cmp("linear_bwd_data", dgin, gin, (size_t)N * C);
    launch(KC_linear_bwd_weight, A(C, K, 1), N, ARGS(&N, &dgp, &dgz, &dgW, &dgb));
    cmp("linear_bwd_weight: gW", dgW, gW, (size_t)K * C);
    cmp("  gb", dgb, gb, K);
    /* softmax cross-entropy and top-k on z */
    int32_t *lab = malloc(sizeof(int32_t) * N);
    for (int i = 0; i < N; i++)
        lab[i] = (i * 7) % K;
    RtDevPtr dlab;
    OK(rt_cuda_alloc(&dlab, sizeof(int32_t) * N, err, sizeof err));
    OK(rt_cuda_h2d(dlab, lab, sizeof(int32_t) * N, err, sizeof err));
    float gscale = 0.4f, *gl = zeros((size_t)N * K), *row = zeros(N), loss;
    float *lossp = &loss;
    ref(KC_softmax_ce, A(K), ARGS(&N, &gscale, &z, &lab, &row, &gl));
    ref(KC_batch_mean, A(0), ARGS(&N, &row, &lossp));
    RtDevPtr drow = dev(NULL, N), dmean = dev(NULL, 1), dgl = dev(NULL, (size_t)N * K), dcnt = dev(NULL, 1);
    launch(KC_softmax_ce, A(K), N, ARGS(&N, &gscale, &dz, &dlab, &drow, &dgl));
    launch(KC_batch_mean, A(0), N, ARGS(&N, &drow, &dmean));
    cmp("softmax_ce + batch_mean: loss", dmean, &loss, 1);
    cmp("  glogits", dgl, gl, (size_t)N * K);
    for (int k = 1; k <= 5; k += 4) {
        int hits, *hitsp = &hits;
        ref(KC_topk_correct, A(K), ARGS(&N, &k, &z, &lab, &hitsp));
        float want = (float)hits;
        launch(KC_topk_correct, A(K), N, ARGS(&N, &k, &dz, &dlab, &dcnt));
        int got;
        OK(rt_cuda_d2h(&got, dcnt, sizeof got, err, sizeof err));
        float gotf = (float)got;
        RtDevPtr tmp = dev(&gotf, 1);
        cmp(k == 1 ? "topk_correct k=1" : "topk_correct k=5", tmp, &want, 1);
        rt_cuda_free(tmp);
    }
    free(x), free(gp), free(p), free(gx), free(W), free(b), free(z), free(gz), free(gW), free(gb), free(gin);
    free(lab), free(gl), free(row);
    RtDevPtr all[] = { dx, dgp, dp, dgx, dW, db, dz, dgz, dgW, dgb, dgin, dlab, drow, dmean, dgl, dcnt };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        rt_cuda_free(all[i]);
}

enum { MP = 4 };
static void t_mixed(int N, int D, int mode)
{
    size_t n = (size_t)N * D;
    float *alpha = rnd(3 * MP), *w = zeros(3 * MP), *gw = rnd(3 * MP), *ga = zeros(3 * MP);
    RtDevPtr dal = dev(alpha, 3 * MP), dw = dev(NULL, 3 * MP), dgw = dev(gw, 3 * MP), dga = dev(NULL, 3 * MP);
    ref(KC_arch_softmax_fwd, A(3, MP), ARGS(&alpha, &w));
    launch(KC_arch_softmax_fwd, A(3, MP), 1, ARGS(&dal, &dw));
    cmp("arch_softmax_fwd", dw, w, 3 * MP);
    ref(KC_arch_softmax_bwd, A(3, MP), ARGS(&w, &gw, &ga));
    launch(KC_arch_softmax_bwd, A(3, MP), 1, ARGS(&dw, &dgw, &dga));
    cmp("arch_softmax_bwd", dga, ga, 3 * MP);
    const float *wr = w + MP; /* row 1 */
    RtDevPtr dwr = dw + sizeof(float) * MP;
    float *o[MP], *go[MP], *y = zeros(n), *gy = rnd(n), gwc[MP];
    RtDevPtr dop[MP], dgo[MP];
    for (int k = 0; k < MP; k++) {
        o[k] = k == 1 ? NULL : rnd(n); /* candidate 1 is `none` */
        go[k] = zeros(n);
        dop[k] = o[k] ? dev(o[k], n) : 0;
        dgo[k] = dev(NULL, n);
    }
    RtDevPtr dy = dev(NULL, n), dgy = dev(gy, n);
    char what[96];
    ref(KC_mixed_fwd, A(D, MP, mode), ARGS(&N, &wr, o, &y));
    launch(KC_mixed_fwd, A(D, MP, mode), N, ARGS(&N, &dwr, dop, &dy));
    snprintf(what, sizeof what, "mixed_fwd D%d mode %d", D, mode);
    cmp(what, dy, y, n);
    int first = 1;
    for (int k = 0; k < MP; k++)
        if (dop[k]) {
            launch(KC_mixed_acc, A(D, MP, mode, first), N, ARGS(&N, &dwr, &k, &dop[k], &dy));
            first = 0;
        }
    snprintf(what, sizeof what, "mixed_acc (fused epilogues) D%d mode %d", D, mode);
    cmp(what, dy, y, n);
    ref(KC_mixed_bwd_data, A(D, MP, mode), ARGS(&N, &wr, &gy, go));
    launch(KC_mixed_bwd_data, A(D, MP, mode), N, ARGS(&N, &dwr, &dgy, dgo));
    for (int k = 0; k < MP; k++) {
        snprintf(what, sizeof what, "mixed_bwd_data D%d mode %d: go[%d]", D, mode, k);
        cmp(what, dgo[k], go[k], n);
    }
    int nb = kc_mixed_nb(D);
    float *hpart = zeros((size_t)MP * nb), *gwcp = gwc;
    ref(KC_mixed_bwd_w, A(D, MP, nb), ARGS(&N, &gy, o, &hpart));
    ref(KC_mixed_bwd_w_final, A(MP, nb, mode), ARGS(&wr, &hpart, &gwcp));
    RtDevPtr part = dev(NULL, (size_t)MP * nb), dgwc = dev(NULL, MP);
    launch(KC_mixed_bwd_w, A(D, MP, nb), N, ARGS(&N, &dgy, dop, &part));
    launch(KC_mixed_bwd_w_final, A(MP, nb, mode), N, ARGS(&dwr, &part, &dgwc));
    snprintf(what, sizeof what, "mixed_bwd_w + final D%d mode %d: gw", D, mode);
    cmp(what, dgwc, gwc, MP);
    for (int k = 0; k < MP; k++) {
        free(o[k]), free(go[k]);
        rt_cuda_free(dop[k]), rt_cuda_free(dgo[k]);
    }
    free(alpha), free(w), free(gw), free(ga), free(y), free(gy), free(hpart);
    RtDevPtr all[] = { dal, dw, dgw, dga, dy, dgy, part, dgwc };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        rt_cuda_free(all[i]);
}

/* A mixed op's BN candidates fused into it (bn_mix_*): two candidates
 * (k = 0 writes first, k = 2 adds), training and eval forward, backward and
 * the architecture gradient's dot product, against kc_ref (k_bn_train_fwd
 * or k_bn_eval_fwd + k_mixed_coef, k_bn_train_bwd_scaled, k_bn_out_dot). */
static void t_bn_mix(int N, int C, int HW, int affine, int mode)
{
    size_t n = (size_t)N * C * HW;
    float eps = 1e-5f, mom = 0.1f;
    float *alpha = rnd(MP), w[MP], *wp = w;
    ref(KC_arch_softmax_fwd, A(1, MP), ARGS(&alpha, &wp));
    RtDevPtr dw = dev(w, MP);
    float *x[2] = { rnd(n), rnd(n) }, *gy = rnd(n), *ga = rnd(C), *be = rnd(C), *rm = rnd(C), *rv = rnd(C);
    for (int i = 0; i < C; i++)
        rv[i] = 1.5f + rv[i];
    const float *G = affine ? ga : NULL, *B = affine ? be : NULL;
    float *y = zeros(n), *sm = zeros(C), *si = zeros(C), *rm1 = zeros(C),
          *rv1 = zeros(C), *gx = zeros(n), *gg = zeros(C), *gb = zeros(C);
    RtDevPtr dgy = dev(gy, n), dga = dev(ga, C), dbe = dev(be, C), dy = dev(NULL, n), dsm = dev(NULL, C),
             dsi = dev(NULL, C), drm = dev(rm, C), drv = dev(rv, C), dgx = dev(NULL, n), dgg = dev(NULL, C),
             dgb = dev(NULL, C), dx[2] = { dev(x[0], n), dev(x[1], n) };
    RtDevPtr dG = affine ? dga : 0, dB = affine ? dbe : 0;
    int nb = 7;
    RtDevPtr part = dev(NULL, (size_t)MP * nb);
    char what[160];
    const int ks[2] = { 0, 2 };
    /* candidate 0 writes, candidate 2 adds: eval (running estimates), then
     * training (batch statistics; the statistics compared are candidate 2's) */
    for (int train = 0; train < 2; train++) {
        for (int j = 0; j < 2; j++) {
            int k = ks[j];
            memcpy(rm1, rm, sizeof(float) * C);
            memcpy(rv1, rv, sizeof(float) * C);
            OK(rt_cuda_h2d(drm, rm, sizeof(float) * C, err, sizeof err));
            OK(rt_cuda_h2d(drv, rv, sizeof(float) * C, err, sizeof err));
            float *hsave_m = train ? sm : NULL, *hsave_i = train ? si : NULL;
            ref(KC_bn_mix_fwd, A(C, HW, affine, MP, mode, j == 0, train),
                ARGS(&N, &eps, &mom, &x[j], &G, &B, &wp, &k, &y, &hsave_m, &hsave_i, &rm1, &rv1));
            RtDevPtr save_m = train ? dsm : 0, save_i = train ? dsi : 0;
            launch(KC_bn_mix_fwd, A(C, HW, affine, MP, mode, j == 0, train), N,
                   ARGS(&N, &eps, &mom, &dx[j], &dG, &dB, &dw, &k, &dy, &save_m, &save_i, &drm, &drv));
        }
        snprintf(what, sizeof what, "bn_mix_fwd %s C%d HW%d affine%d mode%d: y", train ? "train" : "eval", C, HW,
                 affine, mode);
        cmp(what, dy, y, n);
    }
    cmp("  save_mean", dsm, sm, C);
    cmp("  save_invstd", dsi, si, C);
    cmp("  running_mean", drm, rm1, C);
    cmp("  running_var (unbiased)", drv, rv1, C);
    /* backward of candidate 2 from the mixed gradient gy */
    int k = 2;
    ref(KC_bn_mix_bwd, A(C, HW, affine, MP, mode), ARGS(&N, &x[1], &gy, &G, &sm, &si, &wp, &k, &gx, &gg, &gb));
    launch(KC_bn_mix_bwd, A(C, HW, affine, MP, mode), N,
           ARGS(&N, &dx[1], &dgy, &dG, &dsm, &dsi, &dw, &k, &dgx, &dgg, &dgb));
    snprintf(what, sizeof what, "bn_mix_bwd C%d HW%d affine%d mode%d: gx", C, HW, affine, mode);
    cmp(what, dgx, gx, n);
    cmp("  ggamma", dgg, gg, C);
    cmp("  gbeta", dgb, gb, C);
    /* its architecture-gradient share: the row of part summed */
    float *hpart = zeros((size_t)MP * nb);
    ref(KC_bn_mix_dot, A(C, HW, affine, nb), ARGS(&N, &x[1], &gy, &G, &B, &sm, &si, &k, &hpart));
    launch(KC_bn_mix_dot, A(C, HW, affine, nb), N, ARGS(&N, &dx[1], &dgy, &dG, &dB, &dsm, &dsi, &k, &part));
    float *ph = host(part, (size_t)MP * nb), got = 0.f, want = 0.f;
    for (int b = 0; b < nb; b++) {
        got += ph[k * nb + b];
        want += hpart[k * nb + b];
    }
    snprintf(what, sizeof what, "bn_mix_dot C%d HW%d affine%d: <gy, BN(x)>", C, HW, affine);
    cmp_host(what, &got, &want, 1);
    free(ph), free(hpart);
    free(alpha), free(x[0]), free(x[1]), free(gy), free(ga), free(be), free(rm), free(rv), free(y);
    free(sm), free(si), free(rm1), free(rv1), free(gx), free(gg), free(gb);
    RtDevPtr all[] = { dw, dgy, dga, dbe, dy, dsm, dsi, drm, drv, dgx, dgg, dgb, dx[0], dx[1], part };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        rt_cuda_free(all[i]);
}

/* The optimizers on the device against rt_optim.c: two SGD steps (the
 * first sets the momentum buffer), two Adam steps, and the gradient norm
 * with clipping (active, then not). n values. */
static void t_optim(int n)
{
    float *p = rnd(n), *g = rnd(n), *buf = zeros(n), *m = zeros(n), *v = zeros(n), *pa = zeros(n);
    memcpy(pa, p, sizeof(float) * n);
    RtDevPtr dp = dev(p, n), dg = dev(g, n), dbuf = dev(NULL, n), dpa = dev(p, n), dm = dev(NULL, n),
             dv = dev(NULL, n);
    char what[96];
    double lr = 0.05, mom = 0.9, wd = 3e-4;
    for (int first = 1; first >= 0; first--) {
        rt_sgd_step(p, g, buf, (size_t)n, lr, mom, wd, first);
        float neg_lr = (float)-lr, fm = (float)mom, fwd = (float)wd;
        launch(KC_sgd_step, A(first), n, ARGS(&n, &neg_lr, &fm, &fwd, &dp, &dg, &dbuf));
    }
    cmp("sgd_step x2: weights", dp, p, n);
    cmp("  momentum buffer", dbuf, buf, n);
    double alr = 3e-4, b1 = 0.5, b2 = 0.999, eps = 1e-8, awd = 1e-3;
    for (int64_t t = 1; t <= 2; t++) {
        rt_adam_step(pa, g, m, v, (size_t)n, t, alr, b1, b2, eps, awd);
        float neg_step = (float)(-alr / (1.0 - pow(b1, (double)t))), bc2 = (float)sqrt(1.0 - pow(b2, (double)t));
        float fwd = (float)awd, fb1 = (float)b1, fb2 = (float)b2, o1 = (float)(1.0 - b1), o2 = (float)(1.0 - b2);
        float feps = (float)eps;
        launch(KC_adam_step, NULL, n,
               ARGS(&n, &neg_step, &bc2, &fwd, &fb1, &fb2, &o1, &o2, &feps, &dpa, &dg, &dm, &dv));
    }
    cmp("adam_step x2: parameters", dpa, pa, n);
    cmp("  first moment", dm, m, n);
    cmp("  second moment", dv, v, n);
    int nb = kc_norm_nb(n);
    RtDevPtr part, dnorm = 0, dcoef = dev(NULL, 1);
    OK(rt_cuda_alloc(&part, sizeof(double) * (size_t)nb, err, sizeof err));
    OK(rt_cuda_alloc(&dnorm, sizeof(double), err, sizeof err));
    for (int k = 0; k < 2; k++) {
        float max_norm = k == 0 ? 1.0f : 1e6f;
        RtSpan sp = { g, (size_t)n };
        double want = rt_clip_grad_norm(&sp, 1, max_norm), got;
        launch(KC_grad_sq_part, A(nb), n, ARGS(&n, &dg, &part));
        launch(KC_clip_coef, A(nb), n, ARGS(&max_norm, &part, &dnorm, &dcoef));
        launch(KC_clip_scale, NULL, n, ARGS(&n, &dcoef, &dg));
        OK(rt_cuda_d2h(&got, dnorm, sizeof got, err, sizeof err));
        float gotf = (float)got, wantf = (float)want;
        snprintf(what, sizeof what, "grad_sq_part + clip_coef (max %g): norm", max_norm);
        cmp_host(what, &gotf, &wantf, 1);
        cmp(k == 0 ? "  clip_scale: clipped gradient" : "  clip_scale: unclipped gradient", dg, g, n);
    }
    /* the second-order step's vector kernels, against their references */
    float *th = rnd(n), *y1 = zeros(n), *y2 = zeros(n);
    RtDevPtr dth = dev(th, n), dy = dev(NULL, n);
    float a = 0.01f, flr = 0.025f, fmom = 0.9f, fwd = 3e-4f;
    int zero = 0;
    double c = 3.5;
    ref(KC_vec_copy, NULL, ARGS(&n, &th, &y1));
    launch(KC_vec_copy, NULL, n, ARGS(&n, &dth, &dy));
    cmp("vec_copy", dy, y1, n);
    ref(KC_vec_axpy, NULL, ARGS(&n, &a, &th, &g, &y1));
    launch(KC_vec_axpy, NULL, n, ARGS(&n, &a, &dth, &dg, &dy));
    cmp("vec_axpy", dy, y1, n);
    ref(KC_unrolled_w, NULL, ARGS(&n, &flr, &fmom, &fwd, &zero, &th, &g, &buf, &y2));
    launch(KC_unrolled_w, NULL, n, ARGS(&n, &flr, &fmom, &fwd, &zero, &dth, &dg, &dbuf, &dy));
    cmp("unrolled_w", dy, y2, n);
    ref(KC_hvp_combine, NULL, ARGS(&n, &c, &th, &g, &y2)); /* g = th - c*(hp - g), hp = g, g = y2 */
    launch(KC_hvp_combine, NULL, n, ARGS(&n, &c, &dth, &dg, &dy));
    cmp("hvp_combine", dy, y2, n);
    free(th), free(y1), free(y2);
    rt_cuda_free(dth), rt_cuda_free(dy);
    free(p), free(g), free(buf), free(m), free(v), free(pa);
    RtDevPtr all[] = { dp, dg, dbuf, dpa, dm, dv, part, dnorm, dcoef };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        rt_cuda_free(all[i]);
}

int main(int argc, char **argv)
{
    char why[512], line[512];
    if (argc != 2) {
        fprintf(stderr, "usage: gpu_vs_cpu KERNEL_DIR\n");
        return 2;
    }
    kdir = argv[1];
    if (!rt_cuda_available(why, sizeof why)) {
        printf("skipped: no CUDA GPU (%s)\n", why);
        return 77;
    }
    RtDevice d;
    OK(rt_device_select("cuda", &d, line, sizeof line, err, sizeof err));
    printf("%s\n", line);
    OK(rt_cuda_init(err, sizeof err));
    static char htext[1 << 16];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", kdir, KC_HEADER);
    FILE *f = fopen(path, "rb");
    if (!f)
        DIE("cannot open %s", path);
    htext[fread(htext, 1, sizeof htext - 1, f)] = 0;
    fclose(f);
    header.name = KC_HEADER;
    header.text = htext;

    /* conv: general (grouped, strided, 1x7), dense stem, depthwise, pointwise */
    t_conv(3, 6, 9, 7, 4, 3, 3, 2, 1, 1, 1, 1, 1, 2);
    t_conv(2, 3, 12, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    t_conv(2, 4, 8, 8, 4, 1, 7, 1, 1, 0, 3, 1, 1, 1);
    t_conv(2, 5, 10, 10, 5, 5, 5, 2, 2, 4, 4, 2, 2, 5);
    t_conv(3, 6, 9, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6);
    t_conv(2, 4, 11, 11, 4, 7, 7, 1, 1, 3, 3, 1, 1, 4);
    t_conv(3, 7, 6, 6, 9, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    t_conv(2, 40, 9, 9, 70, 1, 1, 2, 2, 0, 0, 1, 1, 1);
    for (int a = 0; a < 2; a++)
        for (int r = 0; r < 2; r++)
            t_bn(3, 4, 25, a, r);
    t_bn(5, 3, 1, 1, 0);
    t_bn(64, 16, 1024, 0, 0); /* a realistic size */
    t_elementwise(3, 37);
    t_elementwise(3, 40);
    t_pool(2, 3, 9, 9, 3, 2, 1);
    t_pool(2, 3, 8, 8, 3, 1, 1);
    t_pad_slice(2, 5, 6, 7, 1, 1, 1, 1);
    t_pad_slice(2, 5, 6, 7, -1, 1, -1, 1);
    t_head(5, 12, 9, 10);
    t_mixed(3, 50, 0);
    t_mixed(3, 50, 1);
    t_mixed(4, 4096, 1);
    for (int a = 0; a < 2; a++)
        for (int m = 0; m < 2; m++)
            t_bn_mix(3, 9, 25, a, m);
    t_bn_mix(32, 16, 196, 1, 1);
    t_optim(10007);
    t_optim(1 << 20);
    printf("%d checks, %d failed\n", checks, failures);
    for (int i = 0; i < ncache; i++) {
        rt_cuda_module_free(cache[i].mod);
        rt_cuda_image_free(cache[i].img);
    }
    return failures ? 1 : 0;
}
