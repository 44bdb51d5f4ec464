/* print.c: the stable text form of a graph (`sharpc dump --ir`), compared by
 * golden tests. One line per node; a comment line whenever the region (stem,
 * cell i, head, auxiliary head) changes. */
#include "ir.h"

static const char *pkind_name[] = { "weight", "buffer", "arch" };
static const char *init_name[] = { "none", "kaiming_uniform", "bias_uniform", "ones", "zeros", "arch_normal" };

static void print_attrs(const IrNode *n, FILE *out)
{
    unsigned m = ir_op_attrs(n->op);
    const IrAttrs *a = &n->a;
    if (m & IR_A_KERNEL) fprintf(out, " kernel=%dx%d", a->kh, a->kw);
    if (m & IR_A_STRIDE) fprintf(out, " stride=%dx%d", a->sh, a->sw);
    if (m & IR_A_PAD) fprintf(out, " pad=%d,%d,%d,%d", a->pt, a->pb, a->pl, a->pr);
    if (m & IR_A_DIL) fprintf(out, " dil=%dx%d", a->dh, a->dw);
    if (m & IR_A_GROUPS) fprintf(out, " groups=%d", a->groups);
    if (m & IR_A_EPS) fprintf(out, " eps=%g", a->eps);
    if (m & IR_A_MOMENTUM) fprintf(out, " momentum=%g", a->momentum);
    if (m & IR_A_AFFINE) fprintf(out, " affine=%s", a->affine ? "true" : "false");
    if (m & IR_A_CIP) fprintf(out, " count_include_pad=%s", a->cip ? "true" : "false");
    if (m & IR_A_RANGE) fprintf(out, " channels=%d:%d", a->start, a->end);
    if (m & IR_A_SCALE) fprintf(out, " scale=%g", a->scale);
    if (m & IR_A_ROW) fprintf(out, " row=%d", a->row);
    if (m & IR_A_WEIGHTING) fprintf(out, " weighting=%s", a->weighting == IR_WEIGHTING_MAX_W ? "max_w" : "scalar");
}

void ir_print(const IrGraph *g, FILE *out)
{
    fprintf(out, "graph \"%s\"\n", g->name);
    int32_t region = -2;
    int cell = -2;
    for (int i = 0; i < g->n; i++) {
        const IrNode *n = &g->nodes[i];
        if (n->region != region || n->cell != cell) {
            region = n->region;
            cell = n->cell;
            if (cell >= 0)
                fprintf(out, "  # cell %d: %s\n", cell, ir_str_get(g, region));
            else
                fprintf(out, "  # %s\n", ir_str_get(g, region));
        }
        char sb[80];
        ir_shape_str(n->shape, sb, sizeof sb);
        const char *dt = n->dtype == IR_I64 ? "i64" : "f32";
        fprintf(out, "  %%%d = %s", i, ir_op_name(n->op));
        if (n->op == OP_PARAM) {
            fprintf(out, " \"%s\" %s%s %s", ir_str_get(g, n->name), dt, sb, pkind_name[n->pkind]);
            if (n->init != IR_INIT_NONE) {
                fprintf(out, " init=%s", init_name[n->init]);
                if (n->init == IR_INIT_KAIMING_UNIFORM || n->init == IR_INIT_BIAS_UNIFORM)
                    fprintf(out, "(fan_in=%d)", n->fan_in);
            }
            fputc('\n', out);
            continue;
        }
        if (n->op == OP_INPUT) {
            fprintf(out, " \"%s\" %s%s\n", ir_str_get(g, n->name), dt, sb);
            continue;
        }
        const uint32_t *in = ir_inputs(g, i);
        for (int k = 0; k < n->nin; k++) fprintf(out, "%s%%%u", k ? ", " : " ", in[k]);
        print_attrs(n, out);
        fprintf(out, " -> %s%s%s\n", dt, sb, n->aux ? " aux" : "");
    }
    for (int i = 0; i < g->nouts; i++)
        fprintf(out, "  output \"%s\" = %%%d\n", ir_str_get(g, g->outs[i].name), g->outs[i].node);
}
