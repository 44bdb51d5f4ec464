/* rt_bench.c: `EXE bench`, the step benchmark of a built executable (issue
 * 3, bench/run_bench.sh). Times whole optimizer steps on synthetic data:
 * deterministic random images and labels, weights initialized per
 * RtParamDesc.init from the run's seed. Two modes:
 *   search-first  one first-order search step: the architecture step
 *                 (forward + backward on a validation batch, gradients for
 *                 the alphas only, Adam on net->arch) then the weight step
 *                 (forward + backward on a training batch, gradients for the
 *                 weights only, clip by global norm, SGD with momentum);
 *   train         forward + backward (weights only) + clip + SGD.
 * Prints each phase's time (median over the timed steps), the median and
 * minimum step time, the arena size and the process's peak memory, and one
 * final `RESULT key=value ...` line for scripts.
 *
 * --device cuda (or ref) times the same steps on the device loop
 * (device/rt_dev.h): a phase's forward is then forward + loss + backward,
 * waited for (the device runs them as one launch sequence), its backward 0;
 * the RESULT line adds the start-up (NVRTC compile or cache load) and the
 * device memory held. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "rt_net.h"
#include "sharprt.h"
#ifndef SHARPRT_NO_CUDA
#include "rt_dev.h"
#endif

#define EXIT_USAGE 2

/* Synthetic data streams, apart from the runtime's RT_STREAM_* purposes. */
enum { BENCH_STREAM_TRAIN = 1001, BENCH_STREAM_VALID = 1002 };

/* Optimizer settings of the sharpDARTS search (sharpdarts.md §5). */
#define W_LR 0.025
#define W_MOMENTUM 0.9
#define W_DECAY 3e-4
#define W_CLIP 5.0
#define A_LR 3e-4
#define A_BETA1 0.5
#define A_BETA2 0.999
#define A_EPS 1e-8
#define A_DECAY 1e-3

static const char *bench_usage =
    "usage: EXE bench [OPTIONS]\n"
    "\n"
    "Times optimizer steps on synthetic data and prints the peak memory.\n"
    "  --mode M        search-first (architecture step + weight step; the\n"
    "                  default for search networks) or train (the default otherwise)\n"
    "  --batch N       images per batch (default 32)\n"
    "  --steps S       timed steps (default 3)\n"
    "  --warmup W      untimed steps first (default 1)\n"
    "  --threads T     worker threads (default: all cores)\n"
    "  --aux-weight X  weight of the auxiliary loss (default 0.4)\n"
    "  --seed S        seed of the weights and data (default 0)\n"
    "  --device D      cpu (default), cuda (the device loop on GPU 0) or ref (the\n"
    "                  device loop on the CUDA kernels' CPU references)\n";

/* Phases of one step, timed separately. */
enum { PH_ARCH_FWD, PH_ARCH_BWD, PH_ARCH_OPT, PH_W_FWD, PH_W_BWD, PH_W_OPT, PH_STEP, PH_CPU, PH_COUNT };
static const char *phase_name[PH_COUNT] = { "arch forward",  "arch backward", "arch adam", "weight forward",
                                            "weight backward", "weight clip+sgd", "whole step",
                                            "process CPU time" };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds used by all threads of the process (contention-proof work measure). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A field of /proc/self/status in KiB (VmHWM, VmRSS), or -1. */
