/* check.c: checking a whole program (every declaration of every loaded
 * file) and choosing and elaborating the network a command works on. Static
 * checks resolve every name in primitive bodies and op lists; search, train
 * and hypercuboid blocks are checked against their settings' types and
 * ranges; networks are elaborated to check channels and shapes. */
#include <string.h>

#include "elab.h"

const char *const *fe_network_setting_names(int *n);
const char *const *fe_cell_setting_names(int *n);

static const char *const block_kinds[] = { "cell", "network", "search", "train", "hypercuboid" };
static const char *const builtin_names[] = { "C_in", "C_out", "stride", "affine", "C_mid", "H", "W", "out" };

/* ---- primitives and op lists ---- */

static void check_stmts(FeCtx *fe, const StmtList *l);

static void check_stmt(FeCtx *fe, const Stmt *s)
{
    switch (s->kind) {
    case ST_LAYER:
        if (!elab_is_base_op(s->name)) {
            Decl *d = fe_lookup(fe, s->name);
            if (!d || d->kind != DECL_PRIMITIVE) {
                Elab E;
                memset(&E, 0, sizeof E);
                E.fe = fe;
                elab_unknown_op(&E, s->name, s->name_loc, d);
            }
        }
        break;
    case ST_JOIN:
        for (int b = 0; b < s->nbranches; b++) check_stmts(fe, &s->branches[b]);
        break;
    case ST_BLOCK:
        check_stmts(fe, &s->body);
        break;
    case ST_IF:
        check_stmts(fe, &s->body);
        check_stmts(fe, &s->orelse);
        break;
    case ST_LET:
        break;
    }
}

static void check_stmts(FeCtx *fe, const StmtList *l)
{
    for (int i = 0; i < l->n; i++) check_stmt(fe, l->items[i]);
}

static void check_primitive(FeCtx *fe, Decl *d)
{
    for (int i = 0; i < d->nparams; i++) {
        for (int k = 0; k < (int)(sizeof builtin_names / sizeof builtin_names[0]); k++)
            if (strcmp(d->params[i].name, builtin_names[k]) == 0)
                fe_error(fe, d->params[i].loc, "'%s' is built in and cannot be a parameter name", d->params[i].name);
        for (int k = 0; k < i; k++)
            if (strcmp(d->params[i].name, d->params[k].name) == 0)
                fe_error(fe, d->params[i].loc, "parameter '%s' is declared twice", d->params[i].name);
    }
    if (elab_is_base_op(d->name)) fe_error(fe, d->name_loc, "'%s' is a base operation and cannot be redefined", d->name);
    check_stmts(fe, &d->body);
    check_stmts(fe, &d->mixed);
}

static void check_ops(FeCtx *fe, Decl *d)
{
    if (d->nentries == 0) fe_error(fe, d->name_loc, "op list '%s' is empty", d->name);
    for (int i = 0; i < d->nentries; i++) {
        OpsEntry *e = &d->entries[i];
        for (int k = 0; k < i; k++)
            if (strcmp(d->entries[k].name, e->name) == 0)
                fe_error(fe, e->loc, "'%s' appears twice in op list '%s'", e->name, d->name);
        Decl *p = fe_lookup(fe, e->prim);
        if (!p || p->kind != DECL_PRIMITIVE) {
            const char *s = fe_suggest_symbol(fe, e->prim, DECL_PRIMITIVE);
            if (s) fe_error(fe, e->prim_loc, "unknown primitive '%s' (did you mean '%s'?)", e->prim, s);
            else fe_error(fe, e->prim_loc, "unknown primitive '%s'", e->prim);
        }
    }
}

/* ---- search, train and hypercuboid settings ---- */

typedef enum { SK_INT, SK_NUM, SK_BOOL, SK_NAME, SK_STRING, SK_PAIR } SettingKind;
typedef struct {
    const char *name;
    SettingKind kind;
    double lo, hi;          /* numeric range */
    const char *choices;    /* SK_NAME: space-separated allowed names, NULL: any */
} ArgRule;

