/* cuda_plan.c: builds and prints the CUDA launch plan of a training step
 * and an eval forward (see cuda_plan.h). One function per op kind for the
 * forward and one for its backward step (ir_autodiff's steps, in their
 * order). This walk is where each node's kernels and template arguments are
 * chosen, with the tuning choices of cuda_kernels.h; cuda_instances.c lists
 * what it launches. */
#include "cuda_plan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Walk state. */
typedef struct {
    const IrGraph *g;
    IrBackward bw;
    IrPlan plan;        /* ir_plan for IR_FUSE_CUDA; plan.fuse: the fusions */
    CgCudaPlan *p;
    int *pspace;        /* PARAM node: its RtSpace, -1 for a counter */
    int64_t *poff;      /* PARAM node: offset in its space */
    int *site;          /* DROP_PATH node: its mask row */
    bool eval;          /* walking the eval forward (running statistics, no drop path, no aux head) */
    char *err;
    int errlen;
    int fail;
} Walk;

static void fail(Walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(Walk *w, const char *fmt, ...)
{
    if (w->fail)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, (size_t)w->errlen, fmt, ap);
    va_end(ap);
    w->fail = 1;
}

/* Grows *v (of *cap elements of size sz) to hold n. */
static bool grow(Walk *w, void **v, int *cap, int n, size_t sz)
{
    if (n <= *cap)
        return true;
    int c = *cap ? *cap * 2 : 256;
    while (c < n)
        c *= 2;
    void *q = realloc(*v, (size_t)c * sz);
    if (!q) {
        fail(w, "out of memory building the CUDA launch plan");
        return false;
    }
    *v = q;
    *cap = c;
    return true;
}

/* ---- launches ---- */

/* Starts a launch of kernel k with the template arguments that follow
 * (kc_nargs(k) of them) for node `node`; grid_n as in RtPlanLaunch. */
static void launch(Walk *w, int node, int grid_n, KcKernel k, int nt, ...)
{
    int a[CG_CUDA_MAX_ARGS] = { 0 };
    va_list ap;
    va_start(ap, nt);
    for (int i = 0; i < nt && i < CG_CUDA_MAX_ARGS; i++)
        a[i] = va_arg(ap, int);
    va_end(ap);
    if (nt != kc_nargs(k))
        fail(w, "internal: %s takes %d template arguments, got %d", kc_name(k), kc_nargs(k), nt);
    CgCudaPlan *p = w->p;
    int inst = w->fail ? -1 : cg_cuda_inst_add(&p->inst, k, a);
    if (inst < 0)
        fail(w, "out of memory listing CUDA kernels");
    if (w->fail || !grow(w, (void **)&p->l, &p->capl, p->nl + 1, sizeof *p->l))
        return;
    p->l[p->nl++] = (RtPlanLaunch){ inst, node, grid_n, p->nargs, 0 };
}

/* Appends an argument to the launch begun last. */
static void put(Walk *w, RtPlanArg a)
{
    CgCudaPlan *p = w->p;
    if (w->fail || !grow(w, (void **)&p->args, &p->capargs, p->nargs + 1, sizeof *p->args))
        return;
    p->args[p->nargs++] = a;
    p->l[p->nl - 1].nargs++;
}

static RtPlanArg tensor(RtSpace s, int node, int64_t off, int64_t len)
{
    return (RtPlanArg){ RT_ARG_TENSOR, (uint8_t)s, node, off, len, 0.f };
}
static RtPlanArg null_arg(void) { return (RtPlanArg){ RT_ARG_NULL, 0, -1, 0, 0, 0.f }; }
static RtPlanArg lit_int(int64_t v) { return (RtPlanArg){ RT_ARG_INT, 0, -1, v, 0, 0.f }; }
static RtPlanArg lit_float(float f) { return (RtPlanArg){ RT_ARG_FLOAT, 0, -1, 0, 0, f }; }
static RtPlanArg runtime(RtArgKind k) { return (RtPlanArg){ (uint8_t)k, 0, -1, 0, 0, 0.f }; }
static RtPlanArg ptrs(int n) { return (RtPlanArg){ RT_ARG_PTRS, 0, -1, n, 0, 0.f }; }
/* The len floats of tensor a from offset `by` on. */
static RtPlanArg part_of(RtPlanArg a, int64_t by, int64_t len)
{
    a.off += by;
    a.len = len;
    return a;
}

/* ---- tensors ---- */

static const IrNode *node(const Walk *w, int v) { return &w->g->nodes[v]; }
static int in_of(const Walk *w, int v, int k) { return (int)ir_inputs(w->g, v)[k]; }
static int numel(const Walk *w, int v) { return ir_shape_numel(node(w, v)->shape); }
static int dim_c(const Walk *w, int v) { return node(w, v)->shape.d[1]; }
static int dim_h(const Walk *w, int v) { return node(w, v)->shape.rank >= 4 ? node(w, v)->shape.d[2] : 1; }
static int dim_w(const Walk *w, int v) { return node(w, v)->shape.rank >= 4 ? node(w, v)->shape.d[3] : 1; }
static const IrFuse *fz(const Walk *w) { return &w->plan.fuse; }

