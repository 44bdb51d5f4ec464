/* plan.c: memory planning. Every batched tensor of the training step (the
 * forward outputs, kept until the last backward step that reads them, and
 * the output gradients, from their first piece to their own step) gets an
 * offset in one arena, reusing the space of tensors whose lifetimes are
 * over. Offsets are per sample, so the plan holds for any batch size N. */
#include <string.h>

#include "ir.h"
#include "util.h"

/* Per-sample sizes are rounded up to this many floats, so that every tensor
 * starts on a 64-byte boundary for any N. */
#define PLAN_ALIGN 16

typedef struct {
    int64_t size;      /* floats per sample */
    int start, end;    /* inclusive time range */
    int start2, end2;  /* a second one (a remat conv's backward), or -1 */
    int64_t *dst;      /* where the offset goes */
} Buf;

static bool in_range(int s, int e, int s2, int e2) { return s >= 0 && s2 >= 0 && s <= e2 && s2 <= e; }

/* True when a and b are live at the same time. */
static bool overlap(const Buf *a, const Buf *b)
{
    return in_range(a->start, a->end, b->start, b->end) || in_range(a->start, a->end, b->start2, b->end2) ||
           in_range(a->start2, a->end2, b->start, b->end) || in_range(a->start2, a->end2, b->start2, b->end2);
}

static int64_t round_up(int64_t x) { return (x + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN; }

static int cmp_buf(const void *a, const void *b)
{
    const Buf *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return x->start - y->start;
}

/* First-fit placement, largest tensors first; returns the arena size. */
static int64_t place(Buf *b, int nb)
{
    qsort(b, (size_t)nb, sizeof *b, cmp_buf);
    int64_t top = 0;
    int64_t (*iv)[2] = xmalloc((size_t)(nb ? nb : 1) * sizeof *iv);
    for (int i = 0; i < nb; i++) {
        int k = 0;
        for (int j = 0; j < i; j++)
            if (overlap(&b[i], &b[j])) {
                iv[k][0] = *b[j].dst;
                iv[k][1] = *b[j].dst + b[j].size;
                k++;
            }
        /* lowest offset clear of every overlapping interval */
        int64_t off = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < k; j++)
                if (off < iv[j][1] && iv[j][0] < off + b[i].size) {
                    off = iv[j][1];
                    moved = true;
                }
        }
        *b[i].dst = off;
        if (off + b[i].size > top) top = off + b[i].size;
    }
    free(iv);
    return top;
}

/* A node inside a fused FactorizedReduce (not its concat). */
static bool fr_member(const IrFuse *f, int v) { return f->fr[v] >= 0 && f->fr[v] != v; }

/* True for the outputs that are never stored on their own: those that
 * their consumer rebuilds from the BN's input (a fused BN + ReLU chain's:
 * the convs read the BN input; a BN accumulated into its mixed node; a BN,
 * and the drop path after it, normalized in its add), a cat_view add's
 * (in its concat's buffer), and those inside a fused FactorizedReduce. */
static bool fused_away(const IrFuse *f, int v)
{
    return f->prologue[v] || f->bn_stats[v] || f->mixed_bn[v] || f->bn_relu[v] || f->add_bn[v] >= 0 ||
           f->add_drop[v] >= 0 || f->cat_view[v] >= 0 || fr_member(f, v);
}

/* The stored tensor a forward read of v reads: the input of a prologue
 * RELU (its convs apply it), of an add_bn BN or of its drop path; a
 * cat_view add's concat; for any tensor inside a fused FactorizedReduce,
 * the tensor its kernels read (ir_fuse_fr_input). */
static int read_of(const IrGraph *g, const IrFuse *f, int v)
{
    if (f->prologue[v]) return f->src[v];
    if (fr_member(f, v)) return ir_fuse_fr_input(g, f, f->fr[v]);
    if (f->cat_view[v] >= 0) return f->cat_view[v];
    if (f->add_drop[v] >= 0) v = f->add_drop[v];
    if (f->add_bn[v] >= 0) return (int)ir_inputs(g, v)[0];
    return v;
}