static bool check_value(FeCtx *fe, Val v, const ArgRule *r, const char *where)
{
    char what[128];
    snprintf(what, sizeof what, "'%s' of %s", r->name, where);
    double x;
    bool b;
    switch (r->kind) {
    case SK_INT: {
        int64_t i;
        if (!val_int(fe, v, what, &i)) return false;
        x = (double)i;
        break;
    }
    case SK_NUM:
        if (!val_num(fe, v, what, &x)) return false;
        break;
    case SK_BOOL:
        return val_bool(fe, v, what, &b);
    case SK_STRING:
        if (v.kind != V_STRING) { fe_error(fe, v.loc, "%s must be a string", what); return false; }
        return true;
    case SK_PAIR:
        if (v.kind != V_LIST || v.n != 2) { fe_error(fe, v.loc, "%s must be two numbers, e.g. (0.5, 0.999)", what); return false; }
        for (int i = 0; i < 2; i++) {
            if (!val_num(fe, v.items[i], what, &x)) return false;
            if (x < r->lo || x > r->hi) { fe_error(fe, v.items[i].loc, "%s must be within [%g, %g]", what, r->lo, r->hi); return false; }
        }
        return true;
    case SK_NAME: {
        if (v.kind != V_NAME && v.kind != V_STRING) { fe_error(fe, v.loc, "%s must be a name", what); return false; }
        if (!r->choices) return true;
        const char *opts[8];
        int n = 0;
        char buf[128];
        snprintf(buf, sizeof buf, "%s", r->choices);
        for (char *t = strtok(buf, " "); t && n < 8; t = strtok(NULL, " ")) opts[n++] = t;
        for (int i = 0; i < n; i++)
            if (strcmp(opts[i], v.s) == 0) return true;
        const char *s = fe_suggest(v.s, opts, n);
        if (s) fe_error(fe, v.loc, "%s must be one of: %s; not '%s' (did you mean '%s'?)", what, r->choices, v.s, s);
        else fe_error(fe, v.loc, "%s must be one of: %s; not '%s'", what, r->choices, v.s);
        return false;
    }
    }
    if (x < r->lo || x > r->hi) {
        fe_error(fe, v.loc, "%s must be within [%g, %g], not %g", what, r->lo, r->hi, x);
        return false;
    }
    return true;
}

/* Checks a call value `name(k = v, ...)` against the rules of `name`. */
typedef struct {
    const char *name;
    ArgRule rules[6];
    int nrules;
    int required;           /* rules[0..required) must be given */
} CallRule;

static const CallRule call_rules[] = {
    { "sgd", { { "lr", SK_NUM, 0, 100, 0 }, { "momentum", SK_NUM, 0, 1, 0 }, { "decay", SK_NUM, 0, 1, 0 },
               { "clip", SK_NUM, 0, 1e9, 0 }, { "nesterov", SK_BOOL, 0, 0, 0 } }, 5, 1 },
    { "adam", { { "lr", SK_NUM, 0, 100, 0 }, { "betas", SK_PAIR, 0, 0.999999, 0 }, { "eps", SK_NUM, 0, 1, 0 },
                { "decay", SK_NUM, 0, 1, 0 } }, 4, 1 },
    { "cosine_power", { { "min", SK_NUM, 0, 100, 0 }, { "max", SK_NUM, 0, 100, 0 }, { "order", SK_NUM, 1, 1e6, 0 },
                        { "warmup", SK_INT, 0, 1e6, 0 } }, 4, 0 },
    { "cosine", { { "min", SK_NUM, 0, 100, 0 }, { "max", SK_NUM, 0, 100, 0 } }, 2, 0 },
    { "crop", { { "pad", SK_INT, 0, 64, 0 } }, 1, 0 },
    { "cutout", { { "length", SK_INT, 1, 4096, 0 } }, 1, 0 },
};

