/* rt_dev.c: the device loop's engine (see rt_dev.h): the spaces of a
 * program's CUDA launch plan, its kernels (NVRTC on a GPU, the CPU
 * references otherwise), and the interpretation of the plan's sections and
 * of the optimizers. A launch's arguments are laid out as cuLaunchKernel
 * takes them (an array of pointers to the values, a KPtrs<P> argument as
 * P consecutive pointers) once per batch size, keep probability and
 * auxiliary weight, and reused by every step with the same three. */
#define _POSIX_C_SOURCE 200809L
#include "rt_dev.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_kernels.h"
#include "kernel_ref.h"
#include "rt_check.h"

/* One argument value as cuLaunchKernel reads it: an int or a float in the
 * first 4 bytes, a pointer in all 8. */
typedef union {
    int i;
    float f;
    uint64_t u;   /* device pointer (CUDA) */
    void *p;      /* host pointer (REF) */
} Val;

/* The optimizers' instantiations, after the plan's. */
enum {
    OPT_SGD1, OPT_SGD0, OPT_SQ_PART, OPT_COEF, OPT_SCALE, OPT_ADAM, /* the optimizers */
    OPT_COPY, OPT_AXPY, OPT_UNROLLED_W, OPT_HVP,                     /* the second-order step */
    OPT__COUNT
};

struct RtDev {
    RtDevKind kind;
    RtNet *net;
    const RtNetDesc *d;
    const RtCudaPlan *p;
    int maxN, N;
    uint64_t sp[RT_SP__COUNT];  /* base of each space */
    uint64_t arr[RT_DEV__COUNT]; /* base of each mirrored array */
    int64_t numel[RT_DEV__COUNT];
    uint64_t part, norm, coef;  /* clipping: NB partial sums (double), the norm (double), the factor */
    uint64_t theta, v, dalpha, hp, bufs; /* the second-order step's vectors (allocated at its first use) */
    int nb;                     /* kc_norm_nb(n_w) */
    /* instantiations: the plan's, then OPT__COUNT of the optimizers */
    int ninst;
    int opt_kernel[OPT__COUNT];
    int opt_args[OPT__COUNT][1];
    char opt_expr[OPT__COUNT][64];
    void **fn;                  /* CUDA functions, per instantiation */
    RtCudaImage **img;          /* the loaded programs and their modules */
    RtCudaModule **mod;
    int nmod;
    /* the plan's arguments resolved for (res_N, res_keep, res_aux) */
    Val *vals;
    void **argv;
    int *argv0;                 /* per launch: its first entry in argv */
    int res_N;
    float res_keep, res_aux;
    int last;                   /* 0: nothing run; 1: training step; 2: eval */
    int drop_ones;              /* the drop-path masks on the device are all ones */
    size_t bytes;               /* device memory allocated */
};

/* ---- memory and launches of the two backends ---- */

static int mem_alloc(RtDev *dev, size_t bytes, uint64_t *out, char *err, size_t errlen)
{
    if (bytes == 0)
        bytes = 8;
    if (dev->kind == RT_DEV_REF) {
        void *p = calloc(1, bytes);
        if (!p)
            return rt_errf(err, errlen, "out of memory (%zu bytes for the device loop)", bytes);
        *out = (uint64_t)(uintptr_t)p;
        dev->bytes += bytes;
        return 0;
    }
    RtDevPtr d;
    if (rt_cuda_alloc(&d, bytes, err, errlen) || rt_cuda_memset0(d, bytes, err, errlen))
        return -1;
    *out = d;
    dev->bytes += bytes;
    return 0;
}

static void mem_free(RtDev *dev, uint64_t p)
{
    if (!p)
        return;
    if (dev->kind == RT_DEV_REF)
        free((void *)(uintptr_t)p);
    else
        rt_cuda_free(p);
}

static int mem_put(RtDev *dev, uint64_t dst, const void *src, size_t bytes, char *err, size_t errlen)
{
    if (bytes == 0)
        return 0;
    if (dev->kind == RT_DEV_REF) {
        memcpy((void *)(uintptr_t)dst, src, bytes);
        return 0;
    }
    return rt_cuda_h2d(dst, src, bytes, err, errlen);
}

static int mem_get(RtDev *dev, void *dst, uint64_t src, size_t bytes, char *err, size_t errlen)
{
    if (bytes == 0)
        return 0;
    if (dev->kind == RT_DEV_REF) {
        memcpy(dst, (const void *)(uintptr_t)src, bytes);
        return 0;
    }
    return rt_cuda_d2h(dst, src, bytes, err, errlen);
}

