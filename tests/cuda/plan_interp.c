/* plan_interp.c: the CPU interpreter of CUDA launch plans (see
 * plan_interp.h). Each launch's arguments are laid out as cuLaunchKernel
 * takes them (an array of pointers to the values; a KPtrs<P> argument is an
 * array of P pointers) and handed to kc_ref_launch. */
#include "plan_interp.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_ref.h"

/* Floats of space s at batch N. */
static size_t space_len(const CgCudaPlan *p, int s, int N)
{
    return (size_t)p->size[s] * (rt_space_batched((RtSpace)s) ? (size_t)N : 1u);
}

int plan_mem_init(PlanMem *m, const CgCudaPlan *p, int N)
{
    memset(m, 0, sizeof *m);
    m->N = N;
    m->keep = 1.f;
    for (int s = 0; s < RT_SP__COUNT; s++) {
        size_t n = space_len(p, s, N);
        m->sp[s] = malloc(sizeof(float) * (n ? n : 1));
        if (!m->sp[s]) {
            plan_mem_free(m);
            return -1;
        }
        for (size_t i = 0; i < n; i++)
            m->sp[s][i] = s == RT_SP_DROP ? 1.f : NAN;
        if (s == RT_SP_LABELS || s == RT_SP_COUNTS)
            for (size_t i = 0; i < n; i++)
                ((int32_t *)m->sp[s])[i] = s == RT_SP_LABELS ? 0 : -1;
    }
    return 0;
}

void plan_mem_free(PlanMem *m)
{
    for (int s = 0; s < RT_SP__COUNT; s++)
        free(m->sp[s]);
    memset(m, 0, sizeof *m);
}

/* Most arguments of a launch, and of KPtrs entries in one launch. */
#define MAX_ARGS 64

/* The host pointer of tensor argument a, or NULL with a message when it
 * does not lie inside its space. */
static float *tensor_ptr(const CgCudaPlan *p, const PlanMem *m, const RtPlanArg *a, char *err, size_t errlen)
{
    if (a->space >= RT_SP__COUNT || a->off < 0 || a->len < 1 || a->off + a->len > p->size[a->space]) {
        snprintf(err, errlen, "tensor %s+%lld[%lld] outside its space (%lld floats)",
                 rt_space_name((RtSpace)a->space), (long long)a->off, (long long)a->len,
                 a->space < RT_SP__COUNT ? (long long)p->size[a->space] : 0LL);
        return NULL;
    }
    return m->sp[a->space] + (size_t)a->off * (rt_space_batched((RtSpace)a->space) ? (size_t)m->N : 1u);
}

/* Checks that no two tensor arguments of launch l overlap (the kernels
 * take their tensors __restrict__), and that the N of its launch geometry
 * is the N it is given. */
static int check_launch(const CgCudaPlan *p, const RtPlanLaunch *l, char *err, size_t errlen)
{
    const RtPlanArg *a = &p->args[l->arg0];
    if (l->nargs > 0 && ((a[0].kind == RT_ARG_BATCH && l->grid_n != -1) ||
                         (a[0].kind == RT_ARG_INT && l->grid_n != a[0].off))) {
        snprintf(err, errlen, "launch geometry for N = %d, but the kernel gets N = %s", l->grid_n,
                 a[0].kind == RT_ARG_BATCH ? "the batch" : "a literal");
        return -1;
    }
    for (int i = 0; i < l->nargs; i++)
        for (int j = i + 1; j < l->nargs; j++) {
            const RtPlanArg *x = &a[i], *y = &a[j];
            if (x->kind != RT_ARG_TENSOR || y->kind != RT_ARG_TENSOR || x->space != y->space)
                continue;
            if (x->off < y->off + y->len && y->off < x->off + x->len) {
                snprintf(err, errlen, "arguments %d and %d overlap: %s+%lld[%lld] and +%lld[%lld]", i, j,
                         rt_space_name((RtSpace)x->space), (long long)x->off, (long long)x->len, (long long)y->off,
                         (long long)y->len);
                return -1;
            }
        }
    return 0;
}

/* Runs launch l. */
static int run_launch(const CgCudaPlan *p, PlanMem *m, const RtPlanLaunch *l, char *err, size_t errlen)
{
    union {
        int i;
        float f;
        float *ptr;
    } val[MAX_ARGS];
    float *table[MAX_ARGS]; /* KPtrs entries, in order */
    void *argv[MAX_ARGS];
    int na = 0, nt = 0;
    if (l->nargs > MAX_ARGS) {
        snprintf(err, errlen, "%d arguments (at most %d)", l->nargs, MAX_ARGS);
        return -1;
    }
    if (check_launch(p, l, err, errlen) != 0)
        return -1;
    for (int k = 0; k < l->nargs; k++) {
        const RtPlanArg *a = &p->args[l->arg0 + k];
        switch ((RtArgKind)a->kind) {
        case RT_ARG_TENSOR:
            if (!(val[na].ptr = tensor_ptr(p, m, a, err, errlen)))
                return -1;
            break;
        case RT_ARG_NULL:
            val[na].ptr = NULL;
            break;
        case RT_ARG_INT:
            val[na].i = (int)a->off;
            break;
        case RT_ARG_FLOAT:
            val[na].f = a->f;
            break;
        case RT_ARG_BATCH:
            val[na].i = m->N;
            break;
        case RT_ARG_KEEP:
            val[na].f = m->keep;
            break;
        case RT_ARG_AUX_WEIGHT:
            val[na].f = m->aux_weight;
            break;
        case RT_ARG_PTRS: {
            int cnt = (int)a->off;
            if (k + cnt >= l->nargs || nt + cnt > MAX_ARGS) {
                snprintf(err, errlen, "KPtrs of %d entries past the launch's arguments", cnt);
                return -1;
            }
            argv[na++] = &table[nt];
            for (int j = 0; j < cnt; j++) {
                const RtPlanArg *e = &p->args[l->arg0 + ++k];
                if (e->kind == RT_ARG_NULL) {
                    table[nt++] = NULL;
                } else if (e->kind != RT_ARG_TENSOR) {
                    snprintf(err, errlen, "KPtrs entry %d is not a tensor", j);
                    return -1;
                } else if (!(table[nt++] = tensor_ptr(p, m, e, err, errlen))) {
                    return -1;
                }
            }
            continue;
        }
        default:
            snprintf(err, errlen, "argument %d of unknown kind %d", k, a->kind);
            return -1;
        }
        argv[na] = &val[na];
        na++;
    }
    const CgCudaInst *in = &p->inst.v[l->inst];
    return kc_ref_launch(in->kernel, in->args, argv, err, errlen);
}

int plan_run(const CgCudaPlan *p, PlanMem *m, RtSection from, RtSection to, char *err, size_t errlen)
{
    for (int i = p->sec[from]; i < p->sec[to]; i++) {
        char why[512];
        if (run_launch(p, m, &p->l[i], why, sizeof why) != 0) {
            snprintf(err, errlen, "launch %d (%s, node %%%d): %s", i, p->inst.v[p->l[i].inst].expr, p->l[i].node,
                     why);
            return -1;
        }
    }
    return 0;
}
