/* elab_layers.c: elaboration of layer bodies (primitives, stems, heads) into
 * IR nodes. A body is a sequence of statements applied to one current tensor.
 *
 * Parameter names follow the reference PyTorch modules: within a sequence,
 * an unlabeled layer at position i is named "i", a labeled one by its label;
 * `label: { ... }` opens a named sub-sequence; the layers in the branches of
 * a join continue the enclosing numbering; a primitive called as the only
 * layer of a sequence adds no level of its own (so `sep_conv_3x3 { ssc(3); }`
 * names its weights exactly as ssc does). */
#include <string.h>

#include "elab.h"

/* ---- base operations: argument specifications ---- */

typedef enum { AK_INT, AK_INT2, AK_FLOAT, AK_BOOL } ArgKind;
typedef struct { const char *name; ArgKind kind; } ArgSpec;
typedef struct {
    const char *name;
    int nargs;
    int required;      /* the first `required` arguments must be given */
    ArgSpec args[7];
} BaseOp;

static const BaseOp base_ops[] = {
    { "relu", 0, 0, { { 0 } } },
    { "identity", 0, 0, { { 0 } } },
    { "global_avg_pool", 0, 0, { { 0 } } },
    { "conv", 7, 1, { { "k", AK_INT2 }, { "stride", AK_INT2 }, { "pad", AK_INT2 }, { "dil", AK_INT2 },
                      { "groups", AK_INT }, { "out", AK_INT }, { "bias", AK_BOOL } } },
    { "dwconv", 4, 1, { { "k", AK_INT2 }, { "stride", AK_INT2 }, { "pad", AK_INT2 }, { "dil", AK_INT2 } } },
    { "bn", 3, 0, { { "affine", AK_BOOL }, { "eps", AK_FLOAT }, { "momentum", AK_FLOAT } } },
    { "max_pool", 3, 1, { { "k", AK_INT2 }, { "stride", AK_INT2 }, { "pad", AK_INT2 } } },
    { "avg_pool", 4, 1, { { "k", AK_INT2 }, { "stride", AK_INT2 }, { "pad", AK_INT2 }, { "count_include_pad", AK_BOOL } } },
    { "pad", 4, 0, { { "top", AK_INT }, { "bottom", AK_INT }, { "left", AK_INT }, { "right", AK_INT } } },
    { "slice", 2, 2, { { "from", AK_INT }, { "to", AK_INT } } },
    { "zero", 1, 0, { { "stride", AK_INT } } },
    { "linear", 2, 1, { { "out", AK_INT }, { "bias", AK_BOOL } } },
    { "scale", 1, 1, { { "factor", AK_FLOAT } } },
};
#define NBASE ((int)(sizeof base_ops / sizeof base_ops[0]))

/* A converted argument. */
typedef struct {
    bool given;
    int a, b;      /* AK_INT: a; AK_INT2: (a, b) */
    double f;
    bool flag;
    Loc loc;
} Arg;

const char *const *elab_base_op_names(int *n)
{
    static const char *names[NBASE];
    for (int i = 0; i < NBASE; i++) names[i] = base_ops[i].name;
    *n = NBASE;
    return names;
}

static const BaseOp *find_base(const char *name)
{
    for (int i = 0; i < NBASE; i++)
        if (strcmp(base_ops[i].name, name) == 0) return &base_ops[i];
    return NULL;
}

bool elab_is_base_op(const char *name) { return find_base(name) != NULL; }

static bool convert_arg(FeCtx *fe, const BaseOp *op, int k, Val v, Arg *out)
{
    char what[96];
    snprintf(what, sizeof what, "argument '%s' of %s", op->args[k].name, op->name);
    out->given = true;
    out->loc = v.loc;
    int64_t x, y;
    switch (op->args[k].kind) {
    case AK_INT:
        if (!val_int(fe, v, what, &x)) return false;
        if (x < -(1 << 24) || x > (1 << 24)) { fe_error(fe, v.loc, "%s is out of range", what); return false; }
        out->a = out->b = (int)x;
        return true;
    case AK_INT2:
        if (v.kind == V_LIST) {
            if (v.n != 2) { fe_error(fe, v.loc, "%s must be one integer or two (height, width)", what); return false; }
            if (!val_int(fe, v.items[0], what, &x) || !val_int(fe, v.items[1], what, &y)) return false;
        } else {
            if (!val_int(fe, v, what, &x)) return false;
            y = x;
        }
        if (x < -(1 << 24) || x > (1 << 24) || y < -(1 << 24) || y > (1 << 24)) {
            fe_error(fe, v.loc, "%s is out of range", what);
            return false;
        }
        out->a = (int)x;
        out->b = (int)y;
        return true;
    case AK_FLOAT:
        return val_num(fe, v, what, &out->f);
    case AK_BOOL:
        return val_bool(fe, v, what, &out->flag);
    }
    return false;
}

