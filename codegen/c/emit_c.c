/* emit_c.c: the C backend's emitter. Writes two translation units per
 * network: the kernel unit pastes the kernels of runtime/kernels/cpu in as
 * `static inline` (through K_FN) and defines one small wrapper per distinct
 * kernel call in which every shape and attribute is a literal, so the
 * compiler specializes the kernel to that layer (compiled -O3); the network
 * unit holds the training forward, the backward and the eval forward as
 * straight lists of wrapper calls on planned arena offsets, and the
 * parameter table (compiled quickly: it only sequences calls). The fusions
 * the plan assumes (IrPlan.fuse) are emitted here: BN + ReLU applied by the
 * depthwise convs that read them, depthwise outputs recomputed for the next
 * conv's weight gradient, BN outputs of mixed candidates rebuilt for the
 * architecture gradient's dot products. The output is a pure function of
 * the IR. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "codegen.h"
#include "cuda_plan.h"
#include "rt_net.h"
#include "util.h"

/* Kinds of gradient a backward piece leads to (runtime guards). */
enum { KIND_W = 1, KIND_ARCH = 2, KIND_IMG = 4 };

typedef struct {
    const CgProgram *p;
    const IrGraph *g;
    const IrBackward *bw;
    const IrPlan *plan;
    FILE *out;           /* current body stream */
    int indent;
    /* wrappers: key text -> index; definitions go to `wrappers` */
    char **keys;
    int nkeys, capkeys;
    char *wbuf, *pbuf;
    size_t wlen, plen;
    FILE *wrappers;      /* wrapper definitions (kernel unit) */
    FILE *protos;        /* their prototypes (network unit) */
    int64_t *poff;       /* PARAM node: offset in its kind's array */
    int *pkind;          /* PARAM node: RtParamKind */
    int *site;           /* DROP_PATH node: mask row */
    unsigned *kinds;     /* node: gradient kinds its output gradient feeds */
    bool eval;           /* emitting the eval forward */
} Emit;

/* ---- printing ---- */

static void emit_line(Emit *e, const char *fmt, ...)
{
    for (int i = 0; i < e->indent; i++) fputs("    ", e->out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->out, fmt, ap);
    va_end(ap);
    fputc('\n', e->out);
}

static void emit_open(Emit *e, const char *fmt, ...)
{
    for (int i = 0; i < e->indent; i++) fputs("    ", e->out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->out, fmt, ap);
    va_end(ap);
    fputs(" {\n", e->out);
    e->indent++;
}

static void emit_close(Emit *e)
{
    e->indent--;
    emit_line(e, "}");
}

/* ---- kernel calls through specialized wrappers ----
 * A call lists its arguments: literals (part of the wrapper) and runtime
 * values (wrapper parameters). Calls with the same kernel and literals share
 * one wrapper `sk_<i>`. N is always the wrapper's first parameter. */

typedef struct {
    const char *kernel;
    char lit[1024];      /* kernel arguments, runtime ones as a0, a1, ... */
    char params[512];    /* wrapper parameter list after N */
    char args[2048];     /* call-site arguments after N */
    int nrt;
} KCall;

static void kc_begin(KCall *c, const char *kernel)
{
    memset(c, 0, sizeof *c);
    c->kernel = kernel;
}

static void kc_put(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len >= size - 1) die("kernel call text too long");
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= size - len) die("kernel call text too long");
}

/* A literal argument (any C expression over N). */
static void kc_lit(KCall *c, const char *fmt, ...)
{
    char t[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    kc_put(c->lit, sizeof c->lit, "%s%s", c->lit[0] ? ", " : "", t);
}

static void kc_int(KCall *c, int64_t v) { kc_lit(c, "%" PRId64, v); }

/* A float literal, exact in float. */
static void kc_real(KCall *c, double v) { kc_lit(c, "(real)%.9g", v); }

/* A runtime argument of C type `type`, value `fmt`. */
static void kc_rt(KCall *c, const char *type, const char *fmt, ...)
{
    char t[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    kc_put(c->lit, sizeof c->lit, "%sa%d", c->lit[0] ? ", " : "", c->nrt);
    kc_put(c->params, sizeof c->params, ", %s a%d", type, c->nrt);
    kc_put(c->args, sizeof c->args, ", %s", t);
    c->nrt++;
}

static void kc_end(Emit *e, KCall *c)
{
    char key[2048];
    snprintf(key, sizeof key, "%s(%s)%s", c->kernel, c->lit, c->params);
    int w = -1;
    for (int i = 0; i < e->nkeys; i++)
        if (strcmp(e->keys[i], key) == 0) { w = i; break; }
    if (w < 0) {
        GROW(e->keys, e->capkeys, e->nkeys + 1);
        e->keys[e->nkeys] = xstrdup(key);
        w = e->nkeys++;
        fprintf(e->wrappers, "void sk_%d(int N%s)\n{\n    (void)N;\n    %s(%s);\n}\n\n", w, c->params,
                c->kernel, c->lit);
        fprintf(e->protos, "void sk_%d(int N%s);\n", w, c->params);
    }
    emit_line(e, "sk_%d(N%s);", w, c->args);
}

/* ---- tensors ---- */

static const IrNode *node(Emit *e, int v) { return &e->g->nodes[v]; }
static int in_of(Emit *e, int v, int i) { return (int)ir_inputs(e->g, v)[i]; }
static int64_t numel(Emit *e, int v) { return ir_shape_numel(node(e, v)->shape); }

/* y = x (k_copy) or y += x (k_acc) over node v's elements. */
static void emit_flat(Emit *e, const char *kernel, int v, const char *x, const char *y)
{
    KCall c;
    kc_begin(&c, kernel);
    kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v));
    kc_rt(&c, "const real *", "%s", x);
    kc_rt(&c, "real *", "%s", y);
    kc_end(e, &c);
}

/* Begins a drop path call of node v: its size, the keep probability and
 * v's row of per-sample masks; the tensors follow. */
static void kc_drop_path(Emit *e, KCall *c, const char *kernel, int v)
{
    kc_begin(c, kernel);
    kc_lit(c, "N");
    kc_lit(c, "(ptrdiff_t)%" PRId64, numel(e, v));
    kc_rt(c, "real", "(real)r->keep_prob");
    kc_rt(c, "const real *", "r->drop_mask + (ptrdiff_t)N * %d", e->site[v]);
}

/* C expression of node v's forward value. */
static const char *act(Emit *e, int v, char *buf, size_t size)
{
    const IrNode *n = node(e, v);
    if (n->op == OP_INPUT) {
        snprintf(buf, size, "(real *)r->images");
    } else if (n->op == OP_PARAM) {
        static const char *arr[] = { "r->w", "r->buf", "r->cnt", "r->arch" };
        snprintf(buf, size, "%s + %" PRId64, arr[e->pkind[v]], e->poff[v]);
    } else if (n->op == OP_ZERO && e->plan->act[v] < 0) {
        snprintf(buf, size, "NULL");
    } else if (!n->shape.batched) {
        snprintf(buf, size, "r->small + %" PRId64, e->plan->small[v]);
    } else {
        if (e->plan->act[v] < 0) die("node %%%d has no storage", v);
        snprintf(buf, size, "AT(%" PRId64 ")", e->plan->act[v]);
    }
    return buf;
}

/* C expression of node v's gradient. */
static const char *grad(Emit *e, int v, char *buf, size_t size)
{
    const IrNode *n = node(e, v);
    if (n->op == OP_INPUT) {
        snprintf(buf, size, "r->gimages");
    } else if (n->op == OP_PARAM) {
        if (e->pkind[v] != RT_PARAM_WEIGHT && e->pkind[v] != RT_PARAM_ARCH) die("gradient of a buffer");
        snprintf(buf, size, "%s + %" PRId64, e->pkind[v] == RT_PARAM_WEIGHT ? "r->gw" : "r->garch", e->poff[v]);
    } else if (!n->shape.batched) {
        snprintf(buf, size, "r->small + %" PRId64, e->plan->gsmall[v]);
    } else {
        if (e->plan->grad[v] < 0) die("node %%%d has no gradient storage", v);
        snprintf(buf, size, "AT(%" PRId64 ")", e->plan->grad[v]);
    }
    return buf;
}

/* Runtime condition under which a gradient piece for node u is needed. */
static const char *guard(Emit *e, int u, char *buf, size_t size)
{
    unsigned k = e->kinds[u];
    buf[0] = 0;
    const char *sep = "";
    size_t len = 0;
    if (k & KIND_W) { len += (size_t)snprintf(buf + len, size - len, "%sr->gw", sep); sep = " || "; }
    if (k & KIND_ARCH) { len += (size_t)snprintf(buf + len, size - len, "%sr->garch", sep); sep = " || "; }
    if (k & KIND_IMG) { snprintf(buf + len, size - len, "%sr->gimages", sep); }
    if (!buf[0]) snprintf(buf, size, "0");
    return buf;
}

/* Rotating text buffers so that one call can print several tensors. */
static char *next_buf(char (*tb)[64], int *tn) { return tb[(*tn)++ % 8]; }
#define T(v) act(e, (v), next_buf(tb, &tn), sizeof tb[0])
#define G(v) grad(e, (v), next_buf(tb, &tn), sizeof tb[0])
#define TBUF char tb[8][64]; int tn = 0

/* ---- fused chains (ir/fuse.c) ---- */

static const IrFuse *fz(Emit *e) { return &e->plan->fuse; }

/* Adds the prologue arguments (mean, scale, shift) of the fused RELU r:
 * its bn_stats BN's saved mean (running mean in the eval forward) and the
 * scale and shift stored at small[r]; NULLs for a plain RELU (its input is
 * stored, whatever op made it). */