static bool check_call_value(FeCtx *fe, Val v, const char *allowed, const char *where)
{
    const char *name = v.kind == V_CALL ? v.s : (v.kind == V_NAME ? v.s : NULL);
    if (!name) { fe_error(fe, v.loc, "%s must be one of: %s", where, allowed); return false; }
    char buf[128];
    snprintf(buf, sizeof buf, "%s", allowed);
    const char *opts[8];
    int n = 0;
    for (char *t = strtok(buf, " "); t && n < 8; t = strtok(NULL, " ")) opts[n++] = t;
    bool ok = false;
    for (int i = 0; i < n; i++) ok |= strcmp(opts[i], name) == 0;
    if (!ok) {
        const char *s = fe_suggest(name, opts, n);
        if (s) fe_error(fe, v.loc, "%s must be one of: %s; not '%s' (did you mean '%s'?)", where, allowed, name, s);
        else fe_error(fe, v.loc, "%s must be one of: %s; not '%s'", where, allowed, name);
        return false;
    }
    const CallRule *r = NULL;
    for (int i = 0; i < (int)(sizeof call_rules / sizeof call_rules[0]); i++)
        if (strcmp(call_rules[i].name, name) == 0) r = &call_rules[i];
    if (!r) {
        if (v.kind == V_CALL && (v.n || v.nk)) { fe_error(fe, v.loc, "'%s' takes no arguments", name); return false; }
        return true;
    }
    int nk = v.kind == V_CALL ? v.nk : 0;
    int np = v.kind == V_CALL ? v.n : 0;
    bool given[6] = { false };
    ok = true;
    if (np > r->nrules) { fe_error(fe, v.loc, "'%s' takes at most %d arguments", name, r->nrules); return false; }
    for (int i = 0; i < np; i++) { ok &= check_value(fe, v.items[i], &r->rules[i], name); given[i] = true; }
    for (int k = 0; k < nk; k++) {
        int j = -1;
        const char *names[6];
        for (int i = 0; i < r->nrules; i++) {
            names[i] = r->rules[i].name;
            if (strcmp(names[i], v.knames[k]) == 0) j = i;
        }
        if (j < 0) {
            const char *s = fe_suggest(v.knames[k], names, r->nrules);
            if (s) fe_error(fe, v.kvals[k].loc, "'%s' has no argument '%s' (did you mean '%s'?)", name, v.knames[k], s);
            else fe_error(fe, v.kvals[k].loc, "'%s' has no argument '%s'", name, v.knames[k]);
            ok = false;
            continue;
        }
        given[j] = true;
        ok &= check_value(fe, v.kvals[k], &r->rules[j], name);
    }
    for (int i = 0; i < r->required; i++)
        if (!given[i] && ok) { fe_error(fe, v.loc, "'%s' needs argument '%s'", name, r->rules[i].name); ok = false; }
    return ok;
}

static const ArgRule run_rules[] = {
    { "network", SK_NAME, 0, 0, NULL },
    { "weighting", SK_NAME, 0, 0, "scalar max_w" },
    { "order", SK_NAME, 0, 0, "first second" },
    { "epochs", SK_INT, 1, 1e6, NULL },
    { "batch", SK_INT, 1, 1e6, NULL },
    { "seed", SK_INT, 0, 4294967295.0, NULL },
    { "split", SK_NUM, 0.001, 0.999, NULL },
    { "drop_path", SK_NUM, 0, 0.999, NULL },
    { "auxiliary", SK_NUM, 0, 1e3, NULL },
    { "data", SK_STRING, 0, 0, NULL },
    { "dataset", SK_NAME, 0, 0, "fashion_mnist mnist cifar10" },
    { "threads", SK_INT, 1, 4096, NULL },
    { "skip", SK_NAME, 0, 0, "none null" },
};
static const char *const search_keys[] = { "network", "weighting", "order", "epochs", "batch", "seed", "split",
                                           "weights", "schedule", "arch", "augment", "drop_path", "data",
                                           "dataset", "threads", "skip" };
