/* fuse.c: fusion and recomputation decisions for the training step (see
 * ir.h). The graph is left as it is; the flags say which forward tensors the
 * memory plan may drop and how the emitters rebuild what the backward needs.
 * Every decision is local: a node and its live consumers. */
#include <string.h>

#include "ir.h"
#include "util.h"

/* A conv whose every group is one channel in and one out. */
static bool is_depthwise(const IrGraph *g, int v)
{
    const IrNode *n = &g->nodes[v];
    if (n->op != OP_CONV2D) return false;
    int x = (int)ir_inputs(g, v)[0];
    int ci = g->nodes[x].shape.d[1];
    return n->a.groups == ci && n->shape.d[1] == ci;
}

/* A 1x1 conv of stride 1, no padding, one group: a GEMM over the pixels,
 * whose kernels can apply a plain ReLU to its input while packing it. */
static bool is_pointwise(const IrGraph *g, int v)
{
    const IrNode *n = &g->nodes[v];
    const IrAttrs *a = &n->a;
    return n->op == OP_CONV2D && a->kh == 1 && a->kw == 1 && a->sh == 1 && a->sw == 1 && a->pt == 0 &&
           a->pb == 0 && a->pl == 0 && a->pr == 0 && a->groups == 1;
}

/* A FactorizedReduce branch's conv: 1x1 of stride 2, no padding, one
 * group, not the auxiliary head's. */
static bool is_fr_conv(const IrGraph *g, int v)
{
    const IrNode *n = &g->nodes[v];
    const IrAttrs *a = &n->a;
    return n->op == OP_CONV2D && !n->aux && a->kh == 1 && a->kw == 1 && a->sh == 2 && a->sw == 2 && a->pt == 0 &&
           a->pb == 0 && a->pl == 0 && a->pr == 0 && a->groups == 1;
}