static void kc_pre(Emit *e, KCall *c, int r)
{
    TBUF;
    int b = in_of(e, r, 0);
    if (!fz(e)->bn_stats[b]) {
        for (int i = 0; i < 3; i++) kc_rt(c, "const real *", "NULL");
        return;
    }
    int C = node(e, r)->shape.d[1];
    if (e->eval)
        kc_rt(c, "const real *", "%s", T(in_of(e, b, 1)));
    else
        kc_rt(c, "const real *", "r->small + %" PRId64, e->plan->small[b]);
    kc_rt(c, "const real *", "r->small + %" PRId64, e->plan->small[r]);
    kc_rt(c, "const real *", "r->small + %" PRId64, e->plan->small[r] + C);
}

/* Shape and attribute literals of conv v. */
static void kc_conv_shape(Emit *e, KCall *c, int v)
{
    const IrNode *n = node(e, v);
    const IrAttrs *a = &n->a;
    const IrShape *xs = &node(e, in_of(e, v, 0))->shape;
    kc_lit(c, "N");
    kc_int(c, xs->d[1]); kc_int(c, xs->d[2]); kc_int(c, xs->d[3]); kc_int(c, n->shape.d[1]);
    kc_int(c, a->kh); kc_int(c, a->kw); kc_int(c, a->sh); kc_int(c, a->sw);
    kc_int(c, a->pt); kc_int(c, a->pl); kc_int(c, a->dh); kc_int(c, a->dw); kc_int(c, a->groups);
}

/* Shape and window literals of pool v (max or avg). */
static void kc_pool_shape(Emit *e, KCall *c, int v)
{
    const IrAttrs *a = &node(e, v)->a;
    const IrShape *xs = &node(e, in_of(e, v, 0))->shape;
    kc_lit(c, "N");
    kc_int(c, xs->d[1]); kc_int(c, xs->d[2]); kc_int(c, xs->d[3]);
    kc_int(c, a->kh); kc_int(c, a->kw); kc_int(c, a->sh); kc_int(c, a->sw); kc_int(c, a->pt); kc_int(c, a->pl);
}

/* The forward of conv v into dst (its output, or the buffer of a recomputed
 * output), through the prologue when its input is a fused RELU. */
static void emit_conv_fwd(Emit *e, int v, const char *dst)
{
    TBUF;
    KCall c;
    int x = in_of(e, v, 0);
    bool pre = fz(e)->prologue[x];
    kc_begin(&c, pre ? "k_conv2d_fwd_pre" : "k_conv2d_fwd");
    kc_conv_shape(e, &c, v);
    if (pre) kc_pre(e, &c, x);
    kc_rt(&c, "const real *", "%s", T(pre ? fz(e)->src[x] : x));
    kc_rt(&c, "const real *", "%s", T(in_of(e, v, 1)));
    kc_rt(&c, "real *", "%s", dst);
    kc_end(e, &c);
}

/* Starts a FactorizedReduce kernel call for the fused concat cat
 * (IrFuse.fr): the shape, whether it applies the ReLU (fused too, or a
 * plain prologue), the tensor it reads (the ReLU's input or output) and
 * the two convs' weights. */
static void kc_fr_begin(Emit *e, KCall *c, const char *kernel, int cat)
{
    TBUF;
    int y1 = in_of(e, cat, 0), y2 = in_of(e, cat, 1), r = in_of(e, y1, 0);
    int x = ir_fuse_fr_input(e->g, fz(e), cat);
    bool rb = x != r;
    const IrShape *xs = &node(e, x)->shape;
    kc_begin(c, kernel);
    kc_lit(c, "N");
    kc_int(c, xs->d[1]); kc_int(c, xs->d[2]); kc_int(c, xs->d[3]);
    kc_int(c, node(e, y1)->shape.d[1]); kc_int(c, node(e, y2)->shape.d[1]);
    kc_int(c, rb);
    kc_rt(c, "const real *", "%s", T(x));
    kc_rt(c, "const real *", "%s", T(in_of(e, y1, 1)));
    kc_rt(c, "const real *", "%s", T(in_of(e, y2, 1)));
}

/* ---- forward ---- */

static void check_sym(Emit *e, int v)
{
    const IrNode *n = node(e, v);
    if (n->a.pt != n->a.pb || n->a.pl != n->a.pr)
        die("%s %%%d: asymmetric padding reaches the C backend", ir_op_name(n->op), v);
}

static void emit_comment(Emit *e, int v)
{
    const IrNode *n = node(e, v);
    char sb[64];
    emit_line(e, "/* %%%d %s -> %s%s%s */", v, ir_op_name(n->op), ir_shape_str(n->shape, sb, sizeof sb),
              n->region >= 0 ? "  " : "", ir_str_get(e->g, n->region));
}

/* Starts the training forward call of BN v, through its input: from the
 * plane moments in the scratch tensor for a bn_moments BN (see ir.h). */
static void kc_bn_train_begin(Emit *e, KCall *c, int v)
{
    const IrNode *n = node(e, v);
    TBUF;
    bool mo = fz(e)->bn_moments[v];
    kc_begin(c, mo ? "k_bn_train_fwd_moments" : "k_bn_train_fwd");
    kc_lit(c, "N"); kc_int(c, n->shape.d[1]); kc_int(c, n->shape.d[2] * n->shape.d[3]);
    kc_real(c, n->a.eps); kc_real(c, n->a.momentum);
    if (mo) kc_rt(c, "const real *", "AT(%" PRId64 ")", e->plan->scratch);
    kc_rt(c, "const real *", "%s", T(in_of(e, v, 0)));
}

/* The per-channel scale and shift of BN v into the small slots at offsets
 * scale and shift: from the running estimates (eval), or from the batch
 * statistics (training: k_bn_train_fwd without an output saves them in
 * v's slots 0 and C and updates the running estimates). */
static void emit_bn_scale_shift(Emit *e, int v, int64_t scale, int64_t shift)
{
    const IrNode *n = node(e, v);
    const IrAttrs *a = &n->a;
    int C = n->shape.d[1];
    int64_t sm = e->plan->small[v];
    bool aff = n->nin >= 6;
    KCall c;
    TBUF;
    if (e->eval) {
        kc_begin(&c, "k_bn_eval_affine");
        kc_int(&c, C); kc_real(&c, a->eps);
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 4)) : "NULL");
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 5)) : "NULL");
        kc_rt(&c, "const real *", "%s", T(in_of(e, v, 2)));
    } else {
        kc_bn_train_begin(e, &c, v);
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 4)) : "NULL");
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 5)) : "NULL");
        kc_rt(&c, "real *", "NULL");
        kc_rt(&c, "real *", "r->small + %" PRId64, sm);
        kc_rt(&c, "real *", "r->small + %" PRId64, sm + C);
        kc_rt(&c, "real *", "%s", T(in_of(e, v, 1)));
        kc_rt(&c, "real *", "%s", T(in_of(e, v, 2)));
        kc_end(e, &c);
        emit_line(e, "r->cnt[%" PRId64 "] += 1;", e->poff[in_of(e, v, 3)]);
        kc_begin(&c, "k_bn_affine");
        kc_int(&c, C);
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 4)) : "NULL");
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 5)) : "NULL");
        kc_rt(&c, "const real *", "r->small + %" PRId64, sm + C);
    }
    kc_rt(&c, "real *", "r->small + %" PRId64, scale);
    kc_rt(&c, "real *", "r->small + %" PRId64, shift);
    kc_end(e, &c);
}

/* Opens a block holding `real cw[P]`, the multipliers of mixed node m's
 * candidates (k_mixed_coef over m's row of architecture weights); the
 * caller closes it. */
static void emit_mix_coef_open(Emit *e, int m)
{
    const IrAttrs *ma = &node(e, m)->a;
    int P = node(e, m)->nin - 1;
    TBUF;
    emit_open(e, "");
    emit_line(e, "real cw[%d];", P);
    emit_line(e, "k_mixed_coef(%d, %d, %s + %d, cw);", P, ma->weighting, T(in_of(e, m, 0)), ma->row * P);
}

/* Adds the mean, scale and shift with which the consumer of BN v
 * normalizes v's input (a mixed_bn or add_bn BN: emit_bn_scale_shift put
 * the scale and shift at small 2C and 3C): the saved batch mean, or the
 * running mean in the eval forward. */
static void kc_bn_norm(Emit *e, KCall *c, int v)
{
    TBUF;
    int64_t sm = e->plan->small[v], C = node(e, v)->shape.d[1];
    if (e->eval)
        kc_rt(c, "const real *", "%s", T(in_of(e, v, 1)));
    else
        kc_rt(c, "const real *", "r->small + %" PRId64, sm);
    kc_rt(c, "const real *", "r->small + %" PRId64, sm + 2 * C);
    kc_rt(c, "const real *", "r->small + %" PRId64, sm + 3 * C);
}

/* A mixed_bn BN (see ir.h): its statistics (training) or running
 * estimates (eval) give a per-channel scale and shift (small slots 2C and
 * 3C), and c_k * y goes straight into the mixed output; the candidate that
 * comes first in node order overwrites it. */
static void emit_bn_into_mixed(Emit *e, int v)
{
    const IrNode *n = node(e, v);
    int C = n->shape.d[1], HW = n->shape.d[2] * n->shape.d[3], x = in_of(e, v, 0);
    int m = fz(e)->src[v];
    int64_t sm = e->plan->small[v];
    KCall c;
    TBUF;
    emit_bn_scale_shift(e, v, sm + 2 * C, sm + 3 * C);
    emit_mix_coef_open(e, m);
    kc_begin(&c, "k_bn_out_acc");
    kc_lit(&c, "N"); kc_int(&c, C); kc_int(&c, HW);
    kc_rt(&c, "const real *", "%s", T(x));
    kc_bn_norm(e, &c, v);
    kc_rt(&c, "real", "cw[%d]", fz(e)->mix_slot[v]);
    kc_int(&c, fz(e)->mix_first[m] == v);
    kc_rt(&c, "real *", "%s", T(m));
    kc_end(e, &c);
    emit_close(e);
}

