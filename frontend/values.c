/* values.c: evaluation of expressions into values. Integers are 64-bit with
 * a range check; `/` on two integers is floor division (channel arithmetic);
 * `range`, `min`, `max` and `floor` are built in. A call to anything else is
 * kept as a call value with evaluated arguments, for the setting or
 * primitive that receives it to interpret. */
#include <math.h>
#include <string.h>

#include "fe_internal.h"

#define VAL_LIMIT ((int64_t)1 << 40)

const char *val_kind_name(ValKind k)
{
    static const char *names[] = { "nothing", "an integer", "a number", "a boolean", "a string",
                                   "a list", "a name", "a call" };
    return names[k];
}

int val_print(char *buf, int size, Val v)
{
    switch (v.kind) {
    case V_INT: return snprintf(buf, (size_t)size, "%lld", (long long)v.i);
    case V_FLOAT: return snprintf(buf, (size_t)size, "%g", v.f);
    case V_BOOL: return snprintf(buf, (size_t)size, "%s", v.i ? "true" : "false");
    case V_STRING: return snprintf(buf, (size_t)size, "'%s'", v.s);
    case V_NAME: return snprintf(buf, (size_t)size, "%s", v.s);
    case V_CALL: return snprintf(buf, (size_t)size, "%s(...)", v.s);
    case V_LIST: return snprintf(buf, (size_t)size, "a list of %d", v.n);
    default: return snprintf(buf, (size_t)size, "nothing");
    }
}

void env_bind(FeCtx *fe, Env *env, const char *name, Val v)
{
    Binding *b = fe_arena_alloc(&fe->arena, sizeof(Binding));
    b->name = name;
    b->val = v;
    b->next = env->vars;
    env->vars = b;
}

static Val none_at(Loc loc)
{
    Val v;
    memset(&v, 0, sizeof v);
    v.loc = loc;
    return v;
}

static Val int_at(Loc loc, int64_t i)
{
    Val v = none_at(loc);
    v.kind = V_INT;
    v.i = i;
    return v;
}

/* Reports that `v` is not of the expected kind (unless it is already the
 * result of an error); always false. */
static bool type_error(FeCtx *fe, Val v, const char *what, const char *expected)
{
    if (v.kind != V_NONE) {
        char b[64];
        val_print(b, sizeof b, v);
        fe_error(fe, v.loc, "%s must be %s, not %s (%s)", what, expected, val_kind_name(v.kind), b);
    }
    return false;
}

bool val_int(FeCtx *fe, Val v, const char *what, int64_t *out)
{
    if (v.kind == V_INT) { *out = v.i; return true; }
    if (v.kind == V_FLOAT && v.f == floor(v.f) && fabs(v.f) < 1e12) { *out = (int64_t)v.f; return true; }
    return type_error(fe, v, what, "an integer");
}

bool val_num(FeCtx *fe, Val v, const char *what, double *out)
{
    if (v.kind == V_INT) { *out = (double)v.i; return true; }
    if (v.kind == V_FLOAT) { *out = v.f; return true; }
    return type_error(fe, v, what, "a number");
}

bool val_bool(FeCtx *fe, Val v, const char *what, bool *out)
{
    if (v.kind == V_BOOL) { *out = v.i != 0; return true; }
    return type_error(fe, v, what, "true or false");
}

static Val eval_list(FeCtx *fe, Env *env, const Expr *e)
{
    Val v = none_at(e->loc);
    v.kind = V_LIST;
    v.n = e->nitems;
    v.items = fe_arena_alloc(&fe->arena, sizeof(Val) * (size_t)(e->nitems + 1));
    for (int i = 0; i < e->nitems; i++) v.items[i] = fe_eval(fe, env, e->items[i]);
    return v;
}