/* Node v's forward value. */
static RtPlanArg val(Walk *w, int v)
{
    const IrNode *n = node(w, v);
    if (n->op == OP_INPUT)
        return tensor(RT_SP_IMAGES, v, 0, numel(w, v));
    if (n->op == OP_PARAM) {
        if (w->pspace[v] < 0)
            fail(w, "internal: node %%%d: a counter is no kernel argument", v);
        return tensor((RtSpace)w->pspace[v], v, w->poff[v], numel(w, v));
    }
    if (n->op == OP_ZERO && w->plan.act[v] < 0)
        return null_arg(); /* a `none` candidate: skipped by the mixed sums */
    if (!n->shape.batched)
        return tensor(RT_SP_SMALL, v, w->plan.small[v], numel(w, v));
    if (w->plan.act[v] < 0)
        fail(w, "internal: node %%%d (%s) has no storage", v, ir_op_name(n->op));
    return tensor(RT_SP_ARENA, v, w->plan.act[v], numel(w, v));
}

/* Node v's gradient. */
static RtPlanArg grad(Walk *w, int v)
{
    const IrNode *n = node(w, v);
    if (n->op == OP_INPUT)
        return tensor(RT_SP_GIMAGES, v, 0, numel(w, v));
    if (n->op == OP_PARAM) {
        if (w->pspace[v] != RT_SP_WEIGHTS && w->pspace[v] != RT_SP_ARCH)
            fail(w, "internal: node %%%d: gradient of a buffer", v);
        return tensor(w->pspace[v] == RT_SP_WEIGHTS ? RT_SP_GWEIGHTS : RT_SP_GARCH, v, w->poff[v], numel(w, v));
    }
    if (!n->shape.batched)
        return tensor(RT_SP_SMALL, v, w->plan.gsmall[v], numel(w, v));
    if (w->plan.grad[v] < 0)
        fail(w, "internal: node %%%d (%s) has no gradient storage", v, ir_op_name(n->op));
    return tensor(RT_SP_ARENA, v, w->plan.grad[v], numel(w, v));
}

/* The arena's scratch tensor, its first len floats per sample (one
 * gradient piece before it is added, the per-sample losses). */
static RtPlanArg scratch(Walk *w, int64_t len) { return tensor(RT_SP_ARENA, -1, w->plan.scratch, len); }

/* Reserves n floats of the workspace (reused by every launch group). */
static RtPlanArg work(Walk *w, int64_t at, int64_t n)
{
    if (at + n > w->p->size[RT_SP_WORK])
        w->p->size[RT_SP_WORK] = at + n;
    return tensor(RT_SP_WORK, -1, at, n);
}

/* The optional argument slot k of v (a BN's gamma or beta), else null. */
static RtPlanArg opt_in(Walk *w, int v, int k) { return node(w, v)->nin > k ? val(w, in_of(w, v, k)) : null_arg(); }

/* Mixed node m's row of the architecture softmax (its P candidates'
 * weights), and its weighting as the kernels' MODE. */
static RtPlanArg mix_row(Walk *w, int m)
{
    const IrNode *y = node(w, m);
    return part_of(val(w, in_of(w, m, 0)), (int64_t)y->a.row * (y->nin - 1), y->nin - 1);
}
static int mix_mode(const Walk *w, int m) { return node(w, m)->a.weighting == IR_WEIGHTING_MAX_W ? 1 : 0; }

/* ---- forward ---- */

/* Conv kernel kinds: pointwise (tiled GEMM), depthwise, general. */
typedef enum { CONV_PW, CONV_DW, CONV_GENERAL } ConvKind;

static ConvKind conv_kind(const Walk *w, int v)
{
    const IrAttrs *a = &node(w, v)->a;
    int Ci = dim_c(w, in_of(w, v, 0)), Co = dim_c(w, v), G = a->groups;
    if (a->kh == 1 && a->kw == 1 && a->pt == 0 && a->pl == 0 && G == 1)
        return CONV_PW;
    return G > 1 && G == Ci && G == Co ? CONV_DW : CONV_GENERAL;
}

/* Launches a general conv kernel k (13 template arguments) of node v. */
static void conv_general(Walk *w, int v, KcKernel k)
{
    const IrAttrs *a = &node(w, v)->a;
    int x = in_of(w, v, 0);
    launch(w, v, -1, k, 13, dim_c(w, x), dim_h(w, x), dim_w(w, x), dim_c(w, v), a->kh, a->kw, a->sh, a->sw, a->pt,
           a->pl, a->dh, a->dw, a->groups);
}

static void fwd_conv(Walk *w, int v)
{
    const IrAttrs *a = &node(w, v)->a;
    int x = in_of(w, v, 0), Ci = dim_c(w, x), H = dim_h(w, x), W = dim_w(w, x), Co = dim_c(w, v);
    if (a->pt != a->pb || a->pl != a->pr) {
        fail(w, "node %%%d: conv2d with asymmetric padding %d,%d,%d,%d has no CUDA kernel", v, a->pt, a->pb, a->pl,
             a->pr);
        return;
    }
    switch (conv_kind(w, v)) {
    case CONV_PW: {
        int bm, bn;
        kc_pw_tile(Co, dim_h(w, v) * dim_w(w, v), &bm, &bn);
        launch(w, v, -1, KC_pw_fwd, 8, Ci, H, W, Co, a->sh, a->sw, bm, bn);
        break;
    }
    case CONV_DW:
        launch(w, v, -1, KC_dwconv_fwd, 12, Ci, H, W, a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->dh, a->dw,
               kc_dw_vw(dim_w(w, v), a->kw));
        break;
    case CONV_GENERAL:
        conv_general(w, v, KC_conv2d_fwd);
        break;
    }
    put(w, runtime(RT_ARG_BATCH));
    put(w, val(w, x));
    put(w, val(w, in_of(w, v, 1)));
    put(w, val(w, v));
}