/* The mask row argument of drop path d (NULL when the step drops nothing). */
static void kc_drop_mask(Emit *e, KCall *c, int d)
{
    if (d < 0 || e->eval)
        kc_rt(c, "const real *", "NULL");
    else
        kc_rt(c, "const real *", "r->drop_mask && r->keep_prob < 1 ? r->drop_mask + (ptrdiff_t)N * %d : NULL",
              e->site[d]);
}

/* Where node v's output is: v's buffer (C channels from channel 0), or
 * for a cat_view add (see ir.h) its channels of its concat's; returns
 * that node. */
static int view_of(Emit *e, int v, int *C, int *c0)
{
    int cat = fz(e)->cat_view[v];
    *C = node(e, v)->shape.d[1];
    *c0 = 0;
    if (cat < 0) return v;
    *C = node(e, cat)->shape.d[1];
    for (int i = 0; in_of(e, cat, i) != v; i++) *c0 += node(e, in_of(e, cat, i))->shape.d[1];
    return cat;
}

/* True when the add v's input slot i is an add_bn BN or its drop path. */
static bool add_fused_in(Emit *e, int v, int i)
{
    int u = in_of(e, v, i);
    return fz(e)->add_bn[u] == v || fz(e)->add_drop[u] >= 0;
}

/* A two-input add with add_bn inputs or a cat_view (see ir.h): each input
 * is a stored tensor or the input of its BN, normalized with the scale and
 * shift at small 2C and 3C (emit_bn_scale_shift) and dropped by its drop
 * path, as it sums; the sum goes to v's buffer or its concat's channels. */
static void emit_add_bn(Emit *e, int v)
{
    const IrNode *n = node(e, v);
    KCall c;
    TBUF;
    int Cy, cy, dst = view_of(e, v, &Cy, &cy);
    kc_begin(&c, "k_add_bn");
    kc_lit(&c, "N"); kc_int(&c, n->shape.d[1]); kc_int(&c, n->shape.d[2] * n->shape.d[3]);
    for (int i = 0; i < 2; i++) {
        int u = in_of(e, v, i), d = fz(e)->add_drop[u] >= 0 ? u : -1, b = d >= 0 ? fz(e)->add_drop[u] : u;
        if (fz(e)->add_bn[b] != v) b = -1;
        kc_int(&c, b >= 0);
        kc_rt(&c, "const real *", "%s", T(b >= 0 ? in_of(e, b, 0) : u));
        if (b >= 0) {
            kc_bn_norm(e, &c, b);
        } else {
            for (int k = 0; k < 3; k++) kc_rt(&c, "const real *", "NULL");
        }
        kc_drop_mask(e, &c, d);
    }
    kc_rt(&c, "real", "(real)r->keep_prob");
    kc_int(&c, Cy); kc_int(&c, cy);
    kc_rt(&c, "real *", "%s", T(dst));
    kc_end(e, &c);
}

/* Starts a call of a fused depthwise + pointwise kernel (`name`) for dwpw
 * depthwise conv d and its pointwise consumer p: the shapes, the prologue
 * of d's input, that input, d's weights and the scratch z (d's buffer in
 * the forward, its recompute buffer in the backward); the caller adds the
 * pointwise operands and ends the call. */
static void kc_dwpw_begin(Emit *e, KCall *c, const char *name, int d, int p, const char *z)
{
    TBUF;
    const IrAttrs *a = &node(e, d)->a;
    int x = in_of(e, d, 0);
    const IrShape *xs = &node(e, x)->shape;
    bool pre = fz(e)->prologue[x];
    check_sym(e, d);
    kc_begin(c, name);
    kc_lit(c, "N");
    kc_int(c, xs->d[1]); kc_int(c, xs->d[2]); kc_int(c, xs->d[3]);
    kc_int(c, a->kh); kc_int(c, a->kw); kc_int(c, a->sh); kc_int(c, a->sw);
    kc_int(c, a->pt); kc_int(c, a->pl); kc_int(c, a->dh); kc_int(c, a->dw);
    kc_int(c, node(e, p)->shape.d[1]);
    kc_int(c, pre);
    if (pre) {
        kc_pre(e, c, x);
    } else {
        for (int i = 0; i < 3; i++) kc_rt(c, "const real *", "NULL");
    }
    kc_rt(c, "const real *", "%s", T(pre ? fz(e)->src[x] : x));
    kc_rt(c, "const real *", "%s", T(in_of(e, d, 1)));
    kc_rt(c, "real *", "%s", z);
}

/* The scratch tensor as a call's argument when `use`, else NULL. */
static void kc_scratch(Emit *e, KCall *c, bool use)
{
    if (use)
        kc_rt(c, "real *", "AT(%" PRId64 ")", e->plan->scratch);
    else
        kc_rt(c, "real *", "NULL");
}

/* The bn_moments BN of pointwise conv p, or -1. */
static int moments_bn(Emit *e, int p)
{
    for (int v = p + 1; v < e->g->n; v++)
        if (fz(e)->bn_moments[v] && in_of(e, v, 0) == p) return v;
    return -1;
}

/* The forward of dwpw depthwise conv d and its pointwise consumer p in one
 * call: d's buffer serves as the kernel's scratch; in training, the plane
 * moments of a bn_moments BN of p go to the scratch tensor. */
static void emit_dwpw_fwd(Emit *e, int d, int p)
{
    TBUF;
    KCall c;
    kc_dwpw_begin(e, &c, "k_conv2d_dwpw_fwd", d, p, T(d));
    kc_rt(&c, "const real *", "%s", T(in_of(e, p, 1)));
    kc_rt(&c, "real *", "%s", T(p));
    kc_scratch(e, &c, !e->eval && moments_bn(e, p) >= 0);
    kc_end(e, &c);
}

