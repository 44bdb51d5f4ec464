/* ctx.c: the front end context, file loading and the import graph. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fe_internal.h"

#define FE_MAX_FILE_BYTES (64u << 20)

FeCtx *fe_new(const FeOptions *opt)
{
    FeCtx *fe = xcalloc(1, sizeof(FeCtx));
    if (opt) fe->opt = *opt;
    if (fe->opt.max_errors <= 0) fe->opt.max_errors = 50;
    if (!fe->opt.diag_out) fe->opt.diag_out = stderr;
    return fe;
}

void fe_free(FeCtx *fe)
{
    if (!fe) return;
    for (int i = 0; i < fe->nfiles; i++) {
        free(fe->files[i].path);
        free(fe->files[i].text);
        free(fe->files[i].lines);
        free(fe->real[i]);
    }
    free(fe->files);
    free(fe->real);
    free(fe->loading);
    free(fe->syms);
    fe_arena_free(&fe->arena);
    free(fe);
}

int fe_error_count(const FeCtx *fe) { return fe->errors; }
FeArena *fe_arena(FeCtx *fe) { return &fe->arena; }
FeSource *fe_source(FeCtx *fe, int file) { return &fe->files[file]; }

Loc loc_join(Loc a, Loc b)
{
    if (a.file < 0) return b;
    if (b.file != a.file) return a;
    Loc r = a;
    if (b.start < r.start) r.start = b.start;
    if (b.end > r.end) r.end = b.end;
    return r;
}

int fe_add_source(FeCtx *fe, const char *path, char *text, size_t size)
{
    GROW(fe->files, fe->capfiles, fe->nfiles + 1);
    int capreal = fe->capfiles;
    fe->real = xrealloc(fe->real, sizeof(char *) * (size_t)capreal);
    FeSource *s = &fe->files[fe->nfiles];
    memset(s, 0, sizeof *s);
    s->path = xstrdup(path);
    s->text = text;
    s->size = size;
    /* line starts */
    int cap = 64;
    s->lines = xmalloc(sizeof(uint32_t) * (size_t)cap);
    s->lines[s->nlines++] = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '\n') {
            if (s->nlines == cap) {
                cap *= 2;
                s->lines = xrealloc(s->lines, sizeof(uint32_t) * (size_t)cap);
            }
            s->lines[s->nlines++] = (uint32_t)(i + 1);
        }
    }
    fe->real[fe->nfiles] = NULL;
    return fe->nfiles++;
}

/* Reads a whole file; NULL with errno set on failure. */
static char *read_file(const char *path, size_t *size, const char **why)
{
    struct stat st;
    *why = NULL;
    if (stat(path, &st) != 0) { *why = strerror(errno); return NULL; }
    if (S_ISDIR(st.st_mode)) { *why = "is a directory"; return NULL; }
    FILE *f = fopen(path, "rb");
    if (!f) { *why = strerror(errno); return NULL; }
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= FE_MAX_FILE_BYTES) {
                *why = "is larger than 64 MiB";
                free(buf);
                fclose(f);
                return NULL;
            }
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) { *why = "read error"; free(buf); fclose(f); return NULL; }
    fclose(f);
    buf[n] = 0;
    *size = n;
    return buf;
}

static bool load_file(FeCtx *fe, const char *path, const char *real, Loc from);

/* Finds an imported file: next to the importing file, then in include dirs. */
static bool resolve_import(FeCtx *fe, const char *importer, const char *name, char *out, size_t size)
{
    struct stat st;
    if (name[0] == '/') {
        snprintf(out, size, "%s", name);
        return stat(out, &st) == 0;
    }
    const char *slash = strrchr(importer, '/');
    if (slash)
        snprintf(out, size, "%.*s/%s", (int)(slash - importer), importer, name);
    else
        snprintf(out, size, "%s", name);
    if (stat(out, &st) == 0) return true;
    for (int i = 0; i < fe->opt.ninclude_dirs; i++) {
        snprintf(out, size, "%s/%s", fe->opt.include_dirs[i], name);
        if (stat(out, &st) == 0) return true;
    }
    return false;
}

/* Loads the imports of file `file`, depth first. */
static void load_imports(FeCtx *fe, int file)
{
    FeFile *ast = fe->files[file].ast;
    if (!ast) return;
    for (int i = 0; i < ast->ndecls; i++) {
        Decl *d = ast->decls[i];
        if (d->kind != DECL_IMPORT) continue;
        char path[PATH_MAX];
        if (!resolve_import(fe, fe->files[file].path, d->path, path, sizeof path)) {
            fe_error(fe, d->name_loc, "cannot find imported file '%s'", d->path);
            continue;
        }
        char real[PATH_MAX];
        if (!realpath(path, real)) snprintf(real, sizeof real, "%s", path);
        bool cycle = false;
        for (int k = 0; k < fe->nloading; k++)
            if (strcmp(fe->loading[k], real) == 0) cycle = true;
        if (cycle) {
            fe_error(fe, d->loc, "import cycle: '%s' imports itself through this import", d->path);
            continue;
        }
        bool seen = false;
        for (int k = 0; k < fe->nfiles; k++)
            if (fe->real[k] && strcmp(fe->real[k], real) == 0) seen = true;
        if (!seen) load_file(fe, path, real, d->name_loc);
    }
}

static bool load_file(FeCtx *fe, const char *path, const char *real, Loc from)
{
    size_t size = 0;
    const char *why;
    char *text = read_file(path, &size, &why);
    if (!text) {
        fe_error(fe, from, "cannot read '%s': %s", path, why);
        return false;
    }
    int file = fe_add_source(fe, path, text, size);
    fe->real[file] = xstrdup(real);
    GROW(fe->loading, fe->caploading, fe->nloading + 1);
    fe->loading[fe->nloading++] = fe->real[file];
    fe_parse(fe, file);
    load_imports(fe, file);
    fe->nloading--;
    return true;
}

bool fe_load(FeCtx *fe, const char *path)
{
    int before = fe->errors;
    char real[PATH_MAX];
    if (!realpath(path, real)) snprintf(real, sizeof real, "%s", path);
    Loc none = { -1, 0, 0 };
    load_file(fe, path, real, none);
    return fe->errors == before;
}

bool fe_load_text(FeCtx *fe, const char *name, const char *text, size_t size)
{
    int before = fe->errors;
    char *copy = xmalloc(size + 1);
    memcpy(copy, text, size);
    copy[size] = 0;
    int file = fe_add_source(fe, name, copy, size);
    fe->real[file] = xstrdup(name);
    GROW(fe->loading, fe->caploading, fe->nloading + 1);
    fe->loading[fe->nloading++] = fe->real[file];
    fe_parse(fe, file);
    load_imports(fe, file);
    fe->nloading--;
    return fe->errors == before;
}