static const char *const train_keys[] = { "network", "epochs", "batch", "seed", "weights", "schedule", "augment",
                                          "drop_path", "auxiliary", "data", "dataset", "threads" };

static void check_run_block(FeCtx *fe, Decl *d, bool search)
{
    Block b;
    if (!block_open(fe, d, &b)) return;
    if (search) block_check_known(fe, &b, search_keys, (int)(sizeof search_keys / sizeof search_keys[0]));
    else block_check_known(fe, &b, train_keys, (int)(sizeof train_keys / sizeof train_keys[0]));
    for (int i = 0; i < b.n; i++) {
        Setting *s = b.s[i];
        Val v;
        if (s->has_body) { fe_error(fe, s->name_loc, "'%s' takes values, not a block", s->name); continue; }
        if (!block_val(fe, &b, s->name, &v)) continue;
        if (strcmp(s->name, "weights") == 0) check_call_value(fe, v, "sgd", "weights");
        else if (strcmp(s->name, "arch") == 0) check_call_value(fe, v, "adam", "arch");
        else if (strcmp(s->name, "schedule") == 0) check_call_value(fe, v, "cosine_power cosine", "schedule");
        else if (strcmp(s->name, "augment") == 0) {
            int n = v.kind == V_LIST ? v.n : 1;
            for (int k = 0; k < n; k++)
                check_call_value(fe, v.kind == V_LIST ? v.items[k] : v, "crop flip cutout autoaugment", "augment");
        } else {
            for (int k = 0; k < (int)(sizeof run_rules / sizeof run_rules[0]); k++)
                if (strcmp(run_rules[k].name, s->name) == 0) check_value(fe, v, &run_rules[k], d->block_kind);
        }
        if (strcmp(s->name, "network") == 0 && v.kind == V_NAME) {
            Decl *n = fe_lookup(fe, v.s);
            if (!n || n->kind != DECL_BLOCK || strcmp(n->block_kind, "network") != 0) {
                const char *sg = fe_suggest_symbol(fe, v.s, DECL_BLOCK);
                if (sg) fe_error(fe, v.loc, "unknown network '%s' (did you mean '%s'?)", v.s, sg);
                else fe_error(fe, v.loc, "unknown network '%s'", v.s);
            }
        }
    }
    if (!block_get(&b, "network")) fe_error(fe, d->kind_loc, "a %s block needs `network NAME;`", d->block_kind);
}

static const char *const hc_keys[] = { "input", "classes", "channels", "layers", "strides", "candidates", "head_channels",
                                       "weighting", "threshold" };

