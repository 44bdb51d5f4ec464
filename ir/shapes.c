/* shapes.c: the shape rule of every op, one function per ops.def row
 * (ir_shape_<ID>); the dispatch table is generated from ops.def, so an op
 * without a rule does not build. A rule fills n->shape or explains in g->err,
 * stating the shapes involved. */
#include <string.h>

#include "ir.h"
#include "util.h"

char *ir_shape_str(IrShape s, char *buf, int size)
{
    int k = snprintf(buf, (size_t)size, "[");
    for (int i = 0; i < s.rank && k < size; i++) {
        if (i == 0 && s.batched)
            k += snprintf(buf + k, (size_t)(size - k), "N");
        else
            k += snprintf(buf + k, (size_t)(size - k), "%s%d", i ? "," : "", s.d[i]);
    }
    if (k < size) snprintf(buf + k, (size_t)(size - k), "]");
    return buf;
}

/* Short shape text for messages: "16x32x32" for [N,16,32,32]. */
static const char *chw(IrShape s, char *buf, int size)
{
    if (s.rank == 4 && s.batched)
        snprintf(buf, (size_t)size, "%dx%dx%d", s.d[1], s.d[2], s.d[3]);
    else
        ir_shape_str(s, buf, size);
    return buf;
}

int ir_conv_out(int size, int k, int stride, int pad_lo, int pad_hi, int dil)
{
    int span = size + pad_lo + pad_hi - dil * (k - 1) - 1;
    if (span < 0 || stride <= 0) return 0;
    return span / stride + 1;
}

#define IN(i) (g->nodes[g->ins[n->in0 + (i)]])
#define FAIL(...) do { snprintf(g->err, sizeof g->err, __VA_ARGS__); return false; } while (0)

static bool need_image(IrGraph *g, IrNode *n, int i)
{
    IrShape s = IN(i).shape;
    char b[64];
    if (s.rank != 4 || !s.batched)
        FAIL("%s needs an image tensor [N,C,H,W], got %s", ir_op_name(n->op), ir_shape_str(s, b, sizeof b));
    return true;
}

static bool ir_shape_INPUT(IrGraph *g, IrNode *n) { (void)g; (void)n; return true; }
static bool ir_shape_PARAM(IrGraph *g, IrNode *n) { (void)g; (void)n; return true; }

static bool ir_shape_CONV2D(IrGraph *g, IrNode *n)
{
    if (!need_image(g, n, 0)) return false;
    IrShape x = IN(0).shape, w = IN(1).shape;
    IrAttrs *a = &n->a;
    char b1[64], b2[64];
    int cin = x.d[1];
    if (a->groups <= 0 || cin % a->groups)
        FAIL("conv2d: groups %d do not divide the %d input channels", a->groups, cin);
    if (w.rank != 4 || w.d[1] != cin / a->groups || w.d[2] != a->kh || w.d[3] != a->kw || w.d[0] % a->groups)
        FAIL("conv2d: weight %s does not fit input %s with %dx%d kernel and %d groups",
             ir_shape_str(w, b1, sizeof b1), chw(x, b2, sizeof b2), a->kh, a->kw, a->groups);
    int ho = ir_conv_out(x.d[2], a->kh, a->sh, a->pt, a->pb, a->dh);
    int wo = ir_conv_out(x.d[3], a->kw, a->sw, a->pl, a->pr, a->dw);
    if (ho <= 0 || wo <= 0)
        FAIL("conv2d: a %dx%d kernel (dilation %d, padding %d) does not fit input %s",
             a->kh, a->kw, a->dh, a->pt, chw(x, b1, sizeof b1));
    n->shape = ir_shape4(w.d[0], ho, wo);
    return true;
}