/* The eval forward of BN v (running statistics), fused as in training. */
static void fwd_bn_eval(Walk *w, int v)
{
    const IrNode *y = node(w, v);
    int C = dim_c(w, v), HW = dim_h(w, v) * dim_w(w, v), aff = y->nin >= 6;
    bool mixed = fz(w)->mixed_bn[v];
    int m = fz(w)->src[v];
    if (mixed)
        launch(w, v, -1, KC_bn_mix_fwd, 7, C, HW, aff, node(w, m)->nin - 1, mix_mode(w, m),
               fz(w)->mix_first[m] == v, 0);
    else
        launch(w, v, -1, KC_bn_eval_fwd, 4, C, HW, aff, fz(w)->bn_relu[v] ? 1 : 0);
    put(w, runtime(RT_ARG_BATCH));
    put(w, lit_float(y->a.eps));
    if (mixed)
        put(w, lit_float(y->a.momentum));
    put(w, val(w, in_of(w, v, 0)));
    put(w, opt_in(w, v, 4));
    put(w, opt_in(w, v, 5));
    if (mixed) {
        put(w, mix_row(w, m));
        put(w, lit_int(fz(w)->mix_slot[v]));
        put(w, val(w, m));
        put(w, null_arg());
        put(w, null_arg());
    }
    put(w, val(w, in_of(w, v, 1)));
    put(w, val(w, in_of(w, v, 2)));
    if (!mixed)
        put(w, val(w, fz(w)->bn_relu[v] ? m : v));
}

/* BN inputs: x, running mean, running var, counter, gamma, beta. */
static void fwd_bn(Walk *w, int v)
{
    const IrNode *y = node(w, v);
    int C = dim_c(w, v), HW = dim_h(w, v) * dim_w(w, v), aff = y->nin >= 6;
    RtPlanArg sm = tensor(RT_SP_SMALL, v, w->plan.small[v], C);
    if (w->eval) {
        fwd_bn_eval(w, v);
        return;
    }
    if (fz(w)->mixed_bn[v]) {
        int m = fz(w)->src[v], P = node(w, m)->nin - 1;
        launch(w, v, -1, KC_bn_mix_fwd, 7, C, HW, aff, P, mix_mode(w, m), fz(w)->mix_first[m] == v, 1);
    } else {
        launch(w, v, -1, KC_bn_train_fwd, 4, C, HW, aff, fz(w)->bn_relu[v] ? 1 : 0);
    }
    put(w, runtime(RT_ARG_BATCH));
    put(w, lit_float(y->a.eps));
    put(w, lit_float(y->a.momentum));
    put(w, val(w, in_of(w, v, 0)));
    put(w, opt_in(w, v, 4));
    put(w, opt_in(w, v, 5));
    if (fz(w)->mixed_bn[v]) {
        put(w, mix_row(w, fz(w)->src[v]));
        put(w, lit_int(fz(w)->mix_slot[v]));
        put(w, val(w, fz(w)->src[v]));
    } else {
        put(w, val(w, fz(w)->bn_relu[v] ? fz(w)->src[v] : v));
    }
    put(w, sm);
    put(w, part_of(sm, C, C));
    put(w, val(w, in_of(w, v, 1)));
    put(w, val(w, in_of(w, v, 2)));
}

static void fwd_mixed(Walk *w, int v)
{
    const IrNode *y = node(w, v);
    int D = numel(w, v), P = y->nin - 1, mode = mix_mode(w, v);
    if (fz(w)->mix_first[v] < 0) {
        launch(w, v, -1, KC_mixed_fwd, 3, D, P, mode);
        put(w, runtime(RT_ARG_BATCH));
        put(w, mix_row(w, v));
        put(w, ptrs(P));
        for (int k = 0; k < P; k++)
            put(w, val(w, in_of(w, v, k + 1)));
        put(w, val(w, v));
        return;
    }
    /* the BN candidates are in (bn_mix_fwd): add the others */
    for (int k = 0; k < P; k++) {
        int u = in_of(w, v, k + 1);
        RtPlanArg o = fz(w)->mixed_bn[u] ? null_arg() : val(w, u);
        if (o.kind == RT_ARG_NULL)
            continue;
        launch(w, v, -1, KC_mixed_acc, 4, D, P, mode, 0);
        put(w, runtime(RT_ARG_BATCH));
        put(w, mix_row(w, v));
        put(w, lit_int(k));
        put(w, o);
        put(w, val(w, v));
    }
}

/* A kernel (N, x, y) over node v's single input x, launched with the
 * template arguments already given. */
static void args_x_y(Walk *w, int v)
{
    put(w, runtime(RT_ARG_BATCH));
    put(w, val(w, in_of(w, v, 0)));
    put(w, val(w, v));
}

