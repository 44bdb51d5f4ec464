/* rt_main.c: the command line of a built executable. `EXE gradients` runs
 * one training step's forward and backward on a given batch and writes the
 * logits, the loss, every gradient and the updated BN buffers (the whole-
 * network parity tests compare them with PyTorch); `EXE info` describes the
 * network. The search and training loops hang off the same entry point. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "rt_net.h"
#include "rt_run.h"
#include "sharprt.h"
#ifndef SHARPRT_NO_CUDA
#include "rt_dev.h"
#endif

#define EXIT_USAGE 2

static const char *usage =
    "usage: %s gradients|info|bench|cuda-compile [OPTIONS]   (`%s --help` for search / training)\n"
    "\n"
    "commands:\n"
    "  info        describe the network: parameters, memory per sample\n"
    "  bench       time training or search steps on synthetic data (`bench --help`)\n"
    "  cuda-compile [--arch N]\n"
    "              compile the network's CUDA kernels with NVRTC into the disk cache\n"
    "              ($XDG_CACHE_HOME/sharpc or ~/.cache/sharpc) for sm_N (80: A100,\n"
    "              90: H100/H200; default: this machine's GPU), no GPU needed with\n"
    "              --arch: a later start on such a GPU loads them from the cache\n"
    "  gradients   one forward and backward on a given batch, for checks:\n"
    "              --weights W.safetensors  every parameter (state_dict names)\n"
    "              --batch B.safetensors    `images` F32 [N,C,H,W], `labels` I64 [N]\n"
    "              -o OUT.safetensors       logits, aux_logits, loss, grad/<name>,\n"
    "                                       grad/images, updated BN buffers\n"
    "              --eval                   BN with running statistics, no aux head\n"
    "              --aux-weight X           weight of the auxiliary loss (0.4)\n"
    "              --save-weights FILE      also write the parameters after the step\n"
    "\n"
    "common options:\n"
    "  --threads T   worker threads (default: all cores)\n"
    "  -h, --help    this text\n";

typedef struct {
    const char *weights, *batch, *out, *save;
    int eval;
    double aux_weight;
    int threads;
} Opts;

static int parse(const char *prog, int argc, char **argv, Opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            printf(usage, prog, prog);
            return 0;
        } else if (!strcmp(s, "--eval")) {
            o->eval = 1;
        } else if (!strcmp(s, "--weights") || !strcmp(s, "--batch") || !strcmp(s, "-o") || !strcmp(s, "--save-weights") ||
                   !strcmp(s, "--aux-weight") || !strcmp(s, "--threads")) {
            if (!v) {
                fprintf(stderr, "%s: %s needs a value\n", prog, s);
                return EXIT_USAGE;
            }
            i++;
            char *end;
            if (!strcmp(s, "--weights")) o->weights = v;
            else if (!strcmp(s, "--batch")) o->batch = v;
            else if (!strcmp(s, "-o")) o->out = v;
            else if (!strcmp(s, "--save-weights")) o->save = v;
            else if (!strcmp(s, "--aux-weight")) {
                o->aux_weight = strtod(v, &end);
                if (*end || end == v) {
                    fprintf(stderr, "%s: --aux-weight needs a number, not '%s'\n", prog, v);
                    return EXIT_USAGE;
                }
            } else {
                long t = strtol(v, &end, 10);
                if (*end || t < 1 || t > 4096) {
                    fprintf(stderr, "%s: --threads needs a positive number, not '%s'\n", prog, v);
                    return EXIT_USAGE;
                }
                o->threads = (int)t;
            }
        } else {
            fprintf(stderr, "%s: unknown option '%s'\nTry `%s --help`.\n", prog, s, prog);
            return EXIT_USAGE;
        }
    }
    return -1;
}

/* Reads the batch file: images and labels, checked against the network. */
static int read_batch(const RtNetDesc *d, const char *path, float **images, int32_t **labels, int *N, char *err,
                      size_t errlen)
{
    RtTensorFile *f = rt_st_open(path, err, errlen);
    if (!f) return -1;
    int rc = -1;
    const RtTensorInfo *ti = rt_st_find(f, "images"), *tl = rt_st_find(f, "labels");
    int64_t *lab = NULL;
    if (!ti || !tl) {
        snprintf(err, errlen, "%s: needs tensors 'images' and 'labels'", path);
        goto done;
    }
    if (ti->ndim != 4 || ti->shape[0] < 1 || ti->shape[0] > 1000000) {
        snprintf(err, errlen, "%s: 'images' must be [N,%d,%d,%d]", path, d->in_c, d->in_h, d->in_w);
        goto done;
    }
    *N = (int)ti->shape[0];
    int64_t shp[4] = { *N, d->in_c, d->in_h, d->in_w }, nl = *N;
    *images = malloc(sizeof(float) * (size_t)(*N * d->in_c * d->in_h * d->in_w));
    *labels = malloc(sizeof(int32_t) * (size_t)*N);
    lab = malloc(sizeof(int64_t) * (size_t)*N);
    if (!*images || !*labels || !lab) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    if (rt_st_read(f, "images", RT_DTYPE_F32, 4, shp, *images, err, errlen)) goto done;
    if (rt_st_read(f, "labels", RT_DTYPE_I64, 1, &nl, lab, err, errlen)) goto done;
    for (int i = 0; i < *N; i++) {
        if (lab[i] < 0 || lab[i] >= d->classes) {
            snprintf(err, errlen, "%s: label %lld of sample %d is outside [0, %d)", path, (long long)lab[i], i,
                     d->classes);
            goto done;
        }
        (*labels)[i] = (int32_t)lab[i];
    }
    rc = 0;
done:
    free(lab);
    rt_st_close(f);
    return rc;
}

