/* ship_cuda.c: the CUDA side of `sharpc emit --target cuda`. model.cu
 * carries the kernel templates of runtime/kernels/cuda (every shape a
 * template argument) and launches each with the layer's constants, so nvcc
 * specializes them at compile time as NVRTC does at run time in the search
 * and training programs; the launch geometry is cuda_kernels.h's
 * kc_launch(), the same function the runtime uses. The tuning choices (the
 * pointwise GEMM tile, the depthwise outputs per thread) are cuda_kernels.h's
 * too, picked as codegen/cuda/cuda_instances.c picks them. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "cuda_kernels.h"
#include "ship.h"
#include "util.h"

static const uint32_t *ins(const IrGraph *g, int v) { return ir_inputs(g, v); }

/* Launches kernel k with template arguments a: `name<a...><<<grid, NT>>>(args)`. */
static void launch(Writer *w, KcKernel k, int na, const int *a, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void launch(Writer *w, KcKernel k, int na, const int *a, const char *fmt, ...)
{
    ship_use_kernel(w, kc_file(k));
    fprintf(w->out, "    {\n        static const int a[] = { ");
    for (int i = 0; i < na; i++) fprintf(w->out, "%s%d", i ? ", " : "", a[i]);
    fprintf(w->out, " };\n        %s<", kc_name(k));
    for (int i = 0; i < na; i++) fprintf(w->out, "%s%d", i ? ", " : "", a[i]);
    fprintf(w->out, "><<<m_grid(KC_%s, a, N), KC_NT>>>(", kc_name(k));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w->out, fmt, ap);
    va_end(ap);
    fprintf(w->out, ");\n    }\n");
}

#define A(...) (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int)), (int[]){ __VA_ARGS__ }

void ship_call_cuda(Writer *w, int v)
{
    const IrGraph *g = w->g;
    const ShipNet *s = w->s;
    const IrNode *n = &g->nodes[v];
    const IrAttrs *a = &n->a;
    char xb[96], yb[96], pb[64], qb[64], bb[96];
    const IrShape *xs = n->nin ? &g->nodes[ins(g, v)[0]].shape : NULL;
    int D = (int)ir_shape_numel(n->shape);
    int C = n->shape.d[1], HW = n->shape.rank == 4 ? n->shape.d[2] * n->shape.d[3] : 1;
    ship_comment(w, v);
    ship_src(w, v, 0, xb, sizeof xb);
    ship_dst(w, v, yb, sizeof yb);
    switch (n->op) {
    case OP_CONV2D: {
        if (a->pt != a->pb || a->pl != a->pr) die("asymmetric padding reaches the emitter");
        int Ci = xs->d[1], H = xs->d[2], W = xs->d[3], G = a->groups;
        ship_param(s->pw[v], pb, sizeof pb);
        if (a->kh == 1 && a->kw == 1 && a->pt == 0 && a->pl == 0 && G == 1) {
            int bm, bn;
            kc_pw_tile(C, HW, &bm, &bn);
            launch(w, KC_pw_fwd, A(Ci, H, W, C, a->sh, a->sw, bm, bn), "N, %s, %s, %s", xb, pb, yb);
        } else if (G > 1 && G == Ci && G == C) {
            launch(w, KC_dwconv_fwd,
                   A(Ci, H, W, a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->dh, a->dw,
                     kc_dw_vw(n->shape.d[3], a->kw)),
                   "N, %s, %s, %s", xb, pb, yb);
        } else {
            launch(w, KC_conv2d_fwd, A(Ci, H, W, C, a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->dh, a->dw, G),
                   "N, %s, %s, %s", xb, pb, yb);
        }
        if (s->pb[v] >= 0 || s->relu_after[v]) {
            ship_param(s->pb[v], qb, sizeof qb);
            launch(w, KC_channel_affine, A(C, HW, 0, s->pb[v] >= 0, s->relu_after[v]), "N, NULL, %s, %s, %s", qb,
                   yb, yb);
        }
        return;
    }
    case OP_BATCH_NORM:
        ship_param(s->pw[v], pb, sizeof pb);
        ship_param(s->pb[v], qb, sizeof qb);
        launch(w, KC_channel_affine, A(C, HW, 1, 1, s->relu_after[v]), "N, %s, %s, %s, %s", pb, qb, xb, yb);
        return;
    case OP_RELU:
        launch(w, KC_relu_fwd, A(D), "N, %s, %s", xb, yb);
        return;
    case OP_MAX_POOL:
        launch(w, KC_maxpool_fwd, A(xs->d[1], xs->d[2], xs->d[3], a->kh, a->kw, a->sh, a->sw, a->pt, a->pl),
               "N, %s, %s", xb, yb);
        return;
    case OP_AVG_POOL:
        launch(w, KC_avgpool_fwd,
               A(xs->d[1], xs->d[2], xs->d[3], a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->cip), "N, %s, %s",
               xb, yb);
        return;
    case OP_PAD:
        launch(w, KC_pad_fwd, A(xs->d[1], xs->d[2], xs->d[3], a->pt, a->pb, a->pl, a->pr), "N, %s, %s", xb, yb);
        return;
    case OP_SLICE:
        launch(w, KC_slice_fwd, A(xs->d[1], xs->d[2] * xs->d[3], a->start, a->end - a->start), "N, %s, %s", xb,
               yb);
        return;
    case OP_CONCAT: {
        int c0 = 0;
        for (int i = 0; i < n->nin; i++) {
            int ci = g->nodes[ins(g, v)[i]].shape.d[1];
            launch(w, KC_concat_put, A(C, HW, c0, ci), "N, %s, %s", ship_src(w, v, i, xb, sizeof xb), yb);
            c0 += ci;
        }
        return;
    }
    case OP_ADD: {
        int terms[64], k = ship_sum_terms(s, v, terms, 64);
        launch(w, KC_add_fwd, A(D), "N, %s, %s, %s", ship_src(w, v, terms[0], xb, sizeof xb),
               ship_src(w, v, terms[1], bb, sizeof bb), yb);
        for (int i = 2; i < k; i++) launch(w, KC_acc, A(D), "N, %s, %s", ship_src(w, v, terms[i], xb, sizeof xb), yb);
        return;
    }
    case OP_SCALE:
        launch(w, KC_scale, A(D), "N, %.9gf, %s, %s", a->scale, xb, yb);
        return;
    case OP_ZERO:
        launch(w, KC_zero, A(D), "N, %s", yb);
        return;
    case OP_GLOBAL_AVG_POOL:
        launch(w, KC_gap_fwd, A(xs->d[1], xs->d[2] * xs->d[3]), "N, %s, %s", xb, yb);
        return;
    case OP_LINEAR:
        ship_param(s->pw[v], pb, sizeof pb);
        ship_param(s->pb[v], qb, sizeof qb);
        launch(w, KC_linear_fwd, A((int)ir_shape_numel(*xs), C, s->pb[v] >= 0), "N, %s, %s, %s, %s", xb, pb, qb,
               yb);
        if (s->relu_after[v]) launch(w, KC_relu_fwd, A(C), "N, %s, %s", yb, yb);
        return;
    default:
        die("op %s reaches the CUDA emitter", ir_op_name(n->op));
    }
}