static void fwd_node(Walk *w, int v)
{
    const IrNode *y = node(w, v);
    const IrAttrs *a = &y->a;
    int x = y->nin ? in_of(w, v, 0) : -1, D = numel(w, v);
    switch (y->op) {
    case OP_INPUT:
    case OP_PARAM:
        return;
    case OP_CONV2D:
        fwd_conv(w, v);
        return;
    case OP_BATCH_NORM:
        fwd_bn(w, v);
        return;
    case OP_RELU:
        if (fz(w)->bn_relu[x])
            return; /* written by its BN's kernel */
        launch(w, v, -1, KC_relu_fwd, 1, D);
        args_x_y(w, v);
        return;
    case OP_MAX_POOL:
    case OP_AVG_POOL:
        if (a->pt != a->pb || a->pl != a->pr) {
            fail(w, "node %%%d: pooling with asymmetric padding has no CUDA kernel", v);
            return;
        }
        if (y->op == OP_MAX_POOL)
            launch(w, v, -1, KC_maxpool_fwd, 9, dim_c(w, x), dim_h(w, x), dim_w(w, x), a->kh, a->kw, a->sh, a->sw,
                   a->pt, a->pl);
        else
            launch(w, v, -1, KC_avgpool_fwd, 10, dim_c(w, x), dim_h(w, x), dim_w(w, x), a->kh, a->kw, a->sh, a->sw,
                   a->pt, a->pl, a->cip ? 1 : 0);
        args_x_y(w, v);
        return;
    case OP_PAD:
        launch(w, v, -1, KC_pad_fwd, 7, dim_c(w, x), dim_h(w, x), dim_w(w, x), a->pt, a->pb, a->pl, a->pr);
        args_x_y(w, v);
        return;
    case OP_SLICE:
        launch(w, v, -1, KC_slice_fwd, 4, dim_c(w, x), dim_h(w, x) * dim_w(w, x), a->start, a->end - a->start);
        args_x_y(w, v);
        return;
    case OP_CONCAT:
        for (int k = 0, c0 = 0; k < y->nin; k++) {
            int u = in_of(w, v, k);
            launch(w, v, -1, KC_concat_put, 4, dim_c(w, v), dim_h(w, v) * dim_w(w, v), c0, dim_c(w, u));
            put(w, runtime(RT_ARG_BATCH));
            put(w, val(w, u));
            put(w, val(w, v));
            c0 += dim_c(w, u);
        }
        return;
    case OP_ADD:
        launch(w, v, -1, KC_add_fwd, 1, D);
        put(w, runtime(RT_ARG_BATCH));
        put(w, val(w, x));
        put(w, val(w, in_of(w, v, 1)));
        put(w, val(w, v));
        for (int k = 2; k < y->nin; k++) {
            launch(w, v, -1, KC_acc, 1, D);
            put(w, runtime(RT_ARG_BATCH));
            put(w, val(w, in_of(w, v, k)));
            put(w, val(w, v));
        }
        return;
    case OP_SCALE:
        launch(w, v, -1, KC_scale, 1, D);
        put(w, runtime(RT_ARG_BATCH));
        put(w, lit_float(a->scale));
        put(w, val(w, x));
        put(w, val(w, v));
        return;
    case OP_ZERO:
        if (w->plan.act[v] < 0)
            return; /* read by mixed ops only, which skip it */
        launch(w, v, -1, KC_zero, 1, D);
        put(w, runtime(RT_ARG_BATCH));
        put(w, val(w, v));
        return;
    case OP_GLOBAL_AVG_POOL:
        launch(w, v, -1, KC_gap_fwd, 2, dim_c(w, x), dim_h(w, x) * dim_w(w, x));
        args_x_y(w, v);
        return;
    case OP_LINEAR:
        launch(w, v, -1, KC_linear_fwd, 3, numel(w, x), dim_c(w, v), y->nin > 2);
        put(w, runtime(RT_ARG_BATCH));
        put(w, val(w, x));
        put(w, val(w, in_of(w, v, 1)));
        put(w, opt_in(w, v, 2));
        put(w, val(w, v));
        return;
    case OP_DROP_PATH:
        if (w->eval) { /* the identity: a copy */
            launch(w, v, -1, KC_scale, 1, D);
            put(w, runtime(RT_ARG_BATCH));
            put(w, lit_float(1.f));
        } else {
            launch(w, v, -1, KC_drop_path, 1, D);
            put(w, runtime(RT_ARG_BATCH));
            put(w, runtime(RT_ARG_KEEP));
            put(w, tensor(RT_SP_DROP, v, w->site[v], 1));
        }
        put(w, val(w, x));
        put(w, val(w, v));
        return;
    case OP_MIXED:
        fwd_mixed(w, v);
        return;
    case OP_ARCH_SOFTMAX:
        launch(w, v, 1, KC_arch_softmax_fwd, 2, y->shape.d[0], y->shape.d[1]);
        put(w, val(w, x));
        put(w, val(w, v));
        return;
    case OP_SOFTMAX_CROSS_ENTROPY:
        fail(w, "node %%%d: softmax_cross_entropy inside the graph has no CUDA launch plan", v);
        return;
    case OP__COUNT:
        break;
    }
    fail(w, "internal: node %%%d: unknown op", v);
}

/* ---- loss ---- */

/* softmax_ce + batch_mean of output `name` (if present) into loss[slot];
 * the logits' gradient too in training; for the main logits (slot 0) the
 * top-1 and top-5 hits. */
static void loss_of(Walk *w, const char *name, int slot)
{
    int o = ir_find_output(w->g, name);
    if (o < 0 || !w->bw.live[o] || (w->eval && node(w, o)->aux))
        return;
    launch(w, o, -1, KC_softmax_ce, 1, dim_c(w, o));
    put(w, runtime(RT_ARG_BATCH));
    put(w, slot ? runtime(RT_ARG_AUX_WEIGHT) : lit_float(1.f));
    put(w, val(w, o));
    put(w, tensor(RT_SP_LABELS, -1, 0, 1));
    put(w, scratch(w, 1));
    put(w, w->bw.grad[o] && !w->eval ? grad(w, o) : null_arg());
    launch(w, o, -1, KC_batch_mean, 0);
    put(w, runtime(RT_ARG_BATCH));
    put(w, scratch(w, 1));
    put(w, tensor(RT_SP_LOSS, -1, slot, 1));
    for (int k = 0; k < 2 && !slot; k++) {
        launch(w, o, -1, KC_topk_correct, 1, dim_c(w, o));
        put(w, runtime(RT_ARG_BATCH));
        put(w, lit_int(k ? 5 : 1));
        put(w, val(w, o));
        put(w, tensor(RT_SP_LABELS, -1, 0, 1));
        put(w, tensor(RT_SP_COUNTS, -1, k, 1));
    }
}