/* HyperCuboid grid spaces (sharpdarts.md §9): checked now, searched later. */
static void check_hypercuboid(FeCtx *fe, Decl *d)
{
    Block b;
    if (!block_open(fe, d, &b)) return;
    block_check_known(fe, &b, hc_keys, (int)(sizeof hc_keys / sizeof hc_keys[0]));
    const char *need[] = { "input", "classes", "channels", "layers", "strides", "candidates" };
    for (int i = 0; i < 6; i++)
        if (!block_get(&b, need[i])) fe_error(fe, d->name_loc, "hypercuboid '%s' needs `%s`", d->name, need[i]);
    Val v;
    int64_t x, prev = 0;
    if (block_val(fe, &b, "channels", &v)) {
        int n = v.kind == V_LIST ? v.n : 1;
        for (int i = 0; i < n; i++) {
            Val c = v.kind == V_LIST ? v.items[i] : v;
            if (!val_int(fe, c, "a channel count", &x)) continue;
            if (x < 1 || x > (1 << 20)) fe_error(fe, c.loc, "channel count %lld is out of range", (long long)x);
            else if (x <= prev) fe_error(fe, c.loc, "channel counts must increase: %lld after %lld", (long long)x, (long long)prev);
            prev = x;
        }
    }
    if (block_val(fe, &b, "layers", &v) && val_int(fe, v, "layers", &x) && (x < 1 || x > 1024))
        fe_error(fe, v.loc, "layers must be between 1 and 1024");
    if (block_val(fe, &b, "strides", &v)) {
        int n = v.kind == V_LIST ? v.n : 1;
        for (int i = 0; i < n; i++) {
            Val s = v.kind == V_LIST ? v.items[i] : v;
            if (val_int(fe, s, "a stride", &x) && x != 1 && x != 2) fe_error(fe, s.loc, "a sub-layer stride is 1 or 2");
        }
    }
    if (block_val(fe, &b, "input", &v) && (v.kind != V_LIST || v.n != 3))
        fe_error(fe, v.loc, "input is channels x height x width, e.g. 3x32x32");
    if (block_val(fe, &b, "classes", &v) && val_int(fe, v, "classes", &x) && x < 1) fe_error(fe, v.loc, "classes must be positive");
    if (block_val(fe, &b, "head_channels", &v) && val_int(fe, v, "head_channels", &x) && x < 1)
        fe_error(fe, v.loc, "head_channels must be positive");
    if (block_val(fe, &b, "weighting", &v)) {
        ArgRule r = { "weighting", SK_NAME, 0, 0, "scalar max_w" };
        check_value(fe, v, &r, "hypercuboid");
    }
    if (block_val(fe, &b, "candidates", &v)) {
        int n = v.kind == V_LIST ? v.n : 1;
        for (int i = 0; i < n; i++) {
            Val o = v.kind == V_LIST ? v.items[i] : v;
            Decl *p = o.kind == V_NAME ? fe_lookup(fe, o.s) : NULL;
            if (p && (p->kind == DECL_PRIMITIVE || p->kind == DECL_OPS)) continue;
            const char *s = o.kind == V_NAME ? fe_suggest_symbol(fe, o.s, DECL_PRIMITIVE) : NULL;
            if (s) fe_error(fe, o.loc, "unknown primitive '%s' (did you mean '%s'?)", o.s, s);
            else fe_error(fe, o.loc, "hypercuboid candidates must name primitives or an op list");
        }
    }
}

/* ---- networks ---- */

/* A network is complete (not an abstract base) when it says which cells. */
static bool network_complete(FeCtx *fe, Decl *d)
{
    for (Decl *c = d; c; c = c->parent ? fe_lookup(fe, c->parent) : NULL) {
        if (c->kind != DECL_BLOCK) return false;
        for (int i = 0; i < c->nsettings; i++)
            if (strcmp(c->settings[i].name, "cells") == 0 || strcmp(c->settings[i].name, "genotype") == 0) return true;
        if (c->parent && fe_lookup(fe, c->parent) == d) return false;
    }
    return false;
}

/* The weighting a search block of the main file gives network `name`. */
static IrWeighting weighting_for(FeCtx *fe, const char *name)
{
    FeFile *ast = fe->nfiles ? fe->files[0].ast : NULL;
    for (int i = 0; ast && i < ast->ndecls; i++) {
        Decl *d = ast->decls[i];
        if (d->kind != DECL_BLOCK || strcmp(d->block_kind, "search") != 0) continue;
        Block b;
        Val v, w;
        if (!block_open(fe, d, &b) || !block_val(fe, &b, "network", &v) || v.kind != V_NAME || strcmp(v.s, name) != 0)
            continue;
        if (block_val(fe, &b, "weighting", &w) && w.kind == V_NAME && strcmp(w.s, "max_w") == 0) return IR_WEIGHTING_MAX_W;
    }
    return IR_WEIGHTING_SCALAR;
}

/* Text of a plain value for the runtime: numbers exact, names bare. */
static void meta_val(char *buf, size_t size, Val v)
{
    if (v.kind == V_FLOAT) snprintf(buf, size, "%.15g", v.f);
    else if (v.kind == V_STRING || v.kind == V_NAME) snprintf(buf, size, "%s", v.s);
    else if (v.kind == V_LIST) {
        size_t k = 0;
        buf[0] = 0;
        for (int i = 0; i < v.n && k < size; i++) {
            char t[64];
            meta_val(t, sizeof t, v.items[i]);
            k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? "," : "", t);
        }
    } else val_print(buf, (int)size, v);
}