/* Copies a CUDA source without its `#include "..."` and `#pragma once` lines. */
static bool copy_cuda(FILE *out, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/kernels/cuda/%s", cg_path(CG_PATH_RUNTIME), name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sharpc emit: cannot read %s\n", path);
        return false;
    }
    fprintf(out, "\n/* ---- %s ---- */\n", name);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "#include \"", 10) || !strncmp(line, "#pragma once", 12)) continue;
        fputs(line, out);
    }
    bool ok = !ferror(f);
    fclose(f);
    return ok;
}

bool ship_cuda_prelude(Writer *w, const CgProgram *p, FILE *c)
{
    fprintf(c,
            "/* model.cu: the network '%s' of %s, for inference on an NVIDIA GPU\n"
            " * (see model.h; build with the Makefile's nvcc). Emitted by `sharpc emit\n"
            " * --target cuda`. Batch norm is folded into the convolution before it when\n"
            " * the weights are loaded; ReLUs run in the epilogue of the kernel that\n"
            " * makes their input; drop path, zero ops, identities and the auxiliary\n"
            " * head are gone. Every kernel is a template instantiated with its layer's\n"
            " * shapes; every activation lives at a fixed offset (times the batch) in\n"
            " * one device arena planned by liveness. */\n"
            "#include \"model.h\"\n\n"
            "#include <cuda_runtime.h>\n"
            "#include <errno.h>\n#include <limits.h>\n#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n"
            "#include <stdlib.h>\n#include <string.h>\n\n"
            "typedef float real;\n\n"
            "/* ---- kernels: sharpc's runtime/kernels/cuda, the files this network calls ---- */\n",
            w->g->name, p->source);
    bool ok = copy_cuda(c, "sharp_cuda.cuh");
    for (int i = 0; i < KC_NFILES && ok; i++) {
        bool used = false;
        for (int k = 0; k < w->nkernels; k++) used |= strcmp(w->kernels[k], kc_files[i]) == 0;
        if (used) ok = copy_cuda(c, kc_files[i]);
    }
    fprintf(c, "\n/* ---- launch geometry (sharpc's cuda_kernels.h; this model uses only some\n"
               " * of its helpers, hence the silenced \"declared but never referenced\") ---- */\n"
               "#pragma nv_diag_suppress 177\n");
    ok = ok && copy_cuda(c, "cuda_kernels.h");
    fprintf(c, "#pragma nv_diag_default 177\n");
    fputc('\n', c);
    return ok;
}
