/* cuda_instances.c: lists the CUDA kernel instantiations of a graph (see
 * cuda_instances.h). One function per op kind decides which kernels its
 * forward, backward and eval need and with which constants; the tuning
 * choices (tiles, split-K, outputs per thread) come from cuda_kernels.h so
 * the runtime launches exactly what is listed here. */
#include "cuda_instances.h"

#include <stdarg.h>
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
    int len = snprintf(in.expr, sizeof in.expr, "%s", kc_name(k));
    for (int i = 0; i < in.nargs; i++) {
        in.args[i] = args[i];
        len += snprintf(in.expr + len, sizeof in.expr - (size_t)len, "%s%d", i ? "," : "<", args[i]);
    }
    if (in.nargs)
        snprintf(in.expr + len, sizeof in.expr - (size_t)len, ">");
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

/* Walk state: the graph, per-node facts and the output list. */
typedef struct {
    const IrGraph *g;
    unsigned what;
    bool *grad;        /* node's value depends on a trainable parameter */
    int *uses;         /* number of consumers */
    IrFuse fuse;       /* ir_fuse's CUDA decisions: bn_relu BNs get the BN + ReLU kernels, mixed_bn BNs
                          the BN + weighted-accumulation ones */
    CgCudaInstList *l;
    char *err;
    int errlen;
    int fail;
} Walk;

/* Adds kernel k with the n arguments that follow. */
static void add(Walk *w, KcKernel k, int n, ...)
{
    int a[CG_CUDA_MAX_ARGS];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n && i < CG_CUDA_MAX_ARGS; i++)
        a[i] = va_arg(ap, int);
    va_end(ap);
    if (n != kc_nargs(k)) {
        snprintf(w->err, (size_t)w->errlen, "internal: %s takes %d template arguments, got %d", kc_name(k),
                 kc_nargs(k), n);
        w->fail = 1;
        return;
    }
    if (cg_cuda_inst_add(w->l, k, a) < 0) {
        snprintf(w->err, (size_t)w->errlen, "out of memory listing CUDA kernels");
        w->fail = 1;
    }
}

static const IrNode *node(const Walk *w, int i) { return &w->g->nodes[i]; }
static int in_of(const Walk *w, int i, int k) { return (int)ir_inputs(w->g, i)[k]; }
/* Channels, height, width of a batched tensor (rank 2: (N, C) as C x 1 x 1). */
static int dim_c(const IrNode *n) { return n->shape.d[1]; }
static int dim_h(const IrNode *n) { return n->shape.rank >= 4 ? n->shape.d[2] : 1; }
static int dim_w(const IrNode *n) { return n->shape.rank >= 4 ? n->shape.d[3] : 1; }
/* Elements per sample. */
static int per_sample(const IrNode *n) { return ir_shape_numel(n->shape); }
static bool train(const Walk *w) { return (w->what & CG_CUDA_TRAIN) != 0; }
/* Does input k of node i need a gradient? */
static bool need_gx(const Walk *w, int i, int k) { return train(w) && w->grad[in_of(w, i, k)]; }

