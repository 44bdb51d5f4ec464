/* ship_check.c: `sharpc emit --weights FILE` checks the weights file now,
 * with the very loader the emitted model.c carries (lib/model_load.c is
 * compiled in here), so a file that sharpc accepts loads in the model. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ship.h"
#include "util.h"

#include "lib/model_load.c"

bool ship_check_weights(const ShipNet *s, const char *path)
{
    const IrGraph *g = s->g;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "sharpc emit: %s: cannot open: %s\n", path, strerror(errno));
        return false;
    }
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, k;
    do {
        if (len == cap) buf = xrealloc(buf, cap = cap ? cap * 2 : 1 << 20);
        k = fread(buf + len, 1, cap - len, f);
        len += k;
    } while (k > 0);
    bool ok = !ferror(f);
    fclose(f);
    MTensor *ts = xcalloc((size_t)s->ntensors + 1, sizeof *ts);
    for (int v = 0; v < g->n; v++) {
        int t = s->tensor[v];
        if (t < 0) continue;
        ts[t].name = ir_str_get(g, g->nodes[v].name);
        ts[t].rank = g->nodes[v].shape.rank;
        for (int d = 0; d < ts[t].rank; d++) ts[t].shape[d] = g->nodes[v].shape.d[d];
    }
    MFold *fs = xcalloc((size_t)s->nfolds + 1, sizeof *fs);
    for (int i = 0; i < s->nfolds; i++) {
        const ShipFold *sf = &s->folds[i];
        fs[i] = (MFold){ sf->kind, sf->w, sf->gamma, sf->beta, sf->mean, sf->var, sf->eps,
                         sf->c0, sf->co, sf->k, sf->dst, sf->bdst };
    }
    float *params = xmalloc(sizeof(float) * (size_t)(s->nparams + 1));
    char err[1024];
    if (!ok) {
        fprintf(stderr, "sharpc emit: %s: read error\n", path);
    } else if (m_load(buf, len, path, ts, s->ntensors, fs, s->nfolds, params, err, sizeof err)) {
        fprintf(stderr, "sharpc emit: %s\n", err);
        ok = false;
    }
    free(params);
    free(fs);
    free(ts);
    free(buf);
    return ok;
}