/* ---- backward ---- */

static bool needs(const IrGradStep *st, int i) { return (st->need >> i) & 1u; }

/* Where the piece for slot i of step st goes: the input's gradient, or the
 * scratch tensor when the gradient already holds pieces (then piece_end). */
static RtPlanArg piece(Walk *w, const IrGradStep *st, int i)
{
    int u = in_of(w, st->node, i);
    if (!(st->acc & (1u << i)))
        return grad(w, u);
    if (node(w, u)->op == OP_PARAM || !node(w, u)->shape.batched)
        fail(w, "internal: gradient piece of %%%d would need accumulation into a parameter", u);
    return scratch(w, numel(w, u));
}

/* Adds the scratch piece of slot i into its input's gradient when needed. */
static void piece_end(Walk *w, const IrGradStep *st, int i)
{
    if (!(st->acc & (1u << i)))
        return;
    int u = in_of(w, st->node, i);
    launch(w, st->node, -1, KC_acc, 1, numel(w, u));
    put(w, runtime(RT_ARG_BATCH));
    put(w, scratch(w, numel(w, u)));
    put(w, grad(w, u));
}

/* The rest of a single-input backward kernel (N, [x,] gy, gx) whose head
 * the caller launched and put. */
static void bwd_gy_gx(Walk *w, const IrGradStep *st)
{
    put(w, grad(w, st->node));
    put(w, piece(w, st, 0));
    piece_end(w, st, 0);
}

static void bwd_conv(Walk *w, const IrGradStep *st)
{
    int v = st->node, x = in_of(w, v, 0), wt = in_of(w, v, 1);
    const IrAttrs *a = &node(w, v)->a;
    int Ci = dim_c(w, x), H = dim_h(w, x), W = dim_w(w, x), Co = dim_c(w, v), bm, bn;
    bool pw = conv_kind(w, v) == CONV_PW;
    if (needs(st, 0)) {
        if (pw) {
            kc_pw_tile(Ci, H * W, &bm, &bn);
            launch(w, v, -1, KC_pw_bwd_data, 8, Ci, H, W, Co, a->sh, a->sw, bm, bn);
        } else {
            conv_general(w, v, KC_conv2d_bwd_data);
        }
        put(w, runtime(RT_ARG_BATCH));
        put(w, grad(w, v));
        put(w, val(w, wt));
        put(w, piece(w, st, 0));
        piece_end(w, st, 0);
    }
    if (!needs(st, 1))
        return;
    if (st->acc & 2u)
        fail(w, "internal: conv weight %%%d shared", wt);
    if (!pw) {
        conv_general(w, v, KC_conv2d_bwd_weight);
        put(w, runtime(RT_ARG_BATCH));
        put(w, val(w, x));
        put(w, grad(w, v));
        put(w, grad(w, wt));
        return;
    }
    int split = kc_split(Co, Ci, dim_h(w, v) * dim_w(w, v));
    RtPlanArg part = work(w, 0, (int64_t)split * Co * Ci);
    kc_pw_tile(Co, Ci, &bm, &bn);
    launch(w, v, -1, KC_pw_bwd_weight, 9, Ci, H, W, Co, a->sh, a->sw, bm, bn, split);
    put(w, runtime(RT_ARG_BATCH));
    put(w, val(w, x));
    put(w, grad(w, v));
    put(w, grad(w, wt));
    put(w, part);
    if (split > 1) {
        launch(w, v, 1, KC_splitk_reduce, 2, split, Co * Ci);
        put(w, part);
        put(w, grad(w, wt));
    }
}

static void bwd_bn(Walk *w, const IrGradStep *st)
{
    int v = st->node, C = dim_c(w, v), HW = dim_h(w, v) * dim_w(w, v), aff = node(w, v)->nin >= 6;
    RtPlanArg sm = tensor(RT_SP_SMALL, v, w->plan.small[v], C);
    bool mixed = fz(w)->mixed_bn[v], relu = fz(w)->bn_relu[v];
    int m = fz(w)->src[v];
    if (mixed)
        launch(w, v, -1, KC_bn_mix_bwd, 5, C, HW, aff, node(w, m)->nin - 1, mix_mode(w, m));
    else
        launch(w, v, -1, KC_bn_train_bwd, 4, C, HW, aff, relu ? 1 : 0);
    put(w, runtime(RT_ARG_BATCH));
    put(w, val(w, in_of(w, v, 0)));
    if (!mixed)
        put(w, relu ? val(w, m) : null_arg());
    /* mixed_bn: the output gradient is c_k times the mixed node's;
     * bn_relu: the RELU's gradient, masked by its output in the kernel */
    put(w, mixed || relu ? grad(w, m) : grad(w, v));
    put(w, opt_in(w, v, 4));
    put(w, sm);
    put(w, part_of(sm, C, C));
    if (mixed) {
        put(w, mix_row(w, m));
        put(w, lit_int(fz(w)->mix_slot[v]));
    }
    put(w, needs(st, 0) ? piece(w, st, 0) : scratch(w, numel(w, in_of(w, v, 0))));
    put(w, aff && needs(st, 4) ? grad(w, in_of(w, v, 4)) : null_arg());
    put(w, aff && needs(st, 5) ? grad(w, in_of(w, v, 5)) : null_arg());
    if (needs(st, 0))
        piece_end(w, st, 0);
}

