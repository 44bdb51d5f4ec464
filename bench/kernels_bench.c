/* kernels_bench.c: times the hot CPU kernels at sharpDARTS search shapes
 * (batch 48, C = 16/32/64 at 32x32/16x16/8x8) and at DARTS_V2 (C = 36)
 * training (batch 64) and inference (batch 1, forward only) shapes, and
 * prints GFLOP/s of the
 * tuned kernel with 1 and 2 threads beside its plain reference (_ref, one
 * thread), and the machine's rough fp32 peak: threads * GHz * 32 FLOP/cycle
 * (one AVX-512 FMA unit), the GHz read from /proc/cpuinfo.
 *
 * Rows whose kernel has no separate reference (pool and MixedOp backwards,
 * only parallelized) show "-" and fast/ref 1.0.
 * FLOP counts: a conv is 2 * (output or input elements) * taps per output;
 * BN, pools and the MixedOp count a nominal few operations per element (given
 * in the table), so their figures compare fast vs reference, not vs peak.
 * Each figure is the best of several timed repetitions (the machine is
 * shared; figures are noisy).
 * Usage: kernels_bench [seconds per figure [substring of the rows to run]]. */
#include "cpu_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NB 48 /* batch of the search */

static double min_time = 0.3; /* seconds spent per figure */
static const char *filter;   /* run only rows whose name contains this */

/* Wall clock in seconds. */
static double now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* n random values in [-1, 1). */
static real *rnd(ptrdiff_t n)
{
    real *p = malloc(sizeof(real) * (size_t)n);
    if (!p) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        exit(1);
    }
    unsigned s = 12345u;
    for (ptrdiff_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (real)((double)(s >> 8) / 8388608.0 - 1.0);
    }
    return p;
}

/* Sets the thread count of later parallel regions. */
static void set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

/* A benchmark: one call of fn(arg, fast) runs the tuned (fast != 0) or the
 * reference kernel once. */
typedef struct {
    const char *name; /* what is timed */
    double flop;      /* flops of one call */
    void (*fn)(void *arg, int fast);
    void *arg;
    int has_ref; /* 0: the kernel has no separate reference */
} Bench;

/* Best seconds per call of b over about min_time seconds. */
static double time_it(const Bench *b, int fast)
{
    b->fn(b->arg, fast); /* warm up caches and threads */
    double best = 1e30, start = now();
    int reps = 0;
    do {
        double t0 = now();
        b->fn(b->arg, fast);
        double t = now() - t0;
        if (t < best)
            best = t;
        reps++;
    } while (now() - start < min_time || reps < 3);
    return best;
}

/* ---- conv ---- */

/* One conv benchmark: shape and buffers. */
typedef struct {
    int N, Ci, H, W, Co, k, s, p, d, g, which; /* which: 0 fwd, 1 bwd_data, 2 bwd_weight */
    real *x, *w, *y;
} ConvB;

static void conv_run(void *arg, int fast)
{
    ConvB *c = arg;
#define CA c->N, c->Ci, c->H, c->W, c->Co, c->k, c->k, c->s, c->s, c->p, c->p, c->d, c->d, c->g
    if (c->which == 0)
        (fast ? k_conv2d_fwd : k_conv2d_fwd_ref)(CA, c->x, c->w, c->y);
    else if (c->which == 1)
        (fast ? k_conv2d_bwd_data : k_conv2d_bwd_data_ref)(CA, c->y, c->w, c->x);
    else
        (fast ? k_conv2d_bwd_weight : k_conv2d_bwd_weight_ref)(CA, c->x, c->y, c->w);
#undef CA
}

/* ---- batch norm ---- */

typedef struct {
    int N, C, HW, bwd;
    real *x, *y, *gx, *gamma, *beta, *mean, *invstd, *rm, *rv;
} BnB;

static void bn_run(void *arg, int fast)
{
    BnB *b = arg;
    if (!b->bwd)
        (fast ? k_bn_train_fwd : k_bn_train_fwd_ref)(b->N, b->C, b->HW, (real)1e-5, (real)0.1,
                                                     b->x, b->gamma, b->beta, b->y, b->mean,
                                                     b->invstd, b->rm, b->rv);
    else
        (fast ? k_bn_train_bwd : k_bn_train_bwd_ref)(b->N, b->C, b->HW, b->x, b->y, b->gamma,
                                                     b->mean, b->invstd, b->gx, b->gamma,
                                                     b->beta);
}

