/* elab_net.c: elaboration of a network into the IR: the stem, the cells
 * (search cells with mixed edges or fixed genotype cells, from `cell` blocks
 * or a DARTS Genotype(...) literal), their preprocessing, the head and the
 * auxiliary head (sharpdarts.md §3, §6). Parameter names follow
 * shared/docs/weights-format.md. */
#include <string.h>

#include "elab.h"

typedef struct {
    Val op;      /* name, string, mixed(LIST) or primitive call */
    int from;    /* input state */
    Loc loc;
} EdgeSpec;

typedef struct {
    EdgeSpec *e;
    int n;
} NodeSpec;

typedef struct {
    const char *name;
    NodeSpec *nodes;
    int steps;
    int *concat;
    int nconcat;
    int stride;   /* stride of edges that read a cell input */
    Loc loc;
    bool search;  /* has a mixed edge */
    Decl *list;   /* the op list of its mixed edges */
} CellSpec;

static const char *const cell_settings[] = { "steps", "edge", "node", "concat", "stride" };
static const char *const network_settings[] = {
    "input", "classes", "C", "layers", "cells", "genotype", "optable", "reduce_at", "reduce_spacing",
    "double_channels", "affine", "C_mid", "preprocess", "preprocess_reduce", "stem", "stem0", "stem1",
    "head", "auxiliary_at", "auxiliary_head", "auxiliary",
};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *const *fe_network_setting_names(int *n) { *n = COUNT(network_settings); return network_settings; }
const char *const *fe_cell_setting_names(int *n) { *n = COUNT(cell_settings); return cell_settings; }

static bool pos_int(FeCtx *fe, Val v, const char *what, int lo, int hi, int *out)
{
    int64_t x;
    if (!val_int(fe, v, what, &x)) return false;
    if (x < lo || x > hi) {
        fe_error(fe, v.loc, "%s must be between %d and %d, not %lld", what, lo, hi, (long long)x);
        return false;
    }
    *out = (int)x;
    return true;
}

/* Reads a list of state indices (concat). */
static bool int_list(FeCtx *fe, Val v, const char *what, int **out, int *n)
{
    if (v.kind != V_LIST) {
        Val one = v;
        v.kind = V_LIST;
        v.items = fe_arena_alloc(&fe->arena, sizeof(Val));
        v.items[0] = one;
        v.n = 1;
    }
    *out = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)(v.n + 1));
    *n = v.n;
    for (int i = 0; i < v.n; i++)
        if (!pos_int(fe, v.items[i], what, -1000000, 1000000, &(*out)[i])) return false;
    return true;
}

/* Reads one (op, input) pair of a node or a genotype. */
static bool edge_pair(FeCtx *fe, Val v, EdgeSpec *e)
{
    if (v.kind != V_LIST || v.n != 2) {
        fe_error(fe, v.loc, "an edge is written (operation, input), e.g. (sep_conv_3x3, 0)");
        return false;
    }
    e->op = v.items[0];
    e->loc = v.loc;
    return pos_int(fe, v.items[1], "an edge's input", 0, 1000, &e->from);
}

static bool check_cell_indices(FeCtx *fe, CellSpec *c)
{
    bool ok = true;
    if (c->steps < 1) { fe_error(fe, c->loc, "cell '%s' has no nodes", c->name); return false; }
    for (int t = 0; t < c->steps; t++)
        for (int k = 0; k < c->nodes[t].n; k++) {
            EdgeSpec *e = &c->nodes[t].e[k];
            if (e->from >= t + 2) {
                fe_error(fe, e->loc, "node %d can read states 0 to %d only (the two cell inputs and earlier nodes), not %d",
                         t + 2, t + 1, e->from);
                ok = false;
            }
        }
    for (int i = 0; i < c->nconcat; i++)
        if (c->concat[i] < 0 || c->concat[i] >= c->steps + 2) {
            fe_error(fe, c->loc, "cell '%s' concatenates state %d, but its states are 0 to %d", c->name, c->concat[i],
                     c->steps + 1);
            ok = false;
        }
    if (c->nconcat == 0) { fe_error(fe, c->loc, "cell '%s' concatenates nothing", c->name); ok = false; }
    return ok;
}