/* Records a call value `name(args)` as key=name and key.arg=value facts. */
static void meta_call(IrGraph *g, const char *key, Val v)
{
    const char *name = v.s;
    const CallRule *r = NULL;
    for (int i = 0; i < (int)(sizeof call_rules / sizeof call_rules[0]); i++)
        if (strcmp(call_rules[i].name, name) == 0) r = &call_rules[i];
    char k[160], t[512];
    if (v.kind != V_CALL) return;
    for (int i = 0; i < v.n && r && i < r->nrules; i++) {
        snprintf(k, sizeof k, "%s.%s", key, r->rules[i].name);
        meta_val(t, sizeof t, v.items[i]);
        ir_meta(g, k, "%s", t);
    }
    for (int i = 0; i < v.nk; i++) {
        snprintf(k, sizeof k, "%s.%s", key, v.knames[i]);
        meta_val(t, sizeof t, v.kvals[i]);
        ir_meta(g, k, "%s", t);
    }
}

/* Records the main file's search or train block of network `name` in the
 * graph's meta facts (run.kind=search|train, run.<setting>=...), for the
 * runtime's defaults. */
static void run_settings(FeCtx *fe, const char *name, IrGraph *g)
{
    FeFile *ast = fe->nfiles ? fe->files[0].ast : NULL;
    for (int i = 0; ast && i < ast->ndecls; i++) {
        Decl *d = ast->decls[i];
        if (d->kind != DECL_BLOCK || (strcmp(d->block_kind, "search") != 0 && strcmp(d->block_kind, "train") != 0))
            continue;
        Block b;
        Val v;
        if (!block_open(fe, d, &b) || !block_val(fe, &b, "network", &v) || v.kind != V_NAME || strcmp(v.s, name) != 0)
            continue;
        ir_meta(g, "run.kind", "%s", d->block_kind);
        for (int k = 0; k < b.n; k++) {
            Setting *s = b.s[k];
            if (s->has_body || !block_val(fe, &b, s->name, &v)) continue;
            char key[160], t[512];
            snprintf(key, sizeof key, "run.%s", s->name);
            if (strcmp(s->name, "augment") == 0) {
                int n = v.kind == V_LIST ? v.n : 1;
                char list[512] = "";
                size_t len = 0;
                for (int j = 0; j < n; j++) {
                    Val it = v.kind == V_LIST ? v.items[j] : v;
                    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? "," : "", it.s ? it.s : "");
                    char sub[200];
                    snprintf(sub, sizeof sub, "run.augment.%s", it.s ? it.s : "");
                    meta_call(g, sub, it);
                }
                ir_meta(g, key, "%s", list);
            } else if (v.kind == V_CALL) {
                ir_meta(g, key, "%s", v.s);
                meta_call(g, key, v);
            } else {
                meta_val(t, sizeof t, v);
                ir_meta(g, key, "%s", t);
            }
        }
        return;
    }
}

static IrGraph *elaborate(FeCtx *fe, Decl *d, Elab *E)
{
    memset(E, 0, sizeof *E);
    E->fe = fe;
    IrGraph *g = elab_network(E, d, weighting_for(fe, d->name));
    if (g) {
        run_settings(fe, d->name, g);
        char err[512];
        if (!ir_verify(g, err, sizeof err)) die("IR of network '%s' fails verification: %s", d->name, err);
    }
    return g;
}

