/* rt_net.c: a compiled network's instance: allocation of its parameter,
 * gradient and activation memory, and loading and saving its parameters as
 * safetensors files under the reference state_dict names. */
#define _DEFAULT_SOURCE /* posix_memalign; madvise */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include "rt_net.h"
#include "sharprt.h"

#define HUGE_PAGE ((size_t)2 << 20) /* x86-64 transparent huge page */
#define HUGE_MIN ((size_t)8 << 20)  /* smaller blocks keep small pages */

/* n zeroed floats, 64-byte aligned. A large block (the activation arena)
 * starts on a 2 MiB boundary and asks for transparent huge pages: the
 * kernels sweep tensors spread over the whole arena (158 MiB for the C 16
 * Fashion-MNIST network at batch 64), and with 4 KiB pages the TLB misses
 * cost 5% of its training step (BENCHMARKS.md, sixteenth session). Where
 * the kernel gives none (THP off), the pages stay small. */
static void *alloc_floats(int64_t n)
{
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    void *p;
    int huge = bytes >= HUGE_MIN;
    if (posix_memalign(&p, huge ? HUGE_PAGE : 64, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    if (huge) (void)madvise(p, bytes / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);
#endif
    memset(p, 0, bytes);
    return p;
}

RtNet *rt_net_new(const RtNetDesc *d, char *err, size_t errlen)
{
    RtNet *net = calloc(1, sizeof *net);
    if (!net) goto oom;
    net->d = d;
    net->w = alloc_floats(d->n_w);
    net->gw = alloc_floats(d->n_w);
    net->arch = alloc_floats(d->n_arch);
    net->garch = alloc_floats(d->n_arch);
    net->buf = alloc_floats(d->n_buf);
    net->cnt = calloc((size_t)(d->n_cnt > 0 ? d->n_cnt : 1), sizeof(int64_t));
    net->small = alloc_floats(d->small_size);
    if (!net->w || !net->gw || !net->arch || !net->garch || !net->buf || !net->cnt || !net->small) goto oom;
    /* BN running variances start at 1, as in PyTorch */
    for (int i = 0; i < d->nparams; i++)
        if (d->params[i].init == RT_INIT_ONES && d->params[i].kind == RT_PARAM_BUFFER)
            for (int64_t j = 0; j < d->params[i].numel; j++) net->buf[d->params[i].offset + j] = 1;
    return net;
oom:
    if (err) snprintf(err, errlen, "out of memory allocating the parameters of network '%s'", d->name);
    rt_net_free(net);
    return NULL;
}

void rt_net_free(RtNet *net)
{
    if (!net) return;
    free(net->w);
    free(net->gw);
    free(net->arch);
    free(net->garch);
    free(net->buf);
    free(net->cnt);
    free(net->small);
    free(net->arena);
    free(net);
}

int rt_net_reserve(RtNet *net, int N, char *err, size_t errlen)
{
    if (N <= net->arena_n) return 0;
    free(net->arena);
    net->arena = alloc_floats((int64_t)N * net->d->arena_per_sample);
    net->arena_n = net->arena ? N : 0;
    if (!net->arena) {
        if (err)
            snprintf(err, errlen, "out of memory: a batch of %d needs %.1f MiB of activations", N,
                     (double)N * (double)net->d->arena_per_sample * 4.0 / 1048576.0);
        return -1;
    }
    return 0;
}

void rt_net_run(RtNet *net, RtNetRun *r, int N)
{
    memset(r, 0, sizeof *r);
    r->N = N;
    r->w = net->w;
    r->arch = net->arch;
    r->buf = net->buf;
    r->cnt = net->cnt;
    r->gw = net->gw;
    r->garch = net->d->n_arch ? net->garch : NULL;
    r->arena = net->arena;
    r->small = net->small;
    r->keep_prob = 1;
    r->aux_weight = 0.4f;
}

const RtParamDesc *rt_net_param(const RtNet *net, const char *name)
{
    for (int i = 0; i < net->d->nparams; i++)
        if (strcmp(net->d->params[i].name, name) == 0) return &net->d->params[i];
    return NULL;
}

void *rt_net_param_data(const RtNet *net, const RtParamDesc *p)
{
    switch (p->kind) {
    case RT_PARAM_WEIGHT: return net->w + p->offset;
    case RT_PARAM_BUFFER: return net->buf + p->offset;
    case RT_PARAM_ARCH: return net->arch + p->offset;
    default: return net->cnt + p->offset;
    }
}

int rt_net_load(RtNet *net, const char *path, int need_arch, char *err, size_t errlen)
{
    RtTensorFile *f = rt_st_open(path, err, errlen);
    if (!f) return -1;
    int rc = 0;
    for (int i = 0; i < net->d->nparams && rc == 0; i++) {
        const RtParamDesc *p = &net->d->params[i];
        if (!rt_st_find(f, p->name)) {
            if (p->kind == RT_PARAM_COUNTER || (p->kind == RT_PARAM_ARCH && !need_arch)) continue;
        }
        RtDtype dt = p->kind == RT_PARAM_COUNTER ? RT_DTYPE_I64 : RT_DTYPE_F32;
        rc = rt_st_read(f, p->name, dt, p->ndim, p->shape, rt_net_param_data(net, p), err, errlen);
    }
    /* Tensors the network does not have are a mismatch, not something to ignore. */
    for (int i = 0; i < rt_st_count(f) && rc == 0; i++) {
        const RtTensorInfo *t = rt_st_info(f, i);
        if (!rt_net_param(net, t->name)) {
            if (err)
                snprintf(err, errlen, "%s: tensor '%s' is not a parameter of network '%s' (a file for another network?)",
                         path, t->name, net->d->name);
            rc = -1;
        }
    }
    rt_st_close(f);
    return rc;
}

int rt_net_save(const RtNet *net, const char *path, int with_arch, char *err, size_t errlen)
{
    RtTensorOut *t = calloc((size_t)net->d->nparams + 1, sizeof *t);
    if (!t) {
        if (err) snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < net->d->nparams; i++) {
        const RtParamDesc *p = &net->d->params[i];
        if (p->kind == RT_PARAM_ARCH && !with_arch) continue;
        t[n].name = p->name;
        t[n].dtype = p->kind == RT_PARAM_COUNTER ? RT_DTYPE_I64 : RT_DTYPE_F32;
        t[n].ndim = p->ndim;
        for (int k = 0; k < p->ndim; k++) t[n].shape[k] = p->shape[k];
        t[n].data = rt_net_param_data(net, p);
        n++;
    }
    RtStMeta meta[2] = { { "format", "pt" }, { "network", net->d->name } };
    int rc = rt_st_write(path, t, n, meta, 2, err, errlen);
    free(t);
    return rc;
}