/* A cell from a `cell` block. */
static bool cell_from_block(Elab *E, Decl *d, CellSpec *c)
{
    FeCtx *fe = E->fe;
    Block b;
    memset(c, 0, sizeof *c);
    c->name = d->name;
    c->loc = d->name_loc;
    c->stride = -1;
    if (!block_open(fe, d, &b)) return false;
    block_check_known(fe, &b, cell_settings, COUNT(cell_settings));
    Val v;
    bool ok = true;
    int nnode = 0;
    for (int i = 0; i < b.n; i++) nnode += strcmp(b.s[i]->name, "node") == 0;
    if (nnode) {
        if (block_get(&b, "edge") || block_get(&b, "steps")) {
            fe_error(fe, block_get(&b, "edge") ? block_get(&b, "edge")->name_loc : block_get(&b, "steps")->name_loc,
                     "a cell has either `node` lines or `steps` with `edge`, not both");
            return false;
        }
        c->steps = nnode;
        c->nodes = fe_arena_alloc(&fe->arena, sizeof(NodeSpec) * (size_t)nnode);
        int t = 0;
        Env env = block_env(fe, &b);
        for (int i = 0; i < b.n; i++) {
            Setting *s = b.s[i];
            if (strcmp(s->name, "node") != 0) continue;
            NodeSpec *ns = &c->nodes[t++];
            if (s->nvalues == 0) { fe_error(fe, s->loc, "a node needs at least one edge"); ok = false; continue; }
            ns->e = fe_arena_alloc(&fe->arena, sizeof(EdgeSpec) * (size_t)s->nvalues);
            for (int k = 0; k < s->nvalues; k++) {
                Val ev = fe_eval(fe, &env, s->values[k]);
                if (ev.kind == V_NONE || !edge_pair(fe, ev, &ns->e[ns->n])) { ok = false; continue; }
                ns->n++;
            }
        }
    } else {
        Setting *es = block_get(&b, "edge");
        if (!block_val(fe, &b, "steps", &v) || !pos_int(fe, v, "steps", 1, 64, &c->steps)) {
            if (!block_get(&b, "steps")) fe_error(fe, d->name_loc, "cell '%s' needs `steps` and `edge`, or `node` lines", d->name);
            return false;
        }
        if (!es || !block_val(fe, &b, "edge", &v)) {
            if (!es) fe_error(fe, d->name_loc, "cell '%s' needs `edge` (e.g. edge mixed(PRIMITIVES);)", d->name);
            return false;
        }
        c->nodes = fe_arena_alloc(&fe->arena, sizeof(NodeSpec) * (size_t)c->steps);
        for (int t = 0; t < c->steps; t++) {
            NodeSpec *ns = &c->nodes[t];
            ns->e = fe_arena_alloc(&fe->arena, sizeof(EdgeSpec) * (size_t)(t + 2));
            for (int j = 0; j < t + 2; j++) {
                ns->e[j].op = v;
                ns->e[j].from = j;
                ns->e[j].loc = es->loc;
            }
            ns->n = t + 2;
        }
    }
    if (block_val(fe, &b, "concat", &v)) {
        ok &= int_list(fe, v, "a concatenated state", &c->concat, &c->nconcat);
    } else if (!block_get(&b, "concat")) {
        c->nconcat = c->steps;
        c->concat = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)c->steps);
        for (int i = 0; i < c->steps; i++) c->concat[i] = i + 2;
    } else {
        ok = false;
    }
    if (block_get(&b, "stride")) ok &= block_val(fe, &b, "stride", &v) && pos_int(fe, v, "stride", 1, 8, &c->stride);
    return ok && check_cell_indices(fe, c);
}