static int cmd_gradients(const RtNetDesc *d, const char *prog, Opts *o)
{
    char err[1024];
    if (!o->weights || !o->batch || !o->out) {
        fprintf(stderr, "%s gradients: needs --weights, --batch and -o\n", prog);
        return EXIT_USAGE;
    }
    RtNet *net = rt_net_new(d, err, sizeof err);
    float *images = NULL, *gimages = NULL;
    int32_t *labels = NULL;
    int N = 0, rc = 1;
    RtTensorOut *t = NULL;
    char **names = NULL;
    if (!net || rt_net_load(net, o->weights, 1, err, sizeof err) ||
        read_batch(d, o->batch, &images, &labels, &N, err, sizeof err) || rt_net_reserve(net, N, err, sizeof err))
        goto fail;
    int64_t in_numel = (int64_t)N * d->in_c * d->in_h * d->in_w;
    gimages = malloc(sizeof(float) * (size_t)in_numel);
    t = calloc((size_t)(2 * d->nparams + 8), sizeof *t);
    names = calloc((size_t)d->nparams, sizeof *names);
    if (!gimages || !t || !names) {
        snprintf(err, sizeof err, "out of memory");
        goto fail;
    }
    RtNetRun r;
    rt_net_run(net, &r, N);
    r.images = images;
    r.labels = labels;
    r.gimages = gimages;
    r.aux_weight = (float)o->aux_weight;
    if (o->eval) {
        d->eval_forward(&r);
    } else {
        d->forward(&r);
        d->backward(&r);
    }
    float loss = (float)r.loss;
    int n = 0;
    t[n++] = (RtTensorOut){ "logits", RT_DTYPE_F32, 2, { N, d->classes }, r.logits };
    if (r.aux_logits) t[n++] = (RtTensorOut){ "aux_logits", RT_DTYPE_F32, 2, { N, d->classes }, r.aux_logits };
    t[n++] = (RtTensorOut){ "loss", RT_DTYPE_F32, 0, { 0 }, &loss };
    if (!o->eval) t[n++] = (RtTensorOut){ "grad/images", RT_DTYPE_F32, 4, { N, d->in_c, d->in_h, d->in_w }, gimages };
    for (int i = 0; i < d->nparams; i++) {
        const RtParamDesc *p = &d->params[i];
        RtTensorOut x = { p->name, p->kind == RT_PARAM_COUNTER ? RT_DTYPE_I64 : RT_DTYPE_F32, p->ndim, { 0 },
                          rt_net_param_data(net, p) };
        for (int k = 0; k < p->ndim; k++) x.shape[k] = p->shape[k];
        if (p->kind == RT_PARAM_BUFFER || p->kind == RT_PARAM_COUNTER) t[n++] = x;
        if ((p->kind == RT_PARAM_WEIGHT || p->kind == RT_PARAM_ARCH) && !o->eval) {
            size_t len = strlen(p->name) + 6;
            names[i] = malloc(len);
            if (!names[i]) {
                snprintf(err, sizeof err, "out of memory");
                goto fail;
            }
            snprintf(names[i], len, "grad/%s", p->name);
            x.name = names[i];
            x.data = p->kind == RT_PARAM_WEIGHT ? net->gw + p->offset : net->garch + p->offset;
            t[n++] = x;
        }
    }
    if (rt_st_write(o->out, t, n, NULL, 0, err, sizeof err)) goto fail;
    if (o->save && rt_net_save(net, o->save, d->is_search, err, sizeof err)) goto fail;
    printf("%s: batch %d, loss %.6f, %d tensors written to %s\n", d->name, N, r.loss, n, o->out);
    rc = 0;
fail:
    if (rc) fprintf(stderr, "%s: error: %s\n", prog, err);
    if (names)
        for (int i = 0; i < d->nparams; i++) free(names[i]);
    free(names);
    free(t);
    free(images);
    free(gimages);
    free(labels);
    rt_net_free(net);
    return rc;
}