static bool ir_shape_BATCH_NORM(IrGraph *g, IrNode *n)
{
    if (!need_image(g, n, 0)) return false;
    IrShape x = IN(0).shape;
    for (int i = 1; i < n->nin; i++) {
        IrShape p = IN(i).shape;
        bool ok = i == 3 ? p.rank == 0 : (p.rank == 1 && p.d[0] == x.d[1]);
        if (!ok) {
            char b[64], c[64];
            FAIL("batch_norm: parameter %s does not fit input %s", ir_shape_str(p, b, sizeof b), chw(x, c, sizeof c));
        }
    }
    if (n->a.affine != (n->nin == 6)) FAIL("batch_norm: affine flag and inputs disagree");
    n->shape = x;
    return true;
}

static bool same_as_input(IrGraph *g, IrNode *n)
{
    n->shape = IN(0).shape;
    return true;
}

static bool ir_shape_RELU(IrGraph *g, IrNode *n) { return same_as_input(g, n); }
static bool ir_shape_SCALE(IrGraph *g, IrNode *n) { return same_as_input(g, n); }
static bool ir_shape_DROP_PATH(IrGraph *g, IrNode *n) { return same_as_input(g, n); }
static bool ir_shape_ARCH_SOFTMAX(IrGraph *g, IrNode *n)
{
    if (IN(0).shape.rank != 2) FAIL("arch_softmax needs [edges, ops]");
    return same_as_input(g, n);
}

static bool pool_shape(IrGraph *g, IrNode *n)
{
    if (!need_image(g, n, 0)) return false;
    IrShape x = IN(0).shape;
    IrAttrs *a = &n->a;
    char b[64];
    if (a->pt > a->kh / 2 || a->pl > a->kw / 2)
        FAIL("%s: padding %d is more than half the %dx%d window", ir_op_name(n->op), a->pt, a->kh, a->kw);
    int ho = ir_conv_out(x.d[2], a->kh, a->sh, a->pt, a->pb, 1);
    int wo = ir_conv_out(x.d[3], a->kw, a->sw, a->pl, a->pr, 1);
    if (ho <= 0 || wo <= 0)
        FAIL("%s: a %dx%d window does not fit input %s", ir_op_name(n->op), a->kh, a->kw, chw(x, b, sizeof b));
    n->shape = ir_shape4(x.d[1], ho, wo);
    return true;
}

static bool ir_shape_MAX_POOL(IrGraph *g, IrNode *n) { return pool_shape(g, n); }
static bool ir_shape_AVG_POOL(IrGraph *g, IrNode *n) { return pool_shape(g, n); }

static bool ir_shape_PAD(IrGraph *g, IrNode *n)
{
    if (!need_image(g, n, 0)) return false;
    IrShape x = IN(0).shape;
    int h = x.d[2] + n->a.pt + n->a.pb, w = x.d[3] + n->a.pl + n->a.pr;
    char b[64];
    if (h <= 0 || w <= 0) FAIL("pad: cropping leaves nothing of input %s", chw(x, b, sizeof b));
    n->shape = ir_shape4(x.d[1], h, w);
    return true;
}

static bool ir_shape_SLICE(IrGraph *g, IrNode *n)
{
    if (!need_image(g, n, 0)) return false;
    IrShape x = IN(0).shape;
    if (n->a.start < 0 || n->a.end > x.d[1] || n->a.start >= n->a.end)
        FAIL("slice: channels [%d, %d) are not within the input's %d", n->a.start, n->a.end, x.d[1]);
    n->shape = ir_shape4(n->a.end - n->a.start, x.d[2], x.d[3]);
    return true;
}

static bool ir_shape_CONCAT(IrGraph *g, IrNode *n)
{
    IrShape s = IN(0).shape;
    if (!need_image(g, n, 0)) return false;
    int c = 0;
    for (int i = 0; i < n->nin; i++) {
        if (!need_image(g, n, i)) return false;
        IrShape t = IN(i).shape;
        if (t.d[2] != s.d[2] || t.d[3] != s.d[3]) {
            char b1[64], b2[64];
            FAIL("concat: input %d is %s but input 0 is %s; spatial sizes must match",
                 i, chw(t, b1, sizeof b1), chw(s, b2, sizeof b2));
        }
        c += t.d[1];
    }
    n->shape = ir_shape4(c, s.d[2], s.d[3]);
    return true;
}

