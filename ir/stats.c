/* stats.c: parameter and multiply-add counts with the spec's counting
 * convention (sharpdarts.md §11): one forward in eval mode at batch 1, the
 * auxiliary head and drop path off; conv kh*kw*Cin*(Cout/g)*Ho*Wo, linear
 * in*out, BN its elements (x2 if affine), ReLU its output elements, pools
 * their input elements, everything else 0. Parameters are trainable weights;
 * the auxiliary head, the architecture parameters and BN buffers are counted
 * apart. */
#include <string.h>

#include "ir.h"
#include "util.h"

int64_t ir_node_macs(const IrGraph *g, int i)
{
    const IrNode *n = &g->nodes[i];
    const uint32_t *in = ir_inputs(g, i);
    switch (n->op) {
    case OP_CONV2D: {
        IrShape x = g->nodes[in[0]].shape;
        return (int64_t)n->a.kh * n->a.kw * x.d[1] * (n->shape.d[1] / n->a.groups) * n->shape.d[2] * n->shape.d[3];
    }
    case OP_LINEAR:
        return (int64_t)g->nodes[in[1]].shape.d[0] * g->nodes[in[1]].shape.d[1];
    case OP_BATCH_NORM:
        return (int64_t)ir_shape_numel(n->shape) * (n->a.affine ? 2 : 1);
    case OP_RELU:
        return ir_shape_numel(n->shape);
    case OP_MAX_POOL:
    case OP_AVG_POOL:
    case OP_GLOBAL_AVG_POOL:
        return ir_shape_numel(g->nodes[in[0]].shape);
    default:
        return 0;
    }
}

static IrStatRow *row(IrStatRow **rows, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp((*rows)[i].name, name) == 0) return &(*rows)[i];
    *rows = xrealloc(*rows, sizeof(IrStatRow) * (size_t)(*n + 1));
    IrStatRow *r = &(*rows)[(*n)++];
    r->name = xstrdup(name);
    r->params = r->macs = 0;
    return r;
}

void ir_stats(const IrGraph *g, IrStats *st)
{
    memset(st, 0, sizeof *st);
    /* The op kind that consumes each parameter first. */
    int *consumer = xmalloc(sizeof(int) * (size_t)(g->n + 1));
    for (int i = 0; i < g->n; i++) consumer[i] = -1;
    for (int i = 0; i < g->n; i++) {
        const uint32_t *in = ir_inputs(g, i);
        for (int k = 0; k < g->nodes[i].nin; k++)
            if (consumer[in[k]] < 0) consumer[in[k]] = (int)g->nodes[i].op;
    }
    for (int i = 0; i < g->n; i++) {
        const IrNode *n = &g->nodes[i];
        if (n->op == OP_PARAM) {
            int64_t c = ir_shape_numel(n->shape);
            if (n->pkind == IR_PARAM_ARCH) { st->arch_params += c; continue; }
            if (n->pkind == IR_PARAM_BUFFER) { st->buffers += c; continue; }
            if (n->aux) { st->aux_params += c; continue; }
            st->params += c;
            row(&st->regions, &st->nregions, ir_str_get(g, n->region))->params += c;
            if (consumer[i] >= 0) row(&st->ops, &st->nops, ir_op_name((IrOp)consumer[i]))->params += c;
            continue;
        }
        int64_t m = ir_node_macs(g, i);
        if (n->aux) { st->aux_macs += m; continue; }
        st->macs += m;
        if (m) {
            row(&st->regions, &st->nregions, ir_str_get(g, n->region))->macs += m;
            row(&st->ops, &st->nops, ir_op_name(n->op))->macs += m;
        }
    }
    free(consumer);
}

void ir_stats_free(IrStats *st)
{
    for (int i = 0; i < st->nregions; i++) free(st->regions[i].name);
    for (int i = 0; i < st->nops; i++) free(st->ops[i].name);
    free(st->regions);
    free(st->ops);
    memset(st, 0, sizeof *st);
}

/* 1234567 -> "1,234,567" */
static const char *grouped(int64_t v, char *buf)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)(v < 0 ? -v : v));
    int k = 0;
    if (v < 0) buf[k++] = '-';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = 0;
    return buf;
}

void ir_stats_print(const IrGraph *g, const IrStats *st, FILE *out)
{
    char a[40], b[40];
    fprintf(out, "network %s\n", g->name);
    fprintf(out, "  parameters       %15s\n", grouped(st->params, a));
    fprintf(out, "  multiply-adds    %15s   (one eval forward, batch 1)\n", grouped(st->macs, a));
    if (st->aux_params || st->aux_macs)
        fprintf(out, "  auxiliary head   %15s parameters, %s multiply-adds (training only, not counted above)\n",
                grouped(st->aux_params, a), grouped(st->aux_macs, b));
    if (st->arch_params)
        fprintf(out, "  architecture     %15s parameters (alphas, not counted above)\n", grouped(st->arch_params, a));
    fprintf(out, "  BN buffers       %15s values (not counted above)\n", grouped(st->buffers, a));
    fprintf(out, "per region:\n");
    for (int i = 0; i < st->nregions; i++)
        fprintf(out, "  %-18s %13s params %15s macs\n", st->regions[i].name,
                grouped(st->regions[i].params, a), grouped(st->regions[i].macs, b));
    fprintf(out, "per op kind:\n");
    for (int i = 0; i < st->nops; i++)
        fprintf(out, "  %-18s %13s params %15s macs\n", st->ops[i].name,
                grouped(st->ops[i].params, a), grouped(st->ops[i].macs, b));
}