static int cmd_info(const RtNetDesc *d)
{
    int64_t w = 0;
    for (int i = 0; i < d->nparams; i++)
        if (d->params[i].kind == RT_PARAM_WEIGHT && !d->params[i].aux) w += d->params[i].numel;
    printf("network %s (from %s)\n", d->name, d->source);
    printf("  input %dx%dx%d, %d classes%s\n", d->in_c, d->in_h, d->in_w, d->classes,
           d->has_aux ? ", auxiliary head" : "");
    printf("  %lld trainable parameters (aux head excluded), %lld architecture parameters\n", (long long)w,
           (long long)d->n_arch);
    printf("  activations: %.1f KiB per sample (%.1f KiB without reuse)\n", d->arena_per_sample * 4.0 / 1024,
           d->arena_naive * 4.0 / 1024);
    return 0;
}

/* Says where the search or training runs (--device, rt_device_select) and
 * leaves the choice in want: "cpu", "cuda" (the device loop on GPU 0) or
 * "ref" (the device loop on the CUDA kernels' CPU references). `auto` takes
 * the GPU when there is one and the network has a CUDA launch plan. A
 * program built without the GPU layer (SHARPRT_NO_CUDA: the standalone
 * source of `sharpc emit --train`) knows only the CPU. Returns nonzero
 * after a message when the run must not start. */
static int report_device(const char *prog, const RtNetDesc *d, char *want, size_t wantlen)
{
#ifndef SHARPRT_NO_CUDA
    RtDevice dev;
    char line[320], err[512];
    if (!strcmp(want, "ref")) {
        if (!d->cuda) {
            fprintf(stderr, "%s: --device ref: network %s has no CUDA launch plan (%s)\n", prog, d->name,
                    d->cuda_why);
            return 1;
        }
        fprintf(stderr, "device: CPU, running the CUDA launch plan on reference kernels (--device ref)\n");
        return 0;
    }
    if (rt_device_select(want, &dev, line, sizeof line, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    if (dev == RT_DEVICE_CUDA && !d->cuda) {
        if (!strcmp(want, "cuda")) {
            fprintf(stderr, "%s: --device cuda: network %s cannot run on the GPU: %s\n", prog, d->name,
                    d->cuda_why);
            return 1;
        }
        fprintf(stderr, "device: CPU (found %s, but network %s has no CUDA launch plan: %s)\n",
                line + strlen("device: "), d->name, d->cuda_why);
        dev = RT_DEVICE_CPU;
    } else {
        fprintf(stderr, "%s\n", line);
    }
    snprintf(want, wantlen, "%s", dev == RT_DEVICE_CUDA ? "cuda" : "cpu");
    return 0;
#else
    (void)d;
    if (strcmp(want, "cpu") && strcmp(want, "auto")) {
        fprintf(stderr, "%s: --device %s: this program was built without the GPU layer (CPU only)\n", prog, want);
        return 1;
    }
    fprintf(stderr, "device: CPU (built without the GPU layer)\n");
    snprintf(want, wantlen, "cpu");
    return 0;
#endif
}

/* `EXE cuda-compile [--arch N]`: the kernels into the disk cache. */
static int cmd_cuda_compile(const RtNetDesc *d, const char *prog, int argc, char **argv)
{
    int arch = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf(usage, prog, prog);
            return 0;
        }
        char *end = NULL;
        if (!strcmp(argv[i], "--arch") && i + 1 < argc && (arch = (int)strtol(argv[i + 1], &end, 10)) >= 50 &&
            arch < 1000 && *end == 0) {
            i++;
            continue;
        }
        if (!strcmp(argv[i], "--arch"))
            fprintf(stderr, "%s cuda-compile: --arch needs a compute capability such as 80 or 90, not '%s'\n",
                    prog, i + 1 < argc ? argv[i + 1] : "");
        else
            fprintf(stderr, "%s cuda-compile: unknown option '%s' (expected --arch N)\n", prog, argv[i]);
        return EXIT_USAGE;
    }
#ifndef SHARPRT_NO_CUDA
    char err[4096];
    if (arch == 0 && !rt_cuda_available(err, sizeof err)) {
        fprintf(stderr, "%s cuda-compile: no CUDA GPU here (%s); give --arch N (80: A100, 90: H100/H200) to "
                        "compile for one\n", prog, err);
        return 1;
    }
    if (rt_dev_precompile(d, arch, err, sizeof err)) {
        fprintf(stderr, "%s cuda-compile: %s\n", prog, err);
        return 1;
    }
    return 0;
#else
    (void)d;
    fprintf(stderr, "%s cuda-compile: this program was built without the GPU layer\n", prog);
    return 1;
#endif
}

