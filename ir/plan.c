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
    int64_t *dst;      /* where the offset goes */
} Buf;

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
            if (b[j].start <= b[i].end && b[i].start <= b[j].end) {
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

/* A zero op feeding only mixed ops needs no tensor: the mixed sum skips it. */
static bool has_storage(const IrGraph *g, const IrBackward *bw, int v)
{
    const IrNode *n = &g->nodes[v];
    if (n->op == OP_PARAM || n->op == OP_INPUT) return false;
    if (n->op != OP_ZERO) return true;
    for (int c = v + 1; c < g->n; c++) {
        if (!bw->live[c] || g->nodes[c].op == OP_MIXED) continue;
        const uint32_t *in = ir_inputs(g, c);
        for (int i = 0; i < g->nodes[c].nin; i++)
            if ((int)in[i] == v) return true;
    }
    return false;
}

void ir_plan(const IrGraph *g, const IrBackward *bw, IrPlan *p)
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
    /* Times: forward of v at v, backward step of v at 2n - v, seeds at n. */
    for (int v = 0; v < n; v++) {
        if (!bw->live[v]) continue;
        const uint32_t *in = ir_inputs(g, v);
        for (int i = 0; i < g->nodes[v].nin; i++)
            if (end[in[i]] < v) end[in[i]] = v;
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
        if ((reads >> 31) && end[v] < t) end[v] = t;
        for (int i = 0; i < g->nodes[v].nin && i < 31; i++) {
            int u = (int)in[i];
            if ((reads & (1u << i)) && end[u] < t) end[u] = t;
            if (st->need & (1u << i)) {
                if (gstart[u] < 0 || gstart[u] > t) gstart[u] = t;
            }
        }
    }
    Buf *b = xmalloc((size_t)(2 * n + 1) * sizeof *b);
    int nb = 0;
    int64_t small = 0;
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (!bw->live[v] || !has_storage(g, bw, v)) continue;
        int64_t numel = ir_shape_numel(nd->shape);
        /* the scratch tensor holds any one gradient piece before it is added */
        if (nd->shape.batched && round_up(numel) > scratch) scratch = round_up(numel);
        if (nd->shape.batched) {
            b[nb++] = (Buf){ round_up(numel), v, end[v], &p->act[v] };
            p->naive += round_up(numel);
        } else {
            p->small[v] = small;
            small += round_up(numel);
        }
        if (nd->op == OP_BATCH_NORM) {
            /* saved batch mean and inverse std */
            p->small[v] = small;
            small += round_up(2 * (int64_t)nd->shape.d[1]);
        }
        if (bw->grad[v] && gstart[v] >= 0) {
            if (nd->shape.batched) {
                b[nb++] = (Buf){ round_up(numel), gstart[v], 2 * n - v, &p->grad[v] };
                p->naive += round_up(numel);
            } else {
                p->gsmall[v] = small;
                small += round_up(numel);
            }
        }
    }
    int64_t top = place(b, nb);
    p->scratch = top;
    p->per_sample = top + scratch;
    p->naive += scratch;
    p->small_size = small;
    free(b);
    free(end);
    free(gstart);
}

void ir_plan_free(IrPlan *p)
{
    free(p->act);
    free(p->grad);
    free(p->small);
    free(p->gsmall);
    memset(p, 0, sizeof *p);
}