bool fe_check(FeCtx *fe)
{
    fe_build_symbols(fe);
    int before = fe_error_count(fe);
    for (int f = 0; f < fe->nfiles; f++) {
        FeFile *ast = fe->files[f].ast;
        for (int i = 0; ast && i < ast->ndecls; i++) {
            Decl *d = ast->decls[i];
            switch (d->kind) {
            case DECL_IMPORT: break;
            case DECL_PRIMITIVE: check_primitive(fe, d); break;
            case DECL_OPS: check_ops(fe, d); break;
            case DECL_ASSIGN: {
                Env env = { NULL, NULL, NULL };
                Val v = fe_eval(fe, &env, d->value);
                if (v.kind != V_NONE && !(v.kind == V_CALL && strcmp(v.s, "Genotype") == 0))
                    fe_error(fe, d->value->loc, "only Genotype(...) literals can be assigned to a name");
                break;
            }
            case DECL_BLOCK: {
                int k = -1;
                for (int j = 0; j < 5; j++)
                    if (strcmp(block_kinds[j], d->block_kind) == 0) k = j;
                if (k < 0) {
                    const char *s = fe_suggest(d->block_kind, block_kinds, 5);
                    if (s) fe_error(fe, d->kind_loc, "unknown declaration '%s' (did you mean '%s'?)", d->block_kind, s);
                    else fe_error(fe, d->kind_loc, "unknown declaration '%s': expected cell, network, search, train or hypercuboid",
                                  d->block_kind);
                    break;
                }
                if (!d->name && k < 2) {
                    fe_error(fe, d->kind_loc, "a %s needs a name", d->block_kind);
                    break;
                }
                if (k == 1) {
                    Block b;
                    int n;
                    const char *const *keys = fe_network_setting_names(&n);
                    if (block_open(fe, d, &b)) block_check_known(fe, &b, keys, n);
                } else if (k == 0) {
                    Block b;
                    int n;
                    const char *const *keys = fe_cell_setting_names(&n);
                    if (block_open(fe, d, &b)) block_check_known(fe, &b, keys, n);
                } else if (k == 2 || k == 3) {
                    check_run_block(fe, d, k == 2);
                } else if (k == 4) {
                    check_hypercuboid(fe, d);
                }
                break;
            }
            }
        }
    }
    if (fe_error_count(fe) != before) return false;
    /* Elaborate the complete networks of the main file. */
    FeFile *ast = fe->nfiles ? fe->files[0].ast : NULL;
    for (int i = 0; ast && i < ast->ndecls; i++) {
        Decl *d = ast->decls[i];
        if (d->kind != DECL_BLOCK || strcmp(d->block_kind, "network") != 0 || !network_complete(fe, d)) continue;
        Elab E;
        ir_graph_free(elaborate(fe, d, &E));
    }
    return fe_error_count(fe) == before;
}

int fe_network_names(FeCtx *fe, const char ***names)
{
    FeFile *ast = fe->nfiles ? fe->files[0].ast : NULL;
    int n = 0;
    *names = fe_arena_alloc(&fe->arena, sizeof(char *) * (size_t)((ast ? ast->ndecls : 0) + 1));
    for (int i = 0; ast && i < ast->ndecls; i++) {
        Decl *d = ast->decls[i];
        if (d->kind == DECL_BLOCK && strcmp(d->block_kind, "network") == 0 && d->name && network_complete(fe, d))
            (*names)[n++] = d->name;
    }
    return n;
}

/* The network a command works on: named, or the one the main file's search
 * or train block names, or the last complete network of the main file. */
