/* verify.c: the invariants every pass must keep: inputs precede their node,
 * arities fit ops.def, shapes agree with the shape rules, parameter names are
 * unique, outputs point at nodes. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "util.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool ir_verify(IrGraph *g, char *err, int size)
{
    const char **names = xmalloc(sizeof(char *) * (size_t)(g->n + 1));
    int nnames = 0;
    bool ok = true;
    for (int i = 0; i < g->n && ok; i++) {
        IrNode *n = &g->nodes[i];
        int maxin = ir_op_max_inputs(n->op);
        if (n->nin < ir_op_min_inputs(n->op) || (maxin >= 0 && n->nin > maxin)) {
            snprintf(err, (size_t)size, "%%%d: %s has %d inputs", i, ir_op_name(n->op), n->nin);
            ok = false;
            break;
        }
        const uint32_t *in = ir_inputs(g, i);
        for (int k = 0; k < n->nin; k++)
            if ((int)in[k] >= i) {
                snprintf(err, (size_t)size, "%%%d: input %%%u does not precede it", i, in[k]);
                ok = false;
            }
        if (!ok) break;
        if (n->op == OP_PARAM) {
            names[nnames++] = ir_str_get(g, n->name);
            continue;
        }
        if (n->op == OP_INPUT) continue;
        IrNode copy = *n;
        if (!ir_infer_shape(g, &copy)) {
            snprintf(err, (size_t)size, "%%%d: %s", i, g->err);
            ok = false;
        } else if (!ir_shape_eq(copy.shape, n->shape)) {
            snprintf(err, (size_t)size, "%%%d: stored shape differs from the shape rule", i);
            ok = false;
        }
    }
    if (ok) {
        qsort(names, (size_t)nnames, sizeof(char *), cmp_str);
        for (int i = 1; i < nnames; i++)
            if (strcmp(names[i], names[i - 1]) == 0) {
                snprintf(err, (size_t)size, "parameter name '%s' used twice", names[i]);
                ok = false;
                break;
            }
    }
    for (int i = 0; ok && i < g->nouts; i++)
        if (g->outs[i].node < 0 || g->outs[i].node >= g->n) {
            snprintf(err, (size_t)size, "output %d points nowhere", i);
            ok = false;
        }
    free(names);
    return ok;
}
