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
            ok = cg_ship_train(p, tdir);
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