/* A cell from a Genotype(...) literal: pairs 2t and 2t+1 feed node t+2. */
static bool cell_from_genotype(Elab *E, Val gv, bool reduce, CellSpec *c)
{
    FeCtx *fe = E->fe;
    memset(c, 0, sizeof *c);
    c->name = reduce ? "reduce" : "normal";
    c->loc = gv.loc;
    c->stride = -1;
    const char *want = reduce ? "reduce" : "normal";
    char wantc[32];
    snprintf(wantc, sizeof wantc, "%s_concat", want);
    Val pairs = { 0 }, concat = { 0 };
    for (int k = 0; k < gv.nk; k++) {
        if (strcmp(gv.knames[k], want) == 0) pairs = gv.kvals[k];
        else if (strcmp(gv.knames[k], wantc) == 0) concat = gv.kvals[k];
        else if (strcmp(gv.knames[k], "layout") == 0) {
            if (gv.kvals[k].kind != V_STRING || strcmp(gv.kvals[k].s, "cell") != 0) {
                fe_error(fe, gv.kvals[k].loc, "only Genotype layout 'cell' describes a cell network");
                return false;
            }
        } else if (strcmp(gv.knames[k], "normal") && strcmp(gv.knames[k], "reduce") &&
                   strcmp(gv.knames[k], "normal_concat") && strcmp(gv.knames[k], "reduce_concat")) {
            const char *names[] = { "normal", "normal_concat", "reduce", "reduce_concat", "layout" };
            const char *s = fe_suggest(gv.knames[k], names, 5);
            fe_error(fe, gv.kvals[k].loc, "Genotype has no field '%s'%s%s%s", gv.knames[k], s ? " (did you mean '" : "",
                     s ? s : "", s ? "'?)" : "");
            return false;
        }
    }
    /* Positional form: Genotype(normal, normal_concat, reduce, reduce_concat). */
    if (pairs.kind == V_NONE && gv.n >= (reduce ? 3 : 1)) pairs = gv.items[reduce ? 2 : 0];
    if (concat.kind == V_NONE && gv.n >= (reduce ? 4 : 2)) concat = gv.items[reduce ? 3 : 1];
    if (pairs.kind != V_LIST || concat.kind == V_NONE) {
        fe_error(fe, gv.loc, "Genotype needs %s=[(op, input), ...] and %s=[...]", want, wantc);
        return false;
    }
    if (pairs.n == 0 || pairs.n % 2) {
        fe_error(fe, pairs.loc, "Genotype %s needs an even number of (op, input) pairs, two per node", want);
        return false;
    }
    c->steps = pairs.n / 2;
    c->nodes = fe_arena_alloc(&fe->arena, sizeof(NodeSpec) * (size_t)c->steps);
    bool ok = true;
    for (int t = 0; t < c->steps; t++) {
        c->nodes[t].e = fe_arena_alloc(&fe->arena, sizeof(EdgeSpec) * 2);
        for (int k = 0; k < 2; k++) ok &= edge_pair(fe, pairs.items[2 * t + k], &c->nodes[t].e[k]);
        c->nodes[t].n = 2;
    }
    ok &= int_list(fe, concat, "a concatenated state", &c->concat, &c->nconcat);
    return ok && check_cell_indices(fe, c);
}

/* Resolves an edge's operation to a primitive (and arguments) or an op list. */
static bool resolve_edge(Elab *E, Val op, Decl *optable, Decl **prim, CallArgs *ca, Decl **list)
{
    FeCtx *fe = E->fe;
    memset(ca, 0, sizeof *ca);
    *prim = NULL;
    *list = NULL;
    if (op.kind == V_CALL && strcmp(op.s, "mixed") == 0) {
        Decl *l = NULL;
        if (op.n == 1 && op.nk == 0 && op.items[0].kind == V_NAME) l = fe_lookup(fe, op.items[0].s);
        if (!l || l->kind != DECL_OPS) {
            const char *s = op.n == 1 && op.items[0].kind == V_NAME ? fe_suggest_symbol(fe, op.items[0].s, DECL_OPS) : NULL;
            if (s) fe_error(fe, op.n ? op.items[0].loc : op.loc, "mixed() needs the name of an op list (did you mean '%s'?)", s);
            else fe_error(fe, op.n ? op.items[0].loc : op.loc, "mixed() needs the name of an op list, e.g. mixed(DARTS_PRIMITIVES)");
            return false;
        }
        *list = l;
        return true;
    }
    const char *name = NULL;
    if (op.kind == V_NAME || op.kind == V_STRING) name = op.s;
    else if (op.kind == V_CALL) {
        name = op.s;
        ca->pos = op.items; ca->npos = op.n; ca->knames = op.knames; ca->kvals = op.kvals; ca->nk = op.nk;
    } else {
        fe_error(fe, op.loc, "an edge's operation must be a primitive name or mixed(LIST)");
        return false;
    }
    const char *pname = name;
    if (optable) {
        const char *mapped = NULL;
        const char **names = fe_arena_alloc(&fe->arena, sizeof(char *) * (size_t)(optable->nentries + 1));
        for (int i = 0; i < optable->nentries; i++) {
            names[i] = optable->entries[i].name;
            if (strcmp(optable->entries[i].name, name) == 0) mapped = optable->entries[i].prim;
        }
        if (!mapped) {
            const char *s = fe_suggest(name, names, optable->nentries);
            if (s) fe_error(fe, op.loc, "'%s' is not in op table '%s' (did you mean '%s'?)", name, optable->name, s);
            else fe_error(fe, op.loc, "'%s' is not in op table '%s'", name, optable->name);
            return false;
        }
        pname = mapped;
    }
    Decl *d = fe_lookup(fe, pname);
    if (!d || d->kind != DECL_PRIMITIVE) {
        const char *s = fe_suggest_symbol(fe, pname, DECL_PRIMITIVE);
        if (s) fe_error(fe, op.loc, "unknown primitive '%s' (did you mean '%s'?)", pname, s);
        else fe_error(fe, op.loc, "unknown primitive '%s'", pname);
        return false;
    }
    *prim = d;
    return true;
}