void ir_fuse(const IrGraph *g, const IrBackward *bw, IrFuseTarget t, bool remat, IrFuse *f)
{
    int n = g->n;
    memset(f, 0, sizeof *f);
    f->n = n;
    f->target = t;
    f->bn_relu = xcalloc((size_t)n, sizeof(bool));
    f->prologue = xcalloc((size_t)n, sizeof(bool));
    f->bn_stats = xcalloc((size_t)n, sizeof(bool));
    f->recompute = xcalloc((size_t)n, sizeof(bool));
    f->dwpw = xcalloc((size_t)n, sizeof(bool));
    f->dwpw_bwd = xcalloc((size_t)n, sizeof(bool));
    f->bn_moments = xcalloc((size_t)n, sizeof(bool));
    f->mixed_bn = xcalloc((size_t)n, sizeof(bool));
    f->src = xmalloc((size_t)n * sizeof(int));
    f->mask_step = xmalloc((size_t)n * sizeof(int));
    f->mask_keep = xcalloc((size_t)n, sizeof(bool));
    f->bn_split = xcalloc((size_t)n, sizeof(bool));
    f->remat = xcalloc((size_t)n, sizeof(bool));
    f->bn_apply = xmalloc((size_t)n * sizeof(int));
    f->add_bn = xmalloc((size_t)n * sizeof(int));
    f->add_apply = xcalloc((size_t)n, sizeof(bool));
    f->pw_apply = xcalloc((size_t)n, sizeof(bool));
    f->add_drop = xmalloc((size_t)n * sizeof(int));
    f->cat_view = xmalloc((size_t)n * sizeof(int));
    f->fr = xmalloc((size_t)n * sizeof(int));
    f->mix_slot = xmalloc((size_t)n * sizeof(int));
    f->mix_first = xmalloc((size_t)n * sizeof(int));
    /* Live consumers: count, and the last one with the slot it reads. */
    int *uses = xcalloc((size_t)n, sizeof(int));
    int *user = xmalloc((size_t)n * sizeof(int));
    int *slot = xmalloc((size_t)n * sizeof(int));
    bool *convs_only = xmalloc((size_t)n * sizeof(bool)); /* every use: slot 0 of a depthwise conv */
    bool *plain_ok = xmalloc((size_t)n * sizeof(bool));   /* every use: slot 0 of a depthwise or pointwise conv */
    bool *mixed_only = xmalloc((size_t)n * sizeof(bool)); /* every use: a candidate of a mixed node */
    bool *pw_only = xmalloc((size_t)n * sizeof(bool));    /* every use: slot 0 of a pointwise conv */
    for (int v = 0; v < n; v++) {
        f->src[v] = f->mix_slot[v] = f->mix_first[v] = f->mask_step[v] = f->bn_apply[v] = -1;
        f->add_bn[v] = f->add_drop[v] = f->cat_view[v] = f->fr[v] = -1;
        user[v] = slot[v] = -1;
        convs_only[v] = mixed_only[v] = plain_ok[v] = pw_only[v] = true;
    }
    for (int v = 0; v < n; v++) {
        if (!bw->live[v]) continue;
        const uint32_t *in = ir_inputs(g, v);
        for (int i = 0; i < g->nodes[v].nin; i++) {
            int u = (int)in[i];
            uses[u]++;
            user[u] = v;
            slot[u] = i;
            if (i != 0 || !is_depthwise(g, v)) convs_only[u] = false;
            if (i != 0 || !(is_depthwise(g, v) || is_pointwise(g, v))) plain_ok[u] = false;
            if (i != 0 || !is_pointwise(g, v)) pw_only[u] = false;
            if (i == 0 || g->nodes[v].op != OP_MIXED) mixed_only[u] = false;
        }
    }
    for (int i = 0; i < g->nouts; i++) {
        int u = g->outs[i].node;
        convs_only[u] = mixed_only[u] = plain_ok[u] = pw_only[u] = false;
        uses[u]++;
    }
    /* backward step index of each node, -1 when it has none */
    int *at = xmalloc((size_t)n * sizeof(int));
    for (int v = 0; v < n; v++) at[v] = -1;
    for (int s = 0; s < bw->nsteps; s++) at[bw->steps[s].node] = s;
    /* a FactorizedReduce whose backward steps run back to back (the
     * concat's, conv_2's, the pad's, conv_1's): one kernel each way, from
     * the RELU's input when the RELU has no other consumer and its step
     * comes next (fused too), else as its other consumers allow (below:
     * its convs may read the RELU's input through it too) */
    for (int c = 0; c < n; c++) {
        const IrNode *nd = &g->nodes[c];
        if (t != IR_FUSE_CPU || !bw->live[c] || nd->op != OP_CONCAT || nd->nin != 2 || !nd->shape.batched)
            continue;
        int y1 = (int)ir_inputs(g, c)[0], y2 = (int)ir_inputs(g, c)[1];
        if (!is_fr_conv(g, y1) || !is_fr_conv(g, y2) || uses[y1] != 1 || uses[y2] != 1) continue;
        int r = (int)ir_inputs(g, y1)[0], p = (int)ir_inputs(g, y2)[0];
        const IrNode *pn = &g->nodes[p];
        if (g->nodes[r].op != OP_RELU || pn->op != OP_PAD || uses[p] != 1 || (int)ir_inputs(g, p)[0] != r ||
            pn->a.pt != -1 || pn->a.pl != -1 || pn->a.pb < 0 || pn->a.pr < 0)
            continue;
        if (at[c] < 0 || at[y2] != at[c] + 1 || at[p] != at[c] + 2 || at[y1] != at[c] + 3) continue;
        f->fr[c] = f->fr[p] = f->fr[y1] = f->fr[y2] = c;
        if (uses[r] == 2 && at[r] == at[c] + 4 && (bw->steps[at[r]].need & 1u)) {
            f->fr[r] = c;
            continue;
        }
        /* the RELU's other uses decide whether it is a plain prologue:
         * the FactorizedReduce reads its input through it either way */
        plain_ok[r] = pw_only[r] = true;
        for (int v = 0; v < n; v++) {
            if (!bw->live[v] || v == y1 || v == p) continue;
            const uint32_t *in = ir_inputs(g, v);
            for (int i = 0; i < g->nodes[v].nin; i++) {
                if ((int)in[i] != r) continue;
                if (i != 0 || !(is_depthwise(g, v) || is_pointwise(g, v))) plain_ok[r] = false;
                if (i != 0 || !is_pointwise(g, v)) pw_only[r] = false;
            }
        }
        for (int i = 0; i < g->nouts; i++)
            if (g->outs[i].node == r) plain_ok[r] = pw_only[r] = false;
    }
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (!bw->live[v] || uses[v] == 0) continue;
        int x = nd->nin ? (int)ir_inputs(g, v)[0] : -1;
        if (t == IR_FUSE_CUDA && nd->op == OP_RELU && g->nodes[x].op == OP_BATCH_NORM && uses[x] == 1) {
            f->bn_relu[x] = true;
            f->src[x] = v;
        }
        if (t == IR_FUSE_CPU && nd->op == OP_RELU && convs_only[v] && g->nodes[x].op == OP_BATCH_NORM &&
            uses[x] == 1 && !g->nodes[x].aux) {
            f->prologue[v] = true;
            f->bn_stats[x] = true;
            f->src[x] = v;
            f->src[v] = (int)ir_inputs(g, x)[0];
        } else if (t == IR_FUSE_CPU && nd->op == OP_RELU && plain_ok[v] && !f->prologue[x]) {
            /* a plain RELU (its input is used elsewhere too, or is no BN):
             * the depthwise and pointwise convs read the input through the
             * ReLU (the pointwise GEMMs as they pack it) */
            f->prologue[v] = true;
            f->src[v] = x;
        }
        if (nd->op == OP_BATCH_NORM && uses[v] == 1 && mixed_only[v]) {
            int m = user[v];
            f->mixed_bn[v] = true;
            f->src[v] = m;
            f->mix_slot[v] = slot[v] - 1;
            if (f->mix_first[m] < 0 || f->mix_first[m] > v) f->mix_first[m] = v;
        }
        if (t == IR_FUSE_CPU && is_depthwise(g, v) && uses[v] == 1 && slot[v] == 0 && g->nodes[user[v]].op == OP_CONV2D) {
            f->recompute[v] = true;
            f->dwpw[v] = is_pointwise(g, user[v]);
            if (f->dwpw[v]) f->src[v] = user[v];
        }
    }
    /* a dwpw pair whose backward steps are adjacent (pointwise, then
     * depthwise): the two run as one step, so the pieces every other step
     * adds keep their order */
    for (int v = 0; v < n; v++)
        if (f->dwpw[v] && at[v] >= 0 && at[user[v]] >= 0 && at[user[v]] + 1 == at[v])
            f->dwpw_bwd[v] = true;
    /* a plain prologue RELU whose one consumer's data-gradient step (a
     * pointwise conv's, or a dwpw_bwd pair's) directly precedes its own:
     * that step applies the mask, so the RELU's gradient is never stored */
    for (int v = 0; v < n; v++) {
        int c = user[v];
        if (t != IR_FUSE_CPU || !f->prologue[v] || f->bn_stats[(int)ir_inputs(g, v)[0]] || uses[v] != 1 ||
            slot[v] != 0 || at[v] < 0 || at[c] < 0 || at[c] + 1 != at[v] || !(bw->steps[at[v]].need & 1u) ||
            !(bw->steps[at[c]].need & 1u) || (bw->steps[at[c]].acc & 1u))
            continue;
        if (is_pointwise(g, c))
            f->mask_step[v] = c;
        else if (f->dwpw_bwd[c])
            f->mask_step[v] = f->src[c];
    }
    /* the same for a plain prologue RELU of several pointwise convs, by the
     * one whose step directly precedes the RELU's: it adds its piece to the
     * others' and masks the sum (the RELU's gradient stays stored) */
    for (int v = 0; v < n; v++) {
        if (t != IR_FUSE_CPU || !f->prologue[v] || f->bn_stats[(int)ir_inputs(g, v)[0]] || uses[v] < 2 ||
            !pw_only[v] || at[v] < 1 || !(bw->steps[at[v]].need & 1u))
            continue;
        const IrGradStep *cs = &bw->steps[at[v] - 1];
        int c = cs->node;
        /* not a fused FactorizedReduce's conv: its step runs in its concat's */
        if (g->nodes[c].op == OP_CONV2D && (int)ir_inputs(g, c)[0] == v && (cs->need & 1u) && (cs->acc & 1u) &&
            f->fr[c] < 0) {
            f->mask_step[v] = c;
            f->mask_keep[v] = true;
        }
    }
    /* a bn_stats BN between two dwpw_bwd pairs (pw1 -> BN -> RELU -> dw2),
     * each tensor with one consumer, whose steps run back to back (dw2's
     * in pw2's, the RELU's, the BN's, pw1's): pw2's kernel sums the BN's
     * backward over the RELU's gradient it writes, the BN's step turns the
     * sums into its coefficients, and pw1's kernel applies them to the
     * RELU's gradient as it reads it; with remat, pw1's output is rebuilt
     * in pw2's step (its input is stored until pw1's step anyway) */
    for (int b = 0; b < n; b++) {
        if (t != IR_FUSE_CPU || !f->bn_stats[b] || g->nodes[b].aux) continue;
        int r = f->src[b], p1 = (int)ir_inputs(g, b)[0], d2 = user[r];
        if (uses[r] != 1 || uses[b] != 1 || uses[p1] != 1 || slot[r] != 0 || slot[p1] != 0) continue;
        if (g->nodes[p1].op != OP_CONV2D || !is_pointwise(g, p1)) continue;
        int d1 = (int)ir_inputs(g, p1)[0];
        if (!f->dwpw_bwd[d1] || f->src[d1] != p1 || !f->dwpw_bwd[d2]) continue;
        if (at[b] < 0 || at[r] < 0 || at[p1] < 0 || at[d2] < 0 || at[r] != at[d2] + 1 || at[b] != at[r] + 1 ||
            at[p1] != at[b] + 1)
            continue;
        if (!(bw->steps[at[b]].need & 1u) || !(bw->steps[at[p1]].need & 1u) ||
            !(bw->steps[at[d2]].need & 1u) || (bw->steps[at[d2]].acc & 1u) || (bw->steps[at[b]].acc & 1u))
            continue;
        f->bn_split[b] = true;
        f->bn_apply[p1] = b;
        f->remat[p1] = remat;
    }
    /* a training BN of a pointwise conv's output (a dwpw pair's, or one
     * reading its input plainly or through a plain ReLU) whose forward
     * comes next (only parameters between): the conv's kernel hands it the
     * plane moments */
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (t != IR_FUSE_CPU || !bw->live[v] || nd->op != OP_BATCH_NORM || f->mixed_bn[v] || nd->aux)
            continue;
        int p = (int)ir_inputs(g, v)[0];
        /* two moments per plane fit the scratch tensor, which holds any
         * one tensor, when a plane has two values */
        if (g->nodes[p].op != OP_CONV2D || (int64_t)nd->shape.d[2] * nd->shape.d[3] < 2) continue;
        int px = (int)ir_inputs(g, p)[0];
        bool plain_in = !f->prologue[px] || !f->bn_stats[(int)ir_inputs(g, px)[0]];
        if (!f->dwpw[px] && !(is_pointwise(g, p) && plain_in)) continue;
        bool next = true;
        for (int u = p + 1; u < v; u++)
            if (bw->live[u] && g->nodes[u].op != OP_PARAM && g->nodes[u].op != OP_INPUT) next = false;
        f->bn_moments[v] = next;
    }
    /* a training BN whose one consumer is a two-input ADD, directly or
     * through a drop path that only the ADD reads: the ADD normalizes the
     * BN's input (and drops it) as it sums */
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (t != IR_FUSE_CPU || !bw->live[v] || nd->op != OP_BATCH_NORM || nd->aux || uses[v] != 1 ||
            f->mixed_bn[v] || f->bn_stats[v] || !nd->shape.batched)
            continue;
        int a = user[v], d = -1;
        if (g->nodes[a].op == OP_DROP_PATH && uses[a] == 1) {
            d = a;
            a = user[d];
        }
        if (a < 0 || g->nodes[a].op != OP_ADD || g->nodes[a].nin != 2 ||
            ir_shape_numel(g->nodes[a].shape) != ir_shape_numel(nd->shape) || !bw->grad[a])
            continue;
        f->add_bn[v] = a;
        f->src[v] = d;
        if (d >= 0) f->add_drop[d] = v;
    }
    /* an add_bn BN after a dwpw_bwd pair's pointwise conv whose step runs
     * right after the BN's: the BN's step computes its coefficients, and
     * the pair applies them to the ADD's gradient as it reads it, so the
     * BN's input gradient is never written (its buffer serves the pair as
     * scratch) */
    for (int b = 0; b < n; b++) {
        if (t != IR_FUSE_CPU || f->add_bn[b] < 0 || g->nodes[b].aux) continue;
        int p = (int)ir_inputs(g, b)[0];
        if (!is_pointwise(g, p) || uses[p] != 1 || f->bn_apply[p] >= 0) continue;
        int d = (int)ir_inputs(g, p)[0];
        if (!f->dwpw_bwd[d] || f->src[d] != p) continue;
        if (at[b] < 0 || at[p] != at[b] + 1 || !(bw->steps[at[b]].need & 1u) || (bw->steps[at[b]].acc & 1u) ||
            !(bw->steps[at[p]].need & 1u))
            continue;
        f->add_apply[b] = true;
        f->bn_apply[p] = b;
    }
    /* a plain training BN of a pointwise conv that reads its stored input
     * plainly or through a plain ReLU, whose step runs right after the
     * BN's: the BN's step computes its coefficients, and the conv applies
     * them to the BN's output gradient as it reads it, in one pass with its
     * data and weight gradients */
    for (int b = 0; b < n; b++) {
        const IrNode *nd = &g->nodes[b];
        if (t != IR_FUSE_CPU || !bw->live[b] || nd->op != OP_BATCH_NORM || nd->aux || !nd->shape.batched ||
            f->mixed_bn[b] || f->bn_stats[b] || f->bn_split[b] || f->add_bn[b] >= 0)
            continue;
        int p = (int)ir_inputs(g, b)[0];
        if (!is_pointwise(g, p) || g->nodes[p].aux || uses[p] != 1 || f->bn_apply[p] >= 0 || f->fr[p] >= 0)
            continue;
        int x = (int)ir_inputs(g, p)[0];
        if (f->dwpw[x] || f->recompute[x] || (f->prologue[x] && f->bn_stats[(int)ir_inputs(g, x)[0]])) continue;
        if (at[b] < 0 || at[p] != at[b] + 1 || !(bw->steps[at[b]].need & 1u) || (bw->steps[at[b]].acc & 1u))
            continue;
        f->pw_apply[b] = true;
        f->bn_apply[p] = b;
    }
    free(at);
    /* a two-input ADD whose one consumer is a CONCAT: written straight
     * into the CONCAT's buffer */
    for (int v = 0; v < n; v++) {
        const IrNode *nd = &g->nodes[v];
        if (t == IR_FUSE_CPU && bw->live[v] && nd->op == OP_ADD && nd->nin == 2 && uses[v] == 1 &&
            nd->shape.batched && g->nodes[user[v]].op == OP_CONCAT)
            f->cat_view[v] = user[v];
    }
    free(uses);
    free(user);
    free(slot);
    free(convs_only);
    free(plain_ok);
    free(mixed_only);
    free(pw_only);
}

