/* ship.c: `sharpc emit --target c`: writes the standalone source of a fixed
 * network into a fresh directory and moves it into place only when every
 * file is written, so a failed emit leaves nothing behind and an earlier
 * emit output is replaced whole. The files themselves come from
 * ship_model.c (model.h, model.c, model_weights.c), ship_files.c (main.c,
 * Makefile, README.md) and ship_train.c (train/). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ship.h"
#include "util.h"

FILE *ship_open(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "sharpc emit: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

bool ship_close(FILE *f, const char *dir, const char *name)
{
    bool ok = !ferror(f);
    if (fclose(f) != 0) ok = false;
    if (!ok) fprintf(stderr, "sharpc emit: cannot write %s/%s: %s\n", dir, name, strerror(errno));
    return ok;
}

bool ship_copy_file(FILE *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "sharpc emit: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, k, out);
    bool ok = !ferror(f);
    if (!ok) fprintf(stderr, "sharpc emit: cannot read %s: %s\n", path, strerror(errno));
    fclose(f);
    return ok;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

bool ship_list_dir(const char *dir, const char *suffix, const char *const *except, ShipNames *l)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "sharpc emit: cannot read the sources in %s: %s\n", dir, strerror(errno));
        return false;
    }
    size_t k = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        bool skip = n <= k || strcmp(e->d_name + n - k, suffix) != 0;
        for (int i = 0; except && except[i] && !skip; i++) skip = strcmp(e->d_name, except[i]) == 0;
        if (skip) continue;
        GROW(l->name, l->cap, l->n + 1);
        l->name[l->n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(l->name, (size_t)l->n, sizeof l->name[0], cmp_name);
    return true;
}

void ship_names_free(ShipNames *l)
{
    for (int i = 0; i < l->n; i++) free(l->name[i]);
    free(l->name);
    memset(l, 0, sizeof *l);
}

/* Removes the tree at path (files and directories we wrote). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(sub);
            else unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

/* 0: path does not exist or is an empty directory; 1: an earlier emit
 * output (has model.h); -1: something else (refused, message printed). */
static int existing(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sharpc emit: %s exists and is not a directory\n", path);
        return -1;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "sharpc emit: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    bool empty = true, ours = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        empty = false;
        if (!strcmp(e->d_name, "model.h")) ours = true;
    }
    closedir(d);
    if (empty) return 0;
    if (ours) return 1;
    fprintf(stderr, "sharpc emit: %s is not empty and holds no earlier emit output (model.h); "
                    "choose another directory\n", path);
    return -1;
}

bool cg_ship_c(const CgProgram *p, const CgShipOptions *opt)
{
    int ex = existing(opt->dir);
    if (ex < 0) return false;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", opt->dir, (long)getpid());
    if (mkdir(tmp, 0777) != 0) {
        fprintf(stderr, "sharpc emit: cannot create %s: %s\n", tmp, strerror(errno));
        return false;
    }
    bool ok = ship_model(p, opt, tmp) && ship_files(p, opt, tmp);
    if (ok && opt->train) {
        char tdir[4096];
        snprintf(tdir, sizeof tdir, "%s/train", tmp);
        if (mkdir(tdir, 0777) != 0) {
            fprintf(stderr, "sharpc emit: cannot create %s: %s\n", tdir, strerror(errno));
            ok = false;
        } else {
            ok = cg_ship_train(p, tdir, opt->cuda);
        }
    }
    if (ok) {
        char old[4096];
        snprintf(old, sizeof old, "%s.old.%ld", opt->dir, (long)getpid());
        if (ex == 1 && rename(opt->dir, old) != 0) {
            fprintf(stderr, "sharpc emit: cannot replace %s: %s\n", opt->dir, strerror(errno));
            ok = false;
        } else if (ex == 0) {
            rmdir(opt->dir); /* empty or absent */
        }
        if (ok && rename(tmp, opt->dir) != 0) {
            fprintf(stderr, "sharpc emit: cannot write %s: %s\n", opt->dir, strerror(errno));
            if (ex == 1) rename(old, opt->dir);
            ok = false;
        }
        if (ok && ex == 1) remove_tree(old);
    }
    if (!ok) remove_tree(tmp);
    return ok;
}