/* Graphviz label of an edge. */
static const char *edge_label(Elab *E, Val op)
{
    char buf[128];
    if (op.kind == V_CALL && op.n == 1 && op.items[0].kind == V_NAME)
        snprintf(buf, sizeof buf, "%s(%s)", op.s, op.items[0].s);
    else
        val_print(buf, sizeof buf, op);
    if (op.kind == V_STRING) snprintf(buf, sizeof buf, "%s", op.s);
    return fe_arena_strndup(&E->fe->arena, buf, strlen(buf));
}

typedef struct {
    Block *b;
    Env env;
    Decl *optable;
    bool affine;
    bool search;
    IrWeighting weighting;
    Decl *pre, *pre_reduce;
    int alpha[2];       /* arch_softmax node per role (normal, reduce), -1 */
} NetCtx;

static int apply_edge(Elab *E, NetCtx *N, CellSpec *c, EdgeSpec *e, int x, int C, int stride, int cell,
                      int edge_index, int mixed_row, int role)
{
    FeCtx *fe = E->fe;
    Decl *prim, *list;
    CallArgs ca;
    if (!resolve_edge(E, e->op, N->optable, &prim, &ca, &list)) return -1;
    PCtx ctx = { C, stride, N->affine };
    char prefix[300];
    snprintf(prefix, sizeof prefix, "cells.%d._ops.%d.", cell, edge_index);
    snprintf(E->context, sizeof E->context, "in cell %d (%s), edge (%s, %d)", cell, c->name, edge_label(E, e->op), e->from);
    E->context_loc = e->loc;
    int y;
    if (prim) {
        y = elab_primitive(E, prim, &ca, e->loc, x, &ctx, prefix);
        if (y >= 0 && y != x && !N->search) {
            IrAttrs at = ir_attrs_default();
            y = ir_add(E->g, OP_DROP_PATH, &y, 1, &at);
        }
    } else {
        int P = list->nentries;
        int *in = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)(P + 1));
        in[0] = N->alpha[role];
        E->in_mixed = true;
        y = 0;
        for (int k = 0; k < P && y >= 0; k++) {
            CallArgs none;
            memset(&none, 0, sizeof none);
            Decl *d = fe_lookup(fe, list->entries[k].prim);
            char cp[320];
            snprintf(cp, sizeof cp, "%s_ops.%d.", prefix, k);
            in[k + 1] = y = elab_candidate(E, d, &none, e->loc, x, &ctx, cp);
            if (y >= 0 && k > 0 &&
                !ir_shape_eq(E->g->nodes[y].shape, E->g->nodes[in[1]].shape)) {
                char b1[64], b2[64];
                fe_error(fe, e->loc, "candidate '%s' gives %s but '%s' gives %s in cell %d", list->entries[k].name,
                         ir_shape_str(E->g->nodes[y].shape, b1, sizeof b1), list->entries[0].name,
                         ir_shape_str(E->g->nodes[in[1]].shape, b2, sizeof b2), cell);
                fe_note(fe, list->entries[k].loc, "'%s' is listed here", list->entries[k].name);
                y = -1;
            }
        }
        E->in_mixed = false;
        if (y >= 0 && mixed_row == 0) {
            /* the op names of this role's edges, for genotype extraction */
            char names[2048];
            size_t len = 0;
            names[0] = 0;
            for (int k = 0; k < P && len < sizeof names; k++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", k ? "," : "", list->entries[k].name);
            const char *r = role ? "reduce" : "normal";
            char key[64];
            snprintf(key, sizeof key, "arch.%s.ops", r);
            ir_meta(E->g, key, "%s", names);
            snprintf(key, sizeof key, "arch.%s.steps", r);
            ir_meta(E->g, key, "%d", c->steps);
            len = 0;
            for (int k = 0; k < c->nconcat && len < sizeof names; k++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%d", k ? "," : "", c->concat[k]);
            snprintf(key, sizeof key, "arch.%s.concat", r);
            ir_meta(E->g, key, "%s", names);
            if (N->optable) ir_meta(E->g, "arch.optable", "%s", N->optable->name);
        }
        if (y >= 0) {
            IrAttrs at = ir_attrs_default();
            at.row = mixed_row;
            at.weighting = N->weighting;
            y = ir_add(E->g, OP_MIXED, in, P + 1, &at);
            if (y < 0) fe_error(fe, e->loc, "%s", E->g->err);
        }
    }
    E->context[0] = 0;
    if (y >= 0 && E->g->nodes[y].shape.d[1] != C) {
        fe_error(fe, e->loc, "this edge gives %d channels but the cell works with C = %d", E->g->nodes[y].shape.d[1], C);
        return -1;
    }
    return y;
}