static void walk_conv(Walk *w, int i)
{
    const IrNode *y = node(w, i), *x = node(w, in_of(w, i, 0));
    const IrAttrs *a = &y->a;
    int Ci = dim_c(x), H = dim_h(x), W = dim_w(x), Co = dim_c(y), G = a->groups;
    if (a->pt != a->pb || a->pl != a->pr) {
        snprintf(w->err, (size_t)w->errlen, "node %%%d: conv2d with asymmetric padding %d,%d,%d,%d has no CUDA kernel",
                 i, a->pt, a->pb, a->pl, a->pr);
        w->fail = 1;
        return;
    }
    int PH = a->pt, PW = a->pl;
    bool bwd = train(w) && w->grad[i];
    if (a->kh == 1 && a->kw == 1 && PH == 0 && PW == 0 && G == 1) {
        int Ho = dim_h(y), Wo = dim_w(y), P = Ho * Wo, bm, bn;
        kc_pw_tile(Co, P, &bm, &bn);
        add(w, KC_pw_fwd, 8, Ci, H, W, Co, a->sh, a->sw, bm, bn);
        if (bwd && need_gx(w, i, 0)) {
            kc_pw_tile(Ci, H * W, &bm, &bn);
            add(w, KC_pw_bwd_data, 8, Ci, H, W, Co, a->sh, a->sw, bm, bn);
        }
        if (bwd && w->grad[in_of(w, i, 1)]) {
            int split = kc_split(Co, Ci, P);
            kc_pw_tile(Co, Ci, &bm, &bn);
            add(w, KC_pw_bwd_weight, 9, Ci, H, W, Co, a->sh, a->sw, bm, bn, split);
            if (split > 1)
                add(w, KC_splitk_reduce, 2, split, Co * Ci);
        }
        return;
    }
    if (G > 1 && G == Ci && G == Co)
        add(w, KC_dwconv_fwd, 12, Ci, H, W, a->kh, a->kw, a->sh, a->sw, PH, PW, a->dh, a->dw,
            kc_dw_vw(dim_w(y), a->kw));
    else
        add(w, KC_conv2d_fwd, 13, Ci, H, W, Co, a->kh, a->kw, a->sh, a->sw, PH, PW, a->dh, a->dw, G);
    if (bwd && need_gx(w, i, 0))
        add(w, KC_conv2d_bwd_data, 13, Ci, H, W, Co, a->kh, a->kw, a->sh, a->sw, PH, PW, a->dh, a->dw, G);
    if (bwd && w->grad[in_of(w, i, 1)])
        add(w, KC_conv2d_bwd_weight, 13, Ci, H, W, Co, a->kh, a->kw, a->sh, a->sw, PH, PW, a->dh, a->dw, G);
}

static void walk_bn(Walk *w, int i)
{
    const IrNode *y = node(w, i);
    int C = dim_c(y), HW = dim_h(y) * dim_w(y), aff = y->a.affine ? 1 : 0, relu = w->fuse.bn_relu[i] ? 1 : 0;
    if (w->fuse.mixed_bn[i]) {
        int m = w->fuse.src[i], first = w->fuse.mix_first[m] == i;
        const IrNode *mx = node(w, m);
        int P = mx->nin - 1, mode = mx->a.weighting == IR_WEIGHTING_MAX_W ? 1 : 0;
        if (train(w)) {
            add(w, KC_bn_mix_fwd, 7, C, HW, aff, P, mode, first, 1);
            if (w->grad[i]) {
                add(w, KC_bn_mix_bwd, 5, C, HW, aff, P, mode);
                if (w->grad[in_of(w, m, 0)])
                    add(w, KC_bn_mix_dot, 4, C, HW, aff, kc_mixed_nb(per_sample(mx)));
            }
        }
        if (w->what & CG_CUDA_EVAL)
            add(w, KC_bn_mix_fwd, 7, C, HW, aff, P, mode, first, 0);
        return;
    }
    if (train(w)) {
        add(w, KC_bn_train_fwd, 4, C, HW, aff, relu);
        if (w->grad[i])
            add(w, KC_bn_train_bwd, 4, C, HW, aff, relu);
    }
    if (w->what & CG_CUDA_EVAL)
        add(w, KC_bn_eval_fwd, 4, C, HW, aff, relu);
}

static void walk_pool(Walk *w, int i, bool max)
{
    const IrNode *y = node(w, i), *x = node(w, in_of(w, i, 0));
    const IrAttrs *a = &y->a;
    int C = dim_c(x), H = dim_h(x), W = dim_w(x);
    if (a->pt != a->pb || a->pl != a->pr) {
        snprintf(w->err, (size_t)w->errlen, "node %%%d: pooling with asymmetric padding has no CUDA kernel", i);
        w->fail = 1;
        return;
    }
    if (max) {
        add(w, KC_maxpool_fwd, 9, C, H, W, a->kh, a->kw, a->sh, a->sw, a->pt, a->pl);
        if (need_gx(w, i, 0))
            add(w, KC_maxpool_bwd, 9, C, H, W, a->kh, a->kw, a->sh, a->sw, a->pt, a->pl);
    } else {
        add(w, KC_avgpool_fwd, 10, C, H, W, a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->cip ? 1 : 0);
        if (need_gx(w, i, 0))
            add(w, KC_avgpool_bwd, 10, C, H, W, a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->cip ? 1 : 0);
    }
}