static void fwd_node(Emit *e, int v)
{
    const IrNode *n = node(e, v);
    const IrAttrs *a = &n->a;
    const IrShape *ys = &n->shape;
    KCall c;
    TBUF;
    int x = n->nin ? in_of(e, v, 0) : -1;
    const IrShape *xs = x >= 0 ? &node(e, x)->shape : NULL;
    if (fz(e)->fr[v] == v) {
        emit_comment(e, v);
        kc_fr_begin(e, &c, "k_fr_fwd", v);
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    }
    if (fz(e)->fr[v] >= 0) return; /* in its FactorizedReduce's concat */
    switch (n->op) {
    case OP_INPUT:
    case OP_PARAM:
        return;
    case OP_CONV2D:
        check_sym(e, v);
        if (fz(e)->dwpw[v]) return; /* in its pointwise consumer's call */
        emit_comment(e, v);
        if (fz(e)->dwpw[x]) {
            emit_dwpw_fwd(e, x, v);
            return;
        }
        if (!e->eval && moments_bn(e, v) >= 0) {
            /* a pointwise conv with its BN's plane moments (see ir.h) */
            bool pre = fz(e)->prologue[x];
            kc_begin(&c, "k_conv2d_fwd_moments");
            kc_lit(&c, "N"); kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2]); kc_int(&c, xs->d[3]); kc_int(&c, ys->d[1]);
            kc_int(&c, pre);
            kc_rt(&c, "const real *", "%s", T(pre ? fz(e)->src[x] : x));
            kc_rt(&c, "const real *", "%s", T(in_of(e, v, 1)));
            kc_rt(&c, "real *", "%s", T(v));
            kc_scratch(e, &c, true);
            kc_end(e, &c);
            return;
        }
        emit_conv_fwd(e, v, T(v));
        return;
    case OP_BATCH_NORM: {
        emit_comment(e, v);
        int C = ys->d[1], HW = ys->d[2] * ys->d[3];
        bool aff = n->nin >= 6;
        if (fz(e)->mixed_bn[v]) {
            emit_bn_into_mixed(e, v);
            return;
        }
        if (fz(e)->add_bn[v] >= 0) {
            /* normalized by its add */
            emit_bn_scale_shift(e, v, e->plan->small[v] + 2 * C, e->plan->small[v] + 3 * C);
            return;
        }
        if (fz(e)->bn_stats[v]) {
            /* fused into its RELU's convs: statistics, then scale and shift */
            int r = fz(e)->src[v];
            emit_bn_scale_shift(e, v, e->plan->small[r], e->plan->small[r] + C);
            return;
        }
        if (e->eval) {
            kc_begin(&c, "k_bn_eval_fwd");
            kc_lit(&c, "N"); kc_int(&c, C); kc_int(&c, HW); kc_real(&c, a->eps);
            kc_rt(&c, "const real *", "%s", T(x));
            kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 4)) : "NULL");
            kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 5)) : "NULL");
            kc_rt(&c, "const real *", "%s", T(in_of(e, v, 1)));
            kc_rt(&c, "const real *", "%s", T(in_of(e, v, 2)));
            kc_rt(&c, "real *", "%s", T(v));
            kc_end(e, &c);
            return;
        }
        kc_bn_train_begin(e, &c, v);
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 4)) : "NULL");
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 5)) : "NULL");
        kc_rt(&c, "real *", "%s", T(v));
        kc_rt(&c, "real *", "r->small + %" PRId64, e->plan->small[v]);
        kc_rt(&c, "real *", "r->small + %" PRId64, e->plan->small[v] + C);
        kc_rt(&c, "real *", "%s", T(in_of(e, v, 1)));
        kc_rt(&c, "real *", "%s", T(in_of(e, v, 2)));
        kc_end(e, &c);
        emit_line(e, "r->cnt[%" PRId64 "] += 1;", e->poff[in_of(e, v, 3)]);
        return;
    }
    case OP_RELU:
    case OP_SCALE:
        if (fz(e)->prologue[v]) return; /* applied by its convs */
        emit_comment(e, v);
        kc_begin(&c, n->op == OP_RELU ? "k_relu_fwd" : "k_scale_fwd");
        kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v));
        if (n->op == OP_SCALE) kc_real(&c, a->scale);
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    case OP_MAX_POOL:
    case OP_AVG_POOL:
        check_sym(e, v);
        emit_comment(e, v);
        kc_begin(&c, n->op == OP_MAX_POOL ? "k_maxpool_fwd" : "k_avgpool_fwd");
        kc_pool_shape(e, &c, v);
        if (n->op == OP_AVG_POOL) kc_int(&c, a->cip);
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    case OP_PAD:
        emit_comment(e, v);
        kc_begin(&c, "k_pad_fwd");
        kc_lit(&c, "N");
        kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2]); kc_int(&c, xs->d[3]);
        kc_int(&c, a->pt); kc_int(&c, a->pb); kc_int(&c, a->pl); kc_int(&c, a->pr);
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    case OP_SLICE:
        emit_comment(e, v);
        kc_begin(&c, "k_slice_channels_fwd");
        kc_lit(&c, "N");
        kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2] * xs->d[3]); kc_int(&c, a->start); kc_int(&c, a->end - a->start);
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    case OP_CONCAT: {
        emit_comment(e, v);
        int c0 = 0, HW = ys->d[2] * ys->d[3];
        for (int i = 0; i < n->nin; i++) {
            int u = in_of(e, v, i);
            int Ci = node(e, u)->shape.d[1];
            if (fz(e)->cat_view[u] == v) {
                emit_line(e, "/* %%%d is in already */", u);
                c0 += Ci;
                continue;
            }
            kc_begin(&c, "k_concat_put");
            kc_lit(&c, "N"); kc_int(&c, ys->d[1]); kc_int(&c, HW); kc_int(&c, c0); kc_int(&c, Ci);
            kc_rt(&c, "const real *", "%s", T(u));
            kc_rt(&c, "real *", "%s", T(v));
            kc_end(e, &c);
            c0 += Ci;
        }
        return;
    }
    case OP_ADD:
        emit_comment(e, v);
        if (n->nin == 2 && (add_fused_in(e, v, 0) || add_fused_in(e, v, 1) || fz(e)->cat_view[v] >= 0)) {
            emit_add_bn(e, v);
            return;
        }
        kc_begin(&c, "k_add_fwd");
        kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v));
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "const real *", "%s", T(in_of(e, v, 1)));
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        for (int i = 2; i < n->nin; i++) {
            kc_begin(&c, "k_acc");
            kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v));
            kc_rt(&c, "const real *", "%s", T(in_of(e, v, i)));
            kc_rt(&c, "real *", "%s", T(v));
            kc_end(e, &c);
        }
        return;
    case OP_ZERO:
        if (e->plan->act[v] < 0) return;
        emit_comment(e, v);
        kc_begin(&c, "k_zero_fwd");
        kc_lit(&c, "N");
        kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2]); kc_int(&c, xs->d[3]); kc_int(&c, a->sh);
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    case OP_GLOBAL_AVG_POOL:
        emit_comment(e, v);
        kc_begin(&c, "k_gap_fwd");
        kc_lit(&c, "N"); kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2] * xs->d[3]);
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    case OP_LINEAR:
        emit_comment(e, v);
        kc_begin(&c, "k_linear_fwd");
        kc_lit(&c, "N"); kc_int(&c, numel(e, x)); kc_int(&c, ys->d[1]);
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "const real *", "%s", T(in_of(e, v, 1)));
        kc_rt(&c, "const real *", "%s", n->nin > 2 ? T(in_of(e, v, 2)) : "NULL");
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    case OP_DROP_PATH: {
        emit_comment(e, v);
        if (fz(e)->add_drop[v] >= 0) {
            emit_line(e, "/* in its add %%%d */", fz(e)->add_bn[fz(e)->add_drop[v]]);
            return;
        }
        /* in place: the input's buffer is masked, or left as it is */
        bool inplace = e->plan->alias[v] >= 0;
        if (inplace && e->eval) return;
        if (!e->eval) {
            emit_open(e, "if (r->drop_mask && r->keep_prob < 1)");
            kc_drop_path(e, &c, "k_drop_path_fwd", v);
            kc_rt(&c, "const real *", "%s", T(x));
            kc_rt(&c, "real *", "%s", T(v));
            kc_end(e, &c);
            if (inplace) {
                emit_close(e);
                return;
            }
            e->indent--;
            emit_line(e, "} else");
            e->indent++;
        }
        emit_flat(e, "k_copy", v, T(x), T(v));
        if (!e->eval) e->indent--;
        return;
    }
    case OP_MIXED: {
        emit_comment(e, v);
        int P = n->nin - 1, w = in_of(e, v, 0);
        emit_open(e, "");
        char list[2048] = "";
        for (int k = 0; k < P; k++) {
            int u = in_of(e, v, k + 1);
            kc_put(list, sizeof list, "%s%s", k ? ", " : "", fz(e)->mixed_bn[u] ? "NULL" : T(u));
        }
        emit_line(e, "const real *o[%d] = { %s };", P, list);
        /* the BN candidates are already in (emit_bn_into_mixed) */
        kc_begin(&c, fz(e)->mix_first[v] >= 0 ? "k_mixed_fwd_acc" : "k_mixed_fwd");
        kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v)); kc_int(&c, P); kc_int(&c, a->weighting);
        kc_rt(&c, "const real *", "%s + %d", T(w), a->row * P);
        kc_rt(&c, "const real *const *", "o");
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        emit_close(e);
        return;
    }
    case OP_ARCH_SOFTMAX:
        emit_comment(e, v);
        kc_begin(&c, "k_arch_softmax_fwd");
        kc_int(&c, ys->d[0]); kc_int(&c, ys->d[1]);
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "real *", "%s", T(v));
        kc_end(e, &c);
        return;
    case OP_SOFTMAX_CROSS_ENTROPY:
        die("softmax_cross_entropy inside the graph is not supported by the C backend");
    case OP__COUNT:
        break;
    }
    unreachable();
}

/* The losses of the outputs, after a forward. */
static void emit_losses(Emit *e, bool train)
{
    TBUF;
    int lo = ir_find_output(e->g, "logits"), al = ir_find_output(e->g, "aux_logits");
    int K = node(e, lo)->shape.d[1];
    emit_line(e, "r->logits = %s;", T(lo));
    emit_line(e, "r->aux_logits = %s;", train && al >= 0 ? T(al) : "NULL");
    emit_line(e, "r->loss = r->loss_main = r->loss_aux = 0;");
    emit_open(e, "if (r->labels)");
    emit_line(e, "r->loss_main = k_softmax_ce(N, %d, r->logits, r->labels, 1, NULL);", K);
    if (train && al >= 0)
        emit_line(e, "r->loss_aux = k_softmax_ce(N, %d, r->aux_logits, r->labels, 1, NULL);", K);
    emit_line(e, "r->loss = r->loss_main + r->aux_weight * r->loss_aux;");
    emit_close(e);
}

static void emit_forward(Emit *e, bool eval)
{
    e->eval = eval;
    emit_open(e, "static void net_%s(RtNetRun *r)", eval ? "eval_forward" : "forward");
    emit_line(e, "const int N = r->N;");
    emit_line(e, "real *A = r->arena;");
    emit_line(e, "(void)A;");
    for (int v = 0; v < e->g->n; v++) {
        if (!e->bw->live[v] || (eval && node(e, v)->aux)) continue;
        fwd_node(e, v);
    }
    emit_losses(e, !eval);
    emit_close(e);
    e->eval = false;
}

/* ---- backward ---- */

/* Starts the piece for slot i of step st: returns the destination text; when
 * the piece must be added, the destination is the scratch tensor. */
static const char *piece_dst(Emit *e, const IrGradStep *st, int i, char *buf, size_t size)
{
    int u = in_of(e, st->node, i);
    if (!(st->acc & (1u << i))) return grad(e, u, buf, size);
    if (node(e, u)->op == OP_PARAM || !node(e, u)->shape.batched)
        die("gradient piece of %%%d would need accumulation into a parameter", u);
    snprintf(buf, size, "AT(%" PRId64 ")", e->plan->scratch);
    return buf;
}

/* Adds the scratch piece into the gradient of slot i's input when needed. */
static void piece_end(Emit *e, const IrGradStep *st, int i)
{
    if (!(st->acc & (1u << i))) return;
    int u = in_of(e, st->node, i);
    TBUF;
    KCall c;
    kc_begin(&c, "k_acc");
    kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, u));
    kc_rt(&c, "const real *", "AT(%" PRId64 ")", e->plan->scratch);
    kc_rt(&c, "real *", "%s", G(u));
    kc_end(e, &c);
}

static bool needs(const IrGradStep *st, int i) { return (st->need >> i) & 1u; }

/* Opens `if (guard)` for the piece of slot i. */
static void open_guard(Emit *e, int v, int i)
{
    char gb[64];
    emit_open(e, "if (%s)", guard(e, in_of(e, v, i), gb, sizeof gb));
}

/* Backward of a single-input op whose kernel is k(..., [x,] gy, gx); adds:
 * the kernel itself adds to gx (a later piece goes straight in, with no
 * scratch piece and k_acc). */
static void bwd_piece(Emit *e, const IrGradStep *st, KCall *c, bool adds)
{
    TBUF;
    char db[64];
    kc_rt(c, "const real *", "%s", G(st->node));
    kc_rt(c, "real *", "%s",
          adds ? G(in_of(e, st->node, 0)) : piece_dst(e, st, 0, db, sizeof db));
    open_guard(e, st->node, 0);
    kc_end(e, c);
    if (!adds) piece_end(e, st, 0);
    emit_close(e);
}
static void bwd_simple(Emit *e, const IrGradStep *st, KCall *c) { bwd_piece(e, st, c, false); }