int ir_fuse_rebuilt_in(const IrGraph *g, const IrFuse *f, int v)
{
    if (g->nodes[v].op != OP_CONV2D || !f->dwpw_bwd[ir_inputs(g, v)[0]]) return -1;
    int r = (int)ir_inputs(g, (int)ir_inputs(g, v)[0])[0];
    if (!f->prologue[r] || !f->bn_split[ir_inputs(g, r)[0]]) return -1;
    int p1 = (int)ir_inputs(g, (int)ir_inputs(g, r)[0])[0];
    return f->remat[p1] ? p1 : -1;
}

int ir_fuse_fr_input(const IrGraph *g, const IrFuse *f, int c)
{
    int r = (int)ir_inputs(g, (int)ir_inputs(g, c)[0])[0];
    return f->fr[r] == c || f->prologue[r] ? (int)ir_inputs(g, r)[0] : r;
}

void ir_fuse_free(IrFuse *f)
{
    free(f->prologue);
    free(f->bn_stats);
    free(f->recompute);
    free(f->dwpw);
    free(f->dwpw_bwd);
    free(f->bn_moments);
    free(f->mixed_bn);
    free(f->bn_relu);
    free(f->src);
    free(f->mask_step);
    free(f->mask_keep);
    free(f->bn_split);
    free(f->remat);
    free(f->bn_apply);
    free(f->add_bn);
    free(f->add_apply);
    free(f->pw_apply);
    free(f->add_drop);
    free(f->cat_view);
    free(f->fr);
    free(f->mix_slot);
    free(f->mix_first);
    memset(f, 0, sizeof *f);
}