static Decl *pick_network(FeCtx *fe, const char *name)
{
    fe_build_symbols(fe);
    Loc none = { -1, 0, 0 };
    if (name) {
        Decl *d = fe_lookup(fe, name);
        if (!d || d->kind != DECL_BLOCK || strcmp(d->block_kind, "network") != 0) {
            const char *s = fe_suggest_symbol(fe, name, DECL_BLOCK);
            if (s) fe_error(fe, none, "no network named '%s' (did you mean '%s'?)", name, s);
            else fe_error(fe, none, "no network named '%s'", name);
            return NULL;
        }
        return d;
    }
    FeFile *ast = fe->nfiles ? fe->files[0].ast : NULL;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; ast && i < ast->ndecls; i++) {
            Decl *d = ast->decls[i];
            if (d->kind != DECL_BLOCK || strcmp(d->block_kind, pass ? "train" : "search") != 0) continue;
            Block b;
            Val v;
            if (block_open(fe, d, &b) && block_val(fe, &b, "network", &v) && v.kind == V_NAME) {
                Decl *n = fe_lookup(fe, v.s);
                if (n && n->kind == DECL_BLOCK && strcmp(n->block_kind, "network") == 0) return n;
            }
        }
    const char **names;
    int n = fe_network_names(fe, &names);
    if (n == 0) {
        fe_error(fe, none, "%s declares no complete network (one with `cells` or `genotype`)",
                 fe->nfiles ? fe->files[0].path : "the input");
        return NULL;
    }
    return fe_lookup(fe, names[n - 1]);
}

IrGraph *fe_elaborate(FeCtx *fe, const char *name)
{
    Decl *d = pick_network(fe, name);
    if (!d) return NULL;
    Elab E;
    return elaborate(fe, d, &E);
}

/* ---- Graphviz ---- */

static void dot_cell(FILE *out, const char *graph, const CellTrace *c)
{
    fprintf(out, "digraph %s {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n", graph);
    fprintf(out, "  \"c_{k-2}\" [shape=ellipse];\n  \"c_{k-1}\" [shape=ellipse];\n  \"c_{k}\" [shape=ellipse];\n");
    for (int e = 0; e < c->nedges; e++) {
        int f = c->edge_from[e];
        char from[32];
        if (f == 0) snprintf(from, sizeof from, "c_{k-2}");
        else if (f == 1) snprintf(from, sizeof from, "c_{k-1}");
        else snprintf(from, sizeof from, "%d", f - 2);
        fprintf(out, "  \"%s\" -> \"%d\" [label=\"%s\"];\n", from, c->edge_to[e] - 2, c->edge_op[e]);
    }
    for (int i = 0; i < c->nconcat; i++) {
        int s = c->concat[i];
        if (s >= 2) fprintf(out, "  \"%d\" -> \"c_{k}\";\n", s - 2);
        else fprintf(out, "  \"%s\" -> \"c_{k}\";\n", s ? "c_{k-1}" : "c_{k-2}");
    }
    fprintf(out, "}\n");
}

bool fe_dump_dot(FeCtx *fe, const char *name, FILE *out)
{
    Decl *d = pick_network(fe, name);
    if (!d) return false;
    Elab E;
    IrGraph *g = elaborate(fe, d, &E);
    if (!g) return false;
    bool done[2] = { false, false };
    for (int i = 0; i < E.ncells; i++) {
        const CellTrace *c = &E.cells[i];
        if (done[c->reduction]) continue;
        done[c->reduction] = true;
        dot_cell(out, c->reduction ? "reduction_cell" : "normal_cell", c);
    }
    fprintf(out, "digraph network {\n  rankdir=TB;\n  node [shape=box];\n  input -> stem;\n");
    for (int i = 0; i < E.ncells; i++) {
        const CellTrace *c = &E.cells[i];
        fprintf(out, "  cell%d [label=\"cell %d\\n%s, C=%d\"%s];\n", i, i, c->reduction ? "reduction" : "normal", c->C,
                c->reduction ? ", style=filled, fillcolor=lightgrey" : "");
        char prev[16], prev2[16];
        snprintf(prev, sizeof prev, i >= 1 ? "cell%d" : "stem", i - 1);
        snprintf(prev2, sizeof prev2, i >= 2 ? "cell%d" : "stem", i - 2);
        fprintf(out, "  %s -> cell%d;\n  %s -> cell%d [style=dashed];\n", prev, i, prev2, i);
    }
    if (E.ncells) fprintf(out, "  cell%d -> head;\n", E.ncells - 1);
    fprintf(out, "}\n");
    ir_graph_free(g);
    return true;
}
