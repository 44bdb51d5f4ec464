/* rt_genotype.c: genotype extraction (sharpdarts.md §4.1) from the
 * architecture parameters, and the genotype.nas file a search writes: the
 * Genotype(...) literal in the form DARTS prints, a final network built on
 * the prelude's cifar_final, and a train block, so that `sharpc build
 * genotype.nas` compiles it as it is. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_kernels.h"
#include "rt_run.h"
#include "sharprt.h"

#define MAX_OPS 64

/* Splits a comma-separated list in place; returns the count. */
static int split(char *s, char **out, int max)
{
    int n = 0;
    for (char *t = strtok(s, ","); t && n < max; t = strtok(NULL, ",")) out[n++] = t;
    return n;
}

/* One role's (normal or reduce) gene: 2*steps pairs and the concat list. */
static int gene(const RtConfig *c, const char *role, const float *alpha, int rows, int P, char *buf, size_t len)
{
    char key[64], ops_s[2048];
    snprintf(key, sizeof key, "arch.%s.ops", role);
    const char *v = rt_setting(c, key);
    snprintf(key, sizeof key, "arch.%s.steps", role);
    const char *st = rt_setting(c, key);
    if (!v || !st) return -1;
    snprintf(ops_s, sizeof ops_s, "%s", v);
    char *ops[MAX_OPS];
    int nops = split(ops_s, ops, MAX_OPS), steps = atoi(st);
    if (nops != P || steps * (steps + 3) / 2 != rows) return -1;
    size_t k = 0;
    k += (size_t)snprintf(buf + k, len - k, "[");
    int row0 = 0;
    for (int i = 0; i < steps; i++) {
        int nin = i + 2;
        double score[66];
        int best[66], order[66];
        for (int j = 0; j < nin; j++) {
            real w[MAX_OPS];
            k_arch_softmax_fwd(1, P, alpha + (size_t)(row0 + j) * P, w);
            score[j] = -1;
            best[j] = -1;
            for (int q = 0; q < P; q++) {
                if (c->skip_none && !strcmp(ops[q], "none")) continue;
                if (w[q] > score[j]) {
                    score[j] = w[q];
                    best[j] = q;
                }
            }
            order[j] = j;
        }
        /* stable sort by score, descending */
        for (int a = 1; a < nin; a++)
            for (int b = a; b > 0 && score[order[b]] > score[order[b - 1]]; b--) {
                int t = order[b];
                order[b] = order[b - 1];
                order[b - 1] = t;
            }
        for (int t = 0; t < 2 && t < nin; t++) {
            int j = order[t];
            if (best[j] < 0) return -1;
            k += (size_t)snprintf(buf + k, len - k, "%s('%s', %d)", (i || t) ? ", " : "", ops[best[j]], j);
            if (k >= len) return -1;
        }
        row0 += nin;
    }
    snprintf(key, sizeof key, "arch.%s.concat", role);
    const char *cc = rt_setting(c, key);
    k += (size_t)snprintf(buf + k, len - k, "], %s_concat=[", role);
    if (cc)
        for (const char *p = cc; *p && k < len; p++) k += (size_t)snprintf(buf + k, len - k, *p == ',' ? ", " : "%c", *p);
    k += (size_t)snprintf(buf + k, len - k, "]");
    return k < len ? 0 : -1;
}

int rt_genotype_text(const RtNetDesc *d, const RtConfig *c, const float *alphas, char *buf, size_t len)
{
    if (!d->is_search || d->arch_rows <= 0) return -1;
    int rows = d->arch_rows, P = d->arch_cols;
    char g1[4096], g2[4096];
    const float *an = NULL, *ar = NULL;
    for (int i = 0; i < d->nparams; i++) {
        if (!strcmp(d->params[i].name, "alphas_normal")) an = alphas + d->params[i].offset;
        if (!strcmp(d->params[i].name, "alphas_reduce")) ar = alphas + d->params[i].offset;
    }
    if (!an || !ar) return -1;
    if (gene(c, "normal", an, rows, P, g1, sizeof g1) || gene(c, "reduce", ar, rows, P, g2, sizeof g2)) return -1;
    int k = snprintf(buf, len, "Genotype(normal=%s, reduce=%s)", g1, g2);
    return k > 0 && (size_t)k < len ? 0 : -1;
}

int rt_genotype_write(const RtNetDesc *d, const RtConfig *c, const float *alphas, const char *path, int epoch,
                      char *err, size_t errlen)
{
    char g[9000];
    if (rt_genotype_text(d, c, alphas, g, sizeof g)) {
        snprintf(err, errlen, "%s: cannot extract a genotype: the network has no search edges the runtime knows", path);
        return -1;
    }
    char tmp[2100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        return -1;
    }
    char ds[32];
    snprintf(ds, sizeof ds, "%s", c->dataset);
    for (char *p = ds; *p; p++)
        if (*p == '-') *p = '_';
    const char *opt = rt_setting(c, "arch.optable");
    fprintf(f, "# genotype.nas: found by the sharpc search of %s (network %s), epoch %d.\n", d->source, d->name,
            epoch);
    fprintf(f, "# Train it: sharpc build genotype.nas -o train && ./train%s%s\n", c->data[0] ? " --data " : "",
            c->data[0] ? c->data : "");
    fprintf(f, "import \"prelude.nas\";\n\nFOUND = %s\n\n", g);
    fprintf(f, "network found : cifar_final {\n  input %dx%dx%d;\n  classes %d;\n  C %d;\n  layers %d;\n",
            d->in_c, d->in_h, d->in_w, d->classes, c->final_C, c->final_layers);
    fprintf(f, "  genotype FOUND;\n");
    if (opt) fprintf(f, "  optable %s;\n", opt);
    if (!c->final_aux) fprintf(f, "  auxiliary false;\n");
    fprintf(f, "}\n\ntrain {\n  network found;\n  epochs %d;\n  batch %d;\n  seed %llu;\n", c->final_epochs,
            c->batch, (unsigned long long)c->seed);
    fprintf(f, "  weights sgd(lr = %g, momentum = %g, decay = %g, clip = %g);\n", c->lr, c->momentum, c->wd, c->clip);
    fprintf(f, "  schedule cosine_power(min = 1e-8, order = 2, warmup = %d);\n",
            c->final_epochs >= 20 ? 5 : 0); /* §6.5's 5 warmup epochs are for long runs */
    fprintf(f, "  augment crop(%d), flip, cutout(%d);\n", c->crop > 0 ? c->crop : 4, d->in_h >= 32 ? 16 : 8);
    fprintf(f, "  drop_path 0.2;\n");
    if (c->final_aux) fprintf(f, "  auxiliary 0.4;\n");
    if (ds[0]) fprintf(f, "  dataset %s;\n", ds);
    fprintf(f, "}\n");
    if (ferror(f) | fclose(f) || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