void ir_fuse_print(const IrGraph *g, const IrFuse *f, FILE *out)
{
    int chains = 0, with_bn = 0, masked = 0, recomputed = 0, dwpw = 0, dwpw_bwd = 0, mixed = 0, moments = 0;
    int split = 0, added = 0, views = 0, frs = 0, rebuilt = 0, applied = 0;
    for (int v = 0; v < f->n; v++) {
        if (f->bn_relu[v]) {
            fprintf(out, "  fuse %%%d batch_norm + %%%d relu (one kernel)\n", v, f->src[v]);
            chains++;
        }
        if (f->prologue[v]) {
            int bn = (int)ir_inputs(g, v)[0];
            if (f->bn_stats[bn]) {
                fprintf(out, "  fuse %%%d batch_norm + %%%d relu -> convs read %%%d\n", bn, v, f->src[v]);
                with_bn++;
            } else {
                fprintf(out, "  fuse %%%d relu -> convs read %%%d%s\n", v, f->src[v],
                        f->mask_keep[v]            ? "; its mask in the last one's data gradient"
                        : f->mask_step[v] >= 0 ? "; its mask in their data gradient"
                                               : "");
                masked += f->mask_step[v] >= 0;
            }
            chains++;
        }
        if (f->recompute[v]) {
            fprintf(out, "  recompute %%%d conv2d (depthwise) for the weight gradient%s%s\n", v,
                    f->dwpw[v] ? "; forward fused with its pointwise conv" : "",
                    f->dwpw_bwd[v] ? ", and the data gradients" : "");
            recomputed++;
            dwpw += f->dwpw[v];
            dwpw_bwd += f->dwpw_bwd[v];
        }
        if (f->mixed_bn[v]) {
            fprintf(out, "  fuse %%%d batch_norm into %%%d mixed (weighted accumulation; reads its input)\n", v,
                    f->src[v]);
            mixed++;
        }
        if (f->bn_moments[v]) {
            fprintf(out, "  fuse %%%d batch_norm statistics into %%%d conv2d (plane moments)\n", v,
                    (int)ir_inputs(g, v)[0]);
            moments++;
        }
        if (f->add_bn[v] >= 0) {
            fprintf(out, "  fuse %%%d batch_norm into %%%d add (normalized as it sums", v, f->add_bn[v]);
            if (f->src[v] >= 0) fprintf(out, ", with %%%d drop_path", f->src[v]);
            if (f->add_apply[v]) fprintf(out, "; its backward applied in %%%d conv2d's", (int)ir_inputs(g, v)[0]);
            fprintf(out, ")\n");
            added++;
        }
        if (f->cat_view[v] >= 0) {
            fprintf(out, "  write %%%d add into %%%d concat\n", v, f->cat_view[v]);
            views++;
        }
        if (f->fr[v] == v) {
            int y1 = (int)ir_inputs(g, v)[0], y2 = (int)ir_inputs(g, v)[1];
            int r = (int)ir_inputs(g, y1)[0];
            fprintf(out, "  fuse ");
            if (f->fr[r] == v) fprintf(out, "%%%d relu + ", r);
            fprintf(out, "%%%d conv2d + %%%d pad + %%%d conv2d -> %%%d concat (FactorizedReduce, reads %%%d)\n", y1,
                    (int)ir_inputs(g, y2)[0], y2, v, ir_fuse_fr_input(g, f, v));
            frs++;
        }
        if (f->pw_apply[v]) {
            fprintf(out, "  apply %%%d batch_norm backward in %%%d conv2d's (coefficients only in its own)\n", v,
                    (int)ir_inputs(g, v)[0]);
            applied++;
        }
        if (f->bn_split[v]) {
            fprintf(out, "  split %%%d batch_norm backward: sums in its relu's conv, applied in %%%d conv2d\n", v,
                    (int)ir_inputs(g, v)[0]);
            split++;
        }
        if (f->remat[v]) {
            fprintf(out, "  rebuild %%%d conv2d (with its depthwise input) in the backward, not kept\n", v);
            rebuilt++;
        }
    }
    fprintf(out,
            "fusions: %d relu prologues (%d with their batch norm, %d masking their conv's data gradient), "
            "%d recomputed convs (%d fused with their pointwise conv, %d of them in the backward too), %d mixed "
            "batch norms, %d batch norms from their conv's plane moments, %d batch norm backwards split, "
            "%d applied in their pointwise conv's, %d batch norms normalized in their add, %d adds written into "
            "their concat, %d FactorizedReduces in one kernel, %d pointwise outputs rebuilt in the backward\n",
            chains, with_bn, masked, recomputed, dwpw, dwpw_bwd, mixed, moments, split, applied, added, views, frs,
            rebuilt);
}