/* A zero op feeding only mixed ops needs no tensor: the mixed sum skips it;
 * nor do the fused outputs (fused_away). */
static bool has_storage(const IrGraph *g, const IrBackward *bw, const IrFuse *f, int v)
{
    const IrNode *n = &g->nodes[v];
    if (n->op == OP_PARAM || n->op == OP_INPUT) return false;
    if (fused_away(f, v)) return false;
    if (n->op != OP_ZERO) return true;
    for (int c = v + 1; c < g->n; c++) {
        if (!bw->live[c] || g->nodes[c].op == OP_MIXED) continue;
        const uint32_t *in = ir_inputs(g, c);
        for (int i = 0; i < g->nodes[c].nin; i++)
            if ((int)in[i] == v) return true;
    }
    return false;
}

/* Last time the gradient of v is read: its own step, or for a mixed node
 * the step of its first accumulated candidate, or for an add the step of
 * its earliest add_bn BN (or an add_apply BN's conv), for a pw_apply BN its conv's step, or for a
 * RELU fused into its BN's backward (bn_stats on the CPU, bn_relu on CUDA) the BN's step. */
static int grad_end(const IrGraph *g, const IrFuse *f, int v)
{
    int n = g->n;
    const IrNode *nd = &g->nodes[v];
    if (nd->op == OP_MIXED && f->mix_first[v] >= 0) return 2 * n - f->mix_first[v];
    if (nd->op == OP_ADD) {
        int t = 2 * n - v;
        for (int i = 0; i < nd->nin; i++) {
            int u = (int)ir_inputs(g, v)[i], b = f->add_drop[u] >= 0 ? f->add_drop[u] : u;
            if (f->add_bn[b] == v && 2 * n - b > t) t = 2 * n - b;
            /* an add_apply BN's conv applies the BN's backward to this gradient */
            if (f->add_bn[b] == v && f->add_apply[b]) {
                int p = (int)ir_inputs(g, b)[0];
                if (2 * n - p > t) t = 2 * n - p;
            }
        }
        return t;
    }
    /* a pw_apply BN's conv applies the BN's backward to its output gradient */
    if (f->pw_apply[v]) return 2 * n - (int)ir_inputs(g, v)[0];
    int bn = nd->op == OP_RELU ? (int)ir_inputs(g, v)[0] : -1;
    /* a bn_split BN's input conv applies the BN's gradient from the RELU's */
    if (bn >= 0 && f->bn_split[bn]) return 2 * n - (int)ir_inputs(g, bn)[0];
    if (bn >= 0 && (f->bn_stats[bn] || f->bn_relu[bn])) return 2 * n - bn;
    return 2 * n - v;
}

/* True when v's gradient is stored (the fused BNs take theirs straight
 * from their consumers, a mask RELU's conv masks its own); grad_buffer: in
 * the arena (batched). */
static bool grad_stored(const IrBackward *bw, const IrFuse *f, const int *gstart, int v)
{
    return bw->grad[v] && gstart[v] >= 0 && !f->mixed_bn[v] && !f->bn_stats[v] && !f->bn_relu[v] &&
           (f->mask_step[v] < 0 || f->mask_keep[v]) && f->add_bn[v] < 0 && f->add_drop[v] < 0 && !fr_member(f, v);
}
static bool grad_buffer(const IrGraph *g, const IrBackward *bw, const IrFuse *f, const int *gstart,
                        int v)
{
    return grad_stored(bw, f, gstart, v) && g->nodes[v].shape.batched;
}

/* The in-place drop paths and add gradients (IrPlan.alias and .galias;
 * CPU only: the CUDA plan keeps its copies). end[u] grows to cover the
 * readers of a drop path writing u's buffer. */
