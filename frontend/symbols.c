/* symbols.c: the table of every named declaration across the loaded files.
 * One namespace for primitives, op lists, blocks and genotype literals; a
 * name declared twice is an error that points at both places. */
#include <string.h>

#include "fe_internal.h"

static const char *decl_what(const Decl *d)
{
    switch (d->kind) {
    case DECL_PRIMITIVE: return "a primitive";
    case DECL_OPS: return "an op list";
    case DECL_BLOCK:
        return strcmp(d->block_kind, "network") == 0 ? "a network"
             : strcmp(d->block_kind, "cell") == 0 ? "a cell"
             : strcmp(d->block_kind, "hypercuboid") == 0 ? "a hypercuboid" : "a settings block";
    case DECL_ASSIGN: return "a genotype";
    default: return "a declaration";
    }
}

void fe_build_symbols(FeCtx *fe)
{
    if (fe->symbols_built) return;
    fe->symbols_built = true;
    for (int f = 0; f < fe->nfiles; f++) {
        FeFile *ast = fe->files[f].ast;
        if (!ast) continue;
        for (int i = 0; i < ast->ndecls; i++) {
            Decl *d = ast->decls[i];
            if (d->kind == DECL_IMPORT || !d->name) continue;
            Decl *prev = fe_lookup(fe, d->name);
            if (prev) {
                fe_error(fe, d->name_loc, "'%s' is already declared as %s", d->name, decl_what(prev));
                fe_note(fe, prev->name_loc, "the earlier declaration is here");
                continue;
            }
            GROW(fe->syms, fe->capsyms, fe->nsyms + 1);
            fe->syms[fe->nsyms].name = d->name;
            fe->syms[fe->nsyms].decl = d;
            fe->nsyms++;
        }
    }
}

Decl *fe_lookup(FeCtx *fe, const char *name)
{
    for (int i = 0; i < fe->nsyms; i++)
        if (strcmp(fe->syms[i].name, name) == 0) return fe->syms[i].decl;
    return NULL;
}

const char *fe_suggest_symbol(FeCtx *fe, const char *name, int kind)
{
    const char **c = xmalloc(sizeof(char *) * (size_t)(fe->nsyms + 1));
    int n = 0;
    for (int i = 0; i < fe->nsyms; i++)
        if (kind < 0 || (int)fe->syms[i].decl->kind == kind) c[n++] = fe->syms[i].name;
    const char *s = fe_suggest(name, c, n);
    free(c);
    return s;
}