/* Matches positional and keyword arguments to the op's specification. */
static bool bind_base_args(FeCtx *fe, const BaseOp *op, const CallArgs *ca, Loc where, Arg *args)
{
    bool ok = true;
    memset(args, 0, sizeof(Arg) * 7);
    if (ca->npos > op->nargs) {
        fe_error(fe, ca->pos[op->nargs].loc, "%s takes at most %d positional argument%s", op->name, op->nargs,
                 op->nargs == 1 ? "" : "s");
        ok = false;
    }
    for (int i = 0; i < ca->npos && i < op->nargs; i++) ok &= convert_arg(fe, op, i, ca->pos[i], &args[i]);
    for (int i = 0; i < ca->nk; i++) {
        int k = -1;
        for (int j = 0; j < op->nargs; j++)
            if (strcmp(op->args[j].name, ca->knames[i]) == 0) k = j;
        if (k < 0) {
            const char *names[7];
            for (int j = 0; j < op->nargs; j++) names[j] = op->args[j].name;
            const char *s = fe_suggest(ca->knames[i], names, op->nargs);
            if (s) fe_error(fe, ca->kvals[i].loc, "%s has no argument '%s' (did you mean '%s'?)", op->name, ca->knames[i], s);
            else fe_error(fe, ca->kvals[i].loc, "%s has no argument '%s'", op->name, ca->knames[i]);
            ok = false;
            continue;
        }
        if (args[k].given) {
            fe_error(fe, ca->kvals[i].loc, "argument '%s' of %s is given twice", ca->knames[i], op->name);
            ok = false;
            continue;
        }
        ok &= convert_arg(fe, op, k, ca->kvals[i], &args[k]);
    }
    for (int i = 0; i < op->required; i++)
        if (!args[i].given && ok) {
            fe_error(fe, where, "%s needs argument '%s'", op->name, op->args[i].name);
            ok = false;
        }
    return ok;
}

/* ---- naming ---- */

static void child_name(char *out, size_t size, const Scope *sc, const char *label, int index)
{
    if (label)
        snprintf(out, size, "%s%s", sc->prefix, label);
    else
        snprintf(out, size, "%s%d", sc->prefix, index);
}

static int new_param(Elab *E, const char *base, const char *suffix, IrShape shape, IrDtype dt, IrParamKind kind,
                     IrInit init, int fan_in)
{
    char name[320];
    snprintf(name, sizeof name, "%s.%s", base, suffix);
    return ir_param(E->g, name, shape, dt, kind, init, fan_in);
}

static IrShape pshape(int rank, int a, int b, int c, int d)
{
    IrShape s = { (int8_t)rank, false, { a, b, c, d } };
    return s;
}

static bool check_range(FeCtx *fe, const Arg *a, const char *what, int lo, int hi)
{
    if (!a->given) return true;
    if (a->a < lo || a->b < lo || a->a > hi || a->b > hi) {
        if (hi >= (1 << 24))
            fe_error(fe, a->loc, "%s must be at least %d", what, lo);
        else
            fe_error(fe, a->loc, "%s must be between %d and %d", what, lo, hi);
        return false;
    }
    return true;
}

/* Adds node `op` to the graph or reports why it does not fit at `where`. */
static int add_or_report(Elab *E, IrOp op, const int *in, int nin, const IrAttrs *a, Loc where)
{
    int id = ir_add(E->g, op, in, nin, a);
    if (id < 0) {
        fe_error(E->fe, where, "%s", E->g->err);
        if (E->context[0]) fe_note(E->fe, E->context_loc, "%s", E->context);
    }
    return id;
}