static void plan_inplace(const IrGraph *g, const IrBackward *bw, const IrFuse *f, int *end,
                         const int *gstart, int *alias, int *galias)
{
    int n = g->n;
    int *pieces = xcalloc((size_t)n, sizeof(int));
    for (int s = 0; s < bw->nsteps; s++) {
        const IrGradStep *st = &bw->steps[s];
        const uint32_t *in = ir_inputs(g, st->node);
        for (int i = 0; i < g->nodes[st->node].nin && i < 32; i++)
            if (st->need & (1u << i)) pieces[in[i]]++;
    }
    for (int i = 0; i < g->nouts; i++) pieces[g->outs[i].node]++;
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (!bw->live[v] || (nd->op != OP_DROP_PATH && nd->op != OP_ADD)) continue;
        const uint32_t *in = ir_inputs(g, v);
        int u = (int)in[0];
        if (nd->op == OP_DROP_PATH && g->nodes[u].op != OP_DROP_PATH && end[u] == v &&
            g->nodes[u].shape.batched && has_storage(g, bw, f, u) && !f->recompute[u]) {
            alias[v] = u;
            if (end[v] > end[u]) end[u] = end[v];
        }
        /* an add's gradient serves one input only: a drop path there may
         * mask it in place after the others took their copies; not an add
         * whose add_bn BNs read it in their steps, which may come after
         * such a drop path's */
        bool bn_reads = false;
        for (int i = 0; i < nd->nin && nd->op == OP_ADD; i++)
            bn_reads |= f->add_bn[in[i]] >= 0 || f->add_drop[in[i]] >= 0;
        for (int i = 0; i < nd->nin && !bn_reads; i++) {
            u = (int)in[i];
            if (pieces[u] == 1 && gstart[u] == 2 * n - v && grad_buffer(g, bw, f, gstart, u) &&
                grad_buffer(g, bw, f, gstart, v) &&
                ir_shape_numel(g->nodes[u].shape) == ir_shape_numel(nd->shape)) {
                galias[u] = v;
                break;
            }
        }
    }
    free(pieces);
}