/* Kernel and template arguments of instantiation i. */
static KcKernel inst_kernel(const RtDev *dev, int i)
{
    return (KcKernel)(i < dev->p->ninst ? dev->p->inst[i].kernel : dev->opt_kernel[i - dev->p->ninst]);
}

static const int *inst_args(const RtDev *dev, int i)
{
    return i < dev->p->ninst ? dev->p->inst[i].args : dev->opt_args[i - dev->p->ninst];
}

static const char *inst_expr(const RtDev *dev, int i)
{
    return i < dev->p->ninst ? dev->p->inst[i].expr : dev->opt_expr[i - dev->p->ninst];
}

/* Launches instantiation i with geometry for n and arguments argv. */
static int launch(RtDev *dev, int i, int n, void **argv, char *err, size_t errlen)
{
    KcKernel k = inst_kernel(dev, i);
    if (dev->kind == RT_DEV_REF)
        return kc_ref_launch(k, inst_args(dev, i), argv, err, errlen);
    KcLaunch g;
    kc_launch(k, inst_args(dev, i), n, &g);
    return rt_cuda_launch(dev->fn[i], g.grid, g.block, argv, err, errlen);
}

/* ---- kernels: NVRTC, programs of one source file's instantiations ---- */

static const RtCudaSource *source_named(const char *name)
{
    for (int i = 0; i < rt_cuda_nsources; i++)
        if (strcmp(rt_cuda_sources[i].name, name) == 0)
            return &rt_cuda_sources[i];
    return NULL;
}

/* Most expressions per NVRTC program: a source file's instantiations are
 * split into programs of this many, compiled in parallel. */
#define EXPRS_PER_PROGRAM 24

/* One NVRTC program: expressions [first, first + n) of the job list. */
typedef struct {
    int file;
    int first, n;
    RtCudaImage *img;
    int rc;
    char err[2048];
} Job;

/* Compiles every instantiation for arch (0: the present GPU) through the
 * disk cache; with load, loads each program and resolves dev->fn. */
static int compile_kernels(RtDev *dev, int arch, int load, char *err, size_t errlen)
{
    const RtCudaSource *hdr = source_named(KC_HEADER);
    const char **exprs = malloc(sizeof *exprs * (size_t)dev->ninst);
    int *idx = malloc(sizeof *idx * (size_t)dev->ninst);
    Job *jobs = calloc((size_t)dev->ninst, sizeof *jobs);
    dev->fn = calloc((size_t)dev->ninst, sizeof *dev->fn);
    if (!exprs || !idx || !jobs || !dev->fn) {
        free(exprs);
        free(idx);
        free(jobs);
        return rt_errf(err, errlen, "out of memory");
    }
    /* the instantiations by source file, in programs of EXPRS_PER_PROGRAM */
    int n = 0, njobs = 0;
    for (int f = 0; f < KC_NFILES; f++) {
        int start = n;
        for (int i = 0; i < dev->ninst; i++)
            if (strcmp(kc_file(inst_kernel(dev, i)), kc_files[f]) == 0) {
                idx[n] = i;
                exprs[n++] = inst_expr(dev, i);
            }
        for (int k = start; k < n; k += EXPRS_PER_PROGRAM) {
            jobs[njobs].file = f;
            jobs[njobs].first = k;
            jobs[njobs].n = n - k < EXPRS_PER_PROGRAM ? n - k : EXPRS_PER_PROGRAM;
            njobs++;
        }
    }
    double t0 = rt_clock_seconds();
    fprintf(stderr, "compiling %d CUDA kernel instantiations (%d NVRTC programs)...\n", dev->ninst, njobs);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (int j = 0; j < njobs; j++) {
        Job *b = &jobs[j];
        const RtCudaSource *src = source_named(kc_files[b->file]);
        RtCudaCompile opt = { 0 };
        opt.arch = arch;
        if (!src || !hdr)
            b->rc = rt_errf(b->err, sizeof b->err, "kernel source %s is not built into this program",
                            kc_files[b->file]);
        else
            b->rc = rt_nvrtc_compile(src, hdr, 1, exprs + b->first, b->n, &opt, &b->img, b->err, sizeof b->err);
    }
    int rc = 0, hits = 0;
    for (int j = 0; j < njobs && rc == 0; j++) {
        Job *b = &jobs[j];
        if (b->rc) {
            rc = rt_errf(err, errlen, "%s", b->err);
            break;
        }
        hits += b->img->from_cache;
        if (!load)
            continue;
        RtCudaModule *mod = NULL;
        if (rt_cuda_module_load(b->img, &mod, err, errlen)) {
            rc = -1;
            break;
        }
        dev->mod[dev->nmod] = mod;
        dev->img[dev->nmod++] = b->img;
        b->img = NULL; /* the device owns it now */
        for (int k = b->first; k < b->first + b->n && rc == 0; k++)
            if (!(dev->fn[idx[k]] = rt_cuda_function(mod, exprs[k], err, errlen)))
                rc = -1;
    }
    for (int j = 0; j < njobs; j++)
        rt_cuda_image_free(jobs[j].img);
    if (rc == 0)
        fprintf(stderr, "CUDA kernels %s in %.1f s (%d of %d programs from the cache)\n",
                load ? "ready" : "compiled", rt_clock_seconds() - t0, hits, njobs);
    free(exprs);
    free(idx);
    free(jobs);
    return rc;
}

