/* cse.c: common-subexpression elimination on the graph IR. The elaborator
 * writes every candidate of a search edge as its own subgraph, so the ReLU
 * (and the pools) that several candidates apply to one state appear once per
 * candidate; merging them saves their memory and their time, forward and
 * backward. */
#include <string.h>

#include "ir.h"
#include "util.h"

/* Attributes equal field by field (the struct has padding). */
static bool attrs_eq(const IrAttrs *a, const IrAttrs *b)
{
    return a->kh == b->kh && a->kw == b->kw && a->sh == b->sh && a->sw == b->sw &&
           a->pt == b->pt && a->pb == b->pb && a->pl == b->pl && a->pr == b->pr &&
           a->dh == b->dh && a->dw == b->dw && a->groups == b->groups &&
           a->start == b->start && a->end == b->end && a->eps == b->eps &&
           a->momentum == b->momentum && a->scale == b->scale && a->affine == b->affine &&
           a->cip == b->cip && a->row == b->row && a->weighting == b->weighting;
}

/* Ops whose result depends on their inputs and attributes only. */
static bool pure_op(IrOp op)
{
    return op != OP_INPUT && op != OP_PARAM && op != OP_BATCH_NORM && op != OP_DROP_PATH;
}

int ir_cse(IrGraph *g)
{
    int *repl = xmalloc((size_t)g->n * sizeof(int));
    /* Hash buckets over (op, inputs): open addressing on node indices. */
    int cap = 16;
    while (cap < 2 * g->n) cap *= 2;
    int *tab = xmalloc((size_t)cap * sizeof(int));
    for (int i = 0; i < cap; i++) tab[i] = -1;
    int merged = 0;
    for (int v = 0; v < g->n; v++) {
        IrNode *n = &g->nodes[v];
        uint32_t *in = g->ins + n->in0;
        for (int i = 0; i < n->nin; i++) in[i] = (uint32_t)repl[in[i]];
        repl[v] = v;
        if (!pure_op(n->op)) continue;
        uint64_t h = 1469598103934665603ull ^ (uint64_t)n->op;
        for (int i = 0; i < n->nin; i++) h = (h ^ in[i]) * 1099511628211ull;
        int slot = (int)(h & (uint64_t)(cap - 1));
        for (; tab[slot] >= 0; slot = (slot + 1) & (cap - 1)) {
            IrNode *m = &g->nodes[tab[slot]];
            if (m->op != n->op || m->nin != n->nin || (m->aux && !n->aux) || !attrs_eq(&m->a, &n->a)) continue;
            if (memcmp(g->ins + m->in0, in, n->nin * sizeof *in) != 0) continue;
            repl[v] = tab[slot];
            merged++;
            break;
        }
        if (repl[v] == v) tab[slot] = v;
    }
    for (int i = 0; i < g->nouts; i++) g->outs[i].node = repl[g->outs[i].node];
    free(tab);
    free(repl);
    return merged;
}