static void walk_mixed(Walk *w, int i)
{
    const IrNode *y = node(w, i);
    int D = per_sample(y), P = y->nin - 1, mode = y->a.weighting == IR_WEIGHTING_MAX_W ? 1 : 0;
    add(w, KC_mixed_fwd, 3, D, P, mode);
    add(w, KC_mixed_acc, 4, D, P, mode, 1);
    add(w, KC_mixed_acc, 4, D, P, mode, 0);
    if (!train(w) || !w->grad[i])
        return;
    add(w, KC_mixed_bwd_data, 3, D, P, mode);
    if (w->grad[in_of(w, i, 0)]) {
        int nb = kc_mixed_nb(D);
        add(w, KC_mixed_bwd_w, 3, D, P, nb);
        add(w, KC_mixed_bwd_w_final, 3, P, nb, mode);
        add(w, KC_acc, 1, P); /* rows shared by all cells of a type are summed */
    }
}

/* The kernels of node i. */
static void walk_node(Walk *w, int i)
{
    const IrNode *y = node(w, i);
    bool bwd = train(w) && w->grad[i];
    switch (y->op) {
    case OP_INPUT:
    case OP_PARAM:
        return;
    case OP_CONV2D:
        walk_conv(w, i);
        break;
    case OP_BATCH_NORM:
        walk_bn(w, i);
        break;
    case OP_RELU: {
        int x = in_of(w, i, 0);
        if (w->fuse.bn_relu[x])
            break; /* done by the BN + ReLU kernel */
        add(w, KC_relu_fwd, 1, per_sample(y));
        if (need_gx(w, i, 0))
            add(w, KC_relu_bwd, 1, per_sample(y));
        break;
    }
    case OP_MAX_POOL:
    case OP_AVG_POOL:
        walk_pool(w, i, y->op == OP_MAX_POOL);
        break;
    case OP_PAD: {
        const IrNode *x = node(w, in_of(w, i, 0));
        const IrAttrs *a = &y->a;
        add(w, KC_pad_fwd, 7, dim_c(x), dim_h(x), dim_w(x), a->pt, a->pb, a->pl, a->pr);
        if (need_gx(w, i, 0))
            add(w, KC_pad_bwd, 7, dim_c(x), dim_h(x), dim_w(x), a->pt, a->pb, a->pl, a->pr);
        break;
    }
    case OP_SLICE: {
        const IrNode *x = node(w, in_of(w, i, 0));
        int HW = dim_h(x) * dim_w(x);
        add(w, KC_slice_fwd, 4, dim_c(x), HW, y->a.start, y->a.end - y->a.start);
        if (need_gx(w, i, 0))
            add(w, KC_slice_bwd, 4, dim_c(x), HW, y->a.start, y->a.end - y->a.start);
        break;
    }
    case OP_CONCAT: {
        int HW = dim_h(y) * dim_w(y), c0 = 0;
        for (int k = 0; k < y->nin; k++) {
            int ci = dim_c(node(w, in_of(w, i, k)));
            add(w, KC_concat_put, 4, dim_c(y), HW, c0, ci);
            if (need_gx(w, i, k))
                add(w, KC_slice_fwd, 4, dim_c(y), HW, c0, ci);
            c0 += ci;
        }
        break;
    }
    case OP_ADD:
        add(w, KC_add_fwd, 1, per_sample(y));
        if (y->nin > 2)
            add(w, KC_acc, 1, per_sample(y));
        if (bwd)
            add(w, KC_add_bwd, 1, per_sample(y));
        break;
    case OP_SCALE:
        add(w, KC_scale, 1, per_sample(y));
        break;
    case OP_ZERO:
        add(w, KC_zero, 1, per_sample(y));
        if (need_gx(w, i, 0))
            add(w, KC_zero, 1, per_sample(node(w, in_of(w, i, 0))));
        break;
    case OP_GLOBAL_AVG_POOL: {
        const IrNode *x = node(w, in_of(w, i, 0));
        add(w, KC_gap_fwd, 2, dim_c(x), dim_h(x) * dim_w(x));
        if (need_gx(w, i, 0))
            add(w, KC_gap_bwd, 2, dim_c(x), dim_h(x) * dim_w(x));
        break;
    }
    case OP_LINEAR: {
        int I = per_sample(node(w, in_of(w, i, 0))), O = dim_c(y), bias = y->nin > 2;
        add(w, KC_linear_fwd, 3, I, O, bias);
        if (need_gx(w, i, 0))
            add(w, KC_linear_bwd_data, 2, I, O);
        if (bwd)
            add(w, KC_linear_bwd_weight, 3, I, O, bias);
        break;
    }
    case OP_SOFTMAX_CROSS_ENTROPY: {
        int K = dim_c(node(w, in_of(w, i, 0)));
        add(w, KC_softmax_ce, 1, K);
        add(w, KC_batch_mean, 0);
        add(w, KC_topk_correct, 1, K);
        break;
    }
    case OP_DROP_PATH:
        if (train(w))
            add(w, KC_drop_path, 1, per_sample(y));
        break;
    case OP_MIXED:
        walk_mixed(w, i);
        break;
    case OP_ARCH_SOFTMAX: {
        int E = y->shape.d[0], P = y->shape.d[1];
        add(w, KC_arch_softmax_fwd, 2, E, P);
        if (bwd)
            add(w, KC_arch_softmax_bwd, 2, E, P);
        break;
    }
    case OP__COUNT:
        break;
    }
    /* A value read by several nodes gets its gradient pieces summed. */
    if (bwd && w->uses[i] > 1 && y->op != OP_ARCH_SOFTMAX)
        add(w, KC_acc, 1, per_sample(y));
}