static long proc_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of n values (sorts them). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Initializes every parameter as its descriptor says (PyTorch's defaults). */
static void init_params(RtNet *net, uint64_t seed)
{
    const RtNetDesc *d = net->d;
    RtRng rng = rt_rng_init(seed, RT_STREAM_INIT);
    for (int i = 0; i < d->nparams; i++) {
        const RtParamDesc *p = &d->params[i];
        if (p->kind == RT_PARAM_COUNTER) continue;
        float *x = rt_net_param_data(net, p);
        size_t n = (size_t)p->numel;
        switch (p->init) {
        case RT_INIT_KAIMING_UNIFORM: rt_init_kaiming_uniform(&rng, x, n, p->fan_in); break;
        case RT_INIT_BIAS_UNIFORM: rt_init_bias_uniform(&rng, x, n, p->fan_in); break;
        case RT_INIT_ONES: rt_init_const(x, n, 1); break;
        case RT_INIT_ZEROS: rt_init_const(x, n, 0); break;
        case RT_INIT_ARCH_NORMAL: rt_init_normal(&rng, x, n, 1e-3f); break;
        default: break;
        }
    }
}

/* Fills a batch of N standard-normal images and uniform labels. */
static void synth_batch(const RtNetDesc *d, uint64_t seed, uint64_t stream, int N, float *images, int32_t *labels)
{
    RtRng rng = rt_rng_init(seed, stream);
    size_t n = (size_t)N * (size_t)d->in_c * (size_t)d->in_h * (size_t)d->in_w;
    for (size_t i = 0; i < n; i++) images[i] = rt_rng_normal(&rng);
    for (int i = 0; i < N; i++) labels[i] = (int32_t)rt_rng_below(&rng, (uint64_t)d->classes);
}

/* Parses a whole-string integer in [lo, hi] into *out; 0 on success. */
static int parse_int(const char *prog, const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "%s: %s needs a number in [%ld, %ld], not '%s'\n", prog, opt, lo, hi, v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

/* What both benches time with: the network (weights from the seed), a
 * training and a validation batch of synthetic data, the step times. */
typedef struct {
    RtNet *net;
    float *xt, *xv;
    int32_t *yt, *yv;
    double *times; /* PH_COUNT x steps */
} BenchData;

static void bench_data_free(BenchData *b)
{
    rt_net_free(b->net);
    free(b->xt);
    free(b->xv);
    free(b->yt);
    free(b->yv);
    free(b->times);
}

static int bench_data_new(const RtNetDesc *d, int N, long steps, uint64_t seed, BenchData *b, char *err,
                          size_t errlen)
{
    size_t in_numel = (size_t)N * (size_t)d->in_c * (size_t)d->in_h * (size_t)d->in_w;
    b->xt = malloc(sizeof(float) * in_numel);
    b->xv = malloc(sizeof(float) * in_numel);
    b->yt = malloc(sizeof(int32_t) * (size_t)N);
    b->yv = malloc(sizeof(int32_t) * (size_t)N);
    b->times = calloc((size_t)steps * PH_COUNT, sizeof(double));
    b->net = rt_net_new(d, err, errlen);
    if (!b->net || !b->xt || !b->xv || !b->yt || !b->yv || !b->times) {
        if (b->net) snprintf(err, errlen, "out of memory");
        return -1;
    }
    init_params(b->net, seed);
    synth_batch(d, seed, BENCH_STREAM_TRAIN, N, b->xt, b->yt);
    synth_batch(d, seed, BENCH_STREAM_VALID, N, b->xv, b->yv);
    return 0;
}

/* `EXE bench --device cuda|ref`: the same steps on the device loop. */
static int bench_device(const RtNetDesc *d, const char *prog, const char *device, int search, int N, long steps,
                        long warmup, uint64_t seed, double aux_weight)
{
#ifdef SHARPRT_NO_CUDA
    (void)d, (void)search, (void)N, (void)steps, (void)warmup, (void)seed, (void)aux_weight;
    fprintf(stderr, "%s: --device %s: built without the GPU layer\n", prog, device);
    return 1;
#else
    char err[512];
    int rc = 1;
    BenchData b = { 0 };
    RtDev *dev = NULL;
    double startup = 0, lm = 0, la = 0, loss_v = 0, loss_t = 0;
    int64_t h1, h5;
    if (bench_data_new(d, N, steps, seed, &b, err, sizeof err)) goto done;
    RtNet *net = b.net;
    const float *xt = b.xt, *xv = b.xv;
    const int32_t *yt = b.yt, *yv = b.yv;
    double *times = b.times, t0 = now_s();
    dev = rt_dev_open(net, strcmp(device, "ref") ? RT_DEV_CUDA : RT_DEV_REF, N, err, sizeof err);
    if (!dev || rt_dev_put(dev, RT_DEV_W, net->w, err, sizeof err) ||
        rt_dev_put(dev, RT_DEV_ARCH, net->arch, err, sizeof err) ||
        rt_dev_put(dev, RT_DEV_BUF, net->buf, err, sizeof err))
        goto done;
    startup = now_s() - t0;
    double mib = 1.0 / 1048576.0;
    printf("bench %s (%s): mode %s, batch %d, --device %s, %ld warmup + %ld timed steps\n", d->name, d->source,
           search ? "search-first" : "train", N, device, warmup, steps);
    printf("  start-up %.2f s (kernels and memory), device memory %.1f MiB\n", startup,
           (double)rt_dev_bytes(dev) * mib);
    int64_t adam_step = 0;
    for (long s = 0; s < warmup + steps; s++) {
        double t[PH_COUNT] = { 0 }, c0 = cpu_s(), t1;
        t0 = now_s();
        if (search) {
            if (rt_dev_batch(dev, N, xv, yv, NULL, err, sizeof err) ||
                rt_dev_train(dev, 1.f, (float)aux_weight, err, sizeof err) ||
                rt_dev_result(dev, &lm, &la, &h1, &h5, err, sizeof err))
                goto done;
            loss_v = lm;
            t1 = now_s();
            t[PH_ARCH_FWD] = t1 - t0;
            if (rt_dev_adam(dev, ++adam_step, A_LR, A_BETA1, A_BETA2, A_EPS, A_DECAY, err, sizeof err)) goto done;
            t[PH_ARCH_OPT] = now_s() - t1;
        }
        t1 = now_s();
        if (rt_dev_batch(dev, N, xt, yt, NULL, err, sizeof err) ||
            rt_dev_train(dev, 1.f, (float)aux_weight, err, sizeof err) ||
            rt_dev_result(dev, &lm, &la, &h1, &h5, err, sizeof err))
            goto done;
        loss_t = lm + (d->has_aux ? aux_weight * la : 0);
        double t2 = now_s();
        t[PH_W_FWD] = t2 - t1;
        if (rt_dev_sgd(dev, W_LR, W_MOMENTUM, W_DECAY, W_CLIP, s == 0, err, sizeof err) ||
            rt_dev_result(dev, &lm, &la, &h1, &h5, err, sizeof err)) /* waits for the update */
            goto done;
        t1 = now_s();
        t[PH_W_OPT] = t1 - t2;
        t[PH_STEP] = t1 - t0;
        t[PH_CPU] = cpu_s() - c0;
        printf("  %s %ld: %.4f s (", s < warmup ? "warmup" : "step", s < warmup ? s + 1 : s - warmup + 1,
               t[PH_STEP]);
        if (search) printf("arch %.4f + %.4f, ", t[PH_ARCH_FWD], t[PH_ARCH_OPT]);
        printf("weights %.4f + %.4f), loss %.4f\n", t[PH_W_FWD], t[PH_W_OPT], search ? loss_v : loss_t);
        fflush(stdout);
        if (s >= warmup)
            for (int k = 0; k < PH_COUNT; k++) times[(size_t)k * (size_t)steps + (size_t)(s - warmup)] = t[k];
    }
    double med[PH_COUNT];
    for (int k = 0; k < PH_COUNT; k++) med[k] = median(times + (size_t)k * (size_t)steps, (int)steps);
    printf("  step: median %.4f s, %.1f images/s; device memory %.1f MiB\n", med[PH_STEP],
           (search ? 2.0 : 1.0) * N / med[PH_STEP], (double)rt_dev_bytes(dev) * mib);
    printf("RESULT side=sharpc device=%s net=%s mode=%s batch=%d steps=%ld median_s=%.4f startup_s=%.3f "
           "arch_step_s=%.4f arch_opt_s=%.4f w_step_s=%.4f w_opt_s=%.4f device_mib=%.1f loss=%.5f\n",
           device, d->name, search ? "search-first" : "train", N, steps, med[PH_STEP], startup, med[PH_ARCH_FWD],
           med[PH_ARCH_OPT], med[PH_W_FWD], med[PH_W_OPT], (double)rt_dev_bytes(dev) * mib, loss_t);
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: error: %s\n", prog, err);
    rt_dev_close(dev);
    bench_data_free(&b);
    return rc;
#endif
}

int rt_bench_main(const RtNetDesc *d, int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "bench";
    long batch = 32, steps = 3, warmup = 1, threads = 0, seed = 0;
    double aux_weight = 0.4;
    int search = d->is_search && d->n_arch > 0;
    const char *device = "cpu";
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(bench_usage, stdout);
            return 0;
        }
        int bad = 0;
        if (!strcmp(s, "--batch")) bad = parse_int(prog, s, v, 1, 1 << 20, &batch);
        else if (!strcmp(s, "--steps")) bad = parse_int(prog, s, v, 1, 1000000, &steps);
        else if (!strcmp(s, "--warmup")) bad = parse_int(prog, s, v, 0, 1000000, &warmup);
        else if (!strcmp(s, "--threads")) bad = parse_int(prog, s, v, 1, 4096, &threads);
        else if (!strcmp(s, "--seed")) bad = parse_int(prog, s, v, 0, 2147483647L, &seed);
        else if (!strcmp(s, "--aux-weight")) {
            char *end;
            aux_weight = v ? strtod(v, &end) : 0;
            if (!v || *end || end == v) {
                fprintf(stderr, "%s: --aux-weight needs a number, not '%s'\n", prog, v ? v : "");
                return EXIT_USAGE;
            }
        } else if (!strcmp(s, "--device")) {
            if (!v || (strcmp(v, "cpu") && strcmp(v, "cuda") && strcmp(v, "ref"))) {
                fprintf(stderr, "%s: --device is cpu, cuda or ref, not '%s'\n", prog, v ? v : "");
                return EXIT_USAGE;
            }
            device = v;
        } else if (!strcmp(s, "--mode")) {
            if (v && !strcmp(v, "search-first")) search = 1;
            else if (v && !strcmp(v, "train")) search = 0;
            else {
                fprintf(stderr, "%s: --mode is search-first or train, not '%s'\n", prog, v ? v : "");
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "%s: unknown option '%s'\nTry `EXE bench --help`.\n", prog, s);
            return EXIT_USAGE;
        }
        if (bad) return EXIT_USAGE;
    }
    if (search && !(d->is_search && d->n_arch > 0)) {
        fprintf(stderr, "%s: network %s has no architecture parameters; use --mode train\n", prog, d->name);
        return EXIT_USAGE;
    }
#ifdef _OPENMP
    if (threads) omp_set_num_threads((int)threads);
    int nthreads = omp_get_max_threads();
#else
    int nthreads = 1;
#endif

    if (strcmp(device, "cpu"))
        return bench_device(d, prog, device, search, (int)batch, steps, warmup, (uint64_t)seed, aux_weight);
    char err[512] = "out of memory";
    int N = (int)batch, rc = 1;
    BenchData b = { 0 };
    float *mom = calloc((size_t)(d->n_w > 0 ? d->n_w : 1), sizeof(float));
    float *am = calloc((size_t)(d->n_arch > 0 ? d->n_arch : 1), sizeof(float));
    float *av = calloc((size_t)(d->n_arch > 0 ? d->n_arch : 1), sizeof(float));
    if (!mom || !am || !av || bench_data_new(d, N, steps, (uint64_t)seed, &b, err, sizeof err) ||
        rt_net_reserve(b.net, N, err, sizeof err))
        goto done;
    RtNet *net = b.net;
    float *xt = b.xt, *xv = b.xv;
    int32_t *yt = b.yt, *yv = b.yv;
    double *times = b.times;
    long rss_ready = proc_status_kib("VmRSS");

    double mib = 1.0 / 1048576.0;
    /* the OpenMP threads' waiting, as rt_main set it or the environment gave it */
    const char *wait = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    wait = wait ? wait : "-", spin = spin ? spin : "-";
    printf("bench %s (%s): mode %s, batch %d, %d threads (OMP_WAIT_POLICY %s, GOMP_SPINCOUNT %s), %ld warmup + "
           "%ld timed steps\n",
           d->name, d->source, search ? "search-first" : "train", N, nthreads, wait, spin, warmup, steps);
    printf("  parameters %.1f MiB (+ gradients, momentum %.1f MiB), arena %.1f MiB (%.1f KiB/sample; %.1f KiB "
           "without reuse)\n",
           (double)(d->n_w + d->n_arch + d->n_buf) * 4 * mib, (double)d->n_w * 8 * mib,
           (double)N * (double)d->arena_per_sample * 4 * mib, d->arena_per_sample * 4.0 / 1024,
           d->arena_naive * 4.0 / 1024);

    int64_t adam_step = 0;
    double loss_v = 0, loss_t = 0, gnorm = 0;
    for (long s = 0; s < warmup + steps; s++) {
        double t[PH_COUNT] = { 0 }, c0 = cpu_s(), t0 = now_s(), t1;
        RtNetRun r;
        if (search) {
            rt_net_run(net, &r, N);
            r.images = xv;
            r.labels = yv;
            r.gw = NULL;
            r.gimages = NULL;
            r.aux_weight = (float)aux_weight;
            d->forward(&r);
            t1 = now_s();
            t[PH_ARCH_FWD] = t1 - t0;
            d->backward(&r);
            t[PH_ARCH_BWD] = now_s() - t1;
            t1 = now_s();
            rt_adam_step(net->arch, net->garch, am, av, (size_t)d->n_arch, ++adam_step, A_LR, A_BETA1, A_BETA2,
                         A_EPS, A_DECAY);
            t[PH_ARCH_OPT] = now_s() - t1;
            loss_v = r.loss;
        }
        t1 = now_s();
        rt_net_run(net, &r, N);
        r.images = xt;
        r.labels = yt;
        r.garch = NULL;
        r.gimages = NULL;
        r.aux_weight = (float)aux_weight;
        d->forward(&r);
        double t2 = now_s();
        t[PH_W_FWD] = t2 - t1;
        d->backward(&r);
        t1 = now_s();
        t[PH_W_BWD] = t1 - t2;
        RtSpan g = { net->gw, (size_t)d->n_w };
        gnorm = rt_clip_grad_norm(&g, 1, W_CLIP);
        rt_sgd_step(net->w, net->gw, mom, (size_t)d->n_w, W_LR, W_MOMENTUM, W_DECAY, s == 0);
        t2 = now_s();
        t[PH_W_OPT] = t2 - t1;
        t[PH_STEP] = t2 - t0;
        t[PH_CPU] = cpu_s() - c0;
        loss_t = r.loss;
        printf("  %s %ld: %.3f s", s < warmup ? "warmup" : "step", s < warmup ? s + 1 : s - warmup + 1,
               t[PH_STEP]);
        if (search) printf(" (arch %.3f + %.3f + %.4f,", t[PH_ARCH_FWD], t[PH_ARCH_BWD], t[PH_ARCH_OPT]);
        else printf(" (");
        printf(" weights %.3f + %.3f + %.4f), loss%s %.4f", t[PH_W_FWD], t[PH_W_BWD], t[PH_W_OPT],
               search ? " valid/train" : "", search ? loss_v : loss_t);
        if (search) printf("/%.4f", loss_t);
        printf(", grad norm %.3f, CPU %.2f s\n", gnorm, t[PH_CPU]);
        fflush(stdout);
        if (s >= warmup)
            for (int k = 0; k < PH_COUNT; k++) times[(size_t)k * (size_t)steps + (size_t)(s - warmup)] = t[k];
    }

    double med[PH_COUNT], step_min = times[(size_t)PH_STEP * (size_t)steps];
    for (long i = 1; i < steps; i++)
        if (times[(size_t)PH_STEP * (size_t)steps + (size_t)i] < step_min)
            step_min = times[(size_t)PH_STEP * (size_t)steps + (size_t)i];
    for (int k = 0; k < PH_COUNT; k++) med[k] = median(times + (size_t)k * (size_t)steps, (int)steps);
    printf("  median per phase:");
    int first = search ? 0 : PH_W_FWD;
    for (int k = first; k < PH_COUNT; k++) printf("%s %s %.3f s", k == first ? "" : ",", phase_name[k], med[k]);
    printf("\n");
    struct rusage ru;
    long maxrss = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
    long hwm = proc_status_kib("VmHWM");
    printf("  step: median %.3f s, min %.3f s; peak RSS %.1f MiB (ru_maxrss), VmHWM %.1f MiB, RSS before the "
           "first step %.1f MiB\n",
           med[PH_STEP], step_min, maxrss * 1.0 / 1024, hwm * 1.0 / 1024, rss_ready * 1.0 / 1024);
    printf("RESULT side=sharpc net=%s mode=%s batch=%d threads=%d steps=%ld median_s=%.4f min_s=%.4f cpu_s=%.4f "
           "arch_fwd_s=%.4f arch_bwd_s=%.4f arch_opt_s=%.4f w_fwd_s=%.4f w_bwd_s=%.4f w_opt_s=%.4f "
           "maxrss_kib=%ld vmhwm_kib=%ld arena_mib=%.1f loss=%.5f omp_wait=%s spin=%s\n",
           d->name, search ? "search-first" : "train", N, nthreads, steps, med[PH_STEP], step_min, med[PH_CPU],
           med[PH_ARCH_FWD], med[PH_ARCH_BWD], med[PH_ARCH_OPT], med[PH_W_FWD], med[PH_W_BWD], med[PH_W_OPT],
           maxrss, hwm, (double)N * (double)d->arena_per_sample * 4 * mib, loss_t, wait, spin);
    rc = 0;
done:
    if (rc) fprintf(stderr, "%s: error: %s\n", prog, err);
    bench_data_free(&b);
    free(mom);
    free(am);
    free(av);
    return rc;
}