/* Elaborates one base operation on tensor x. Returns the new tensor or -1. */
static int elab_base(Elab *E, const BaseOp *op, const CallArgs *ca, Loc where, const char *pname,
                     int x, const PCtx *ctx)
{
    FeCtx *fe = E->fe;
    Arg A[7];
    if (!bind_base_args(fe, op, ca, where, A)) return -1;
    IrShape xs = E->g->nodes[x].shape;
    int cin = xs.rank == 4 ? xs.d[1] : xs.rank == 2 ? xs.d[1] : 0;
    IrAttrs at = ir_attrs_default();
    const char *n = op->name;
    if (strcmp(n, "identity") == 0) return x;
    if (strcmp(n, "relu") == 0) return add_or_report(E, OP_RELU, &x, 1, &at, where);
    if (strcmp(n, "global_avg_pool") == 0) return add_or_report(E, OP_GLOBAL_AVG_POOL, &x, 1, &at, where);
    if (strcmp(n, "conv") == 0 || strcmp(n, "dwconv") == 0) {
        bool dw = n[0] == 'd';
        if (!check_range(fe, &A[0], "kernel size", 1, 64) || !check_range(fe, &A[1], "stride", 1, 64) ||
            !check_range(fe, &A[2], "padding", 0, 64) || !check_range(fe, &A[3], "dilation", 1, 64))
            return -1;
        if (!dw && (!check_range(fe, &A[4], "groups", 1, 1 << 20) || !check_range(fe, &A[5], "output channels", 1, 1 << 20)))
            return -1;
        if (xs.rank != 4) {
            fe_error(fe, where, "%s needs an image tensor, but its input has no spatial dimensions", n);
            return -1;
        }
        at.kh = A[0].a; at.kw = A[0].b;
        at.sh = A[1].given ? A[1].a : 1; at.sw = A[1].given ? A[1].b : 1;
        at.pt = at.pb = A[2].given ? A[2].a : 0;
        at.pl = at.pr = A[2].given ? A[2].b : 0;
        at.dh = A[3].given ? A[3].a : 1; at.dw = A[3].given ? A[3].b : 1;
        int out = cin;
        if (dw) at.groups = cin;
        else {
            at.groups = A[4].given ? A[4].a : 1;
            out = A[5].given ? A[5].a : cin;
        }
        if (at.groups <= 0 || cin % at.groups || out % at.groups) {
            fe_error(fe, A[4].given ? A[4].loc : where, "conv: %d groups do not divide %d input and %d output channels",
                     at.groups, cin, out);
            return -1;
        }
        int fan_in = cin / at.groups * at.kh * at.kw;
        int w = new_param(E, pname, "weight", pshape(4, out, cin / at.groups, at.kh, at.kw), IR_F32, IR_PARAM_WEIGHT,
                          IR_INIT_KAIMING_UNIFORM, fan_in);
        int in[2] = { x, w };
        int y = add_or_report(E, OP_CONV2D, in, 2, &at, where);
        if (y >= 0 && !dw && A[6].given && A[6].flag) {
            /* No IR op adds a per-channel bias yet; only the HyperCuboid
             * `none`/`skip` adapters (sharpdarts.md §9.1) would need one. */
            fe_error(fe, A[6].loc, "conv bias is not supported yet");
            return -1;
        }
        return y;
    }
    if (strcmp(n, "bn") == 0) {
        if (xs.rank != 4) { fe_error(fe, where, "bn needs an image tensor"); return -1; }
        at.affine = A[0].given ? A[0].flag : ctx->affine;
        at.eps = A[1].given ? (float)A[1].f : 1e-5f;
        at.momentum = A[2].given ? (float)A[2].f : 0.1f;
        if (at.eps <= 0 || !(at.momentum >= 0 && at.momentum <= 1)) {
            fe_error(fe, where, "bn: eps must be positive and momentum within [0, 1]");
            return -1;
        }
        int in[6] = { x, 0, 0, 0, 0, 0 };
        int c = xs.d[1];
        if (at.affine) {
            in[4] = new_param(E, pname, "weight", pshape(1, c, 0, 0, 0), IR_F32, IR_PARAM_WEIGHT, IR_INIT_ONES, 0);
            in[5] = new_param(E, pname, "bias", pshape(1, c, 0, 0, 0), IR_F32, IR_PARAM_WEIGHT, IR_INIT_ZEROS, 0);
        }
        in[1] = new_param(E, pname, "running_mean", pshape(1, c, 0, 0, 0), IR_F32, IR_PARAM_BUFFER, IR_INIT_ZEROS, 0);
        in[2] = new_param(E, pname, "running_var", pshape(1, c, 0, 0, 0), IR_F32, IR_PARAM_BUFFER, IR_INIT_ONES, 0);
        in[3] = new_param(E, pname, "num_batches_tracked", pshape(0, 0, 0, 0, 0), IR_I64, IR_PARAM_BUFFER, IR_INIT_ZEROS, 0);
        return add_or_report(E, OP_BATCH_NORM, in, at.affine ? 6 : 4, &at, where);
    }
    if (strcmp(n, "max_pool") == 0 || strcmp(n, "avg_pool") == 0) {
        if (!check_range(fe, &A[0], "window size", 1, 64) || !check_range(fe, &A[1], "stride", 1, 64) ||
            !check_range(fe, &A[2], "padding", 0, 64))
            return -1;
        at.kh = A[0].a; at.kw = A[0].b;
        at.sh = A[1].given ? A[1].a : at.kh; at.sw = A[1].given ? A[1].b : at.kw;
        at.pt = at.pb = A[2].given ? A[2].a : 0;
        at.pl = at.pr = A[2].given ? A[2].b : 0;
        at.cip = n[0] == 'a' ? (A[3].given ? A[3].flag : true) : false;
        return add_or_report(E, n[0] == 'm' ? OP_MAX_POOL : OP_AVG_POOL, &x, 1, &at, where);
    }
    if (strcmp(n, "pad") == 0) {
        at.pt = A[0].a; at.pb = A[1].a; at.pl = A[2].a; at.pr = A[3].a;
        return add_or_report(E, OP_PAD, &x, 1, &at, where);
    }
    if (strcmp(n, "slice") == 0) {
        at.start = A[0].a;
        at.end = A[1].a;
        return add_or_report(E, OP_SLICE, &x, 1, &at, where);
    }
    if (strcmp(n, "zero") == 0) {
        if (!check_range(fe, &A[0], "stride", 1, 64)) return -1;
        at.sh = at.sw = A[0].given ? A[0].a : 1;
        return add_or_report(E, OP_ZERO, &x, 1, &at, where);
    }
    if (strcmp(n, "scale") == 0) {
        at.scale = (float)A[0].f;
        return add_or_report(E, OP_SCALE, &x, 1, &at, where);
    }
    if (strcmp(n, "linear") == 0) {
        if (!check_range(fe, &A[0], "output features", 1, 1 << 20)) return -1;
        int out = A[0].a;
        bool bias = A[1].given ? A[1].flag : true;
        if (!(xs.rank == 2 || (xs.rank == 4 && xs.d[2] == 1 && xs.d[3] == 1))) {
            char b[64];
            fe_error(fe, where, "linear needs a pooled input [N,C,1,1], got %s (pool first)", ir_shape_str(xs, b, sizeof b));
            return -1;
        }
        int in[3] = { x, 0, 0 };
        in[1] = new_param(E, pname, "weight", pshape(2, out, cin, 0, 0), IR_F32, IR_PARAM_WEIGHT, IR_INIT_KAIMING_UNIFORM, cin);
        if (bias) in[2] = new_param(E, pname, "bias", pshape(1, out, 0, 0, 0), IR_F32, IR_PARAM_WEIGHT, IR_INIT_BIAS_UNIFORM, cin);
        return add_or_report(E, OP_LINEAR, in, bias ? 3 : 2, &at, where);
    }
    unreachable();
}

