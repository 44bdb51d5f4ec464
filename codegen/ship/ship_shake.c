/* ship_shake.c: copies out of the runtime's kernel sources only what an
 * emitted model calls. A source is cut into its top-level items (a
 * preprocessor line, a declaration, a function definition, each with the
 * comment before it); functions and static tables are kept when the roots
 * reach them through the identifiers they mention, prototypes only for kept
 * functions (a top-level macro call such as `CONV_DW_WDOT(name, 9)` counts as
 * the definition of the function its first argument names); preprocessor lines and types are always kept, and local
 * `#include "..."` lines always dropped (the output includes nothing of
 * sharpc). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "ship_shake.h"
#include "util.h"

typedef enum { IT_PP, IT_TYPE, IT_FUNC, IT_PROTO, IT_VAR, IT_DROP } ItemKind;

typedef struct {
    ItemKind kind;
    char *text;      /* comment + item, as in the source */
    char *name;      /* FUNC, PROTO, VAR */
    char **refs;     /* identifiers mentioned (code only) */
    int nrefs, caprefs;
    bool keep;
} Item;

typedef struct {
    Item *items;
    int n, cap;
} Items;

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) buf = xrealloc(buf, cap = cap ? cap * 2 : 65536);
        size_t k = fread(buf + len, 1, cap - len - 1, f);
        len += k;
        if (k == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

static void add_ref(Item *it, const char *s, size_t n)
{
    for (int i = 0; i < it->nrefs; i++)
        if (strlen(it->refs[i]) == n && strncmp(it->refs[i], s, n) == 0) return;
    GROW(it->refs, it->caprefs, it->nrefs + 1);
    it->refs[it->nrefs] = xmalloc(n + 1);
    memcpy(it->refs[it->nrefs], s, n);
    it->refs[it->nrefs++][n] = 0;
}

static bool ident_start(int c) { return isalpha(c) || c == '_'; }
static bool ident_char(int c) { return isalnum(c) || c == '_'; }

/* The first '(' of code that does not open an __attribute__'s
 * parentheses (those are skipped whole), or NULL. */
static const char *first_paren(const char *code)
{
    const char *p = strchr(code, '(');
    while (p) {
        const char *e = p;
        while (e > code && isspace((unsigned char)e[-1])) e--;
        const char *s = e;
        while (s > code && ident_char((unsigned char)s[-1])) s--;
        if ((size_t)(e - s) != strlen("__attribute__") || strncmp(s, "__attribute__", (size_t)(e - s)) != 0)
            return p;
        int depth = 0;
        do {
            depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
            p++;
        } while (*p && depth > 0);
        p = strchr(p, '(');
    }
    return NULL;
}

/* Classifies the code of an item (comments and strings blanked in `code`)
 * and collects its identifiers. */
static void classify(Item *it, const char *code, bool func)
{
    const char *p = code;
    while (*p) {
        if (ident_start((unsigned char)*p) && (p == code || !ident_char((unsigned char)p[-1]))) {
            const char *s = p;
            while (ident_char((unsigned char)*p)) p++;
            add_ref(it, s, (size_t)(p - s));
        } else {
            p++;
        }
    }
    const char *c = code;
    while (isspace((unsigned char)*c)) c++;
    if (*c == '#') {
        it->kind = strncmp(c, "#include", 8) == 0 && strchr(c, '"') ? IT_DROP : IT_PP;
        return;
    }
    if (strncmp(c, "typedef", 7) == 0 && !ident_char((unsigned char)c[7])) {
        it->kind = IT_TYPE;
        return;
    }
    /* the name: the identifier before the first '(' (functions), or before
     * the first '[' or '=' or ';' (variables); an __attribute__((...))
     * before the name is skipped */
    const char *paren = first_paren(c), *eq = strpbrk(c, "=[;{");
    const char *at = paren && (!eq || paren < eq) ? paren : eq;
    if (!at) {
        it->kind = IT_TYPE;
        return;
    }
    const char *e = at;
    while (e > c && isspace((unsigned char)e[-1])) e--;
    const char *s = e;
    while (s > c && ident_char((unsigned char)s[-1])) s--;
    if (s == e) {
        it->kind = IT_TYPE;
        return;
    }
    it->name = xmalloc((size_t)(e - s) + 1);
    memcpy(it->name, s, (size_t)(e - s));
    it->name[e - s] = 0;
    if (at == paren) it->kind = func ? IT_FUNC : IT_PROTO;
    else if (*at == '{' || strncmp(c, "struct", 6) == 0 || strncmp(c, "enum", 4) == 0) it->kind = IT_TYPE;
    else it->kind = IT_VAR;
}

/* Whether code (an item's code so far) is a macro call `NAME(`, which at
 * the top level expands to a definition (of the function named by its
 * first argument, by this code base's convention). */
static bool macro_call(const char *code)
{
    const char *c = code;
    while (isspace((unsigned char)*c)) c++;
    if (!ident_start((unsigned char)*c)) return false;
    while (ident_char((unsigned char)*c)) c++;
    return *c == '(';
}

/* The first identifier after the first '(' of code. */
static char *macro_name(const char *code)
{
    const char *c = strchr(code, '(');
    if (!c) return NULL;
    c++;
    while (isspace((unsigned char)*c)) c++;
    const char *e = c;
    while (ident_char((unsigned char)*e)) e++;
    if (e == c) return NULL;
    char *name = xmalloc((size_t)(e - c) + 1);
    memcpy(name, c, (size_t)(e - c));
    name[e - c] = 0;
    return name;
}

/* Cuts src into items. */
static void cut(const char *src, Items *out)
{
    size_t n = strlen(src);
    char *code = xmalloc(n + 1); /* the item's code with comments/strings blanked */
    size_t start = 0, clen = 0;
    int depth = 0, paren = 0;
    bool func = false, has_code = false, macro = false;
    char last = 0; /* last code character outside comments */
    size_t i = 0;
    while (i < n) {
        char ch = src[i];
        if (ch == '/' && src[i + 1] == '*') {
            const char *end = strstr(src + i + 2, "*/");
            size_t stop = end ? (size_t)(end - src) + 2 : n;
            i = stop;
            code[clen++] = ' ';
            continue;
        }
        if (ch == '/' && src[i + 1] == '/') {
            while (i < n && src[i] != '\n') i++;
            continue;
        }
        if (ch == '"' || ch == '\'') {
            size_t j = i + 1;
            while (j < n && src[j] != ch) j += src[j] == '\\' ? 2 : 1;
            i = j + 1;
            code[clen++] = ' ';
            last = ch;
            has_code = true;
            continue;
        }
        if (ch == '#' && depth == 0 && !has_code) {
            /* a preprocessor line, with its continuations */
            size_t j = i;
            while (j < n && src[j] != '\n') j += src[j] == '\\' && src[j + 1] == '\n' ? 2 : 1;
            memcpy(code + clen, src + i, j - i);
            clen += j - i;
            i = j < n ? j + 1 : j;
            goto item_end;
        }
        code[clen++] = ch;
        i++;
        if (!isspace((unsigned char)ch)) {
            if (ch == '{' && depth == 0) func = last == ')';
            if (ch == '{') depth++;
            if (ch == '}') depth--;
            if (ch == '(') paren++;
            if (ch == ')') paren--;
            last = ch;
            has_code = true;
            if (ch == ')' && depth == 0 && paren == 0) {
                /* a top-level macro call ending its line: a definition */
                code[clen] = 0;
                size_t j = i;
                while (j < n && src[j] != '\n' && isspace((unsigned char)src[j])) j++;
                if ((j >= n || src[j] == '\n') && macro_call(code)) {
                    i = j < n ? j + 1 : j;
                    macro = true;
                    goto item_end;
                }
            }
            if ((ch == ';' && depth == 0) || (ch == '}' && depth == 0 && func)) {
                while (i < n && src[i] != '\n' && isspace((unsigned char)src[i])) i++;
                if (i < n && src[i] == '\n') i++;
                goto item_end;
            }
        }
        continue;
    item_end:
        code[clen] = 0;
        GROW(out->items, out->cap, out->n + 1);
        Item *it = &out->items[out->n++];
        memset(it, 0, sizeof *it);
        it->text = xmalloc(i - start + 1);
        memcpy(it->text, src + start, i - start);
        it->text[i - start] = 0;
        classify(it, code, func);
        if (macro) {
            free(it->name);
            it->name = macro_name(code);
            it->kind = it->name ? IT_FUNC : IT_TYPE;
        }
        start = i;
        clen = 0;
        paren = 0;
        func = has_code = macro = false;
        last = 0;
    }
    free(code);
}

static Item *find(Items *all, const char *name, ItemKind kind)
{
    for (int i = 0; i < all->n; i++)
        if (all->items[i].kind == kind && all->items[i].name && strcmp(all->items[i].name, name) == 0)
            return &all->items[i];
    return NULL;
}

static void need(Items *all, const char *name);

static void need_refs(Items *all, Item *it)
{
    for (int r = 0; r < it->nrefs; r++) need(all, it->refs[r]);
}

static void need(Items *all, const char *name)
{
    Item *it = find(all, name, IT_FUNC);
    if (!it) it = find(all, name, IT_VAR);
    if (!it || it->keep) return;
    it->keep = true;
    need_refs(all, it);
}

bool ship_shake(const char *const *paths, int npaths, const char *const *roots, int nroots, FILE *out)
{
    Items all = { 0 };
    bool ok = true;
    for (int f = 0; f < npaths; f++) {
        char *src = read_all(paths[f]);
        if (!src) {
            fprintf(stderr, "sharpc emit: cannot read the kernel source %s: %s\n", paths[f], strerror(errno));
            ok = false;
            break;
        }
        cut(src, &all);
        free(src);
    }
    if (ok) {
        for (int i = 0; i < all.n; i++)
            if (all.items[i].kind == IT_PP || all.items[i].kind == IT_TYPE) need_refs(&all, &all.items[i]);
        for (int r = 0; r < nroots; r++) {
            if (!find(&all, roots[r], IT_FUNC)) die("kernel %s is not in the kernel sources", roots[r]);
            need(&all, roots[r]);
        }
        for (int i = 0; i < all.n; i++) {
            Item *it = &all.items[i];
            bool emit = it->kind == IT_PP || it->kind == IT_TYPE || it->keep;
            if (it->kind == IT_PROTO) {
                Item *def = find(&all, it->name, IT_FUNC);
                emit = def && def->keep;
            }
            if (emit) fputs(it->text, out);
        }
    }
    for (int i = 0; i < all.n; i++) {
        free(all.items[i].text);
        free(all.items[i].name);
        for (int r = 0; r < all.items[i].nrefs; r++) free(all.items[i].refs[r]);
        free(all.items[i].refs);
    }
    free(all.items);
    return ok;
}