void ir_plan(const IrGraph *g, const IrBackward *bw, IrFuseTarget target, bool remat, IrPlan *p)
{
    int n = g->n;
    memset(p, 0, sizeof *p);
    p->act = xmalloc((size_t)n * sizeof(int64_t));
    p->grad = xmalloc((size_t)n * sizeof(int64_t));
    p->small = xmalloc((size_t)n * sizeof(int64_t));
    p->gsmall = xmalloc((size_t)n * sizeof(int64_t));
    int *end = xmalloc((size_t)n * sizeof(int));
    int *gstart = xmalloc((size_t)n * sizeof(int));
    for (int v = 0; v < n; v++) {
        p->act[v] = p->grad[v] = p->small[v] = p->gsmall[v] = -1;
        end[v] = v;
        gstart[v] = -1;
    }
    ir_fuse(g, bw, target, remat, &p->fuse);
    const IrFuse *f = &p->fuse;
    p->recomp = xmalloc((size_t)n * sizeof(int64_t));
    int *rstart = xmalloc((size_t)n * sizeof(int)), *rend = xmalloc((size_t)n * sizeof(int));
    /* a remat conv's backward life (its forward one is [v, end[v]]) */
    int *bstart = xmalloc((size_t)n * sizeof(int)), *bend = xmalloc((size_t)n * sizeof(int));
    for (int v = 0; v < n; v++) {
        p->recomp[v] = -1;
        rstart[v] = rend[v] = bstart[v] = bend[v] = -1;
    }
    /* Times: forward of v at v, backward step of v at 2n - v, seeds at n.
     * A read of a fused output is a read of the tensor it is rebuilt
     * from (read_of). */
#define READ(u, t)                                                     \
    do {                                                               \
        int r_ = read_of(g, f, u);                                     \
        if (f->remat[r_] && (t) > n) {                                 \
            if (bstart[r_] < 0 || bstart[r_] > (t)) bstart[r_] = (t);  \
            if (bend[r_] < (t)) bend[r_] = (t);                        \
        } else if (end[r_] < (t)) {                                    \
            end[r_] = (t);                                             \
        }                                                              \
    } while (0)
    for (int v = 0; v < n; v++) {
        if (!bw->live[v]) continue;
        const uint32_t *in = ir_inputs(g, v);
        for (int i = 0; i < g->nodes[v].nin; i++) READ((int)in[i], v);
    }
    for (int i = 0; i < g->nouts; i++) {
        end[g->outs[i].node] = 2 * n + 1;
        gstart[g->outs[i].node] = n;
    }
    int64_t scratch = 0;
    for (int s = 0; s < bw->nsteps; s++) {
        const IrGradStep *st = &bw->steps[s];
        int v = st->node, t = 2 * n - v;
        const uint32_t *in = ir_inputs(g, v);
        uint32_t reads = ir_bwd_reads(g, v, st->need);
        if (reads >> 31) READ(v, t);
        /* the step of a bn_split chain's pw2 recomputes a remat pw1's
         * output: pair 1's forward, from its input, through the recompute
         * buffer of its depthwise conv */
        int p1 = ir_fuse_rebuilt_in(g, f, v);
        if (p1 >= 0) {
            int d1 = (int)ir_inputs(g, p1)[0];
            READ((int)ir_inputs(g, d1)[0], t);
            READ(p1, t);
            if (rstart[d1] < 0 || rstart[d1] > t) rstart[d1] = t;
            if (rend[d1] < t) rend[d1] = t;
        }
        /* a bn_apply conv's step reads its own output: the BN's input */
        if (f->bn_apply[v] >= 0) READ(v, t);
        /* a bn_relu BN's backward masks its RELU's gradient by the RELU's output */
        if (f->bn_relu[v]) READ(f->src[v], t);
        for (int i = 0; i < g->nodes[v].nin && i < 31; i++) {
            int u = (int)in[i];
            if (!(reads & (1u << i))) {
            } else if (f->recompute[u]) {
                /* rebuilt from its input into a buffer live for this step */
                READ((int)ir_inputs(g, u)[0], t);
                if (rstart[u] < 0 || rstart[u] > t) rstart[u] = t;
                if (rend[u] < t) rend[u] = t;
            } else if (f->mixed_bn[u] && g->nodes[v].op == OP_MIXED) {
                READ((int)ir_inputs(g, u)[0], t);
            } else {
                READ(u, t);
            }
            if (st->need & (1u << i)) {
                /* a dwpw_bwd conv's step runs in its consumer's; a mask
                 * RELU's in its conv's; a fused FactorizedReduce's in its
                 * concat's */
                int tw = f->dwpw_bwd[v]          ? 2 * n - f->src[v]
                         : f->mask_step[v] >= 0 ? 2 * n - f->mask_step[v]
                         : fr_member(f, v)      ? 2 * n - f->fr[v]
                                                : t;
                if (gstart[u] < 0 || gstart[u] > tw) gstart[u] = tw;
            }
        }
    }
    int *alias = p->alias = xmalloc((size_t)n * sizeof(int));
    int *galias = p->galias = xmalloc((size_t)n * sizeof(int));
    for (int v = 0; v < n; v++) alias[v] = galias[v] = -1;
    if (target == IR_FUSE_CPU) plan_inplace(g, bw, f, end, gstart, alias, galias);
    /* gradient buffers shared along chains (an input of a drop path over an
     * add's input): the root, the latest node, owns the buffer; it lives to
     * the last read of any member's gradient */
    int *groot = xmalloc((size_t)n * sizeof(int)), *gmax = xmalloc((size_t)n * sizeof(int));
    for (int v = 0; v < n; v++) gmax[v] = -1;
    for (int v = n - 1; v >= 0; v--) groot[v] = galias[v] >= 0 ? groot[galias[v]] : v;
    for (int v = 0; v < n; v++)
        if (bw->grad[v] && grad_end(g, f, v) > gmax[groot[v]]) gmax[groot[v]] = grad_end(g, f, v);
    /* a concat's buffer is written from its first cat_view add on */
    int *astart = xmalloc((size_t)n * sizeof(int));
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        astart[v] = nd->op == OP_MIXED && f->mix_first[v] >= 0 ? f->mix_first[v] : v;
    }
    for (int v = n - 1; v >= 0; v--)
        if (f->cat_view[v] >= 0 && v < astart[f->cat_view[v]]) astart[f->cat_view[v]] = v;
    Buf *b = xmalloc((size_t)(3 * n + 1) * sizeof *b);
    int nb = 0;
    int64_t small = 0;
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (!bw->live[v]) continue;
        int64_t numel = ir_shape_numel(nd->shape);
        bool fused = fused_away(f, v);
        if (!fused && !has_storage(g, bw, f, v)) continue;
        /* the scratch tensor holds any one gradient piece before it is added */
        if (nd->shape.batched && round_up(numel) > scratch) scratch = round_up(numel);
        if (fused || alias[v] >= 0) {
        } else if (nd->shape.batched) {
            /* a mixed node's output is written from its first accumulated
             * candidate on, a concat's from its first cat_view add */
            b[nb++] = (Buf){ round_up(numel), astart[v], end[v], bstart[v], bend[v], &p->act[v] };
            p->naive += round_up(numel);
        } else {
            p->small[v] = small;
            small += round_up(numel);
        }
        if (nd->op == OP_BATCH_NORM || (f->prologue[v] && f->bn_stats[ir_inputs(g, v)[0]])) {
            /* BN: saved batch mean and inverse std, then for a mixed_bn or
             * add_bn BN its scale and shift (and for an add_apply one its
             * three backward coefficients), for a bn_split or pw_apply BN
             * its three backward coefficients; fused RELU: its BN's scale
             * and shift */
            p->small[v] = small;
            int per_c = f->bn_split[v] || f->pw_apply[v] ? 5
                        : f->add_apply[v]                  ? 7
                        : f->mixed_bn[v] || f->add_bn[v] >= 0 ? 4
                                                              : 2;
            small += round_up(per_c * (int64_t)nd->shape.d[1]);
        }
        if (rstart[v] >= 0) {
            b[nb++] = (Buf){ round_up(numel), rstart[v], rend[v], -1, -1, &p->recomp[v] };
            p->naive += round_up(numel);
        }
        if (grad_stored(bw, f, gstart, v)) {
            if (galias[v] >= 0) {
                /* galias[v]'s gradient buffer (its chain's root places it) */
            } else if (nd->shape.batched) {
                /* a mixed node's gradient is read by its BN candidates' steps
                 * (mixed_bn: their output gradient is c_k times it); a RELU's
                 * fused with its BN, by the BN's step, which applies the
                 * RELU's mask (the BN's own output gradient is never stored);
                 * a galias root's, as its members' gradients too (gmax) */
                b[nb++] = (Buf){ round_up(numel), gstart[v], gmax[v], -1, -1, &p->grad[v] };
                p->naive += round_up(numel);
            } else {
                p->gsmall[v] = small;
                small += round_up(numel);
            }
        }
    }
    int64_t top = place(b, nb);
    for (int v = 0; v < n; v++) {
        if (alias[v] >= 0) p->act[v] = p->act[alias[v]];
        if (galias[v] >= 0) p->grad[v] = p->grad[groot[v]];
    }
    free(groot);
    free(gmax);
    free(astart);
    p->scratch = top;
    p->per_sample = top + scratch;
    p->naive += scratch;
    p->small_size = small;
    free(b);
    free(end);
    free(gstart);
    free(rstart);
    free(rend);
    free(bstart);
    free(bend);
#undef READ
}

void ir_plan_free(IrPlan *p)
{
    free(p->act);
    free(p->grad);
    free(p->small);
    free(p->gsmall);
    free(p->recomp);
    free(p->alias);
    free(p->galias);
    ir_fuse_free(&p->fuse);
    memset(p, 0, sizeof *p);
}