/* The backward step of node v (it has one). */
static const IrGradStep *step_of(Emit *e, int v)
{
    for (int s = 0; s < e->bw->nsteps; s++)
        if (e->bw->steps[s].node == v) return &e->bw->steps[s];
    die("no backward step for %%%d", v);
    return NULL;
}

/* The data gradient of pointwise conv p (step st) with the whole backward
 * step of its dwpw_bwd depthwise input d in one call: d's output gradient
 * serves as the kernel's scratch; the gradient of d's input and of its
 * weights are what d's step would write, each when its guard holds; p's
 * weight gradient, when st needs it, comes from the same pass (d's output
 * recomputed into its recompute buffer). */
static void emit_dwpw_bwd(Emit *e, const IrGradStep *st, int d)
{
    TBUF;
    KCall c;
    char gx[256], gw[256], gwp[256], zr[64], gb[64], db[64];
    int p = st->node, xin = in_of(e, d, 0);
    const IrGradStep *sd = step_of(e, d);
    /* a mask RELU input: its input's gradient, as the RELU's step adds or writes it */
    bool mask = fz(e)->mask_step[xin] == p;
    int gdst = mask ? fz(e)->src[xin] : xin;
    unsigned acc = mask ? step_of(e, xin)->acc & 1u : sd->acc & 1u;
    if (needs(sd, 0))
        snprintf(gx, sizeof gx, "(%s) ? %s : NULL", guard(e, xin, gb, sizeof gb), G(gdst));
    else
        snprintf(gx, sizeof gx, "NULL");
    if (needs(sd, 1))
        snprintf(gw, sizeof gw, "(%s) ? %s : NULL", guard(e, in_of(e, d, 1), gb, sizeof gb),
                 piece_dst(e, sd, 1, db, sizeof db));
    else
        snprintf(gw, sizeof gw, "NULL");
    snprintf(zr, sizeof zr, "NULL");
    snprintf(gwp, sizeof gwp, "NULL");
    if (needs(st, 1)) {
        snprintf(zr, sizeof zr, "AT(%" PRId64 ")", e->plan->recomp[d]);
        snprintf(gwp, sizeof gwp, "(%s) ? %s : NULL", guard(e, in_of(e, p, 1), gb, sizeof gb),
                 piece_dst(e, st, 1, db, sizeof db));
    }
    /* a bn_split BN before d's RELU: its sums over the RELU's gradient,
     * into the scratch tensor for the BN's step */
    bool sums = fz(e)->prologue[xin] && fz(e)->bn_split[in_of(e, xin, 0)];
    /* a remat pw1 before that BN: its output rebuilt first (pair 1's
     * forward, through its depthwise conv's recompute buffer; the BN's
     * statistics are those the forward saved) */
    int p1 = ir_fuse_rebuilt_in(e->g, fz(e), p);
    if (p1 >= 0) {
        int d1 = in_of(e, p1, 0);
        char z1[64];
        emit_line(e, "/* rebuild %%%d */", p1);
        snprintf(z1, sizeof z1, "AT(%" PRId64 ")", e->plan->recomp[d1]);
        kc_dwpw_begin(e, &c, "k_conv2d_dwpw_fwd", d1, p1, z1);
        kc_rt(&c, "const real *", "%s", T(in_of(e, p1, 1)));
        kc_rt(&c, "real *", "%s", T(p1));
        kc_scratch(e, &c, false);
        kc_end(e, &c);
    }
    /* a bn_split BN after p: its gradient applied from its RELU's; an
     * add_apply BN: from its add's */
    int bn = fz(e)->bn_apply[p];
    bool addbn = bn >= 0 && fz(e)->add_apply[bn];
    open_guard(e, p, 0);
    kc_dwpw_begin(e, &c, addbn ? "k_conv2d_dwpw_bwd_data_bnadd" : bn >= 0 ? "k_conv2d_dwpw_bwd_data_bn"
                                                                      : "k_conv2d_dwpw_bwd_data",
                  d, p, G(d));
    kc_rt(&c, "const real *", "%s", T(in_of(e, p, 1)));
    kc_rt(&c, "const real *", "%s", G(addbn ? fz(e)->add_bn[bn] : bn >= 0 ? fz(e)->src[bn] : p));
    kc_rt(&c, "real *", "%s", gx);
    kc_int(&c, (int)acc);
    kc_int(&c, mask);
    kc_scratch(e, &c, mask);
    kc_rt(&c, "real *", "%s", gw);
    kc_rt(&c, "real *", "%s", zr);
    kc_rt(&c, "real *", "%s", gwp);
    kc_scratch(e, &c, sums);
    if (addbn) {
        int64_t C = node(e, bn)->shape.d[1];
        kc_rt(&c, "const real *", "%s", T(p));
        kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[bn]);
        kc_rt(&c, "real", "(real)r->keep_prob");
        kc_drop_mask(e, &c, fz(e)->src[bn]);
        kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[bn] + 4 * C);
        kc_rt(&c, "real *", "%s", G(p));
    } else if (bn >= 0) {
        int r = fz(e)->src[bn];
        int64_t C = node(e, bn)->shape.d[1];
        kc_rt(&c, "const real *", "%s", T(p));
        kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[bn]);
        kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[r]);
        kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[r] + C);
        kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[bn] + 2 * C);
        kc_rt(&c, "real *", "%s", G(p));
    }
    kc_end(e, &c);
    emit_close(e);
}

/* The backward step st of pointwise conv p, whose pw_apply BN's backward
 * it applies to that BN's output gradient as it reads it
 * (k_conv2d_pw_bwd_bn): the data gradient as the step would write or add
 * it (through its input RELU's mask into that RELU input's gradient when
 * the step masks it) and the weight gradient, each when wanted and its
 * guard holds; the BN's input gradient buffer is the kernel's scratch. */
static void emit_pw_bwd_bn(Emit *e, const IrGradStep *st)
{
    TBUF;
    KCall c;
    char gx[256] = "NULL", gw[256] = "NULL", tm[64] = "NULL", g0[64], g1[64], db[64];
    int p = st->node, x = in_of(e, p, 0), bn = fz(e)->bn_apply[p];
    bool pre = fz(e)->prologue[x], mask = fz(e)->mask_step[x] == p, keep = mask && fz(e)->mask_keep[x];
    int src = pre ? fz(e)->src[x] : x;
    unsigned acc = mask ? step_of(e, x)->acc & 1u : st->acc & 1u;
    guard(e, x, g0, sizeof g0);
    guard(e, in_of(e, p, 1), g1, sizeof g1);
    if (needs(st, 0)) snprintf(gx, sizeof gx, "(%s) ? %s : NULL", g0, G(mask ? src : x));
    if (needs(st, 1)) snprintf(gw, sizeof gw, "(%s) ? %s : NULL", g1, piece_dst(e, st, 1, db, sizeof db));
    if (keep)
        snprintf(tm, sizeof tm, "%s", G(x));
    else if (mask)
        snprintf(tm, sizeof tm, "AT(%" PRId64 ")", e->plan->scratch);
    const IrShape *xs = &node(e, x)->shape;
    int64_t Co = node(e, p)->shape.d[1];
    emit_open(e, "if ((%s) || (%s))", needs(st, 0) ? g0 : "0", needs(st, 1) ? g1 : "0");
    kc_begin(&c, "k_conv2d_pw_bwd_bn");
    kc_lit(&c, "N");
    kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2]); kc_int(&c, xs->d[3]); kc_int(&c, Co);
    kc_int(&c, pre);
    kc_rt(&c, "const real *", "%s", T(src));
    kc_rt(&c, "const real *", "%s", T(in_of(e, p, 1)));
    kc_rt(&c, "const real *", "%s", G(bn));
    kc_rt(&c, "const real *", "%s", T(p));
    kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[bn]);
    kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[bn] + 2 * Co);
    kc_rt(&c, "real *", "%s", gx);
    kc_int(&c, (int)acc);
    kc_int(&c, mask);
    kc_rt(&c, "real *", "%s", tm);
    kc_int(&c, keep);
    kc_rt(&c, "real *", "%s", gw);
    kc_rt(&c, "real *", "%s", G(p));
    kc_end(e, &c);
    emit_close(e);
}

/* The backward of fused FactorizedReduce concat cat (IrFuse.fr) in its
 * step st: the two convs' weight gradients as their steps would write
 * them, and the gradient the pad and conv_1 send the RELU, as their steps
 * would write or add it, or, with the RELU fused (mask), the gradient of
 * its input as its step would; each when its guard holds. */
static void emit_fr_bwd(Emit *e, const IrGradStep *st)
{
    TBUF;
    KCall c;
    char gx[256] = "NULL", gw1[256] = "NULL", gw2[256] = "NULL", gb[64], db[64];
    int cat = st->node, y1 = in_of(e, cat, 0), y2 = in_of(e, cat, 1), r = in_of(e, y1, 0);
    int p = in_of(e, y2, 0);
    bool mask = fz(e)->fr[r] == cat;
    /* the gradient written: the RELU input's (its step's), or the RELU's (the pad's step's piece first) */
    const IrGradStep *sg = step_of(e, mask ? r : p);
    int gdst = mask ? in_of(e, r, 0) : r;
    const IrGradStep *s1 = step_of(e, y1), *s2 = step_of(e, y2);
    if (needs(sg, 0)) snprintf(gx, sizeof gx, "(%s) ? %s : NULL", guard(e, gdst, gb, sizeof gb), G(gdst));
    if (needs(s1, 1))
        snprintf(gw1, sizeof gw1, "(%s) ? %s : NULL", guard(e, in_of(e, y1, 1), gb, sizeof gb),
                 piece_dst(e, s1, 1, db, sizeof db));
    if (needs(s2, 1))
        snprintf(gw2, sizeof gw2, "(%s) ? %s : NULL", guard(e, in_of(e, y2, 1), gb, sizeof gb),
                 piece_dst(e, s2, 1, db, sizeof db));
    kc_fr_begin(e, &c, "k_fr_bwd", cat);
    kc_rt(&c, "const real *", "%s", G(cat));
    kc_rt(&c, "real *", "%s", gx);
    kc_int(&c, mask);
    kc_int(&c, (int)(sg->acc & 1u));
    kc_scratch(e, &c, mask);
    kc_rt(&c, "real *", "%s", gw1);
    kc_rt(&c, "real *", "%s", gw2);
    kc_end(e, &c);
}