static Val eval_call(FeCtx *fe, Env *env, const Expr *e)
{
    Val v = none_at(e->loc);
    v.kind = V_CALL;
    v.s = e->s;
    v.items = fe_arena_alloc(&fe->arena, sizeof(Val) * (size_t)(e->nitems + 1));
    v.knames = fe_arena_alloc(&fe->arena, sizeof(char *) * (size_t)(e->nitems + 1));
    v.kvals = fe_arena_alloc(&fe->arena, sizeof(Val) * (size_t)(e->nitems + 1));
    for (int i = 0; i < e->nitems; i++) {
        const Expr *a = e->items[i];
        if (a->kind == EX_KWARG) {
            for (int k = 0; k < v.nk; k++)
                if (strcmp(v.knames[k], a->s) == 0) fe_error(fe, a->name_loc, "argument '%s' given twice", a->s);
            v.knames[v.nk] = a->s;
            v.kvals[v.nk] = fe_eval(fe, env, a->a);
            v.kvals[v.nk].loc = a->loc;
            v.nk++;
        } else {
            if (v.nk) fe_error(fe, a->loc, "a positional argument cannot follow keyword arguments");
            v.items[v.n++] = fe_eval(fe, env, a);
        }
    }
    if (strcmp(e->s, "range") == 0) {
        int64_t lo = 0, hi = 0, step = 1;
        bool ok = v.nk == 0 && v.n >= 1 && v.n <= 3;
        if (!ok) { fe_error(fe, e->loc, "range takes 1 to 3 integers"); return none_at(e->loc); }
        if (v.n == 1) ok = val_int(fe, v.items[0], "range end", &hi);
        else ok = val_int(fe, v.items[0], "range start", &lo) && val_int(fe, v.items[1], "range end", &hi) &&
                  (v.n < 3 || val_int(fe, v.items[2], "range step", &step));
        if (!ok) return none_at(e->loc);
        if (step == 0 || (hi - lo) / step > 100000) { fe_error(fe, e->loc, "range is empty-stepped or too long"); return none_at(e->loc); }
        Val r = none_at(e->loc);
        r.kind = V_LIST;
        int cnt = 0;
        for (int64_t x = lo; step > 0 ? x < hi : x > hi; x += step) cnt++;
        r.items = fe_arena_alloc(&fe->arena, sizeof(Val) * (size_t)(cnt + 1));
        for (int64_t x = lo; step > 0 ? x < hi : x > hi; x += step) r.items[r.n++] = int_at(e->loc, x);
        return r;
    }
    if (strcmp(e->s, "min") == 0 || strcmp(e->s, "max") == 0 || strcmp(e->s, "floor") == 0) {
        bool is_floor = e->s[0] == 'f';
        if (v.nk || (is_floor ? v.n != 1 : v.n < 1)) {
            fe_error(fe, e->loc, "%s takes %s", e->s, is_floor ? "one number" : "one or more numbers");
            return none_at(e->loc);
        }
        double best = 0;
        bool all_int = true;
        for (int i = 0; i < v.n; i++) {
            double x = 0;
            if (!val_num(fe, v.items[i], e->s, &x)) return none_at(e->loc);
            all_int &= v.items[i].kind == V_INT;
            if (i == 0 || (e->s[1] == 'i' ? x < best : x > best)) best = x;
        }
        if (is_floor) return int_at(e->loc, (int64_t)floor(best));
        if (all_int) return int_at(e->loc, (int64_t)best);
        Val r = none_at(e->loc);
        r.kind = V_FLOAT;
        r.f = best;
        return r;
    }
    return v;
}

