/* graph.c: building graphs: the string pool, nodes, parameters, outputs. */
#include <stdarg.h>
#include <string.h>

#include "ir.h"
#include "util.h"

IrGraph *ir_graph_new(const char *name)
{
    IrGraph *g = xcalloc(1, sizeof(IrGraph));
    g->name = xstrdup(name);
    g->cur_region = -1;
    g->cur_cell = -1;
    return g;
}

void ir_graph_free(IrGraph *g)
{
    if (!g) return;
    for (int i = 0; i < g->nstrs; i++) free(g->strs[i]);
    free(g->strs);
    free(g->nodes);
    free(g->ins);
    free(g->outs);
    for (int i = 0; i < g->nmeta; i++) free(g->meta[i]);
    free(g->meta);
    free(g->name);
    free(g);
}

int32_t ir_str(IrGraph *g, const char *s)
{
    /* Linear search from the end: recent strings are the likely repeats. */
    for (int i = g->nstrs - 1; i >= 0 && i >= g->nstrs - 64; i--)
        if (strcmp(g->strs[i], s) == 0) return i;
    GROW(g->strs, g->capstrs, g->nstrs + 1);
    g->strs[g->nstrs] = xstrdup(s);
    return g->nstrs++;
}

const char *ir_str_get(const IrGraph *g, int32_t id)
{
    return id >= 0 && id < g->nstrs ? g->strs[id] : "";
}

void ir_set_region(IrGraph *g, const char *region, int cell, bool aux)
{
    g->cur_region = ir_str(g, region);
    g->cur_cell = (int16_t)cell;
    g->cur_aux = aux;
}

IrShape ir_shape4(int c, int h, int w)
{
    IrShape s = { 4, true, { -1, c, h, w } };
    return s;
}

bool ir_shape_eq(IrShape a, IrShape b)
{
    if (a.rank != b.rank || a.batched != b.batched) return false;
    for (int i = 0; i < a.rank; i++)
        if (a.d[i] != b.d[i]) return false;
    return true;
}

int ir_shape_numel(IrShape s)
{
    int n = 1;
    for (int i = s.batched ? 1 : 0; i < s.rank; i++) n *= s.d[i];
    return n;
}

IrAttrs ir_attrs_default(void)
{
    IrAttrs a;
    memset(&a, 0, sizeof a);
    a.kh = a.kw = a.sh = a.sw = a.dh = a.dw = a.groups = 1;
    a.eps = 1e-5f;
    a.momentum = 0.1f;
    a.scale = 1.0f;
    return a;
}

static IrNode *new_node(IrGraph *g, IrOp op)
{
    GROW(g->nodes, g->cap, g->n + 1);
    IrNode *n = &g->nodes[g->n];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->a = ir_attrs_default();
    n->name = -1;
    n->region = g->cur_region;
    n->cell = g->cur_cell;
    n->aux = g->cur_aux;
    n->in0 = (uint32_t)g->nins;
    return n;
}

int ir_input(IrGraph *g, const char *name, IrShape shape, IrDtype dtype)
{
    IrNode *n = new_node(g, OP_INPUT);
    n->shape = shape;
    n->dtype = dtype;
    n->name = ir_str(g, name);
    return g->n++;
}

IrParamClass ir_param_class(const IrNode *n)
{
    if (n->dtype == IR_I64) return IR_PCLASS_COUNTER;
    if (n->pkind == IR_PARAM_WEIGHT) return IR_PCLASS_WEIGHT;
    return n->pkind == IR_PARAM_ARCH ? IR_PCLASS_ARCH : IR_PCLASS_BUFFER;
}

void ir_param_layout(const IrGraph *g, int64_t *off, int64_t size[IR_PCLASS__COUNT])
{
    for (int c = 0; c < IR_PCLASS__COUNT; c++) size[c] = 0;
    for (int v = 0; v < g->n; v++) {
        const IrNode *n = &g->nodes[v];
        off[v] = -1;
        if (n->op != OP_PARAM) continue;
        IrParamClass c = ir_param_class(n);
        off[v] = size[c];
        size[c] += ir_shape_numel(n->shape);
    }
}

int ir_param(IrGraph *g, const char *name, IrShape shape, IrDtype dtype,
             IrParamKind kind, IrInit init, int fan_in)
{
    IrNode *n = new_node(g, OP_PARAM);
    n->shape = shape;
    n->dtype = dtype;
    n->name = ir_str(g, name);
    n->pkind = (uint8_t)kind;
    n->init = (uint8_t)init;
    n->fan_in = fan_in;
    return g->n++;
}

int ir_add(IrGraph *g, IrOp op, const int *inputs, int nin, const IrAttrs *a)
{
    int maxin = ir_op_max_inputs(op);
    if (nin < ir_op_min_inputs(op) || (maxin >= 0 && nin > maxin))
        die("%s given %d inputs", ir_op_name(op), nin);
    for (int i = 0; i < nin; i++)
        if (inputs[i] < 0 || inputs[i] >= g->n) die("%s input %d out of range", ir_op_name(op), inputs[i]);
    IrNode *n = new_node(g, op);
    if (a) n->a = *a;
    GROW(g->ins, g->capins, g->nins + nin);
    for (int i = 0; i < nin; i++) g->ins[g->nins + i] = (uint32_t)inputs[i];
    n->nin = (uint16_t)nin;
    g->err[0] = 0;
    if (!ir_infer_shape(g, n)) return -1; /* node not committed */
    g->nins += nin;
    return g->n++;
}

const uint32_t *ir_inputs(const IrGraph *g, int node) { return g->ins + g->nodes[node].in0; }

void ir_output(IrGraph *g, const char *name, int node)
{
    GROW(g->outs, g->capouts, g->nouts + 1);
    g->outs[g->nouts].name = ir_str(g, name);
    g->outs[g->nouts].node = node;
    g->nouts++;
}

int ir_find_output(const IrGraph *g, const char *name)
{
    for (int i = 0; i < g->nouts; i++)
        if (strcmp(ir_str_get(g, g->outs[i].name), name) == 0) return g->outs[i].node;
    return -1;
}

void ir_meta(IrGraph *g, const char *key, const char *fmt, ...)
{
    char val[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    size_t klen = strlen(key), len = klen + strlen(val) + 2;
    char *kv = xmalloc(len);
    snprintf(kv, len, "%s=%s", key, val);
    for (int i = 0; i < g->nmeta; i++)
        if (strncmp(g->meta[i], key, klen) == 0 && g->meta[i][klen] == '=') {
            free(g->meta[i]);
            g->meta[i] = kv;
            return;
        }
    GROW(g->meta, g->capmeta, g->nmeta + 1);
    g->meta[g->nmeta++] = kv;
}

const char *ir_meta_get(const IrGraph *g, const char *key)
{
    size_t klen = strlen(key);
    for (int i = 0; i < g->nmeta; i++)
        if (strncmp(g->meta[i], key, klen) == 0 && g->meta[i][klen] == '=') return g->meta[i] + klen + 1;
    return NULL;
}