static void bwd_step(Emit *e, const IrGradStep *st)
{
    int v = st->node;
    const IrNode *n = node(e, v);
    const IrAttrs *a = &n->a;
    const IrShape *ys = &n->shape;
    int x = in_of(e, v, 0);
    const IrShape *xs = &node(e, x)->shape;
    KCall c;
    TBUF;
    char db[64];
    emit_comment(e, v);
    if (fz(e)->fr[v] == v) {
        emit_fr_bwd(e, st);
        return;
    }
    if (fz(e)->fr[v] >= 0) {
        emit_line(e, "/* in the backward step of FactorizedReduce %%%d */", fz(e)->fr[v]);
        return;
    }
    switch (n->op) {
    case OP_CONV2D:
        if (fz(e)->dwpw_bwd[v]) {
            emit_line(e, "/* in the backward of its pointwise conv %%%d */", fz(e)->src[v]);
            return;
        }
        if (needs(st, 0) && fz(e)->dwpw_bwd[x]) {
            emit_dwpw_bwd(e, st, x); /* the weight gradient too */
            return;
        } else if (fz(e)->bn_apply[v] >= 0 && fz(e)->pw_apply[fz(e)->bn_apply[v]]) {
            emit_pw_bwd_bn(e, st); /* both gradients */
            return;
        } else if (needs(st, 0) && fz(e)->mask_step[x] == v) {
            /* through its input RELU's mask into that RELU input's
             * gradient, as the RELU's step would add or write it (mask_keep:
             * the mask of the RELU's gradient, this piece added in) */
            int src = fz(e)->src[x];
            bool keep = fz(e)->mask_keep[x];
            kc_begin(&c, keep ? "k_conv2d_bwd_data_acc_relu" : "k_conv2d_bwd_data_relu");
            kc_conv_shape(e, &c, v);
            kc_rt(&c, "const real *", "%s", G(v));
            kc_rt(&c, "const real *", "%s", T(in_of(e, v, 1)));
            kc_rt(&c, "const real *", "%s", T(src));
            if (keep)
                kc_rt(&c, "real *", "%s", G(x));
            else
                kc_rt(&c, "real *", "AT(%" PRId64 ")", e->plan->scratch);
            kc_rt(&c, "real *", "%s", G(src));
            kc_int(&c, (int)(step_of(e, x)->acc & 1u));
            open_guard(e, v, 0);
            kc_end(e, &c);
            emit_close(e);
        } else if (needs(st, 0)) {
            /* a later piece is added straight into the gradient */
            bool add = st->acc & 1u;
            kc_begin(&c, add ? "k_conv2d_bwd_data_acc" : "k_conv2d_bwd_data");
            kc_conv_shape(e, &c, v);
            kc_rt(&c, "const real *", "%s", G(v));
            kc_rt(&c, "const real *", "%s", T(in_of(e, v, 1)));
            kc_rt(&c, "real *", "%s", add ? G(x) : piece_dst(e, st, 0, db, sizeof db));
            open_guard(e, v, 0);
            kc_end(e, &c);
            emit_close(e);
        }
        if (needs(st, 1)) {
            bool pre = fz(e)->prologue[x];
            open_guard(e, v, 1);
            char xb[64];
            if (fz(e)->dwpw[x]) {
                /* the depthwise input recomputed inside the weight gradient */
                snprintf(xb, sizeof xb, "AT(%" PRId64 ")", e->plan->recomp[x]);
                kc_dwpw_begin(e, &c, "k_conv2d_dwpw_bwd_weight", x, v, xb);
                kc_rt(&c, "const real *", "%s", G(v));
                kc_rt(&c, "real *", "%s", piece_dst(e, st, 1, db, sizeof db));
                kc_end(e, &c);
                emit_close(e);
                return;
            }
            if (fz(e)->recompute[x]) {
                snprintf(xb, sizeof xb, "AT(%" PRId64 ")", e->plan->recomp[x]);
                emit_line(e, "/* recompute %%%d */", x);
                emit_conv_fwd(e, x, xb);
            } else {
                snprintf(xb, sizeof xb, "%s", T(pre ? fz(e)->src[x] : x));
            }
            kc_begin(&c, pre ? "k_conv2d_bwd_weight_pre" : "k_conv2d_bwd_weight");
            kc_conv_shape(e, &c, v);
            if (pre) kc_pre(e, &c, x);
            kc_rt(&c, "const real *", "%s", xb);
            kc_rt(&c, "const real *", "%s", G(v));
            kc_rt(&c, "real *", "%s", piece_dst(e, st, 1, db, sizeof db));
            kc_end(e, &c);
            emit_close(e);
        }
        return;
    case OP_BATCH_NORM: {
        int C = ys->d[1], HW = ys->d[2] * ys->d[3];
        bool aff = n->nin >= 6;
        char gg[96] = "NULL", gbt[96] = "NULL";
        if (aff && needs(st, 4)) snprintf(gg, sizeof gg, "r->gw ? %s : NULL", G(in_of(e, v, 4)));
        if (aff && needs(st, 5)) snprintf(gbt, sizeof gbt, "r->gw ? %s : NULL", G(in_of(e, v, 5)));
        bool data = needs(st, 0), mixed = fz(e)->mixed_bn[v];
        if (mixed) {
            /* the output gradient is c_k times the mixed node's (see ir.h) */
            if (e->bw->zeroed[v]) die("mixed batch norm %%%d without an output gradient", v);
            emit_mix_coef_open(e, fz(e)->src[v]);
        }
        if (fz(e)->bn_split[v]) {
            /* the sums came from its RELU's conv; the conv before applies
             * the coefficients (see ir.h) */
            kc_begin(&c, "k_bn_train_bwd_parts");
            kc_lit(&c, "N"); kc_int(&c, C); kc_int(&c, HW);
            kc_rt(&c, "const real *", "AT(%" PRId64 ")", e->plan->scratch);
            kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 4)) : "NULL");
            kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[v] + C);
            kc_rt(&c, "real *", "r->small + %" PRId64, e->plan->small[v] + 2 * C);
            kc_rt(&c, "real *", "%s", gg);
            kc_rt(&c, "real *", "%s", gbt);
            open_guard(e, v, 0);
            kc_end(e, &c);
            emit_close(e);
            return;
        }
        /* a bn_stats BN takes its prologue RELU's output gradient and mask
         * (that RELU's own step does nothing); an add_bn BN its add's
         * gradient, through its drop path's mask, and an add_apply one
         * writes only its coefficients, which the conv before applies,
         * and so does a pw_apply one (see ir.h) */
        bool relu = fz(e)->bn_stats[v], pwa = fz(e)->pw_apply[v], apply = fz(e)->add_apply[v] || pwa;
        int add = fz(e)->add_bn[v], drop = add >= 0 ? fz(e)->src[v] : -1;
        if (add >= 0 && e->bw->zeroed[add]) die("batch norm %%%d of an add without an output gradient", v);
        kc_begin(&c, mixed ? "k_bn_train_bwd_scaled"
                     : relu ? "k_bn_train_bwd_relu"
                     : apply ? "k_bn_train_bwd_add_coef"
                     : add >= 0 ? "k_bn_train_bwd_add"
                                : "k_bn_train_bwd");
        kc_lit(&c, "N"); kc_int(&c, C); kc_int(&c, HW);
        kc_rt(&c, "const real *", "%s", T(x));
        if (mixed) {
            kc_rt(&c, "const real *", "%s", G(fz(e)->src[v]));
            kc_rt(&c, "real", "cw[%d]", fz(e)->mix_slot[v]);
        } else if (relu) {
            int r = fz(e)->src[v];
            kc_rt(&c, "const real *", "%s", G(r));
            kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[r]);
            kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[r] + C);
        } else if (add >= 0) {
            kc_rt(&c, "const real *", "%s", G(add));
            kc_rt(&c, "real", "(real)r->keep_prob");
            kc_drop_mask(e, &c, drop);
        } else {
            kc_rt(&c, "const real *", "%s", G(v));
            if (pwa) {
                /* k_bn_train_bwd's coefficients: no drop path */
                kc_rt(&c, "real", "(real)1");
                kc_rt(&c, "const real *", "NULL");
            }
        }
        kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, v, 4)) : "NULL");
        kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[v]);
        kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[v] + C);
        if (apply)
            kc_rt(&c, "real *", "r->small + %" PRId64, e->plan->small[v] + (pwa ? 2 : 4) * C);
        else if (data)
            kc_rt(&c, "real *", "%s", piece_dst(e, st, 0, db, sizeof db));
        else
            kc_rt(&c, "real *", "AT(%" PRId64 ")", e->plan->scratch);
        kc_rt(&c, "real *", "%s", gg);
        kc_rt(&c, "real *", "%s", gbt);
        if (data)
            open_guard(e, v, 0);
        else
            emit_open(e, "if (r->gw)");
        kc_end(e, &c);
        if (data && !apply) piece_end(e, st, 0);
        emit_close(e);
        if (mixed) emit_close(e);
        return;
    }
    case OP_RELU:
        if (fz(e)->prologue[v] && fz(e)->bn_stats[x]) {
            emit_line(e, "/* in the backward of its batch norm %%%d */", x);
            return;
        }
        if (fz(e)->mask_step[v] >= 0) {
            emit_line(e, "/* in the backward of conv %%%d */", fz(e)->mask_step[v]);
            return;
        }
        /* a plain prologue RELU's mask comes from its input (x > 0 where
         * relu(x) > 0), which its convs read */
        kc_begin(&c, st->acc & 1u ? "k_relu_bwd_acc" : "k_relu_bwd");
        kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v));
        kc_rt(&c, "const real *", "%s", T(fz(e)->prologue[v] ? fz(e)->src[v] : v));
        bwd_piece(e, st, &c, st->acc & 1u);
        return;
    case OP_SCALE:
        kc_begin(&c, "k_scale_bwd");
        kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v));
        kc_real(&c, a->scale);
        bwd_simple(e, st, &c);
        return;
    case OP_MAX_POOL:
    case OP_AVG_POOL:
        kc_begin(&c, n->op == OP_MAX_POOL ? "k_maxpool_bwd" : "k_avgpool_bwd");
        kc_pool_shape(e, &c, v);
        if (n->op == OP_AVG_POOL)
            kc_int(&c, a->cip);
        else
            kc_rt(&c, "const real *", "%s", T(x));
        bwd_simple(e, st, &c);
        return;
    case OP_PAD:
        kc_begin(&c, "k_pad_bwd");
        kc_lit(&c, "N");
        kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2]); kc_int(&c, xs->d[3]);
        kc_int(&c, a->pt); kc_int(&c, a->pb); kc_int(&c, a->pl); kc_int(&c, a->pr);
        bwd_simple(e, st, &c);
        return;
    case OP_SLICE:
        kc_begin(&c, "k_slice_channels_bwd");
        kc_lit(&c, "N");
        kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2] * xs->d[3]); kc_int(&c, a->start); kc_int(&c, a->end - a->start);
        bwd_simple(e, st, &c);
        return;
    case OP_GLOBAL_AVG_POOL:
        kc_begin(&c, "k_gap_bwd");
        kc_lit(&c, "N"); kc_int(&c, xs->d[1]); kc_int(&c, xs->d[2] * xs->d[3]);
        bwd_simple(e, st, &c);
        return;
    case OP_DROP_PATH:
        if (fz(e)->add_drop[v] >= 0) {
            emit_line(e, "/* in the backward of its batch norm %%%d */", fz(e)->add_drop[v]);
            return;
        }
        if (e->plan->galias[x] == v) {
            /* the input's gradient is this buffer: masked in place, or left
             * as it is (its one piece, so never accumulated) */
            char gb[64];
            emit_open(e, "if ((%s) && r->drop_mask && r->keep_prob < 1)",
                      guard(e, x, gb, sizeof gb));
            kc_drop_path(e, &c, "k_drop_path_bwd", v);
            kc_rt(&c, "const real *", "%s", G(v));
            kc_rt(&c, "real *", "%s", G(x));
            kc_end(e, &c);
            emit_close(e);
            return;
        }
        emit_open(e, "if (r->drop_mask && r->keep_prob < 1)");
        kc_drop_path(e, &c, "k_drop_path_bwd", v);
        bwd_simple(e, st, &c);
        e->indent--;
        emit_open(e, "} else");
        /* identity: pass the gradient through */
        emit_flat(e, st->acc & 1u ? "k_acc" : "k_copy", v, G(v), G(x));
        emit_close(e);
        return;
    case OP_ADD:
    case OP_CONCAT: {
        int c0 = 0, HW = ys->d[2] * ys->d[3];
        for (int i = 0; i < n->nin; i++) {
            int u = in_of(e, v, i);
            int Ci = node(e, u)->shape.d[1];
            if (needs(st, i) && n->op == OP_ADD && add_fused_in(e, v, i)) {
                emit_line(e, "/* %%%d's batch norm reads this gradient */", u);
            } else if (needs(st, i) && e->plan->galias[u] == v) {
                emit_line(e, "/* the gradient of %%%d is this one's buffer */", u);
            } else if (needs(st, i)) {
                open_guard(e, v, i);
                if (n->op == OP_ADD) {
                    emit_flat(e, st->acc & (1u << i) ? "k_acc" : "k_copy", v, G(v), G(u));
                } else {
                    kc_begin(&c, "k_slice_channels_fwd");
                    kc_lit(&c, "N"); kc_int(&c, ys->d[1]); kc_int(&c, HW); kc_int(&c, c0); kc_int(&c, Ci);
                    kc_rt(&c, "const real *", "%s", G(v));
                    kc_rt(&c, "real *", "%s", piece_dst(e, st, i, db, sizeof db));
                    kc_end(e, &c);
                    piece_end(e, st, i);
                }
                emit_close(e);
            }
            c0 += Ci;
        }
        return;
    }
    case OP_LINEAR: {
        char gW[96] = "NULL", gb[96] = "NULL";
        if (needs(st, 1)) snprintf(gW, sizeof gW, "r->gw ? %s : NULL", G(in_of(e, v, 1)));
        if (n->nin > 2 && needs(st, 2)) snprintf(gb, sizeof gb, "r->gw ? %s : NULL", G(in_of(e, v, 2)));
        kc_begin(&c, "k_linear_bwd");
        kc_lit(&c, "N"); kc_int(&c, numel(e, x)); kc_int(&c, ys->d[1]);
        kc_rt(&c, "const real *", "%s", T(x));
        kc_rt(&c, "const real *", "%s", T(in_of(e, v, 1)));
        kc_rt(&c, "const real *", "%s", G(v));
        kc_rt(&c, "real *", "%s", needs(st, 0) ? piece_dst(e, st, 0, db, sizeof db) : "NULL");
        kc_rt(&c, "real *", "%s", gW);
        kc_rt(&c, "real *", "%s", gb);
        kc_end(e, &c);
        if (needs(st, 0)) piece_end(e, st, 0);
        return;
    }
    case OP_MIXED: {
        int P = n->nin - 1, w = in_of(e, v, 0);
        emit_open(e, "");
        char list[2048] = "";
        bool rebuilt = false;
        for (int k = 0; k < P; k++) {
            int u = in_of(e, v, k + 1);
            rebuilt |= fz(e)->mixed_bn[u];
            kc_put(list, sizeof list, "%s%s", k ? ", " : "", fz(e)->mixed_bn[u] ? "NULL" : T(u));
        }
        emit_line(e, "const real *o[%d] = { %s };", P, list);
        emit_line(e, "real cw[%d];", P);
        emit_line(e, "(void)o;");
        if (needs(st, 0) && rebuilt) {
            /* dot products of gy with the candidates, BN outputs rebuilt from their inputs */
            emit_open(e, "if (r->garch)");
            emit_line(e, "real_acc d[%d];", P);
            for (int k = 0; k < P; k++) {
                int u = in_of(e, v, k + 1);
                if (!fz(e)->mixed_bn[u]) {
                    emit_line(e, "d[%d] = o[%d] ? k_dot((ptrdiff_t)N * %" PRId64 ", %s, o[%d]) : 0;", k, k,
                              numel(e, v), G(v), k);
                    continue;
                }
                const IrNode *b = node(e, u);
                bool aff = b->nin >= 6;
                int C = b->shape.d[1];
                kc_begin(&c, "k_bn_out_dot");
                kc_lit(&c, "N"); kc_int(&c, C); kc_int(&c, b->shape.d[2] * b->shape.d[3]);
                kc_rt(&c, "const real *", "%s", T(in_of(e, u, 0)));
                kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, u, 4)) : "NULL");
                kc_rt(&c, "const real *", "%s", aff ? T(in_of(e, u, 5)) : "NULL");
                kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[u]);
                kc_rt(&c, "const real *", "r->small + %" PRId64, e->plan->small[u] + C);
                kc_rt(&c, "const real *", "%s", G(v));
                kc_rt(&c, "real_acc *", "d + %d", k);
                kc_end(e, &c);
            }
            emit_line(e, "k_mixed_wgrad(%d, %d, %s + %d, d, cw);", P, a->weighting, T(w), a->row * P);
            emit_line(e, "k_acc(%d, cw, %s + %d);", P, G(w), a->row * P);
            emit_close(e);
        } else if (needs(st, 0)) {
            emit_open(e, "if (r->garch)");
            kc_begin(&c, "k_mixed_bwd");
            kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v)); kc_int(&c, P); kc_int(&c, a->weighting);
            kc_rt(&c, "const real *", "%s + %d", T(w), a->row * P);
            kc_rt(&c, "const real *const *", "o");
            kc_rt(&c, "const real *", "%s", G(v));
            kc_rt(&c, "real *const *", "NULL");
            kc_rt(&c, "real *", "cw");
            kc_end(e, &c);
            emit_line(e, "k_acc(%d, cw, %s + %d);", P, G(w), a->row * P);
            emit_close(e);
        }
        emit_line(e, "k_mixed_coef(%d, %d, %s + %d, cw);", P, a->weighting, T(w), a->row * P);
        for (int k = 0; k < P; k++) {
            /* a mixed_bn candidate's backward scales this gradient itself */
            if (!needs(st, k + 1) || fz(e)->mixed_bn[in_of(e, v, k + 1)]) continue;
            open_guard(e, v, k + 1);
            kc_begin(&c, "k_scale_fwd");
            kc_lit(&c, "(ptrdiff_t)N * %" PRId64, numel(e, v));
            kc_rt(&c, "real", "cw[%d]", k);
            kc_rt(&c, "const real *", "%s", G(v));
            kc_rt(&c, "real *", "%s", piece_dst(e, st, k + 1, db, sizeof db));
            kc_end(e, &c);
            piece_end(e, st, k + 1);
            emit_close(e);
        }
        emit_close(e);
        return;
    }
    case OP_ARCH_SOFTMAX:
        kc_begin(&c, "k_arch_softmax_bwd");
        kc_int(&c, ys->d[0]); kc_int(&c, ys->d[1]);
        kc_rt(&c, "const real *", "%s", T(v));
        kc_rt(&c, "const real *", "%s", G(v));
        kc_rt(&c, "real *", "%s", G(x));
        emit_open(e, "if (r->garch)");
        kc_end(e, &c);
        emit_close(e);
        return;
    default:
        die("no backward for %s", ir_op_name(n->op));
    }
}

