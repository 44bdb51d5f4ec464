/* autodiff.c: reverse-mode differentiation of the graph IR. Builds the
 * backward graph as a list of steps, one per forward node whose output
 * gradient is needed, in reverse node order; each step sends a gradient
 * piece to every input slot that needs one, and says whether that piece
 * starts the input's gradient (overwrite) or adds to it (accumulate). The
 * gradients wanted are those of the weights, the architecture parameters and
 * the input "images"; the seeds are the graph outputs (logits, aux_logits),
 * whose gradients the loss provides. */
#include <string.h>

#include "ir.h"
#include "util.h"

bool ir_slot_differentiable(const IrGraph *g, int node, int slot)
{
    const IrNode *n = &g->nodes[node];
    if (!ir_op_differentiable(n->op) || n->op == OP_PARAM) return false;
    if (n->op == OP_BATCH_NORM) return slot == 0 || slot >= 4;
    if (n->op == OP_CONCAT || n->op == OP_ADD || n->op == OP_MIXED || n->op == OP_LINEAR) return true;
    if (n->op == OP_CONV2D) return slot <= 1;
    return slot == 0;
}

/* Gradient sources: trained parameters and the image input. */
static bool is_source(const IrGraph *g, const IrNode *n)
{
    if (n->op == OP_PARAM) return n->pkind == IR_PARAM_WEIGHT || n->pkind == IR_PARAM_ARCH;
    return n->op == OP_INPUT && strcmp(ir_str_get(g, n->name), "images") == 0;
}

void ir_autodiff(const IrGraph *g, IrBackward *bw)
{
    int n = g->n;
    memset(bw, 0, sizeof *bw);
    bw->n = n;
    bw->live = xcalloc((size_t)n, sizeof(bool));
    bw->grad = xcalloc((size_t)n, sizeof(bool));
    bw->zeroed = xcalloc((size_t)n, sizeof(bool));
    /* live: ancestors of an output. */
    for (int i = 0; i < g->nouts; i++) bw->live[g->outs[i].node] = true;
    for (int v = n - 1; v >= 0; v--) {
        if (!bw->live[v]) continue;
        const uint32_t *in = ir_inputs(g, v);
        for (int i = 0; i < g->nodes[v].nin; i++) bw->live[in[i]] = true;
    }
    /* depends: a gradient source reaches this node through differentiable slots. */
    bool *dep = xcalloc((size_t)n, sizeof(bool));
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (!bw->live[v]) continue;
        if (is_source(g, nd)) dep[v] = true;
        const uint32_t *in = ir_inputs(g, v);
        for (int i = 0; i < nd->nin && !dep[v]; i++)
            if (dep[in[i]] && ir_slot_differentiable(g, v, i)) dep[v] = true;
    }
    /* reaches: the node's gradient flows from an output (through differentiable slots). */
    for (int i = 0; i < g->nouts; i++)
        if (dep[g->outs[i].node]) bw->grad[g->outs[i].node] = true;
    for (int v = n - 1; v >= 0; v--) {
        if (!bw->grad[v]) continue;
        const uint32_t *in = ir_inputs(g, v);
        for (int i = 0; i < g->nodes[v].nin; i++)
            if (dep[in[i]] && ir_slot_differentiable(g, v, i)) bw->grad[in[i]] = true;
    }
    /* Steps in reverse order; the first piece written to a gradient starts it. */
    bool *written = xcalloc((size_t)n, sizeof(bool));
    for (int i = 0; i < g->nouts; i++) written[g->outs[i].node] = true;
    int cap = 0;
    for (int v = n - 1; v >= 0; v--) {
        const IrNode *nd = &g->nodes[v];
        if (!bw->grad[v] || nd->op == OP_PARAM || nd->op == OP_INPUT) continue;
        IrGradStep st = { v, 0, 0 };
        const uint32_t *in = ir_inputs(g, v);
        for (int i = 0; i < nd->nin && i < 32; i++) {
            int u = (int)in[i];
            if (!bw->grad[u] || !ir_slot_differentiable(g, v, i)) continue;
            st.need |= 1u << i;
            if (nd->op == OP_MIXED && i == 0) {
                /* Each mixed node fills one row of the edge weights' gradient. */
                bw->zeroed[u] = true;
                st.acc |= 1u << i;
            } else if (written[u]) {
                st.acc |= 1u << i;
            }
            written[u] = true;
        }
        GROW(bw->steps, cap, bw->nsteps + 1);
        bw->steps[bw->nsteps++] = st;
    }
    free(written);
    free(dep);
}

void ir_backward_free(IrBackward *bw)
{
    free(bw->live);
    free(bw->grad);
    free(bw->zeroed);
    free(bw->steps);
    memset(bw, 0, sizeof *bw);
}

uint32_t ir_bwd_reads(const IrGraph *g, int node, uint32_t need)
{
    const uint32_t own = 1u << 31;
    switch (g->nodes[node].op) {
    case OP_CONV2D:
    case OP_LINEAR:
        /* the weight gradient reads the input, the data gradient the weight */
        return ((need & 2) ? 1u : 0) | ((need & 1) ? 2u : 0);
    case OP_BATCH_NORM:
    case OP_MAX_POOL:
    case OP_SOFTMAX_CROSS_ENTROPY:
        return 1u;
    case OP_RELU:
    case OP_ARCH_SOFTMAX:
        return own;
    case OP_MIXED: {
        /* coefficients from the weights; the weight gradient reads every candidate */
        uint32_t m = 1u;
        if (need & 1) {
            int k = g->nodes[node].nin;
            m |= k >= 31 ? 0x7ffffffeu : ((1u << k) - 1) & ~1u;
        }
        return m;
    }
    default:
        return 0;
    }
}

void ir_backward_print(const IrGraph *g, const IrBackward *bw, FILE *out)
{
    fprintf(out, "backward \"%s\"\n", g->name);
    for (int i = 0; i < g->nouts; i++)
        if (bw->grad[g->outs[i].node])
            fprintf(out, "  d%%%d = seed \"%s\"\n", g->outs[i].node, ir_str_get(g, g->outs[i].name));
    for (int s = 0; s < bw->nsteps; s++) {
        const IrGradStep *st = &bw->steps[s];
        const IrNode *nd = &g->nodes[st->node];
        const uint32_t *in = ir_inputs(g, st->node);
        fprintf(out, "  %s' d%%%d ->", ir_op_name(nd->op), st->node);
        for (int i = 0; i < nd->nin && i < 32; i++)
            if (st->need & (1u << i))
                fprintf(out, " d%%%u(%s)", in[i], (st->acc & (1u << i)) ? "add" : "set");
        fputc('\n', out);
    }
}