/* ---- statements ---- */

/* Layers a statement list holds, counting an if by its larger branch. */
static int count_layers(const StmtList *l)
{
    int n = 0;
    for (int i = 0; i < l->n; i++) {
        const Stmt *s = l->items[i];
        if (s->kind == ST_IF) {
            int a = count_layers(&s->body), b = count_layers(&s->orelse);
            n += a > b ? a : b;
        } else if (s->kind != ST_LET) {
            n++;
        }
    }
    return n;
}

void scope_init(Scope *sc, const char *prefix, const StmtList *body)
{
    snprintf(sc->prefix, sizeof sc->prefix, "%s", prefix);
    sc->counter = 0;
    sc->single = body ? count_layers(body) == 1 : false;
}

/* Evaluates a statement's arguments. */
static void eval_args(Elab *E, Env *env, Expr **args, int n, CallArgs *ca)
{
    FeArena *ar = &E->fe->arena;
    memset(ca, 0, sizeof *ca);
    ca->pos = fe_arena_alloc(ar, sizeof(Val) * (size_t)(n + 1));
    ca->knames = fe_arena_alloc(ar, sizeof(char *) * (size_t)(n + 1));
    ca->kvals = fe_arena_alloc(ar, sizeof(Val) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        if (args[i]->kind == EX_KWARG) {
            for (int k = 0; k < ca->nk; k++)
                if (strcmp(ca->knames[k], args[i]->s) == 0)
                    fe_error(E->fe, args[i]->name_loc, "argument '%s' given twice", args[i]->s);
            ca->knames[ca->nk] = args[i]->s;
            ca->kvals[ca->nk] = fe_eval(E->fe, env, args[i]->a);
            ca->kvals[ca->nk].loc = args[i]->loc;
            ca->nk++;
        } else {
            if (ca->nk) fe_error(E->fe, args[i]->loc, "a positional argument cannot follow keyword arguments");
            ca->pos[ca->npos++] = fe_eval(E->fe, env, args[i]);
        }
    }
}