static void emit_backward(Emit *e)
{
    TBUF;
    emit_open(e, "static void net_backward(RtNetRun *r)");
    emit_line(e, "const int N = r->N;");
    emit_line(e, "real *A = r->arena;");
    emit_line(e, "(void)A;");
    for (int v = 0; v < e->g->n; v++)
        if (e->bw->zeroed[v] && e->bw->grad[v] && !fz(e)->mixed_bn[v])
            emit_line(e, "memset(%s, 0, sizeof(real) * %" PRId64 ");", G(v), numel(e, v));
    int lo = ir_find_output(e->g, "logits"), al = ir_find_output(e->g, "aux_logits");
    int K = node(e, lo)->shape.d[1];
    emit_line(e, "k_softmax_ce(N, %d, r->logits, r->labels, 1, %s);", K, G(lo));
    if (al >= 0 && e->bw->grad[al])
        emit_line(e, "k_softmax_ce(N, %d, r->aux_logits, r->labels, (real)r->aux_weight, %s);", K, G(al));
    for (int s = 0; s < e->bw->nsteps; s++) bwd_step(e, &e->bw->steps[s]);
    emit_close(e);
}

/* ---- the parameter table and the descriptor ---- */

static void emit_c_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 32 || (unsigned char)*s >= 127)
            fprintf(out, "\\%03o", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void emit_params(Emit *e, FILE *out, int64_t size[4])
{
    fprintf(out, "static const RtParamDesc net_params[] = {\n");
    for (int v = 0; v < e->g->n; v++) {
        const IrNode *n = node(e, v);
        if (n->op != OP_PARAM) continue;
        fprintf(out, "    { ");
        emit_c_string(out, ir_str_get(e->g, n->name));
        fprintf(out, ", %d, %d, %d, %d, %d, {", e->pkind[v], n->init, n->fan_in, n->aux, n->shape.rank);
        for (int i = 0; i < 4; i++) fprintf(out, "%s%d", i ? ", " : " ", i < n->shape.rank ? n->shape.d[i] : 0);
        fprintf(out, " }, %d, %" PRId64 " },\n", ir_shape_numel(n->shape), e->poff[v]);
    }
    fprintf(out, "};\n\n");
    (void)size;
}

_Static_assert(RT_PARAM_WEIGHT == (int)IR_PCLASS_WEIGHT && RT_PARAM_BUFFER == (int)IR_PCLASS_BUFFER &&
                   RT_PARAM_COUNTER == (int)IR_PCLASS_COUNTER && RT_PARAM_ARCH == (int)IR_PCLASS_ARCH,
               "RtParamKind follows IrParamClass");

/* Param kinds and offsets (ir_param_layout), drop-path sites, gradient kinds. */
static void layout(Emit *e, int64_t size[4], int *sites)
{
    const IrGraph *g = e->g;
    *sites = 0;
    ir_param_layout(g, e->poff, size);
    for (int v = 0; v < g->n; v++) {
        const IrNode *n = &g->nodes[v];
        e->site[v] = -1;
        e->kinds[v] = 0;
        if (n->op == OP_PARAM) {
            int k = (int)ir_param_class(n);
            e->pkind[v] = k;
            if (k == RT_PARAM_WEIGHT) e->kinds[v] = KIND_W;
            if (k == RT_PARAM_ARCH) e->kinds[v] = KIND_ARCH;
            continue;
        }
        if (n->op == OP_INPUT) {
            e->kinds[v] = KIND_IMG;
            continue;
        }
        if (n->op == OP_DROP_PATH) e->site[v] = (*sites)++;
        const uint32_t *in = ir_inputs(g, v);
        for (int i = 0; i < n->nin; i++)
            if (ir_slot_differentiable(g, v, i)) e->kinds[v] |= e->kinds[in[i]];
    }
}

void cg_emit_c(const CgProgram *p, FILE *kern, FILE *out)
{
    Emit e;
    memset(&e, 0, sizeof e);
    e.p = p;
    e.g = p->g;
    e.bw = p->bw;
    e.plan = p->plan;
    int n = e.g->n;
    e.poff = xcalloc((size_t)n, sizeof(int64_t));
    e.pkind = xcalloc((size_t)n, sizeof(int));
    e.site = xcalloc((size_t)n, sizeof(int));
    e.kinds = xcalloc((size_t)n, sizeof(unsigned));
    int64_t size[4] = { 0, 0, 0, 0 };
    int sites;
    layout(&e, size, &sites);

    char *bbuf = NULL;
    size_t blen = 0;
    e.out = open_memstream(&bbuf, &blen);
    e.wrappers = open_memstream(&e.wbuf, &e.wlen);
    e.protos = open_memstream(&e.pbuf, &e.plen);
    if (!e.out || !e.wrappers || !e.protos) die("open_memstream failed");
    emit_forward(&e, false);
    fputc('\n', e.out);
    emit_backward(&e);
    fputc('\n', e.out);
    emit_forward(&e, true);
    fclose(e.out);
    fclose(e.wrappers);
    fclose(e.protos);

    const IrGraph *g = e.g;
    fprintf(out, "/* Generated by sharpc from %s: network \"%s\". Do not edit.\n", p->source, g->name);
    fprintf(out, " * Training forward, backward and eval forward with every shape a literal;\n"
                 " * activations in one arena of N * %" PRId64 " floats (%" PRId64 " without reuse). */\n",
            e.plan->per_sample, e.plan->naive);
    fprintf(out, "#include <string.h>\n\n#include \"cpu_kernels.h\"\n"
                 "#include \"rt_net.h\"\n%s\n#define AT(off) (A + (ptrdiff_t)N * (off))\n\n",
            p->cuda ? "#include \"rt_plan.h\"\n" : "");
    fwrite(e.pbuf, 1, e.plen, out);
    fputc('\n', out);
    fwrite(bbuf, 1, blen, out);
    fprintf(kern, "/* Generated by sharpc from %s: the kernels of network \"%s\", one wrapper per\n"
                  " * distinct call, every shape and attribute a literal. Do not edit. */\n"
                  "#define K_FN static inline\n#include \"cpu_kernels_all.h\"\n\n", p->source, g->name);
    fwrite(e.wbuf, 1, e.wlen, kern);
    fputc('\n', out);
    emit_params(&e, out, size);
    int alphas = -1, weighting = 0;
    for (int v = 0; v < n; v++) {
        if (node(&e, v)->op == OP_PARAM && node(&e, v)->pkind == IR_PARAM_ARCH && alphas < 0) alphas = v;
        if (node(&e, v)->op == OP_MIXED) weighting = node(&e, v)->a.weighting;
    }
    const IrShape *in = NULL;
    for (int v = 0; v < n; v++)
        if (node(&e, v)->op == OP_INPUT) { in = &node(&e, v)->shape; break; }
    if (!in) die("network without an input");
    int lo = ir_find_output(g, "logits");
    int np = 0;
    for (int v = 0; v < n; v++) np += node(&e, v)->op == OP_PARAM;
    if (p->cuda) cg_cuda_plan_emit_c(p->cuda, "net_cuda", out);
    fprintf(out, "const RtNetDesc sharp_net = {\n    ");
    emit_c_string(out, g->name);
    fprintf(out, ",\n    ");
    emit_c_string(out, p->source);
    fprintf(out, ",\n    %d, %d, %d, %d, /* input, classes */\n", in->d[1], in->d[2], in->d[3],
            node(&e, lo)->shape.d[1]);
    fprintf(out, "    %d, %d, %d, /* aux head, search, weighting */\n", ir_find_output(g, "aux_logits") >= 0,
            alphas >= 0, weighting);
    fprintf(out, "    %d, net_params,\n", np);
    fprintf(out, "    %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", /* weights, arch, buffers, counters */\n",
            size[RT_PARAM_WEIGHT], size[RT_PARAM_ARCH], size[RT_PARAM_BUFFER], size[RT_PARAM_COUNTER]);
    fprintf(out, "    %" PRId64 ", %" PRId64 ", %" PRId64 ", /* arena per sample, naive, small */\n",
            e.plan->per_sample, e.plan->naive, e.plan->small_size);
    fprintf(out, "    %d, %d, %d, /* drop-path sites, alphas shape */\n", sites,
            alphas >= 0 ? node(&e, alphas)->shape.d[0] : 0, alphas >= 0 ? node(&e, alphas)->shape.d[1] : 0);
    fprintf(out, "    net_forward, net_backward, net_eval_forward,\n    %s, ", p->cuda ? "&net_cuda" : "NULL");
    emit_c_string(out, p->cuda_why ? p->cuda_why : p->cuda ? "" : "built without the GPU layer");
    fprintf(out, ",\n};\n");
    if (p->with_main)
        fprintf(out, "\nint main(int argc, char **argv)\n{\n    return rt_main(&sharp_net, argc, argv);\n}\n");

    free(bbuf);
    free(e.wbuf);
    free(e.pbuf);
    for (int i = 0; i < e.nkeys; i++) free(e.keys[i]);
    free(e.keys);
    free(e.poff);
    free(e.pkind);
    free(e.site);
    free(e.kinds);
}