static void bwd_mixed(Walk *w, const IrGradStep *st)
{
    int v = st->node, D = numel(w, v), P = node(w, v)->nin - 1, mode = mix_mode(w, v);
    if (needs(st, 0)) {
        /* d_k = <gy, o_k> in NB partial sums per candidate (BN candidates
         * from their inputs and statistics), then the row's gradient added
         * into the edge weights' gradient (zeroed before the backward) */
        int nb = kc_mixed_nb(D);
        RtPlanArg part = work(w, 0, (int64_t)P * nb), gw = work(w, (int64_t)P * nb, P);
        launch(w, v, -1, KC_mixed_bwd_w, 3, D, P, nb);
        put(w, runtime(RT_ARG_BATCH));
        put(w, grad(w, v));
        put(w, ptrs(P));
        for (int k = 0; k < P; k++) {
            int u = in_of(w, v, k + 1);
            put(w, fz(w)->mixed_bn[u] ? null_arg() : val(w, u));
        }
        put(w, part);
        for (int k = 0; k < P; k++) {
            int u = in_of(w, v, k + 1);
            if (!fz(w)->mixed_bn[u])
                continue;
            launch(w, v, -1, KC_bn_mix_dot, 4, dim_c(w, u), dim_h(w, u) * dim_w(w, u), node(w, u)->nin >= 6, nb);
            put(w, runtime(RT_ARG_BATCH));
            put(w, val(w, in_of(w, u, 0)));
            put(w, grad(w, v));
            put(w, opt_in(w, u, 4));
            put(w, opt_in(w, u, 5));
            put(w, tensor(RT_SP_SMALL, u, w->plan.small[u], dim_c(w, u)));
            put(w, tensor(RT_SP_SMALL, u, w->plan.small[u] + dim_c(w, u), dim_c(w, u)));
            put(w, lit_int(k));
            put(w, part);
        }
        launch(w, v, 1, KC_mixed_bwd_w_final, 3, P, nb, mode);
        put(w, mix_row(w, v));
        put(w, part);
        put(w, gw);
        launch(w, v, 1, KC_acc, 1, P);
        put(w, lit_int(1));
        put(w, gw);
        put(w, part_of(grad(w, in_of(w, v, 0)), (int64_t)node(w, v)->a.row * P, P));
    }
    /* go_k = c_k gy: the candidates whose gradient starts here in one launch,
     * each one that adds to its gradient through the scratch tensor */
    int first = 0;
    for (int k = 0; k < P; k++) {
        int u = in_of(w, v, k + 1);
        if (needs(st, k + 1) && !fz(w)->mixed_bn[u] && !(st->acc & (1u << (k + 1))))
            first++;
    }
    for (int pass = first ? -1 : 0; pass < P; pass++) {
        if (pass >= 0) {
            int u = in_of(w, v, pass + 1);
            if (!needs(st, pass + 1) || fz(w)->mixed_bn[u] || !(st->acc & (1u << (pass + 1))))
                continue;
        }
        launch(w, v, -1, KC_mixed_bwd_data, 3, D, P, mode);
        put(w, runtime(RT_ARG_BATCH));
        put(w, mix_row(w, v));
        put(w, grad(w, v));
        put(w, ptrs(P));
        for (int k = 0; k < P; k++) {
            int u = in_of(w, v, k + 1);
            bool mine = needs(st, k + 1) && !fz(w)->mixed_bn[u] &&
                        (pass < 0 ? !(st->acc & (1u << (k + 1))) : k == pass);
            put(w, mine ? piece(w, st, k + 1) : null_arg());
        }
        if (pass >= 0)
            piece_end(w, st, pass + 1);
    }
}