static int elab_stmts(Elab *E, const StmtList *l, Env *env, Scope *sc, int x, const PCtx *ctx);

/* Applies one layer statement (base op or primitive call) to x. */
static int elab_layer(Elab *E, const Stmt *s, Env *env, Scope *sc, int x, const PCtx *ctx)
{
    CallArgs ca;
    eval_args(E, env, s->args, s->nargs, &ca);
    const BaseOp *op = find_base(s->name);
    char pname[300];
    if (op) {
        child_name(pname, sizeof pname, sc, s->label, sc->counter++);
        return elab_base(E, op, &ca, s->loc, pname, x, ctx);
    }
    Decl *d = fe_lookup(E->fe, s->name);
    if (!d || d->kind != DECL_PRIMITIVE) {
        elab_unknown_op(E, s->name, s->name_loc, d);
        return -1;
    }
    char prefix[300];
    if (s->label)
        snprintf(prefix, sizeof prefix, "%s%s.", sc->prefix, s->label);
    else if (sc->single)
        snprintf(prefix, sizeof prefix, "%s", sc->prefix);
    else
        snprintf(prefix, sizeof prefix, "%s%d.", sc->prefix, sc->counter);
    sc->counter++;
    return elab_primitive(E, d, &ca, s->loc, x, ctx, prefix);
}