/* Elaborates cell `cell` with the given inputs; returns its output node. */
static int elab_cell(Elab *E, NetCtx *N, CellSpec *c, int cell, bool reduction, int s0, int s1, int C)
{
    FeCtx *fe = E->fe;
    IrGraph *g = E->g;
    ir_set_region(g, reduction ? "reduction cell" : "normal cell", cell, false);
    char prefix[300];
    PCtx ctx = { C, 1, N->affine };
    CallArgs none;
    memset(&none, 0, sizeof none);
    bool shrink = g->nodes[s0].shape.d[2] != g->nodes[s1].shape.d[2];
    snprintf(prefix, sizeof prefix, "cells.%d.preprocess0.", cell);
    snprintf(E->context, sizeof E->context, "in the preprocessing of cell %d", cell);
    if (shrink) ctx.stride = 2;
    int p0 = elab_primitive(E, shrink ? N->pre_reduce : N->pre, &none, c->loc, s0, &ctx, prefix);
    ctx.stride = 1;
    snprintf(prefix, sizeof prefix, "cells.%d.preprocess1.", cell);
    int p1 = p0 < 0 ? -1 : elab_primitive(E, N->pre, &none, c->loc, s1, &ctx, prefix);
    E->context[0] = 0;
    if (p1 < 0) return -1;
    if (!ir_shape_eq(g->nodes[p0].shape, g->nodes[p1].shape)) {
        char b1[64], b2[64];
        fe_error(fe, c->loc, "cell %d: its preprocessed inputs differ: %s and %s", cell,
                 ir_shape_str(g->nodes[p0].shape, b1, sizeof b1), ir_shape_str(g->nodes[p1].shape, b2, sizeof b2));
        return -1;
    }
    int *states = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)(c->steps + 2));
    states[0] = p0;
    states[1] = p1;
    int stride = c->stride > 0 ? c->stride : reduction ? 2 : 1;
    int edge_index = 0, mixed_row = 0;
    CellTrace *tr = &E->cells[E->ncells++];
    memset(tr, 0, sizeof *tr);
    tr->index = cell;
    tr->reduction = reduction;
    tr->C = C;
    tr->steps = c->steps;
    int total = 0;
    for (int t = 0; t < c->steps; t++) total += c->nodes[t].n;
    tr->edge_op = fe_arena_alloc(&fe->arena, sizeof(char *) * (size_t)(total + 1));
    tr->edge_from = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)(total + 1));
    tr->edge_to = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)(total + 1));
    for (int t = 0; t < c->steps; t++) {
        NodeSpec *ns = &c->nodes[t];
        int *outs = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)(ns->n + 1));
        for (int k = 0; k < ns->n; k++) {
            EdgeSpec *e = &ns->e[k];
            int s = e->from < 2 ? stride : 1;
            bool mixed = e->op.kind == V_CALL && strcmp(e->op.s, "mixed") == 0;
            outs[k] = apply_edge(E, N, c, e, states[e->from], C, s, cell, edge_index, mixed_row, reduction);
            tr->edge_op[tr->nedges] = edge_label(E, e->op);
            tr->edge_from[tr->nedges] = e->from;
            tr->edge_to[tr->nedges] = t + 2;
            tr->nedges++;
            edge_index++;
            mixed_row += mixed;
            if (outs[k] < 0) return -1;
        }
        for (int k = 1; k < ns->n; k++)
            if (!ir_shape_eq(g->nodes[outs[k]].shape, g->nodes[outs[0]].shape)) {
                char b1[64], b2[64];
                fe_error(fe, ns->e[k].loc, "node %d of cell %d: edge (%s, %d) gives %s but edge (%s, %d) gives %s", t + 2,
                         cell, edge_label(E, ns->e[k].op), ns->e[k].from,
                         ir_shape_str(g->nodes[outs[k]].shape, b1, sizeof b1), edge_label(E, ns->e[0].op),
                         ns->e[0].from, ir_shape_str(g->nodes[outs[0]].shape, b2, sizeof b2));
                return -1;
            }
        if (ns->n == 1) {
            states[t + 2] = outs[0];
        } else {
            IrAttrs at = ir_attrs_default();
            states[t + 2] = ir_add(g, OP_ADD, outs, ns->n, &at);
            if (states[t + 2] < 0) { fe_error(fe, c->loc, "%s", g->err); return -1; }
        }
    }
    tr->concat = c->concat;
    tr->nconcat = c->nconcat;
    if (c->nconcat == 1) return states[c->concat[0]];
    int *in = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)c->nconcat);
    for (int i = 0; i < c->nconcat; i++) in[i] = states[c->concat[i]];
    IrAttrs at = ir_attrs_default();
    int y = ir_add(g, OP_CONCAT, in, c->nconcat, &at);
    if (y < 0) {
        fe_error(fe, c->loc, "cell %d cannot concatenate its states: %s", cell, g->err);
        return -1;
    }
    tr->H = g->nodes[y].shape.d[2];
    return y;
}