/* ---- opening ---- */

static void set_opt(RtDev *dev, int o, KcKernel k, int arg)
{
    dev->opt_kernel[o] = k;
    dev->opt_args[o][0] = arg;
    kc_expr(k, dev->opt_args[o], dev->opt_expr[o], sizeof dev->opt_expr[o]);
}

/* The instantiations: the plan's, then the optimizers' (over the flat
 * weight and architecture arrays). */
static void inst_setup(RtDev *dev)
{
    dev->nb = kc_norm_nb(dev->d->n_w);
    set_opt(dev, OPT_SGD1, KC_sgd_step, 1);
    set_opt(dev, OPT_SGD0, KC_sgd_step, 0);
    set_opt(dev, OPT_SQ_PART, KC_grad_sq_part, dev->nb);
    set_opt(dev, OPT_COEF, KC_clip_coef, dev->nb);
    set_opt(dev, OPT_SCALE, KC_clip_scale, 0);
    set_opt(dev, OPT_ADAM, KC_adam_step, 0);
    set_opt(dev, OPT_COPY, KC_vec_copy, 0);
    set_opt(dev, OPT_AXPY, KC_vec_axpy, 0);
    set_opt(dev, OPT_UNROLLED_W, KC_unrolled_w, 0);
    set_opt(dev, OPT_HVP, KC_hvp_combine, 0);
    dev->ninst = dev->p->ninst + OPT__COUNT;
}

/* Checks that the plan fits the network and refers only to what exists. */
static int check_plan(const RtDev *dev, char *err, size_t errlen)
{
    const RtCudaPlan *p = dev->p;
    const RtNetDesc *d = dev->d;
    if (p->size[RT_SP_WEIGHTS] != d->n_w || p->size[RT_SP_ARCH] != d->n_arch || p->size[RT_SP_BUFFERS] != d->n_buf ||
        p->size[RT_SP_IMAGES] != (int64_t)d->in_c * d->in_h * d->in_w)
        return rt_errf(err, errlen, "the CUDA plan of %s does not match its parameters (rebuild it with sharpc)",
                       d->name);
    for (int s = 0; s <= RT_SEC__COUNT; s++)
        if (p->sec[s] < 0 || p->sec[s] > p->nl || (s > 0 && p->sec[s] < p->sec[s - 1]))
            return rt_errf(err, errlen, "the CUDA plan of %s has bad sections", d->name);
    for (int i = 0; i < p->ninst; i++)
        if ((unsigned)p->inst[i].kernel >= KC__COUNT)
            return rt_errf(err, errlen, "the CUDA plan of %s names an unknown kernel", d->name);
    for (int i = 0; i < p->nl; i++) {
        const RtPlanLaunch *l = &p->l[i];
        if ((unsigned)l->inst >= (unsigned)p->ninst || l->arg0 < 0 || l->nargs < 0 || l->arg0 + l->nargs > p->nargs)
            return rt_errf(err, errlen, "the CUDA plan of %s: launch %d is malformed", d->name, i);
    }
    for (int i = 0; i < p->nargs; i++) {
        const RtPlanArg *a = &p->args[i];
        if (a->kind == RT_ARG_TENSOR && (a->space >= RT_SP__COUNT || a->off < 0 || a->len < 1 ||
                                         a->off + a->len > p->size[a->space]))
            return rt_errf(err, errlen, "the CUDA plan of %s: argument %d lies outside its space", d->name, i);
    }
    return 0;
}