static bool ir_shape_ADD(IrGraph *g, IrNode *n)
{
    IrShape s = IN(0).shape;
    for (int i = 1; i < n->nin; i++) {
        IrShape t = IN(i).shape;
        if (!ir_shape_eq(t, s)) {
            char b1[64], b2[64];
            FAIL("add: input %d is %s but input 0 is %s", i, chw(t, b1, sizeof b1), chw(s, b2, sizeof b2));
        }
    }
    n->shape = s;
    return true;
}

static bool ir_shape_ZERO(IrGraph *g, IrNode *n)
{
    if (!need_image(g, n, 0)) return false;
    IrShape x = IN(0).shape;
    int s = n->a.sh;
    if (s <= 0) FAIL("zero: stride must be positive");
    n->shape = ir_shape4(x.d[1], (x.d[2] + s - 1) / s, (x.d[3] + s - 1) / s);
    return true;
}

static bool ir_shape_GLOBAL_AVG_POOL(IrGraph *g, IrNode *n)
{
    if (!need_image(g, n, 0)) return false;
    n->shape = ir_shape4(IN(0).shape.d[1], 1, 1);
    return true;
}

static bool ir_shape_LINEAR(IrGraph *g, IrNode *n)
{
    IrShape x = IN(0).shape, w = IN(1).shape;
    char b1[64], b2[64];
    int in;
    if (x.rank == 4 && x.batched && x.d[2] == 1 && x.d[3] == 1) in = x.d[1];
    else if (x.rank == 2 && x.batched) in = x.d[1];
    else FAIL("linear needs [N,C,1,1] or [N,C], got %s (pool first)", ir_shape_str(x, b1, sizeof b1));
    if (w.rank != 2 || w.d[1] != in)
        FAIL("linear: weight %s does not fit %d inputs", ir_shape_str(w, b2, sizeof b2), in);
    if (n->nin == 3 && (IN(2).shape.rank != 1 || IN(2).shape.d[0] != w.d[0]))
        FAIL("linear: bias does not fit %d outputs", w.d[0]);
    IrShape o = { 2, true, { -1, w.d[0], 0, 0 } };
    n->shape = o;
    return true;
}

static bool ir_shape_SOFTMAX_CROSS_ENTROPY(IrGraph *g, IrNode *n)
{
    IrShape x = IN(0).shape, y = IN(1).shape;
    if (x.rank != 2 || !x.batched || y.rank != 1 || !y.batched || IN(1).dtype != IR_I64)
        FAIL("softmax_cross_entropy needs logits [N,K] and int64 labels [N]");
    IrShape o = { 0, false, { 0, 0, 0, 0 } };
    n->shape = o;
    return true;
}

static bool ir_shape_MIXED(IrGraph *g, IrNode *n)
{
    IrShape w = IN(0).shape;
    int nops = n->nin - 1;
    if (w.rank != 2 || w.d[1] != nops || n->a.row < 0 || n->a.row >= w.d[0])
        FAIL("mixed: %d candidates do not fit architecture weights row %d", nops, n->a.row);
    IrShape s = IN(1).shape;
    for (int i = 2; i < n->nin; i++) {
        IrShape t = IN(i).shape;
        if (!ir_shape_eq(t, s)) {
            char b1[64], b2[64];
            FAIL("mixed: candidate %d gives %s but candidate 0 gives %s", i - 1,
                 chw(t, b1, sizeof b1), chw(s, b2, sizeof b2));
        }
    }
    n->shape = s;
    return true;
}

typedef bool (*ShapeRule)(IrGraph *, IrNode *);
static const ShapeRule shape_rules[OP__COUNT] = {
#define OP(id, name, mi, ma, at, gr) [OP_##id] = ir_shape_##id,
#include "ops.def"
#undef OP
};

bool ir_infer_shape(IrGraph *g, IrNode *n)
{
    return shape_rules[n->op](g, n);
}