/* ---- pools and MixedOp ---- */

typedef struct {
    int N, C, H, W, k, s, p, which; /* 0 max fwd, 1 max bwd, 2 avg fwd, 3 avg bwd */
    real *x, *y, *gx;
} PoolB;

static void pool_run(void *arg, int fast)
{
    PoolB *q = arg;
#define PA q->N, q->C, q->H, q->W, q->k, q->k, q->s, q->s, q->p, q->p
    switch (q->which) {
    case 0: (fast ? k_maxpool_fwd : k_maxpool_fwd_ref)(PA, q->x, q->y); break;
    case 1: k_maxpool_bwd(PA, q->x, q->y, q->gx); break;
    case 2: (fast ? k_avgpool_fwd : k_avgpool_fwd_ref)(PA, 0, q->x, q->y); break;
    default: k_avgpool_bwd(PA, 0, q->y, q->gx); break;
    }
#undef PA
}

typedef struct {
    ptrdiff_t n;
    int P, bwd;
    real *w, *gw, *y;
    const real *o[8];
    real *go[8];
} MixB;

static void mix_run(void *arg, int fast)
{
    MixB *m = arg;
    (void)fast;
    if (!m->bwd)
        k_mixed_fwd(m->n, m->P, MIX_MAX_W, m->w, m->o, m->y);
    else
        k_mixed_bwd(m->n, m->P, MIX_MAX_W, m->w, m->o, m->y, m->go, m->gw);
}

/* Clock of the first CPU in GHz from /proc/cpuinfo, 0 if unknown. */
static double cpu_ghz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7)) {
            char *c = strchr(line, ':');
            if (c)
                mhz = atof(c + 1);
            break;
        }
    fclose(f);
    return mhz / 1000;
}

/* Prints one row: reference, fast on 1 and 2 threads. */
static void report(const Bench *b)
{
    if (filter && !strstr(b->name, filter))
        return;
    double tr = 0;
    set_threads(1);
    if (b->has_ref)
        tr = time_it(b, 0);
    double t1 = time_it(b, 1);
    set_threads(2);
    double t2 = time_it(b, 1);
    set_threads(1);
    char ref[32] = "     -";
    if (b->has_ref)
        snprintf(ref, sizeof ref, "%7.2f", b->flop / tr * 1e-9);
    printf("| %-44s | %7.2f | %s | %7.2f | %7.2f | %5.1fx | %5.2fx |\n", b->name, b->flop * 1e-6,
           ref, b->flop / t1 * 1e-9, b->flop / t2 * 1e-9, b->has_ref ? tr / t1 : 1.0, t1 / t2);
    fflush(stdout);
}

/* Times one conv shape at batch N, the directions in the mask dirs
 * (1 fwd, 2 bwd_data, 4 bwd_weight). */
static void conv_bench(const char *label, int N, int Ci, int H, int Co, int k, int s, int p, int d,
                       int g, int dirs)
{
    int Ho = k_out_size(H, k, s, p, d);
    ConvB c = {N, Ci, H, H, Co, k, s, p, d, g, 0, NULL, NULL, NULL};
    c.x = rnd((ptrdiff_t)N * Ci * H * H);
    c.w = rnd((ptrdiff_t)Co * (Ci / g) * k * k);
    c.y = rnd((ptrdiff_t)N * Co * Ho * Ho);
    double flop = 2.0 * N * Co * Ho * Ho * (Ci / g) * k * k;
    static const char *dir[3] = {"fwd", "bwd_data", "bwd_weight"};
    ConvB cs[3];
    for (int i = 0; i < 3; i++) {
        char name[96];
        if (!(dirs >> i & 1))
            continue;
        cs[i] = c;
        cs[i].which = i;
        snprintf(name, sizeof name, "%s %s", label, dir[i]);
        Bench b = {name, flop, conv_run, &cs[i], 1};
        report(&b);
    }
    free(c.x), free(c.w), free(c.y);
}

/* ---- fused depthwise + pointwise pairs (a sep conv's halves) ---- */

typedef struct {
    int N, C, H, k, p, d, bwd;
    real *x, *wd, *wp, *z, *zr, *y, *gx, *gwd, *gwp;
} DwpwB;