static Val eval_binary(FeCtx *fe, Env *env, const Expr *e)
{
    Val a = fe_eval(fe, env, e->a), b = fe_eval(fe, env, e->b);
    Val r = none_at(e->loc);
    if (a.kind == V_NONE || b.kind == V_NONE) return r;
    if (e->op == BIN_AND || e->op == BIN_OR) {
        bool x = false, y = false;
        if (!val_bool(fe, a, "an operand of and/or", &x) || !val_bool(fe, b, "an operand of and/or", &y)) return r;
        r.kind = V_BOOL;
        r.i = e->op == BIN_AND ? (x && y) : (x || y);
        return r;
    }
    if (e->op == BIN_EQ || e->op == BIN_NE) {
        bool eq;
        if ((a.kind == V_NAME || a.kind == V_STRING) && (b.kind == V_NAME || b.kind == V_STRING))
            eq = strcmp(a.s, b.s) == 0;
        else if (a.kind == V_BOOL && b.kind == V_BOOL)
            eq = a.i == b.i;
        else {
            double x = 0, y = 0;
            if (!val_num(fe, a, "a compared value", &x) || !val_num(fe, b, "a compared value", &y)) return r;
            eq = x == y;
        }
        r.kind = V_BOOL;
        r.i = e->op == BIN_EQ ? eq : !eq;
        return r;
    }
    if (a.kind == V_INT && b.kind == V_INT) {
        int64_t x = a.i, y = b.i, z = 0;
        switch (e->op) {
        case BIN_ADD: z = x + y; break;
        case BIN_SUB: z = x - y; break;
        case BIN_MUL: z = x * y; break;
        case BIN_DIV: case BIN_FLOORDIV: case BIN_MOD:
            if (y == 0) { fe_error(fe, e->loc, "division by zero"); return r; }
            z = x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0))) z--;
            if (e->op == BIN_MOD) z = x - z * y;
            break;
        default: {
            r.kind = V_BOOL;
            r.i = e->op == BIN_LT ? x < y : e->op == BIN_LE ? x <= y : e->op == BIN_GT ? x > y : x >= y;
            return r;
        }
        }
        if (z > VAL_LIMIT || z < -VAL_LIMIT) { fe_error(fe, e->loc, "integer result is too large"); return r; }
        return int_at(e->loc, z);
    }
    double x = 0, y = 0;
    if (!val_num(fe, a, "an arithmetic operand", &x) || !val_num(fe, b, "an arithmetic operand", &y)) return r;
    double z = 0;
    switch (e->op) {
    case BIN_ADD: z = x + y; break;
    case BIN_SUB: z = x - y; break;
    case BIN_MUL: z = x * y; break;
    case BIN_DIV: case BIN_FLOORDIV: case BIN_MOD:
        if (y == 0) { fe_error(fe, e->loc, "division by zero"); return r; }
        z = e->op == BIN_DIV ? x / y : e->op == BIN_FLOORDIV ? floor(x / y) : x - floor(x / y) * y;
        break;
    default:
        r.kind = V_BOOL;
        r.i = e->op == BIN_LT ? x < y : e->op == BIN_LE ? x <= y : e->op == BIN_GT ? x > y : x >= y;
        return r;
    }
    r.kind = V_FLOAT;
    r.f = z;
    return r;
}

static Val eval_expr(FeCtx *fe, Env *env, const Expr *e);

/* Evaluates with a depth limit: a chain like 1+1+...+1 a megabyte long is an
 * error, not a stack overflow. */
Val fe_eval(FeCtx *fe, Env *env, const Expr *e)
{
    if (fe->eval_depth >= 500) {
        fe_error(fe, e->loc, "expression is nested more than 500 levels deep");
        return none_at(e->loc);
    }
    fe->eval_depth++;
    Val v = eval_expr(fe, env, e);
    fe->eval_depth--;
    return v;
}

static Val eval_expr(FeCtx *fe, Env *env, const Expr *e)
{
    Val v = none_at(e->loc);
    switch (e->kind) {
    case EX_INT: return int_at(e->loc, e->i);
    case EX_FLOAT: v.kind = V_FLOAT; v.f = e->f; return v;
    case EX_STRING: v.kind = V_STRING; v.s = e->s; return v;
    case EX_DIMS: case EX_LIST: case EX_TUPLE: return eval_list(fe, env, e);
    case EX_CALL: return eval_call(fe, env, e);
    case EX_KWARG:
        fe_error(fe, e->loc, "'%s = ...' is only allowed as an argument of a call", e->s);
        return v;
    case EX_IDENT:
        if (strcmp(e->s, "true") == 0 || strcmp(e->s, "false") == 0 || strcmp(e->s, "True") == 0 ||
            strcmp(e->s, "False") == 0) {
            v.kind = V_BOOL;
            v.i = e->s[0] == 't' || e->s[0] == 'T';
            return v;
        }
        for (Binding *b = env ? env->vars : NULL; b; b = b->next)
            if (strcmp(b->name, e->s) == 0) {
                v = b->val;
                v.loc = e->loc;
                return v;
            }
        if (env && env->lookup && env->lookup(fe, env->lookup_data, e->s, e->loc, &v)) {
            v.loc = e->loc;
            return v;
        }
        v.kind = V_NAME;
        v.s = e->s;
        return v;
    case EX_UNARY: {
        Val a = fe_eval(fe, env, e->a);
        if (a.kind == V_NONE) return v;
        if (e->op == UN_NOT) {
            bool x = false;
            if (!val_bool(fe, a, "the operand of not", &x)) return v;
            v.kind = V_BOOL;
            v.i = !x;
            return v;
        }
        if (a.kind == V_INT) return int_at(e->loc, -a.i);
        double x = 0;
        if (!val_num(fe, a, "the operand of -", &x)) return v;
        v.kind = V_FLOAT;
        v.f = -x;
        return v;
    }
    case EX_BINARY: return eval_binary(fe, env, e);
    }
    return v;
}
