/* cuda_instances.c: lists the CUDA kernel instantiations of a graph (see
 * cuda_instances.h): those its launch plan (cuda_plan.c, which decides the
 * kernels and constants of every node) launches, and the optimizers', so
 * the runtime compiles exactly what it launches. */
#include "cuda_instances.h"
#include "cuda_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_cuda_inst_init(CgCudaInstList *l)
{
    memset(l, 0, sizeof *l);
}

void cg_cuda_inst_free(CgCudaInstList *l)
{
    free(l->v);
    free(l->slots);
    memset(l, 0, sizeof *l);
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Rebuilds the hash table with room for twice the entries. */
static int rehash(CgCudaInstList *l)
{
    int ns = l->nslots ? l->nslots * 2 : 256;
    int *s = calloc((size_t)ns, sizeof *s);
    if (!s)
        return -1;
    for (int i = 0; i < l->n; i++) {
        int j = (int)(l->v[i].hash & (uint64_t)(ns - 1));
        while (s[j])
            j = (j + 1) & (ns - 1);
        s[j] = i + 1;
    }
    free(l->slots);
    l->slots = s;
    l->nslots = ns;
    return 0;
}

int cg_cuda_inst_add(CgCudaInstList *l, KcKernel k, const int *args)
{
    CgCudaInst in;
    memset(&in, 0, sizeof in);
    in.kernel = k;
    in.nargs = kc_nargs(k);
    for (int i = 0; i < in.nargs; i++)
        in.args[i] = args[i];
    kc_expr(k, in.args, in.expr, sizeof in.expr);
    in.hash = str_hash(in.expr);
    if ((l->n + 1) * 2 > l->nslots && rehash(l) != 0)
        return -1;
    int j = (int)(in.hash & (uint64_t)(l->nslots - 1));
    while (l->slots[j]) {
        const CgCudaInst *o = &l->v[l->slots[j] - 1];
        if (o->hash == in.hash && strcmp(o->expr, in.expr) == 0)
            return l->slots[j] - 1;
        j = (j + 1) & (l->nslots - 1);
    }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        CgCudaInst *v = realloc(l->v, sizeof *v * (size_t)cap);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = in;
    l->slots[j] = ++l->n;
    return l->n - 1;
}

/* The optimizers over the flat weight buffer (SGD, the gradient norm and
 * clipping) and the flat architecture buffer (Adam). Returns 0, or -1 when
 * out of memory. */
static int add_optimizers(const IrGraph *g, CgCudaInstList *l)
{
    int64_t nw = 0, na = 0;
    for (int i = 0; i < g->n; i++) {
        const IrNode *y = &g->nodes[i];
        if (y->op == OP_PARAM && ir_param_class(y) == IR_PCLASS_WEIGHT)
            nw += ir_shape_numel(y->shape);
        if (y->op == OP_PARAM && ir_param_class(y) == IR_PCLASS_ARCH)
            na += ir_shape_numel(y->shape);
    }
    int nb = kc_norm_nb(nw);
    bool ok = true;
    if (nw > 0)
        ok = cg_cuda_inst_add(l, KC_sgd_step, (const int[]){ 1 }) >= 0 &&
             cg_cuda_inst_add(l, KC_sgd_step, (const int[]){ 0 }) >= 0 &&
             cg_cuda_inst_add(l, KC_grad_sq_part, &nb) >= 0 && cg_cuda_inst_add(l, KC_clip_coef, &nb) >= 0 &&
             cg_cuda_inst_add(l, KC_clip_scale, NULL) >= 0;
    if (ok && na > 0) /* Adam, and the second-order step's vector kernels */
        ok = cg_cuda_inst_add(l, KC_adam_step, NULL) >= 0 && cg_cuda_inst_add(l, KC_vec_copy, NULL) >= 0 &&
             cg_cuda_inst_add(l, KC_vec_axpy, NULL) >= 0 && cg_cuda_inst_add(l, KC_unrolled_w, NULL) >= 0 &&
             cg_cuda_inst_add(l, KC_hvp_combine, NULL) >= 0;
    return ok ? 0 : -1;
}

int cg_cuda_instances(const IrGraph *g, unsigned what, CgCudaInstList *l, char *err, int errlen)
{
    CgCudaPlan p;
    if (cg_cuda_plan(g, &p, err, errlen) != 0)
        return -1;
    int rc = 0;
    for (int s = 0; s < RT_SEC__COUNT && rc == 0; s++) {
        bool eval = s == RT_SEC_EVAL || s == RT_SEC_EVAL_LOSS;
        if (!(what & (eval ? CG_CUDA_EVAL : CG_CUDA_TRAIN)))
            continue;
        for (int i = p.sec[s]; i < p.sec[s + 1] && rc == 0; i++) {
            const CgCudaInst *in = &p.inst.v[p.l[i].inst];
            if (cg_cuda_inst_add(l, in->kernel, in->args) < 0)
                rc = -1;
        }
    }
    if (rc == 0 && (what & CG_CUDA_TRAIN))
        rc = add_optimizers(g, l);
    if (rc != 0)
        snprintf(err, (size_t)errlen, "out of memory listing CUDA kernels");
    cg_cuda_plan_free(&p);
    return rc;
}