static void bwd_step(Walk *w, const IrGradStep *st)
{
    int v = st->node;
    const IrNode *y = node(w, v);
    const IrAttrs *a = &y->a;
    int x = in_of(w, v, 0), D = numel(w, v);
    switch (y->op) {
    case OP_CONV2D:
        bwd_conv(w, st);
        return;
    case OP_BATCH_NORM:
        bwd_bn(w, st);
        return;
    case OP_RELU:
        if (fz(w)->bn_relu[x])
            return; /* in its BN's backward */
        launch(w, v, -1, KC_relu_bwd, 1, D);
        put(w, runtime(RT_ARG_BATCH));
        put(w, val(w, v));
        bwd_gy_gx(w, st);
        return;
    case OP_SCALE:
        launch(w, v, -1, KC_scale, 1, D);
        put(w, runtime(RT_ARG_BATCH));
        put(w, lit_float(a->scale));
        bwd_gy_gx(w, st);
        return;
    case OP_MAX_POOL:
        launch(w, v, -1, KC_maxpool_bwd, 9, dim_c(w, x), dim_h(w, x), dim_w(w, x), a->kh, a->kw, a->sh, a->sw, a->pt,
               a->pl);
        put(w, runtime(RT_ARG_BATCH));
        put(w, val(w, x));
        bwd_gy_gx(w, st);
        return;
    case OP_AVG_POOL:
        launch(w, v, -1, KC_avgpool_bwd, 10, dim_c(w, x), dim_h(w, x), dim_w(w, x), a->kh, a->kw, a->sh, a->sw, a->pt,
               a->pl, a->cip ? 1 : 0);
        put(w, runtime(RT_ARG_BATCH));
        bwd_gy_gx(w, st);
        return;
    case OP_PAD:
        launch(w, v, -1, KC_pad_bwd, 7, dim_c(w, x), dim_h(w, x), dim_w(w, x), a->pt, a->pb, a->pl, a->pr);
        put(w, runtime(RT_ARG_BATCH));
        bwd_gy_gx(w, st);
        return;
    case OP_SLICE:
        launch(w, v, -1, KC_slice_bwd, 4, dim_c(w, x), dim_h(w, x) * dim_w(w, x), a->start, a->end - a->start);
        put(w, runtime(RT_ARG_BATCH));
        bwd_gy_gx(w, st);
        return;
    case OP_GLOBAL_AVG_POOL:
        launch(w, v, -1, KC_gap_bwd, 2, dim_c(w, x), dim_h(w, x) * dim_w(w, x));
        put(w, runtime(RT_ARG_BATCH));
        bwd_gy_gx(w, st);
        return;
    case OP_DROP_PATH:
        launch(w, v, -1, KC_drop_path, 1, D);
        put(w, runtime(RT_ARG_BATCH));
        put(w, runtime(RT_ARG_KEEP));
        put(w, tensor(RT_SP_DROP, v, w->site[v], 1));
        bwd_gy_gx(w, st);
        return;
    case OP_ADD:
        for (int i = 0; i < y->nin; i++) {
            if (!needs(st, i))
                continue;
            bool add = (st->acc >> i) & 1u;
            launch(w, v, -1, add ? KC_acc : KC_add_bwd, 1, D);
            put(w, runtime(RT_ARG_BATCH));
            put(w, grad(w, v));
            put(w, grad(w, in_of(w, v, i)));
            if (!add)
                put(w, null_arg());
        }
        return;
    case OP_CONCAT:
        for (int i = 0, c0 = 0; i < y->nin; i++) {
            int u = in_of(w, v, i);
            if (needs(st, i)) {
                launch(w, v, -1, KC_slice_fwd, 4, dim_c(w, v), dim_h(w, v) * dim_w(w, v), c0, dim_c(w, u));
                put(w, runtime(RT_ARG_BATCH));
                put(w, grad(w, v));
                put(w, piece(w, st, i));
                piece_end(w, st, i);
            }
            c0 += dim_c(w, u);
        }
        return;
    case OP_LINEAR: {
        int I = numel(w, x), O = dim_c(w, v), bias = y->nin > 2;
        if (needs(st, 0)) {
            launch(w, v, -1, KC_linear_bwd_data, 2, I, O);
            put(w, runtime(RT_ARG_BATCH));
            put(w, grad(w, v));
            put(w, val(w, in_of(w, v, 1)));
            put(w, piece(w, st, 0));
            piece_end(w, st, 0);
        }
        if (needs(st, 1)) {
            if (bias && !needs(st, 2))
                fail(w, "internal: linear %%%d: weight gradient without the bias's", v);
            launch(w, v, -1, KC_linear_bwd_weight, 3, I, O, bias);
            put(w, runtime(RT_ARG_BATCH));
            put(w, val(w, x));
            put(w, grad(w, v));
            put(w, grad(w, in_of(w, v, 1)));
            put(w, bias ? grad(w, in_of(w, v, 2)) : null_arg());
        }
        return;
    }
    case OP_MIXED:
        bwd_mixed(w, st);
        return;
    case OP_ARCH_SOFTMAX:
        launch(w, v, 1, KC_arch_softmax_bwd, 2, y->shape.d[0], y->shape.d[1]);
        put(w, val(w, v));
        put(w, grad(w, v));
        put(w, piece(w, st, 0));
        return;
    default:
        fail(w, "node %%%d: no CUDA backward for %s", v, ir_op_name(y->op));
    }
}

/* ---- the plan ---- */

/* Parameter spaces and offsets (ir_param_layout: the C backend's layout),
 * and drop-path mask rows. */
static void layout(Walk *w)
{
    static const int space_of[IR_PCLASS__COUNT] = { [IR_PCLASS_WEIGHT] = RT_SP_WEIGHTS,
                                                    [IR_PCLASS_BUFFER] = RT_SP_BUFFERS,
                                                    [IR_PCLASS_COUNTER] = -1,
                                                    [IR_PCLASS_ARCH] = RT_SP_ARCH };
    const IrGraph *g = w->g;
    CgCudaPlan *p = w->p;
    int64_t size[IR_PCLASS__COUNT];
    int sites = 0;
    ir_param_layout(g, w->poff, size);
    for (int v = 0; v < g->n; v++) {
        const IrNode *n = &g->nodes[v];
        if (n->op == OP_DROP_PATH)
            w->site[v] = sites++;
        if (n->op != OP_PARAM)
            continue;
        w->pspace[v] = space_of[ir_param_class(n)];
        p->params[p->nparams++] =
            (CgPlanParam){ ir_str_get(g, n->name), v, w->pspace[v], w->poff[v], ir_shape_numel(n->shape) };
    }
    p->size[RT_SP_WEIGHTS] = p->size[RT_SP_GWEIGHTS] = size[IR_PCLASS_WEIGHT];
    p->size[RT_SP_ARCH] = p->size[RT_SP_GARCH] = size[IR_PCLASS_ARCH];
    p->size[RT_SP_BUFFERS] = size[IR_PCLASS_BUFFER];
    p->ncounters = size[IR_PCLASS_COUNTER];
    p->size[RT_SP_DROP] = sites;
    p->size[RT_SP_LABELS] = 1;
    p->size[RT_SP_LOSS] = p->size[RT_SP_COUNTS] = 2;
    for (int v = 0; v < g->n; v++)
        if (g->nodes[v].op == OP_INPUT)
            p->size[RT_SP_IMAGES] = p->size[RT_SP_GIMAGES] = ir_shape_numel(g->nodes[v].shape);
}