static int elab_stmt(Elab *E, const Stmt *s, Env *env, Scope *sc, int x, const PCtx *ctx)
{
    FeCtx *fe = E->fe;
    switch (s->kind) {
    case ST_LET: {
        Val v = fe_eval(fe, env, s->value);
        if (v.kind == V_NONE) return -1;
        env_bind(fe, env, s->name, v);
        return x;
    }
    case ST_IF: {
        Val c = fe_eval(fe, env, s->value);
        bool b;
        if (!val_bool(fe, c, "an if condition", &b)) return -1;
        /* Like Python: a `let` inside a branch is visible after the if. */
        return elab_stmts(E, b ? &s->body : &s->orelse, env, sc, x, ctx);
    }
    case ST_BLOCK: {
        Scope inner;
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%s%s.", sc->prefix, s->label);
        scope_init(&inner, prefix, &s->body);
        Binding *saved = env->vars;
        int y = elab_stmts(E, &s->body, env, &inner, x, ctx);
        env->vars = saved;
        sc->counter++;
        return y;
    }
    case ST_JOIN: {
        bool cat = strcmp(s->name, "concat") == 0;
        if (!cat && strcmp(s->name, "add") != 0) {
            const char *joins[] = { "concat", "add" };
            const char *sug = fe_suggest(s->name, joins, 2);
            fe_error(fe, s->name_loc, "unknown join '%s': branches are joined by concat or add%s%s%s", s->name,
                     sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
            return -1;
        }
        int *outs = fe_arena_alloc(&fe->arena, sizeof(int) * (size_t)(s->nbranches + 1));
        bool single = sc->single;
        sc->single = false;
        bool ok = true;
        for (int b = 0; b < s->nbranches; b++) {
            Binding *saved = env->vars;
            outs[b] = elab_stmts(E, &s->branches[b], env, sc, x, ctx);
            env->vars = saved;
            ok &= outs[b] >= 0;
        }
        sc->single = single;
        if (!ok) return -1;
        if (s->nbranches == 1) return outs[0];
        IrAttrs at = ir_attrs_default();
        return add_or_report(E, cat ? OP_CONCAT : OP_ADD, outs, s->nbranches, &at, s->loc);
    }
    case ST_LAYER:
        return elab_layer(E, s, env, sc, x, ctx);
    }
    return -1;
}

static int elab_stmts(Elab *E, const StmtList *l, Env *env, Scope *sc, int x, const PCtx *ctx)
{
    for (int i = 0; i < l->n && x >= 0; i++) x = elab_stmt(E, l->items[i], env, sc, x, ctx);
    return x;
}

int elab_body(Elab *E, const StmtList *body, Env *env, const char *prefix, int x, const PCtx *ctx)
{
    Scope sc;
    scope_init(&sc, prefix, body);
    Binding *saved = env->vars;
    int y = elab_stmts(E, body, env, &sc, x, ctx);
    env->vars = saved;
    return y;
}

/* Reports an unknown operation name with the nearest base op or primitive. */
void elab_unknown_op(Elab *E, const char *name, Loc loc, Decl *found)
{
    FeCtx *fe = E->fe;
    if (found) {
        fe_error(fe, loc, "'%s' is not an operation or primitive", name);
        fe_note(fe, found->name_loc, "'%s' is declared here", name);
        return;
    }
    int nb;
    const char *const *bn = elab_base_op_names(&nb);
    const char *s1 = fe_suggest(name, bn, nb);
    const char *s2 = fe_suggest_symbol(fe, name, DECL_PRIMITIVE);
    const char *s = s1 ? s1 : s2;
    if (s) fe_error(fe, loc, "unknown operation '%s' (did you mean '%s'?)", name, s);
    else fe_error(fe, loc, "unknown operation '%s'", name);
}

static const char *const reserved_args[] = { "out", "stride", "affine" };

int elab_primitive(Elab *E, Decl *d, const CallArgs *ca, Loc where, int x, const PCtx *ctx, const char *prefix)
{
    FeCtx *fe = E->fe;
    if (E->depth >= 32) {
        fe_error(fe, where, "primitive '%s' is recursive or nested deeper than 32 levels", d->name);
        return -1;
    }
    PCtx inner = *ctx;
    Env env = { NULL, NULL, NULL };
    bool ok = true;
    Val *bound = fe_arena_alloc(&fe->arena, sizeof(Val) * (size_t)(d->nparams + 1));
    bool *have = fe_arena_alloc(&fe->arena, (size_t)(d->nparams + 1));
    if (ca->npos > d->nparams) {
        fe_error(fe, ca->pos[d->nparams].loc, "primitive '%s' takes %d argument%s, %d given", d->name, d->nparams,
                 d->nparams == 1 ? "" : "s", ca->npos);
        fe_note(fe, d->name_loc, "'%s' is declared here", d->name);
        return -1;
    }
    for (int i = 0; i < ca->npos; i++) { bound[i] = ca->pos[i]; have[i] = true; }
    for (int k = 0; k < ca->nk; k++) {
        const char *kn = ca->knames[k];
        Val v = ca->kvals[k];
        int64_t iv;
        bool bv;
        if (strcmp(kn, "out") == 0) { if (val_int(fe, v, "out", &iv)) inner.C_out = (int)iv; else ok = false; continue; }
        if (strcmp(kn, "stride") == 0) { if (val_int(fe, v, "stride", &iv)) inner.stride = (int)iv; else ok = false; continue; }
        if (strcmp(kn, "affine") == 0) { if (val_bool(fe, v, "affine", &bv)) inner.affine = bv; else ok = false; continue; }
        int p = -1;
        for (int i = 0; i < d->nparams; i++)
            if (strcmp(d->params[i].name, kn) == 0) p = i;
        if (p < 0) {
            const char **names = fe_arena_alloc(&fe->arena, sizeof(char *) * (size_t)(d->nparams + 3));
            int nn = 0;
            for (int i = 0; i < d->nparams; i++) names[nn++] = d->params[i].name;
            for (int i = 0; i < 3; i++) names[nn++] = reserved_args[i];
            const char *s = fe_suggest(kn, names, nn);
            if (s) fe_error(fe, v.loc, "primitive '%s' has no parameter '%s' (did you mean '%s'?)", d->name, kn, s);
            else fe_error(fe, v.loc, "primitive '%s' has no parameter '%s'", d->name, kn);
            ok = false;
            continue;
        }
        if (have[p]) { fe_error(fe, v.loc, "parameter '%s' is given twice", kn); ok = false; continue; }
        bound[p] = v;
        have[p] = true;
    }
    if (!ok) return -1;
    if (inner.C_out <= 0 || inner.C_out > (1 << 20)) {
        fe_error(fe, where, "primitive '%s': output channels %d are out of range", d->name, inner.C_out);
        return -1;
    }
    if (inner.stride <= 0 || inner.stride > 64) {
        fe_error(fe, where, "primitive '%s': stride %d is out of range", d->name, inner.stride);
        return -1;
    }
    IrShape xs = E->g->nodes[x].shape;
    Val v;
    memset(&v, 0, sizeof v);
    v.kind = V_INT;
    v.loc = where;
    v.i = xs.rank >= 2 ? xs.d[1] : 0; env_bind(fe, &env, "C_in", v);
    v.i = inner.C_out; env_bind(fe, &env, "C_out", v);
    v.i = inner.stride; env_bind(fe, &env, "stride", v);
    v.i = E->C_mid; env_bind(fe, &env, "C_mid", v);
    v.i = xs.rank == 4 ? xs.d[2] : 1; env_bind(fe, &env, "H", v);
    v.i = xs.rank == 4 ? xs.d[3] : 1; env_bind(fe, &env, "W", v);
    v.kind = V_BOOL;
    v.i = inner.affine; env_bind(fe, &env, "affine", v);
    for (int i = 0; i < d->nparams; i++) {
        if (!have[i]) {
            if (!d->params[i].def) {
                fe_error(fe, where, "primitive '%s' needs argument '%s'", d->name, d->params[i].name);
                fe_note(fe, d->params[i].loc, "parameter '%s' is declared here", d->params[i].name);
                return -1;
            }
            bound[i] = fe_eval(fe, &env, d->params[i].def);
            if (bound[i].kind == V_NONE) return -1;
        }
        env_bind(fe, &env, d->params[i].name, bound[i]);
    }
    E->depth++;
    int y = elab_body(E, &d->body, &env, prefix, x, &inner);
    E->depth--;
    return y;
}

int elab_candidate(Elab *E, Decl *d, const CallArgs *ca, Loc where, int x, const PCtx *ctx, const char *prefix)
{
    if (!d->has_mixed || !E->in_mixed) return elab_primitive(E, d, ca, where, x, ctx, prefix);
    /* Sequential(primitive, mixed layers...): the primitive is child 0. */
    char p0[320];
    snprintf(p0, sizeof p0, "%s0.", prefix);
    int y = elab_primitive(E, d, ca, where, x, ctx, p0);
    if (y < 0) return -1;
    Scope sc;
    scope_init(&sc, prefix, NULL);
    sc.counter = 1;
    Env env = { NULL, NULL, NULL };
    E->depth++;
    y = elab_stmts(E, &d->mixed, &env, &sc, y, ctx);
    E->depth--;
    return y;
}