static void dwpw_run(void *arg, int fast)
{
    DwpwB *q = arg;
    (void)fast;
    if (!q->bwd)
        k_conv2d_dwpw_fwd(q->N, q->C, q->H, q->H, q->k, q->k, 1, 1, q->p, q->p, q->d, q->d, q->C, 0, NULL, NULL,
                          NULL, q->x, q->wd, q->z, q->wp, q->y, NULL);
    else
        k_conv2d_dwpw_bwd_data(q->N, q->C, q->H, q->H, q->k, q->k, 1, 1, q->p, q->p, q->d, q->d, q->C, 0, NULL,
                               NULL, NULL, q->x, q->wd, q->z, q->wp, q->y, q->gx, 0, 0, NULL, q->gwd, q->zr,
                               q->gwp, NULL);
}

/* The forward (depthwise + pointwise) and the whole backward (both data
 * gradients and both weight gradients, the depthwise output recomputed)
 * of a pair at stride 1, C channels in and out. */
static void dwpw_bench(const char *label, int N, int C, int H, int k, int p, int d)
{
    ptrdiff_t n = (ptrdiff_t)N * C * H * H;
    DwpwB q = {N, C, H, k, p, d, 0, rnd(n), rnd((ptrdiff_t)C * k * k), rnd((ptrdiff_t)C * C), rnd(n), rnd(n),
               rnd(n), rnd(n), rnd((ptrdiff_t)C * k * k), rnd((ptrdiff_t)C * C)};
    double dwf = 2.0 * n * k * k, pwf = 2.0 * n * C;
    char name[96];
    snprintf(name, sizeof name, "%s fwd", label);
    Bench b1 = {name, dwf + pwf, dwpw_run, &q, 0};
    report(&b1);
    DwpwB q2 = q;
    q2.bwd = 1;
    snprintf(name, sizeof name, "%s bwd (data + weights)", label);
    Bench b2 = {name, 3 * dwf + 2 * pwf, dwpw_run, &q2, 0};
    report(&b2);
    free(q.x), free(q.wd), free(q.wp), free(q.z), free(q.zr), free(q.y), free(q.gx), free(q.gwd), free(q.gwp);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        min_time = atof(argv[1]);
    if (argc > 2)
        filter = argv[2];
    double ghz = cpu_ghz();
    int procs = 1;
#ifdef _OPENMP
    procs = omp_get_num_procs();
#endif
    printf("kernels_bench: batch %d, float, best of repeated runs over %.2f s per figure\n", NB,
           min_time);
    printf("machine: %d logical CPUs at %.2f GHz; rough fp32 peak %.1f GFLOP/s per thread, "
           "%.1f GFLOP/s on 2 threads (GHz * 32 FLOP/cycle)\n\n",
           procs, ghz, ghz * 32, 2 * ghz * 32);
    printf("| kernel (N=48 unless given) | MFLOP | ref GFLOP/s | fast 1 thr | fast 2 thr | fast/ref | 2thr/1thr |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    conv_bench("conv 1x1 C16 32x32", NB, 16, 32, 16, 1, 1, 0, 1, 1, 7);
    conv_bench("conv 1x1 C32 16x16", NB, 32, 16, 32, 1, 1, 0, 1, 1, 7);
    conv_bench("conv 1x1 C64 8x8", NB, 64, 8, 64, 1, 1, 0, 1, 1, 7);
    conv_bench("dw 3x3 C16 32x32", NB, 16, 32, 16, 3, 1, 1, 1, 16, 7);
    conv_bench("dw 5x5 C16 32x32", NB, 16, 32, 16, 5, 1, 2, 1, 16, 7);
    conv_bench("dw 3x3 d2 C16 32x32", NB, 16, 32, 16, 3, 1, 2, 2, 16, 7);
    conv_bench("dw 5x5 d2 C16 32x32", NB, 16, 32, 16, 5, 1, 4, 2, 16, 7);
    conv_bench("dw 3x3 s2 C32 32x32", NB, 32, 32, 32, 3, 2, 1, 1, 32, 7);
    conv_bench("dw 5x5 s2 C32 32x32", NB, 32, 32, 32, 5, 2, 2, 1, 32, 7);
    conv_bench("dw 3x3 d2 s2 C32 32x32", NB, 32, 32, 32, 3, 2, 2, 2, 32, 7);
    /* Fashion-MNIST supernet (C 8, batch 32) and DARTS_V2 (C 36, batch 64) depthwise shapes */
    conv_bench("N32 dw 3x3 C8 28x28", 32, 8, 28, 8, 3, 1, 1, 1, 8, 7);
    conv_bench("N32 dw 5x5 C16 14x14", 32, 16, 14, 16, 5, 1, 2, 1, 16, 7);
    conv_bench("N32 dw 3x3 s2 C8 28x28", 32, 8, 28, 8, 3, 2, 1, 1, 8, 7);
    conv_bench("N64 dw 3x3 C36 32x32", 64, 36, 32, 36, 3, 1, 1, 1, 36, 7);
    conv_bench("N64 dw 5x5 C72 16x16", 64, 72, 16, 72, 5, 1, 2, 1, 72, 7);
    conv_bench("N64 dw 3x3 C144 8x8", 64, 144, 8, 144, 3, 1, 1, 1, 144, 7);
    conv_bench("N64 dw 5x5 s2 C72 16x16", 64, 72, 16, 72, 5, 2, 2, 1, 72, 7);
    conv_bench("stem 3x3 C3->48 32x32", NB, 3, 32, 48, 3, 1, 1, 1, 1, 7);
    conv_bench("1x1 s2 C32->16 32x32 (FactorizedReduce)", NB, 32, 32, 16, 1, 2, 0, 1, 1, 7);
    /* Fashion-MNIST final network (C 16, batch 64): pointwise and depthwise at 28/14/7 */
    conv_bench("N64 1x1 C16 28x28", 64, 16, 28, 16, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 C32 14x14", 64, 32, 14, 32, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 C64 7x7", 64, 64, 7, 64, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 dw 5x5 C16 28x28", 64, 16, 28, 16, 5, 1, 2, 1, 16, 7);
    conv_bench("N64 dw 3x3 d2 C16 28x28", 64, 16, 28, 16, 3, 1, 2, 2, 16, 7);
    conv_bench("N64 dw 5x5 s2 d2 C32 28x28 (ft)", 64, 32, 28, 32, 5, 2, 4, 2, 32, 7);
    conv_bench("N64 dw 5x5 C32 14x14 (its even taps)", 64, 32, 14, 32, 5, 1, 2, 1, 32, 7);
    conv_bench("N64 1x1 C48->32 28x28 (ft prep)", 64, 48, 28, 32, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 s2 C48->16 28x28 (ft FR)", 64, 48, 28, 16, 1, 2, 0, 1, 1, 7);
    conv_bench("N64 1x1 s2 C96->32 14x14 (ft FR)", 64, 96, 14, 32, 1, 2, 0, 1, 1, 7);
    /* fused depthwise + pointwise pairs: DARTS_V2's, the Fashion-MNIST network's */
    dwpw_bench("N64 dwpw 3x3 C36 32x32", 64, 36, 32, 3, 1, 1);
    dwpw_bench("N64 dwpw 3x3 C72 16x16", 64, 72, 16, 3, 1, 1);
    dwpw_bench("N64 dwpw 3x3 C144 8x8", 64, 144, 8, 3, 1, 1);
    dwpw_bench("N64 dwpw 5x5 C16 28x28", 64, 16, 28, 5, 2, 1);
    dwpw_bench("N64 dwpw 5x5 C32 14x14", 64, 32, 14, 5, 2, 1);
    dwpw_bench("N64 dwpw 5x5 C64 7x7", 64, 64, 7, 5, 2, 1);
    /* DARTS_V2 (C = 36): cell convs and preprocessing at the three resolutions */
    conv_bench("N64 1x1 C36 32x32", 64, 36, 32, 36, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 C144->36 32x32", 64, 144, 32, 36, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 C72 16x16", 64, 72, 16, 72, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 C288->72 16x16", 64, 288, 16, 72, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 C144 8x8", 64, 144, 8, 144, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 C576->144 8x8", 64, 576, 8, 144, 1, 1, 0, 1, 1, 7);
    conv_bench("N64 1x1 s2 C144->36 32x32", 64, 144, 32, 36, 1, 2, 0, 1, 1, 7);
    conv_bench("N64 stem 3x3 C3->108 32x32", 64, 3, 32, 108, 3, 1, 1, 1, 1, 7);
    conv_bench("N1 1x1 C36 32x32", 1, 36, 32, 36, 1, 1, 0, 1, 1, 1);
    conv_bench("N1 1x1 C144->36 32x32", 1, 144, 32, 36, 1, 1, 0, 1, 1, 1);
    conv_bench("N1 1x1 C72 16x16", 1, 72, 16, 72, 1, 1, 0, 1, 1, 1);
    conv_bench("N1 1x1 C144 8x8", 1, 144, 8, 144, 1, 1, 0, 1, 1, 1);
    conv_bench("N1 1x1 C576->144 8x8", 1, 576, 8, 144, 1, 1, 0, 1, 1, 1);
    conv_bench("N1 stem 3x3 C3->108 32x32", 1, 3, 32, 108, 3, 1, 1, 1, 1, 1);

    int C = 16, HW = 32 * 32;
    ptrdiff_t n = (ptrdiff_t)NB * C * HW;
    BnB bn = {NB, C, HW, 0, rnd(n), rnd(n), rnd(n), rnd(C), rnd(C), rnd(C), rnd(C), rnd(C), rnd(C)};
    for (int c = 0; c < C; c++)
        bn.rv[c] = 1;
    k_bn_train_fwd_ref(NB, C, HW, (real)1e-5, (real)0.1, bn.x, bn.gamma, bn.beta, bn.y, bn.mean,
                       bn.invstd, NULL, NULL);
    Bench b1 = {"bn train fwd C16 32x32 (7 flop/elem)", 7.0 * n, bn_run, &bn, 1};
    report(&b1);
    BnB bn2 = bn;
    bn2.bwd = 1;
    Bench b2 = {"bn train bwd C16 32x32 (8 flop/elem)", 8.0 * n, bn_run, &bn2, 1};
    report(&b2);

    PoolB pl = {NB, C, 32, 32, 3, 1, 1, 0, bn.x, bn.y, bn.gx};
    static const char *pn[4] = {"maxpool 3x3 fwd C16 32x32 (9 flop/out)",
                                "maxpool 3x3 bwd C16 32x32 (9 flop/out)",
                                "avgpool 3x3 fwd C16 32x32 (9 flop/out)",
                                "avgpool 3x3 bwd C16 32x32 (9 flop/out)"};
    PoolB pls[4];
    for (int i = 0; i < 4; i++) {
        pls[i] = pl;
        pls[i].which = i;
        Bench b = {pn[i], 9.0 * n, pool_run, &pls[i], i == 0 || i == 2};
        report(&b);
    }

    /* the Fashion-MNIST final network's pools: 3x3 at stride 2 in its
     * reduction cells (C 32 at 28x28), at stride 1 in its normal cells */
    static const char *pf[8] = {"N64 maxpool 3x3 s2 fwd C32 28x28 (9 flop/out)",
                                "N64 maxpool 3x3 s2 bwd C32 28x28 (9 flop/out)",
                                "N64 avgpool 3x3 s2 fwd C32 28x28 (9 flop/out)",
                                "N64 avgpool 3x3 s2 bwd C32 28x28 (9 flop/out)",
                                "N64 maxpool 3x3 fwd C16 28x28 (9 flop/out)",
                                "N64 maxpool 3x3 bwd C16 28x28 (9 flop/out)",
                                "N64 avgpool 3x3 fwd C16 28x28 (9 flop/out)",
                                "N64 avgpool 3x3 bwd C16 28x28 (9 flop/out)"};
    ptrdiff_t nf = (ptrdiff_t)64 * 32 * 28 * 28;
    real *fx = rnd(nf), *fy = rnd(nf), *fgx = rnd(nf);
    for (int i = 0; i < 8; i++) {
        int s2 = i < 4, Cf = s2 ? 32 : 16, Ho = s2 ? 14 : 28;
        PoolB q = {64, Cf, 28, 28, 3, s2 ? 2 : 1, 1, i % 4, fx, fy, fgx};
        pls[i % 4] = q;
        Bench b = {pf[i], 9.0 * 64 * Cf * Ho * Ho, pool_run, &pls[i % 4], i % 4 == 0 || i % 4 == 2};
        report(&b);
    }

    MixB mx = {n, 8, 0, rnd(8), rnd(8), bn.y, {0}, {0}};
    real *ob[8];
    for (int k = 0; k < 8; k++) {
        ob[k] = rnd(n);
        mx.o[k] = ob[k];
        mx.go[k] = k ? NULL : bn.gx;
    }
    Bench m1 = {"mixed fwd P8 C16 32x32 (2 flop/elem/op)", 16.0 * n, mix_run, &mx, 0};
    report(&m1);
    MixB mx2 = mx;
    mx2.bwd = 1;
    Bench m2 = {"mixed bwd P8 C16 32x32 (2 flop/elem/op)", 16.0 * n, mix_run, &mx2, 0};
    report(&m2);
    return 0;
}