static Decl *setting_decl(Elab *E, Block *b, const char *name, DeclKind kind, const char *what, bool required)
{
    FeCtx *fe = E->fe;
    Val v;
    Setting *s = block_get(b, name);
    if (!s) {
        if (required) fe_error(fe, b->decl->name_loc, "network '%s' needs `%s`", b->decl->name, name);
        return NULL;
    }
    if (!block_val(fe, b, name, &v)) return NULL;
    if (v.kind != V_NAME) {
        fe_error(fe, v.loc, "`%s` must name a %s", name, what);
        return NULL;
    }
    Decl *d = fe_lookup(fe, v.s);
    if (!d || d->kind != kind) {
        const char *sug = fe_suggest_symbol(fe, v.s, (int)kind);
        if (sug) fe_error(fe, v.loc, "unknown %s '%s' (did you mean '%s'?)", what, v.s, sug);
        else fe_error(fe, v.loc, "unknown %s '%s'", what, v.s);
        return NULL;
    }
    return d;
}

static Setting *body_setting(Elab *E, Block *b, const char *name, bool required)
{
    Setting *s = block_get(b, name);
    if (!s) {
        if (required) fe_error(E->fe, b->decl->name_loc, "network '%s' needs a `%s { ... }` block", b->decl->name, name);
        return NULL;
    }
    if (!s->has_body) {
        fe_error(E->fe, s->name_loc, "`%s` takes a block of layers: %s { ... }", name, name);
        return NULL;
    }
    return s;
}

static int run_body(Elab *E, NetCtx *N, Setting *s, const char *prefix, int x, int C_out)
{
    PCtx ctx = { C_out, 1, true };
    Env env = N->env;
    Val v;
    memset(&v, 0, sizeof v);
    v.kind = V_INT;
    v.i = E->g->nodes[x].shape.d[1];
    env_bind(E->fe, &env, "C_in", v);
    return elab_body(E, &s->body, &env, prefix, x, &ctx);
}

