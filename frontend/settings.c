/* settings.c: the settings of a block (cell, network, search, train,
 * hypercuboid) after inheritance from its parents, evaluated on demand so a
 * setting may refer to others (`reduce_at layers / 3`). A child's setting
 * replaces its parent's of the same name; `node` settings are replaced as a
 * group. Parents' expressions see the child's values. */
#include <string.h>

#include "fe_internal.h"

#define MAX_PARENTS 32

bool block_open(FeCtx *fe, Decl *d, Block *b)
{
    memset(b, 0, sizeof *b);
    b->decl = d;
    Decl *chain[MAX_PARENTS];
    int depth = 0;
    for (Decl *c = d; c;) {
        for (int k = 0; k < depth; k++)
            if (chain[k] == c) {
                fe_error(fe, d->parent_loc, "'%s' inherits from itself", d->name);
                return false;
            }
        if (depth == MAX_PARENTS) {
            fe_error(fe, d->parent_loc, "inheritance deeper than %d levels", MAX_PARENTS);
            return false;
        }
        chain[depth++] = c;
        if (!c->parent) break;
        Decl *p = fe_lookup(fe, c->parent);
        if (!p || p->kind != DECL_BLOCK || strcmp(p->block_kind, c->block_kind) != 0) {
            const char *s = fe_suggest_symbol(fe, c->parent, DECL_BLOCK);
            if (p)
                fe_error(fe, c->parent_loc, "'%s' is not a %s", c->parent, c->block_kind);
            else if (s)
                fe_error(fe, c->parent_loc, "unknown %s '%s' (did you mean '%s'?)", c->block_kind, c->parent, s);
            else
                fe_error(fe, c->parent_loc, "unknown %s '%s'", c->block_kind, c->parent);
            return false;
        }
        c = p;
    }
    int cap = 0;
    for (int k = 0; k < depth; k++) cap += chain[k]->nsettings;
    b->s = fe_arena_alloc(&fe->arena, sizeof(Setting *) * (size_t)(cap + 1));
    /* From the most derived block up: take a setting unless already taken. */
    for (int k = 0; k < depth; k++) {
        Decl *c = chain[k];
        bool has_nodes_below = false;
        for (int i = 0; i < b->n; i++)
            if (strcmp(b->s[i]->name, "node") == 0) has_nodes_below = true;
        for (int i = 0; i < c->nsettings; i++) {
            Setting *s = &c->settings[i];
            bool taken = false;
            if (strcmp(s->name, "node") == 0) {
                taken = has_nodes_below;
            } else {
                for (int j = 0; j < b->n; j++)
                    if (strcmp(b->s[j]->name, s->name) == 0) {
                        if (k == 0) {
                            fe_error(fe, s->name_loc, "'%s' is set twice", s->name);
                            fe_note(fe, b->s[j]->name_loc, "it was first set here");
                        }
                        taken = true;
                    }
            }
            if (!taken) b->s[b->n++] = s;
        }
    }
    b->cache = fe_arena_alloc(&fe->arena, sizeof(Val) * (size_t)(b->n + 1));
    b->state = fe_arena_alloc(&fe->arena, (size_t)(b->n + 1));
    return true;
}

Setting *block_get(Block *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->s[i]->name, name) == 0) return b->s[i];
    return NULL;
}

static bool lookup_setting(FeCtx *fe, void *data, const char *name, Loc loc, Val *out);

Env block_env(FeCtx *fe, Block *b)
{
    (void)fe;
    Env env = { NULL, lookup_setting, b };
    return env;
}

/* Evaluates setting i: no values -> true, one -> itself, several -> a list. */
static Val eval_setting(FeCtx *fe, Block *b, int i)
{
    Setting *s = b->s[i];
    if (b->state[i] == 2) return b->cache[i];
    Val v;
    memset(&v, 0, sizeof v);
    v.loc = s->loc;
    if (b->state[i] == 1) {
        fe_error(fe, s->name_loc, "setting '%s' depends on itself", s->name);
        return v;
    }
    b->state[i] = 1;
    Env env = block_env(fe, b);
    if (s->has_body) {
        fe_error(fe, s->name_loc, "'%s' is a block of layers, not a value", s->name);
    } else if (s->nvalues == 0) {
        v.kind = V_BOOL;
        v.i = 1;
    } else if (s->nvalues == 1) {
        v = fe_eval(fe, &env, s->values[0]);
    } else {
        v.kind = V_LIST;
        v.items = fe_arena_alloc(&fe->arena, sizeof(Val) * (size_t)s->nvalues);
        for (int k = 0; k < s->nvalues; k++) v.items[v.n++] = fe_eval(fe, &env, s->values[k]);
        v.loc = loc_join(s->values[0]->loc, s->values[s->nvalues - 1]->loc);
    }
    b->state[i] = 2;
    b->cache[i] = v;
    return v;
}

static bool lookup_setting(FeCtx *fe, void *data, const char *name, Loc loc, Val *out)
{
    (void)loc;
    Block *b = data;
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->s[i]->name, name) == 0 && !b->s[i]->has_body) {
            *out = eval_setting(fe, b, i);
            return true;
        }
    return false;
}

bool block_val(FeCtx *fe, Block *b, const char *name, Val *out)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->s[i]->name, name) == 0) {
            *out = eval_setting(fe, b, i);
            return out->kind != V_NONE;
        }
    return false;
}

void block_check_known(FeCtx *fe, Block *b, const char *const *known, int n)
{
    Decl *d = b->decl;
    for (int i = 0; i < d->nsettings; i++) {
        Setting *s = &d->settings[i];
        bool ok = false;
        for (int k = 0; k < n; k++)
            if (strcmp(known[k], s->name) == 0) ok = true;
        if (ok) continue;
        const char *sug = fe_suggest(s->name, known, n);
        if (sug)
            fe_error(fe, s->name_loc, "unknown %s setting '%s' (did you mean '%s'?)", d->block_kind, s->name, sug);
        else
            fe_error(fe, s->name_loc, "unknown %s setting '%s'", d->block_kind, s->name);
    }
}