RtDev *rt_dev_open(RtNet *net, RtDevKind kind, int maxN, char *err, size_t errlen)
{
    const RtNetDesc *d = net->d;
    if (!d->cuda) {
        rt_errf(err, errlen, "network %s has no CUDA launch plan (%s); run it with --device cpu", d->name,
                d->cuda_why ? d->cuda_why : "built without one");
        return NULL;
    }
    RtDev *dev = calloc(1, sizeof *dev);
    if (!dev) {
        rt_errf(err, errlen, "out of memory");
        return NULL;
    }
    dev->kind = kind;
    dev->net = net;
    dev->d = d;
    dev->p = d->cuda;
    dev->maxN = maxN;
    dev->res_N = -1;
    if (check_plan(dev, err, errlen))
        goto fail;
    if (kind == RT_DEV_CUDA && rt_cuda_init(err, errlen))
        goto fail;
    const RtCudaPlan *p = dev->p;
    for (int s = 0; s < RT_SP__COUNT; s++) {
        size_t n = (size_t)p->size[s] * (rt_space_batched((RtSpace)s) ? (size_t)maxN : 1u);
        if (mem_alloc(dev, n * 4, &dev->sp[s], err, errlen))
            goto fail;
        if (kind == RT_DEV_REF && (s == RT_SP_ARENA || s == RT_SP_SMALL || s == RT_SP_WORK))
            for (size_t i = 0; i < n; i++) /* what no launch wrote shows up as NaN */
                ((float *)(uintptr_t)dev->sp[s])[i] = NAN;
    }
    dev->numel[RT_DEV_W] = dev->numel[RT_DEV_GW] = dev->numel[RT_DEV_MOM] = d->n_w;
    dev->numel[RT_DEV_ARCH] = dev->numel[RT_DEV_GARCH] = d->n_arch;
    dev->numel[RT_DEV_ADAM_M] = dev->numel[RT_DEV_ADAM_V] = d->n_arch;
    dev->numel[RT_DEV_BUF] = d->n_buf;
    dev->arr[RT_DEV_W] = dev->sp[RT_SP_WEIGHTS];
    dev->arr[RT_DEV_GW] = dev->sp[RT_SP_GWEIGHTS];
    dev->arr[RT_DEV_ARCH] = dev->sp[RT_SP_ARCH];
    dev->arr[RT_DEV_GARCH] = dev->sp[RT_SP_GARCH];
    dev->arr[RT_DEV_BUF] = dev->sp[RT_SP_BUFFERS];
    inst_setup(dev);
    if (mem_alloc(dev, (size_t)d->n_w * 4, &dev->arr[RT_DEV_MOM], err, errlen) ||
        mem_alloc(dev, (size_t)d->n_arch * 4, &dev->arr[RT_DEV_ADAM_M], err, errlen) ||
        mem_alloc(dev, (size_t)d->n_arch * 4, &dev->arr[RT_DEV_ADAM_V], err, errlen) ||
        mem_alloc(dev, (size_t)dev->nb * 8, &dev->part, err, errlen) || mem_alloc(dev, 8, &dev->norm, err, errlen) ||
        mem_alloc(dev, 4, &dev->coef, err, errlen))
        goto fail;
    dev->vals = malloc(sizeof *dev->vals * (size_t)(p->nargs ? p->nargs : 1));
    dev->argv = malloc(sizeof *dev->argv * (size_t)(p->nargs ? p->nargs : 1));
    dev->argv0 = malloc(sizeof *dev->argv0 * (size_t)(p->nl ? p->nl : 1));
    if (!dev->vals || !dev->argv || !dev->argv0) {
        rt_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (kind == RT_DEV_CUDA) {
        dev->mod = calloc((size_t)dev->ninst, sizeof *dev->mod);
        dev->img = calloc((size_t)dev->ninst, sizeof *dev->img);
        if (!dev->mod || !dev->img) {
            rt_errf(err, errlen, "out of memory");
            goto fail;
        }
        if (compile_kernels(dev, 0, 1, err, errlen))
            goto fail;
    }
    return dev;
fail:
    rt_dev_close(dev);
    return NULL;
}

int rt_dev_precompile(const RtNetDesc *d, int arch, char *err, size_t errlen)
{
    if (!d->cuda)
        return rt_errf(err, errlen, "network %s has no CUDA launch plan (%s)", d->name, d->cuda_why);
    RtDev *dev = calloc(1, sizeof *dev);
    if (!dev)
        return rt_errf(err, errlen, "out of memory");
    dev->d = d;
    dev->p = d->cuda;
    int rc = check_plan(dev, err, errlen);
    if (rc == 0) {
        inst_setup(dev);
        rc = compile_kernels(dev, arch, 0, err, errlen);
    }
    rt_dev_close(dev);
    return rc;
}

void rt_dev_close(RtDev *dev)
{
    if (!dev)
        return;
    for (int s = 0; s < RT_SP__COUNT; s++)
        mem_free(dev, dev->sp[s]);
    mem_free(dev, dev->arr[RT_DEV_MOM]);
    mem_free(dev, dev->arr[RT_DEV_ADAM_M]);
    mem_free(dev, dev->arr[RT_DEV_ADAM_V]);
    mem_free(dev, dev->part);
    mem_free(dev, dev->norm);
    mem_free(dev, dev->coef);
    mem_free(dev, dev->theta);
    mem_free(dev, dev->v);
    mem_free(dev, dev->dalpha);
    mem_free(dev, dev->hp);
    mem_free(dev, dev->bufs);
    for (int m = 0; m < dev->nmod; m++) {
        rt_cuda_module_free(dev->mod[m]);
        rt_cuda_image_free(dev->img[m]);
    }
    free(dev->mod);
    free(dev->img);
    free(dev->fn);
    free(dev->vals);
    free(dev->argv);
    free(dev->argv0);
    free(dev);
}

/* ---- the mirrored arrays and the batch ---- */

size_t rt_dev_bytes(const RtDev *dev)
{
    return dev->bytes;
}

int64_t rt_dev_numel(const RtDev *dev, RtDevArray a)
{
    return (unsigned)a < RT_DEV__COUNT ? dev->numel[a] : 0;
}

int rt_dev_get(RtDev *dev, RtDevArray a, float *host, char *err, size_t errlen)
{
    return mem_get(dev, host, dev->arr[a], (size_t)dev->numel[a] * 4, err, errlen);
}

int rt_dev_put(RtDev *dev, RtDevArray a, const float *host, char *err, size_t errlen)
{
    return mem_put(dev, dev->arr[a], host, (size_t)dev->numel[a] * 4, err, errlen);
}

int rt_dev_batch(RtDev *dev, int N, const float *x, const int32_t *y, const float *mask, char *err,
                 size_t errlen)
{
    if (N < 1 || N > dev->maxN)
        return rt_errf(err, errlen, "batch of %d samples (the device loop holds 1 to %d)", N, dev->maxN);
    const RtCudaPlan *p = dev->p;
    dev->N = N;
    if (mem_put(dev, dev->sp[RT_SP_IMAGES], x, (size_t)N * (size_t)p->size[RT_SP_IMAGES] * 4, err, errlen) ||
        mem_put(dev, dev->sp[RT_SP_LABELS], y, (size_t)N * 4, err, errlen))
        return -1;
    if (p->size[RT_SP_DROP] == 0 || (!mask && dev->drop_ones))
        return 0;
    /* (drop_sites, N) masks, or all ones when drop path is off (sent once,
     * for the whole space: the masks' layout depends on N) */
    size_t n = (size_t)(mask ? N : dev->maxN) * (size_t)p->size[RT_SP_DROP];
    float *ones = NULL;
    if (!mask) {
        if (!(ones = malloc(n * 4)))
            return rt_errf(err, errlen, "out of memory");
        for (size_t i = 0; i < n; i++)
            ones[i] = 1.f;
    }
    int rc = mem_put(dev, dev->sp[RT_SP_DROP], mask ? mask : ones, n * 4, err, errlen);
    free(ones);
    dev->drop_ones = !mask && rc == 0;
    return rc;
}

/* ---- running the plan ---- */

/* Sets v to tensor argument a at batch N: a device address, or a host
 * pointer on the references. */
static void tensor_val(const RtDev *dev, const RtPlanArg *a, int N, Val *v)
{
    uint64_t off = (uint64_t)a->off * (rt_space_batched((RtSpace)a->space) ? (uint64_t)N : 1u) * 4u;
    if (dev->kind == RT_DEV_REF)
        v->p = (char *)(uintptr_t)dev->sp[a->space] + off;
    else
        v->u = dev->sp[a->space] + off;
}

/* Lays out every launch's arguments for the current N, keep and aux. */
static int resolve(RtDev *dev, float keep, float aux, char *err, size_t errlen)
{
    if (dev->res_N == dev->N && dev->res_keep == keep && dev->res_aux == aux)
        return 0;
    const RtCudaPlan *p = dev->p;
    int N = dev->N;
    int na = 0;
    for (int li = 0; li < p->nl; li++) {
        const RtPlanLaunch *l = &p->l[li];
        dev->argv0[li] = na;
        for (int k = 0; k < l->nargs; k++) {
            int ai = l->arg0 + k;
            const RtPlanArg *a = &p->args[ai];
            Val *v = &dev->vals[ai];
            v->u = 0;
            switch ((RtArgKind)a->kind) {
            case RT_ARG_TENSOR: tensor_val(dev, a, N, v); break;
            case RT_ARG_NULL: break;
            case RT_ARG_INT: v->i = (int)a->off; break;
            case RT_ARG_FLOAT: v->f = a->f; break;
            case RT_ARG_BATCH: v->i = N; break;
            case RT_ARG_KEEP: v->f = keep; break;
            case RT_ARG_AUX_WEIGHT: v->f = aux; break;
            case RT_ARG_PTRS:
                /* the table is the next off values, consecutive in vals */
                if (a->off < 0 || k + a->off >= l->nargs)
                    return rt_errf(err, errlen, "the CUDA plan: launch %d has a KPtrs past its arguments", li);
                dev->argv[na++] = &dev->vals[ai + 1];
                for (int j = 1; j <= a->off; j++) {
                    dev->vals[ai + j].u = 0; /* a null entry */
                    if (p->args[ai + j].kind == RT_ARG_TENSOR)
                        tensor_val(dev, &p->args[ai + j], N, &dev->vals[ai + j]);
                }
                k += (int)a->off;
                continue;
            default:
                return rt_errf(err, errlen, "the CUDA plan: launch %d has an argument of unknown kind", li);
            }
            dev->argv[na++] = v;
        }
    }
    dev->res_N = N;
    dev->res_keep = keep;
    dev->res_aux = aux;
    return 0;
}

/* Runs the launches of sections [from, to). */
static int run(RtDev *dev, RtSection from, RtSection to, char *err, size_t errlen)
{
    const RtCudaPlan *p = dev->p;
    for (int i = p->sec[from]; i < p->sec[to]; i++) {
        const RtPlanLaunch *l = &p->l[i];
        char why[400];
        if (launch(dev, l->inst, l->grid_n < 0 ? dev->N : l->grid_n, &dev->argv[dev->argv0[i]], why, sizeof why))
            return rt_errf(err, errlen, "launch %d of the CUDA plan (%s): %s", i, p->inst[l->inst].expr, why);
    }
    return 0;
}

int rt_dev_train(RtDev *dev, float keep, float aux_weight, char *err, size_t errlen)
{
    if (resolve(dev, keep, aux_weight, err, errlen) || run(dev, RT_SEC_FORWARD, RT_SEC_EVAL, err, errlen))
        return -1;
    for (int64_t i = 0; i < dev->d->n_cnt; i++) /* num_batches_tracked: one per training forward */
        dev->net->cnt[i]++;
    dev->last = 1;
    return 0;
}

int rt_dev_eval(RtDev *dev, char *err, size_t errlen)
{
    /* the eval sections read neither keep nor aux: keep the training
     * step's layout when the batch size matches, so it is not redone */
    float keep = dev->res_N == dev->N ? dev->res_keep : 1.f, aux = dev->res_N == dev->N ? dev->res_aux : 0.f;
    if (resolve(dev, keep, aux, err, errlen) || run(dev, RT_SEC_EVAL, RT_SEC__COUNT, err, errlen))
        return -1;
    dev->last = 2;
    return 0;
}

int rt_dev_result(RtDev *dev, double *loss_main, double *loss_aux, int64_t *top1, int64_t *top5, char *err,
                  size_t errlen)
{
    float loss[2] = { 0, 0 };
    int32_t hits[2] = { 0, 0 };
    if (!dev->last)
        return rt_errf(err, errlen, "no step has run on the device");
    /* a kernel's fault shows here, named as such, not as the copy's */
    if (dev->kind == RT_DEV_CUDA && rt_cuda_sync(err, errlen))
        return -1;
    if (mem_get(dev, loss, dev->sp[RT_SP_LOSS], sizeof loss, err, errlen) ||
        mem_get(dev, hits, dev->sp[RT_SP_COUNTS], sizeof hits, err, errlen))
        return -1;
    *loss_main = loss[0];
    *loss_aux = dev->last == 1 && dev->d->has_aux ? loss[1] : 0.0;
    *top1 = hits[0];
    *top5 = hits[1];
    return 0;
}

/* ---- optimizers ---- */

/* The global norm of the n floats at g into dev->norm (double), and the
 * clipping factor for max_norm into dev->coef (rt_clip_grad_norm's). */
static int norm_launch(RtDev *dev, int n, uint64_t g, float max_norm, char *err, size_t errlen)
{
    Val vn = { .i = n }, vmax = { .f = max_norm }, vg, part, norm, coef;
    vg.u = g; /* host or device address alike: 8 bytes either way */
    part.u = dev->part;
    norm.u = dev->norm;
    coef.u = dev->coef;
    void *a1[] = { &vn, &vg, &part }, *a2[] = { &vmax, &part, &norm, &coef };
    int base = dev->p->ninst;
    return launch(dev, base + OPT_SQ_PART, n, a1, err, errlen) || launch(dev, base + OPT_COEF, 1, a2, err, errlen)
               ? -1
               : 0;
}

int rt_dev_sgd(RtDev *dev, double lr, double momentum, double wd, double clip, int first, char *err,
               size_t errlen)
{
    int n = (int)dev->d->n_w, base = dev->p->ninst;
    if (n == 0)
        return 0;
    Val vn = { .i = n }, vlr = { .f = (float)-lr }, vmom = { .f = (float)momentum }, vwd = { .f = (float)wd };
    Val w, g, buf, coef;
    w.u = dev->arr[RT_DEV_W];
    g.u = dev->arr[RT_DEV_GW];
    buf.u = dev->arr[RT_DEV_MOM];
    coef.u = dev->coef;
    if (clip > 0) {
        void *a[] = { &vn, &coef, &g };
        if (norm_launch(dev, n, g.u, (float)clip, err, errlen) || launch(dev, base + OPT_SCALE, n, a, err, errlen))
            return -1;
    }
    /* momentum 0 keeps no buffer in torch: the step is then p -= lr * d */
    if (momentum == 0)
        first = 1;
    void *a[] = { &vn, &vlr, &vmom, &vwd, &w, &g, &buf };
    return launch(dev, base + (first ? OPT_SGD1 : OPT_SGD0), n, a, err, errlen);
}

int rt_dev_adam(RtDev *dev, int64_t t, double lr, double b1, double b2, double eps, double wd, char *err,
                size_t errlen)
{
    int n = (int)dev->d->n_arch;
    if (n == 0)
        return 0;
    double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
    Val vn = { .i = n }, vstep = { .f = (float)(-lr / bc1) }, vbc2 = { .f = (float)sqrt(bc2) };
    Val vwd = { .f = (float)wd }, vb1 = { .f = (float)b1 }, vb2 = { .f = (float)b2 };
    Val v1b1 = { .f = (float)(1.0 - b1) }, v1b2 = { .f = (float)(1.0 - b2) }, veps = { .f = (float)eps };
    Val p, g, m, v;
    p.u = dev->arr[RT_DEV_ARCH];
    g.u = dev->arr[RT_DEV_GARCH];
    m.u = dev->arr[RT_DEV_ADAM_M];
    v.u = dev->arr[RT_DEV_ADAM_V];
    void *a[] = { &vn, &vstep, &vbc2, &vwd, &vb1, &vb2, &v1b1, &v1b2, &veps, &p, &g, &m, &v };
    return launch(dev, dev->p->ninst + OPT_ADAM, n, a, err, errlen);
}

/* ---- the second-order architecture gradient ---- */

/* y = x over n floats (device addresses). */
static int vcopy(RtDev *dev, int n, uint64_t x, uint64_t y, char *err, size_t errlen)
{
    Val vn = { .i = n }, a, b;
    a.u = x;
    b.u = y;
    void *args[] = { &vn, &a, &b };
    return n ? launch(dev, dev->p->ninst + OPT_COPY, n, args, err, errlen) : 0;
}

/* out = x + s*y over n floats. */
static int vaxpy(RtDev *dev, int n, float s, uint64_t x, uint64_t y, uint64_t out, char *err, size_t errlen)
{
    Val vn = { .i = n }, vs = { .f = s }, a, b, o;
    a.u = x;
    b.u = y;
    o.u = out;
    void *args[] = { &vn, &vs, &a, &b, &o };
    return launch(dev, dev->p->ninst + OPT_AXPY, n, args, err, errlen);
}

/* A training step on batch (x, y, N). */
static int train_on(RtDev *dev, const float *x, const int32_t *y, int N, float aux, char *err, size_t errlen)
{
    return rt_dev_batch(dev, N, x, y, NULL, err, errlen) || rt_dev_train(dev, 1.f, aux, err, errlen) ? -1 : 0;
}

int rt_dev_unrolled(RtDev *dev, const float *xt, const int32_t *yt, int Nt, const float *xv, const int32_t *yv,
                    int Nv, double lr, double momentum, double wd, int first, float aux, char *err, size_t errlen)
{
    const RtNetDesc *d = dev->d;
    int nw = (int)d->n_w, na = (int)d->n_arch, nb = (int)d->n_buf, base = dev->p->ninst;
    if (!dev->theta &&
        (mem_alloc(dev, (size_t)nw * 4, &dev->theta, err, errlen) || mem_alloc(dev, (size_t)nw * 4, &dev->v, err, errlen) ||
         mem_alloc(dev, (size_t)na * 4, &dev->dalpha, err, errlen) ||
         mem_alloc(dev, (size_t)na * 4, &dev->hp, err, errlen) || mem_alloc(dev, (size_t)nb * 4, &dev->bufs, err, errlen)))
        return -1;
    uint64_t w = dev->arr[RT_DEV_W], gw = dev->arr[RT_DEV_GW], garch = dev->arr[RT_DEV_GARCH];
    /* 1-2: g = grad L_train; theta' = theta - lr*(momentum*b + g + wd*theta) */
    if (train_on(dev, xt, yt, Nt, aux, err, errlen) || vcopy(dev, nw, w, dev->theta, err, errlen))
        return -1;
    {
        Val vn = { .i = nw }, vlr = { .f = (float)lr }, vm = { .f = (float)momentum }, vwd = { .f = (float)wd };
        Val vf = { .i = first != 0 }, th, g, b, o;
        th.u = dev->theta;
        g.u = gw;
        b.u = dev->arr[RT_DEV_MOM];
        o.u = w;
        void *args[] = { &vn, &vlr, &vm, &vwd, &vf, &th, &g, &b, &o };
        if (launch(dev, base + OPT_UNROLLED_W, nw, args, err, errlen))
            return -1;
    }
    /* 3: the validation gradients in the copy; its BN statistics (and
     * counters) are thrown away afterwards */
    int64_t *cnts = malloc(sizeof(int64_t) * (size_t)(d->n_cnt ? d->n_cnt : 1));
    if (!cnts)
        return rt_errf(err, errlen, "out of memory");
    memcpy(cnts, dev->net->cnt, sizeof(int64_t) * (size_t)d->n_cnt);
    int rc = vcopy(dev, nb, dev->arr[RT_DEV_BUF], dev->bufs, err, errlen) ||
             train_on(dev, xv, yv, Nv, aux, err, errlen) || vcopy(dev, na, garch, dev->dalpha, err, errlen) ||
             vcopy(dev, nw, gw, dev->v, err, errlen) || vcopy(dev, nb, dev->bufs, dev->arr[RT_DEV_BUF], err, errlen);
    memcpy(dev->net->cnt, cnts, sizeof(int64_t) * (size_t)d->n_cnt);
    free(cnts);
    if (rc)
        return -1;
    /* 4-6: r = 0.01/|v|; the architecture gradients at theta +- r*v on the
     * training batch */
    double norm = 0;
    if (norm_launch(dev, nw, dev->v, 1.f, err, errlen) || mem_get(dev, &norm, dev->norm, sizeof norm, err, errlen))
        return -1;
    double r = 0.01 / norm;
    /* the training batch goes up once for both */
    if (vaxpy(dev, nw, (float)r, dev->theta, dev->v, w, err, errlen) || train_on(dev, xt, yt, Nt, aux, err, errlen) ||
        vcopy(dev, na, garch, dev->hp, err, errlen) || vaxpy(dev, nw, (float)-r, dev->theta, dev->v, w, err, errlen) ||
        rt_dev_train(dev, 1.f, aux, err, errlen) || vcopy(dev, nw, dev->theta, w, err, errlen))
        return -1;
    /* 7: g_alpha = d_alpha - lr*(hp - hm)/(2r) */
    Val vn = { .i = na }, da, hp, g;
    union {
        double d;
        uint64_t u;
    } c = { .d = lr / (2 * r) };
    da.u = dev->dalpha;
    hp.u = dev->hp;
    g.u = garch;
    void *args[] = { &vn, &c, &da, &hp, &g };
    return launch(dev, base + OPT_HVP, na, args, err, errlen);
}