IrGraph *elab_network(Elab *E, Decl *net, IrWeighting weighting)
{
    FeCtx *fe = E->fe;
    Block b;
    if (!block_open(fe, net, &b)) return NULL; /* settings were checked by fe_check */
    int before = fe_error_count(fe);
    NetCtx N;
    memset(&N, 0, sizeof N);
    N.b = &b;
    N.env = block_env(fe, &b);
    N.weighting = weighting;
    N.alpha[0] = N.alpha[1] = -1;
    Val v;
    int inC = 0, inH = 0, inW = 0, classes = 0, C = 0, layers = 0;
    if (!block_val(fe, &b, "input", &v)) {
        if (!block_get(&b, "input")) fe_error(fe, net->name_loc, "network '%s' needs `input` (e.g. input 3x32x32;)", net->name);
    } else if (v.kind != V_LIST || v.n != 3 || !pos_int(fe, v.items[0], "input channels", 1, 4096, &inC) ||
               !pos_int(fe, v.items[1], "input height", 1, 8192, &inH) ||
               !pos_int(fe, v.items[2], "input width", 1, 8192, &inW)) {
        if (v.kind != V_LIST || v.n != 3) fe_error(fe, v.loc, "input is channels x height x width, e.g. 3x32x32");
    }
    const char *ints[] = { "classes", "C", "layers" };
    int *dst[] = { &classes, &C, &layers };
    for (int i = 0; i < 3; i++) {
        if (block_val(fe, &b, ints[i], &v)) pos_int(fe, v, ints[i], 1, 1 << 20, dst[i]);
        else if (!block_get(&b, ints[i])) fe_error(fe, net->name_loc, "network '%s' needs `%s`", net->name, ints[i]);
    }
    E->C_mid = 32;
    if (block_val(fe, &b, "C_mid", &v)) pos_int(fe, v, "C_mid", 1, 1 << 20, &E->C_mid);
    bool dbl = true;
    if (block_val(fe, &b, "double_channels", &v)) val_bool(fe, v, "double_channels", &dbl);
    /* cells or genotype */
    CellSpec cs[2];
    bool have_cells = false;
    Setting *cells_s = block_get(&b, "cells"), *geno_s = block_get(&b, "genotype");
    if (cells_s && geno_s) {
        fe_error(fe, geno_s->name_loc, "a network takes `cells` or `genotype`, not both");
    } else if (cells_s) {
        if (block_val(fe, &b, "cells", &v)) {
            if (v.kind != V_LIST || v.n != 2) {
                fe_error(fe, v.loc, "`cells` names the normal and the reduction cell: cells normal, reduce;");
            } else {
                have_cells = true;
                for (int i = 0; i < 2; i++) {
                    Val cv = v.items[i];
                    Decl *d = cv.kind == V_NAME ? fe_lookup(fe, cv.s) : NULL;
                    if (!d || d->kind != DECL_BLOCK || strcmp(d->block_kind, "cell") != 0) {
                        const char *sug = cv.kind == V_NAME ? fe_suggest_symbol(fe, cv.s, DECL_BLOCK) : NULL;
                        if (sug) fe_error(fe, cv.loc, "unknown cell '%s' (did you mean '%s'?)", cv.s, sug);
                        else fe_error(fe, cv.loc, "`cells` must name two cell blocks");
                        have_cells = false;
                    } else {
                        have_cells &= cell_from_block(E, d, &cs[i]);
                    }
                }
            }
        }
    } else if (geno_s) {
        if (block_val(fe, &b, "genotype", &v)) {
            Val gv = v;
            if (v.kind == V_NAME) {
                Decl *d = fe_lookup(fe, v.s);
                if (!d || d->kind != DECL_ASSIGN) {
                    const char *sug = fe_suggest_symbol(fe, v.s, DECL_ASSIGN);
                    if (sug) fe_error(fe, v.loc, "unknown genotype '%s' (did you mean '%s'?)", v.s, sug);
                    else fe_error(fe, v.loc, "unknown genotype '%s'", v.s);
                    gv.kind = V_NONE;
                } else {
                    Env empty = { NULL, NULL, NULL };
                    gv = fe_eval(fe, &empty, d->value);
                }
            }
            if (gv.kind == V_CALL && strcmp(gv.s, "Genotype") == 0) {
                have_cells = cell_from_genotype(E, gv, false, &cs[0]);
                have_cells &= cell_from_genotype(E, gv, true, &cs[1]);
            } else if (gv.kind != V_NONE) {
                fe_error(fe, gv.loc, "a genotype is written Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])");
            }
        }
    } else {
        fe_error(fe, net->name_loc, "network '%s' needs `cells NORMAL, REDUCE;` or `genotype NAME;`", net->name);
    }
    /* reductions */
    int *reduce_at = NULL, nreduce = 0, spacing = 0;
    if (block_get(&b, "reduce_spacing")) {
        if (block_val(fe, &b, "reduce_spacing", &v)) pos_int(fe, v, "reduce_spacing", 1, 1 << 20, &spacing);
    } else if (block_get(&b, "reduce_at")) {
        if (block_val(fe, &b, "reduce_at", &v)) int_list(fe, v, "a reduction position", &reduce_at, &nreduce);
    } else {
        reduce_at = fe_arena_alloc(&fe->arena, sizeof(int) * 2);
        reduce_at[0] = layers / 3;
        reduce_at[1] = 2 * layers / 3;
        nreduce = 2;
    }
    N.optable = setting_decl(E, &b, "optable", DECL_OPS, "op list", false);
    N.pre = setting_decl(E, &b, "preprocess", DECL_PRIMITIVE, "primitive", true);
    N.pre_reduce = setting_decl(E, &b, "preprocess_reduce", DECL_PRIMITIVE, "primitive", true);
    Setting *stem = NULL, *stem0 = NULL, *stem1 = NULL;
    if (block_get(&b, "stem0") || block_get(&b, "stem1")) {
        stem0 = body_setting(E, &b, "stem0", true);
        stem1 = body_setting(E, &b, "stem1", true);
    } else {
        stem = body_setting(E, &b, "stem", true);
    }
    Setting *head = body_setting(E, &b, "head", true);
    int aux_at = -1;
    bool aux_on = true;
    Setting *aux_head = NULL;
    if (block_val(fe, &b, "auxiliary", &v)) val_bool(fe, v, "auxiliary", &aux_on);
    if (aux_on && block_get(&b, "auxiliary_at")) {
        if (block_val(fe, &b, "auxiliary_at", &v)) pos_int(fe, v, "auxiliary_at", 0, layers - 1, &aux_at);
        aux_head = body_setting(E, &b, "auxiliary_head", true);
    }
    if (fe_error_count(fe) != before || !have_cells) return NULL;
    N.search = false;
    for (int r = 0; r < 2; r++)
        for (int t = 0; t < cs[r].steps; t++)
            for (int k = 0; k < cs[r].nodes[t].n; k++) {
                Val op = cs[r].nodes[t].e[k].op;
                if (op.kind == V_CALL && strcmp(op.s, "mixed") == 0) {
                    cs[r].search = N.search = true;
                    Decl *p, *l;
                    CallArgs ca;
                    if (!resolve_edge(E, op, NULL, &p, &ca, &l)) return NULL;
                    if (cs[r].list && cs[r].list != l) {
                        fe_error(fe, op.loc, "all mixed edges of a cell use one op list: '%s' here, '%s' elsewhere",
                                 l->name, cs[r].list->name);
                        return NULL;
                    }
                    cs[r].list = l;
                }
            }
    N.affine = !N.search;
    if (block_val(fe, &b, "affine", &v)) val_bool(fe, v, "affine", &N.affine);
    if (fe_error_count(fe) != before) return NULL;

    /* Check every op list used by a mixed edge resolves to primitives. */
    for (int r = 0; r < 2; r++) {
        if (!cs[r].list) continue;
        for (int k = 0; k < cs[r].list->nentries; k++) {
            Decl *d = fe_lookup(fe, cs[r].list->entries[k].prim);
            if (!d || d->kind != DECL_PRIMITIVE) return NULL; /* reported by fe_check */
        }
    }

    IrGraph *g = ir_graph_new(net->name);
    E->g = g;
    E->cells = fe_arena_alloc(&fe->arena, sizeof(CellTrace) * (size_t)(layers + 1));
    E->ncells = 0;
    ir_set_region(g, "architecture", -1, false);
    for (int r = 0; r < 2; r++) {
        if (!cs[r].list) continue;
        int rows = 0;
        for (int t = 0; t < cs[r].steps; t++) rows += cs[r].nodes[t].n;
        IrShape s = { 2, false, { rows, cs[r].list->nentries, 0, 0 } };
        int a = ir_param(g, r ? "alphas_reduce" : "alphas_normal", s, IR_F32, IR_PARAM_ARCH, IR_INIT_ARCH_NORMAL, 0);
        N.alpha[r] = ir_add(g, OP_ARCH_SOFTMAX, &a, 1, NULL);
    }
    ir_set_region(g, "input", -1, false);
    int x = ir_input(g, "images", ir_shape4(inC, inH, inW), IR_F32);
    ir_set_region(g, "stem", -1, false);
    int s0, s1;
    if (stem) {
        s0 = s1 = run_body(E, &N, stem, "stem.", x, 3 * C);
    } else {
        s0 = run_body(E, &N, stem0, "stem0.", x, C);
        s1 = s0 < 0 ? -1 : run_body(E, &N, stem1, "stem1.", s0, C);
    }
    int curC = C, aux_src = -1;
    for (int i = 0; i < layers && s1 >= 0; i++) {
        bool red = false;
        if (spacing) red = (i + 1) % spacing == 0;
        for (int k = 0; k < nreduce; k++) red |= reduce_at[k] == i;
        if (red && dbl) curC *= 2;
        int y = elab_cell(E, &N, &cs[red], i, red, s0, s1, curC);
        s0 = s1;
        s1 = y;
        if (i == aux_at) aux_src = y;
    }
    int logits = -1;
    if (s1 >= 0) {
        ir_set_region(g, "head", -1, false);
        logits = run_body(E, &N, head, "", s1, classes);
        if (logits >= 0) {
            IrShape ls = g->nodes[logits].shape;
            if (ls.rank != 2 || ls.d[1] != classes) {
                char bs[64];
                fe_error(fe, head->name_loc, "the head gives %s; it must give [N,%d] logits (global_avg_pool, then linear)",
                         ir_shape_str(ls, bs, sizeof bs), classes);
                logits = -1;
            } else {
                ir_output(g, "logits", logits);
            }
        }
    }
    if (logits >= 0 && aux_src >= 0) {
        ir_set_region(g, "auxiliary head", -1, true);
        int al = run_body(E, &N, aux_head, "auxiliary_head.", aux_src, classes);
        if (al >= 0) {
            IrShape ls = g->nodes[al].shape;
            if (ls.rank != 2 || ls.d[1] != classes) {
                char bs[64];
                fe_error(fe, aux_head->name_loc, "the auxiliary head gives %s; it must give [N,%d] logits",
                         ir_shape_str(ls, bs, sizeof bs), classes);
            } else {
                ir_output(g, "aux_logits", al);
            }
        }
    }
    if (fe_error_count(fe) != before) {
        ir_graph_free(g);
        E->g = NULL;
        return NULL;
    }
    return g;
}