int cg_cuda_plan(const IrGraph *g, CgCudaPlan *p, char *err, int errlen)
{
    memset(p, 0, sizeof *p);
    cg_cuda_inst_init(&p->inst);
    Walk w;
    memset(&w, 0, sizeof w);
    w.g = g;
    w.p = p;
    w.err = err;
    w.errlen = errlen;
    int n = g->n > 0 ? g->n : 1;
    w.pspace = calloc((size_t)n, sizeof *w.pspace);
    w.poff = calloc((size_t)n, sizeof *w.poff);
    w.site = calloc((size_t)n, sizeof *w.site);
    p->params = calloc((size_t)n, sizeof *p->params);
    if (!w.pspace || !w.poff || !w.site || !p->params) {
        fail(&w, "out of memory building the CUDA launch plan");
    } else {
        ir_autodiff(g, &w.bw);
        ir_plan(g, &w.bw, IR_FUSE_CUDA, false, &w.plan);
        layout(&w);
        p->size[RT_SP_ARENA] = w.plan.per_sample;
        p->size[RT_SP_SMALL] = w.plan.small_size;
        p->sec[RT_SEC_FORWARD] = p->nl;
        for (int v = 0; v < g->n && !w.fail; v++)
            if (w.bw.live[v])
                fwd_node(&w, v);
        p->sec[RT_SEC_LOSS] = p->nl;
        loss_of(&w, "logits", 0);
        loss_of(&w, "aux_logits", 1);
        p->sec[RT_SEC_BACKWARD] = p->nl;
        /* architecture-weight gradients are built row by row: zeroed first */
        for (int v = 0; v < g->n && !w.fail; v++) {
            if (!w.bw.zeroed[v] || !w.bw.grad[v] || fz(&w)->mixed_bn[v])
                continue;
            launch(&w, v, 1, KC_zero, 1, numel(&w, v));
            put(&w, lit_int(1));
            put(&w, grad(&w, v));
        }
        for (int s = 0; s < w.bw.nsteps && !w.fail; s++)
            bwd_step(&w, &w.bw.steps[s]);
        p->sec[RT_SEC_EVAL] = p->nl;
        w.eval = true;
        for (int v = 0; v < g->n && !w.fail; v++)
            if (w.bw.live[v] && !g->nodes[v].aux)
                fwd_node(&w, v);
        p->sec[RT_SEC_EVAL_LOSS] = p->nl;
        loss_of(&w, "logits", 0);
        p->sec[RT_SEC__COUNT] = p->nl;
        ir_plan_free(&w.plan);
        ir_backward_free(&w.bw);
    }
    free(w.pspace);
    free(w.poff);
    free(w.site);
    if (w.fail) {
        cg_cuda_plan_free(p);
        return -1;
    }
    return 0;
}

void cg_cuda_plan_free(CgCudaPlan *p)
{
    cg_cuda_inst_free(&p->inst);
    free(p->l);
    free(p->args);
    free(p->params);
    memset(p, 0, sizeof *p);
}

/* ---- text form ---- */

static void print_arg(const RtPlanArg *a, FILE *out)
{
    switch ((RtArgKind)a->kind) {
    case RT_ARG_TENSOR:
        if (a->node >= 0)
            fprintf(out, "%%%d:", a->node);
        fprintf(out, "%s+%" PRId64 "[%" PRId64 "]", rt_space_name((RtSpace)a->space), a->off, a->len);
        return;
    case RT_ARG_NULL:
        fputs("null", out);
        return;
    case RT_ARG_INT:
        fprintf(out, "%" PRId64, a->off);
        return;
    case RT_ARG_FLOAT:
        fprintf(out, "%.9g", a->f);
        return;
    case RT_ARG_BATCH:
        fputs("N", out);
        return;
    case RT_ARG_KEEP:
        fputs("keep", out);
        return;
    case RT_ARG_AUX_WEIGHT:
        fputs("aux_weight", out);
        return;
    case RT_ARG_PTRS:
        fprintf(out, "ptrs%" PRId64, a->off);
        return;
    }
    fputs("?", out);
}

void cg_cuda_plan_print(const IrGraph *g, const CgCudaPlan *p, FILE *out)
{
    static const char *const sec_names[] = { "forward", "loss", "backward", "eval forward", "eval loss" };
    fprintf(out, "cuda plan \"%s\": %d launches, %d instantiations, %" PRId64 " counters\n", g->name, p->nl,
            p->inst.n, p->ncounters);
    for (int s = 0; s < RT_SP__COUNT; s++)
        fprintf(out, "  space %-8s %10" PRId64 " floats%s\n", rt_space_name((RtSpace)s), p->size[s],
                rt_space_batched((RtSpace)s) ? " per sample" : "");
    for (int i = 0; i < p->nparams; i++) {
        const CgPlanParam *q = &p->params[i];
        fprintf(out, "  param %%%d %s %s+%" PRId64 " [%" PRId64 "]\n", q->node, q->name,
                q->space < 0 ? "counter" : rt_space_name((RtSpace)q->space), q->off, q->numel);
    }
    for (int s = 0; s < RT_SEC__COUNT; s++) {
        fprintf(out, "%s:\n", sec_names[s]);
        for (int i = p->sec[s]; i < p->sec[s + 1]; i++) {
            const RtPlanLaunch *l = &p->l[i];
            fprintf(out, "  ");
            if (l->node >= 0)
                fprintf(out, "%%%d ", l->node);
            fprintf(out, "%s", p->inst.v[l->inst].expr);
            if (l->grid_n >= 0)
                fprintf(out, " [grid n=%d]", l->grid_n);
            fputc('(', out);
            for (int k = 0; k < l->nargs; k++) {
                if (k)
                    fputs(", ", out);
                print_arg(&p->args[l->arg0 + k], out);
            }
            fputs(")\n", out);
        }
    }
}