int rt_main(const RtNetDesc *d, const char *const *settings, int nsettings, int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "sharp";
    const char *cmd = argc > 1 ? argv[1] : "";
#ifdef _OPENMP
    int again = 0;
    if (!getenv("OMP_WAIT_POLICY")) {
        /* Threads that spin long at the end of each of the thousands of
         * parallel kernels of a step waste the cores as soon as anything
         * else runs (libgomp's default, 300,000 spins: 27 s against 4.2 s
         * per epoch on a busy 2-core machine), while threads that sleep at
         * once (passive) pay a wake-up per kernel: the Fashion-MNIST search
         * step took 0.79 s passive against 0.69 s spinning 1,000 times
         * before sleeping, which cost 4% with two other busy processes on
         * the 2 cores (5,000 spins: 33%). On idle cores 10,000 spins gain
         * a further 2-15% (rt_spin_count chooses). OMP_WAIT_POLICY (and
         * GOMP_SPINCOUNT) in the environment are left alone. */
        setenv("OMP_WAIT_POLICY", "active", 1);
        if (!getenv("GOMP_SPINCOUNT")) {
            char spins[16];
            snprintf(spins, sizeof spins, "%d", rt_spin_count());
            setenv("GOMP_SPINCOUNT", spins, 1);
        }
        again = 1;
    }
    if (!getenv("OMP_STACKSIZE")) {
        /* the kernels keep their scratch on the stack (the weight
         * gradient's tiles take up to 400 KB): worker threads get 8 MB
         * whatever the platform's default */
        setenv("OMP_STACKSIZE", "8M", 1);
        again = 1;
    }
    /* libgomp reads these when it loads: set them, then restart */
    if (again)
        execv("/proc/self/exe", argv);
#endif
    Opts o = { 0 };
    o.aux_weight = 0.4;
    if (strcmp(cmd, "gradients") && strcmp(cmd, "info") && strcmp(cmd, "bench") && strcmp(cmd, "cuda-compile")) {
        /* the default command: search for a search space, train otherwise */
        int skip = !strcmp(cmd, "search") || !strcmp(cmd, "train");
        if (skip && !strcmp(cmd, d->is_search ? "train" : "search")) {
            fprintf(stderr, "%s: network %s %s; it cannot %s\n", prog, d->name,
                    d->is_search ? "is a search space" : "has no architecture parameters", cmd);
            return EXIT_USAGE;
        }
        argv[skip] = argv[0];
        RtConfig c;
        int rc = rt_config(d, settings, nsettings, argc - skip, argv + skip, &c);
        if (rc >= 0) return rc;
        c.device_auto = !strcmp(c.device, "auto");
        if (report_device(prog, d, c.device, sizeof c.device)) return 1;
        return c.search ? rt_search_run(d, &c) : rt_train_run(d, &c);
    }
    if (!strcmp(cmd, "bench")) return rt_bench_main(d, argc - 1, argv + 1);
    if (!strcmp(cmd, "cuda-compile")) return cmd_cuda_compile(d, prog, argc - 2, argv + 2);
    int rc = parse(prog, argc - 2, argv + 2, &o);
    if (rc >= 0) return rc;
#ifdef _OPENMP
    if (o.threads) omp_set_num_threads(o.threads);
#endif
    if (!strcmp(cmd, "gradients")) return cmd_gradients(d, prog, &o);
    if (!strcmp(cmd, "info")) return cmd_info(d);
    fprintf(stderr, "%s: unknown command '%s'\nTry `%s --help`.\n", prog, cmd, prog);
    return EXIT_USAGE;
}