int cg_cuda_instances(const IrGraph *g, unsigned what, CgCudaInstList *l, char *err, int errlen)
{
    Walk w;
    memset(&w, 0, sizeof w);
    w.g = g;
    w.what = what;
    w.l = l;
    w.err = err;
    w.errlen = errlen;
    int n = g->n > 0 ? g->n : 1;
    w.grad = calloc((size_t)n, sizeof *w.grad);
    w.uses = calloc((size_t)n, sizeof *w.uses);
    if (!w.grad || !w.uses) {
        snprintf(err, (size_t)errlen, "out of memory listing CUDA kernels");
        w.fail = 1;
        goto done;
    }
    for (int i = 0; i < g->n; i++) {
        const IrNode *y = &g->nodes[i];
        if (y->op == OP_PARAM)
            w.grad[i] = y->pkind == IR_PARAM_WEIGHT || y->pkind == IR_PARAM_ARCH;
        const uint32_t *in = ir_inputs(g, i);
        for (int k = 0; k < y->nin; k++) {
            w.grad[i] = w.grad[i] || w.grad[in[k]];
            w.uses[in[k]]++;
        }
    }
    IrBackward bw;
    ir_autodiff(g, &bw);
    ir_fuse(g, &bw, IR_FUSE_CUDA, &w.fuse);
    ir_backward_free(&bw);
    for (int i = 0; i < g->n && !w.fail; i++)
        walk_node(&w, i);
    /* The optimizers over the flat weight buffer (SGD, the gradient norm and
     * clipping) and the flat architecture buffer (Adam). */
    if (train(&w) && !w.fail) {
        int64_t nw = 0, na = 0;
        for (int i = 0; i < g->n; i++) {
            const IrNode *y = &g->nodes[i];
            if (y->op == OP_PARAM && y->pkind == IR_PARAM_WEIGHT)
                nw += ir_shape_numel(y->shape);
            if (y->op == OP_PARAM && y->pkind == IR_PARAM_ARCH)
                na += ir_shape_numel(y->shape);
        }
        if (nw > 0) {
            add(&w, KC_sgd_step, 1, 1);
            add(&w, KC_sgd_step, 1, 0);
            add(&w, KC_grad_sq_part, 1, kc_norm_nb(nw));
            add(&w, KC_clip_coef, 1, kc_norm_nb(nw));
            add(&w, KC_clip_scale, 0);
        }
        if (na > 0)
            add(&w, KC_adam_step, 0);
    }
    /* The loops score every logits output: loss, its gradient, accuracy. */
    for (int i = 0; i < g->nouts && !w.fail; i++) {
        const IrNode *y = &g->nodes[g->outs[i].node];
        if (y->op != OP_LINEAR || y->shape.rank != 2)
            continue;
        add(&w, KC_softmax_ce, 1, y->shape.d[1]);
        add(&w, KC_batch_mean, 0);
        add(&w, KC_topk_correct, 1, y->shape.d[1]);
    }
done:
    free(w.grad);
    free(w.uses);
    ir_fuse_free(&w.fuse);
    return w.fail ? -1 : 0;
}
