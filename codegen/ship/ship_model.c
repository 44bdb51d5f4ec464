/* ship_model.c: writes model.h (the API and the network's constants),
 * model.c (the kernels the network calls, copied from the runtime by
 * ship_shake.c; the weights loader of lib/model_load.c; the tensor and fold
 * tables; one function per stem, cell and head calling the kernels with
 * literal shapes on planned arena offsets) and, for embedded weights,
 * model_weights.c. The program is ship_plan.c's. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rt_norms.h"
#include "ship.h"
#include "ship_shake.h"
#include "util.h"

static const uint32_t *ins(const IrGraph *g, int v) { return ir_inputs(g, v); }

void ship_use_kernel(Writer *w, const char *k)
{
    for (int i = 0; i < w->nkernels; i++)
        if (strcmp(w->kernels[i], k) == 0) return;
    GROW(w->kernels, w->capkernels, w->nkernels + 1);
    w->kernels[w->nkernels++] = k;
}

/* The C expression of the value node v reads in slot `slot`. */
const char *ship_src(Writer *w, int v, int slot, char *buf, size_t size)
{
    const IrGraph *g = w->g;
    int u = ship_value(w->s, (int)ins(g, v)[slot]);
    if (w->s->prologue[u]) u = ship_value(w->s, (int)ins(g, u)[0]);
    if (g->nodes[u].op == OP_INPUT) snprintf(buf, size, "x");
    else if (g->nodes[u].op == OP_PARAM) die("parameter read as a value");
    else snprintf(buf, size, "A + (ptrdiff_t)N * %" PRId64, w->s->off[u]);
    return buf;
}

/* The C expression of node v's own buffer. */
const char *ship_dst(Writer *w, int v, char *buf, size_t size)
{
    if (v == w->s->rep[w->s->out] && w->s->direct_out) snprintf(buf, size, "out");
    else snprintf(buf, size, "A + (ptrdiff_t)N * %" PRId64, w->s->off[v]);
    return buf;
}

/* The layer a node belongs to, by its weight's state_dict name. */
static const char *layer_name(Writer *w, int v, char *buf, size_t size)
{
    const IrGraph *g = w->g;
    const IrNode *n = &g->nodes[v];
    int p = -1;
    if (n->op == OP_CONV2D || n->op == OP_LINEAR) p = (int)ins(g, v)[1];
    if (n->op == OP_BATCH_NORM) p = (int)ins(g, v)[1];
    const char *name = p >= 0 ? ir_str_get(g, g->nodes[p].name) : "";
    const char *dot = strrchr(name, '.');
    snprintf(buf, size, "%.*s", dot ? (int)(dot - name) : (int)strlen(name), name);
    return buf;
}

void ship_comment(Writer *w, int v)
{
    const IrGraph *g = w->g;
    const IrNode *n = &g->nodes[v];
    char sb[64], lb[160], fb[160];
    const char *op = ir_op_name(n->op);
    char what[256];
    if (n->op == OP_CONV2D) {
        const IrShape *xs = &g->nodes[ins(g, v)[0]].shape;
        bool dw = n->a.groups > 1 && n->a.groups == xs->d[1];
        snprintf(what, sizeof what, "%s%dx%d conv %d->%d%s%s", dw ? "depthwise " : "", n->a.kh, n->a.kw, xs->d[1],
                 n->shape.d[1], n->a.sh > 1 ? " stride 2" : "", n->a.dh > 1 ? " dilation 2" : "");
    } else {
        snprintf(what, sizeof what, "%s", op);
    }
    fb[0] = 0;
    if (n->op == OP_CONV2D && w->s->fold[v] >= 0)
        snprintf(fb, sizeof fb, " + %s folded", layer_name(w, w->s->fold[v], lb, sizeof lb));
    layer_name(w, v, lb, sizeof lb);
    fprintf(w->out, "    /* %s%s%s%s%s -> %s */\n", lb, lb[0] ? ": " : "", what, fb,
            w->s->relu_after[v] ? " + relu" : "", ir_shape_str(n->shape, sb, sizeof sb));
}

void ship_param(int64_t off, char *buf, size_t size)
{
    if (off < 0) snprintf(buf, size, "NULL");
    else snprintf(buf, size, "P + %" PRId64, off);
}

/* One kernel call (or a few) for computed node v. */
static void call(Writer *w, int v)
{
    if (w->cuda) {
        ship_call_cuda(w, v);
        return;
    }
    const IrGraph *g = w->g;
    const ShipNet *s = w->s;
    const IrNode *n = &g->nodes[v];
    const IrAttrs *a = &n->a;
    FILE *o = w->out;
    char xb[96], yb[96], pb[64], qb[64];
    const IrShape *xs = n->nin ? &g->nodes[ins(g, v)[0]].shape : NULL;
    int64_t numel = ir_shape_numel(n->shape);
    int C = n->shape.d[1], HW = n->shape.rank == 4 ? n->shape.d[2] * n->shape.d[3] : 1;
    ship_comment(w, v);
    switch (n->op) {
    case OP_CONV2D: {
        if (a->pt != a->pb || a->pl != a->pr) die("asymmetric padding reaches the emitter");
        int x = ship_value(s, (int)ins(g, v)[0]);
        bool pre = s->prologue[x];
        const char *k = pre ? "k_conv2d_fwd_pre" : "k_conv2d_fwd";
        ship_use_kernel(w, k);
        ship_param(s->pw[v], pb, sizeof pb);
        fprintf(o, "    %s(N, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %s%s, %s, %s);\n", k, xs->d[1],
                xs->d[2], xs->d[3], C, a->kh, a->kw, a->sh, a->sw, a->pt, a->pl, a->dh, a->dw, a->groups,
                pre ? "NULL, NULL, NULL, " : "", ship_src(w, v, 0, xb, sizeof xb), pb, ship_dst(w, v, yb, sizeof yb));
        if (s->pb[v] >= 0 || s->relu_after[v]) {
            ship_use_kernel(w, "k_channel_affine_fwd");
            ship_param(s->pb[v], qb, sizeof qb);
            fprintf(o, "    k_channel_affine_fwd(N, %d, %d, %d, NULL, %s, %s, %s);\n", C, HW, s->relu_after[v], qb, yb,
                    yb);
        }
        return;
    }
    case OP_BATCH_NORM:
        ship_use_kernel(w, "k_channel_affine_fwd");
        ship_param(s->pw[v], pb, sizeof pb);
        ship_param(s->pb[v], qb, sizeof qb);
        fprintf(o, "    k_channel_affine_fwd(N, %d, %d, %d, %s, %s, %s, %s);\n", C, HW, s->relu_after[v], pb, qb,
                ship_src(w, v, 0, xb, sizeof xb), ship_dst(w, v, yb, sizeof yb));
        return;
    case OP_RELU:
        ship_use_kernel(w, "k_relu_fwd");
        fprintf(o, "    k_relu_fwd((ptrdiff_t)N * %" PRId64 ", %s, %s);\n", numel, ship_src(w, v, 0, xb, sizeof xb),
                ship_dst(w, v, yb, sizeof yb));
        return;
    case OP_MAX_POOL:
    case OP_AVG_POOL: {
        if (a->pt != a->pb || a->pl != a->pr) die("asymmetric padding reaches the emitter");
        const char *k = n->op == OP_MAX_POOL ? "k_maxpool_fwd" : "k_avgpool_fwd";
        ship_use_kernel(w, k);
        fprintf(o, "    %s(N, %d, %d, %d, %d, %d, %d, %d, %d, %d, ", k, xs->d[1], xs->d[2], xs->d[3], a->kh, a->kw,
                a->sh, a->sw, a->pt, a->pl);
        if (n->op == OP_AVG_POOL) fprintf(o, "%d, ", a->cip);
        fprintf(o, "%s, %s);\n", ship_src(w, v, 0, xb, sizeof xb), ship_dst(w, v, yb, sizeof yb));
        return;
    }
    case OP_PAD:
        ship_use_kernel(w, "k_pad_fwd");
        fprintf(o, "    k_pad_fwd(N, %d, %d, %d, %d, %d, %d, %d, %s, %s);\n", xs->d[1], xs->d[2], xs->d[3], a->pt, a->pb,
                a->pl, a->pr, ship_src(w, v, 0, xb, sizeof xb), ship_dst(w, v, yb, sizeof yb));
        return;
    case OP_SLICE:
        ship_use_kernel(w, "k_slice_channels_fwd");
        fprintf(o, "    k_slice_channels_fwd(N, %d, %d, %d, %d, %s, %s);\n", xs->d[1], xs->d[2] * xs->d[3], a->start,
                a->end - a->start, ship_src(w, v, 0, xb, sizeof xb), ship_dst(w, v, yb, sizeof yb));
        return;
    case OP_CONCAT: {
        ship_use_kernel(w, "k_concat_put");
        int c0 = 0;
        for (int i = 0; i < n->nin; i++) {
            int ci = g->nodes[ins(g, v)[i]].shape.d[1];
            fprintf(o, "    k_concat_put(N, %d, %d, %d, %d, %s, %s);\n", C, HW, c0, ci, ship_src(w, v, i, xb, sizeof xb),
                    ship_dst(w, v, yb, sizeof yb));
            c0 += ci;
        }
        return;
    }
    case OP_ADD: {
        int terms[64], k = ship_sum_terms(s, v, terms, 64);
        char bb[96];
        ship_use_kernel(w, "k_add_fwd");
        fprintf(o, "    k_add_fwd((ptrdiff_t)N * %" PRId64 ", %s, %s, %s);\n", numel, ship_src(w, v, terms[0], xb, sizeof xb),
                ship_src(w, v, terms[1], bb, sizeof bb), ship_dst(w, v, yb, sizeof yb));
        for (int i = 2; i < k; i++) {
            ship_use_kernel(w, "k_acc");
            fprintf(o, "    k_acc((ptrdiff_t)N * %" PRId64 ", %s, %s);\n", numel, ship_src(w, v, terms[i], xb, sizeof xb), yb);
        }
        return;
    }
    case OP_SCALE:
        ship_use_kernel(w, "k_scale_fwd");
        fprintf(o, "    k_scale_fwd((ptrdiff_t)N * %" PRId64 ", (real)%.9g, %s, %s);\n", numel, a->scale,
                ship_src(w, v, 0, xb, sizeof xb), ship_dst(w, v, yb, sizeof yb));
        return;
    case OP_ZERO:
        ship_use_kernel(w, "k_zero_fwd");
        fprintf(o, "    k_zero_fwd(N, %d, %d, %d, %d, %s);\n", xs->d[1], xs->d[2], xs->d[3], a->sh,
                ship_dst(w, v, yb, sizeof yb));
        return;
    case OP_GLOBAL_AVG_POOL:
        ship_use_kernel(w, "k_gap_fwd");
        fprintf(o, "    k_gap_fwd(N, %d, %d, %s, %s);\n", xs->d[1], xs->d[2] * xs->d[3], ship_src(w, v, 0, xb, sizeof xb),
                ship_dst(w, v, yb, sizeof yb));
        return;
    case OP_LINEAR:
        ship_use_kernel(w, "k_linear_fwd");
        ship_param(s->pw[v], pb, sizeof pb);
        ship_param(s->pb[v], qb, sizeof qb);
        fprintf(o, "    k_linear_fwd(N, %d, %d, %s, %s, %s, %s);\n", ir_shape_numel(*xs), C,
                ship_src(w, v, 0, xb, sizeof xb), pb, qb, ship_dst(w, v, yb, sizeof yb));
        if (s->relu_after[v]) {
            ship_use_kernel(w, "k_relu_fwd");
            fprintf(o, "    k_relu_fwd((ptrdiff_t)N * %d, %s, %s);\n", C, yb, yb);
        }
        return;
    default:
        die("op %s reaches the emitter", ir_op_name(n->op));
    }
}

/* The function name of the block node v belongs to. */
static void block_name(Writer *w, int v, char *buf, size_t size)
{
    const IrNode *n = &w->g->nodes[v];
    const char *r = ir_str_get(w->g, n->region);
    size_t k = 0;
    if (n->cell >= 0) k = (size_t)snprintf(buf, size, "cell_%d_", n->cell);
    for (; *r && k + 1 < size; r++) {
        if (!strcmp(r, " cell")) break;
        buf[k++] = isalnum((unsigned char)*r) ? *r : '_';
    }
    buf[k] = 0;
    if (!k) snprintf(buf, size, "block");
}

/* The forward: one static function per block, then model_forward. */
static void write_forward(Writer *w)
{
    const ShipNet *s = w->s;
    const IrGraph *g = w->g;
    char names[256][64];
    int nblocks = 0;
    char cur[64] = "";
    for (int v = 0; v < g->n; v++) {
        if (!s->computed[v]) continue;
        char b[64];
        block_name(w, v, b, sizeof b);
        if (strcmp(b, cur) != 0) {
            if (cur[0]) fprintf(w->out, "}\n\n");
            if (nblocks >= 256) die("too many blocks");
            snprintf(names[nblocks++], sizeof names[0], "%s", b);
            snprintf(cur, sizeof cur, "%s", b);
            const IrNode *n = &g->nodes[v];
            if (n->cell >= 0) fprintf(w->out, "/* cell %d: %s */\n", n->cell, ir_str_get(g, n->region));
            else fprintf(w->out, "/* %s */\n", ir_str_get(g, n->region));
            fprintf(w->out, "static void %s(const real *P, const real *x, real *A, real *out, int N)\n{\n", b);
            fprintf(w->out, "    (void)P, (void)x, (void)A, (void)out;\n");
        }
        call(w, v);
    }
    if (cur[0]) fprintf(w->out, "}\n\n");
    int rep = s->rep[s->out];
    const char *in = "(ptrdiff_t)i * MODEL_IN_C * MODEL_IN_H * MODEL_IN_W";
    fprintf(w->out, "int model_forward(model_t *m, int n, const float *images, float *logits)\n{\n"
                    "    int i;\n"
                    "    for (i = 0; i < n; i += m->max_batch) {\n"
                    "        int N = n - i < m->max_batch ? n - i : m->max_batch;\n");
    if (w->cuda)
        fprintf(w->out, "        const real *x = m->x;\n"
                        "        real *out = m->y;\n"
                        "        if (M_CUDA(cudaMemcpy(m->x, images + %s, sizeof(real) * (size_t)N * MODEL_IN_C * "
                        "MODEL_IN_H * MODEL_IN_W, cudaMemcpyHostToDevice), m->err, sizeof m->err))\n"
                        "            return -1;\n", in);
    else
        fprintf(w->out, "        const real *x = images + %s;\n"
                        "        real *out = logits + (ptrdiff_t)i * MODEL_CLASSES;\n", in);
    for (int b = 0; b < nblocks; b++) fprintf(w->out, "        %s(m->params, x, m->arena, out, N);\n", names[b]);
    if (!s->direct_out && w->cuda)
        fprintf(w->out, "        if (M_CUDA(cudaMemcpy(out, m->arena + (ptrdiff_t)N * %" PRId64 ", sizeof(real) * (size_t)N * "
                        "MODEL_CLASSES, cudaMemcpyDeviceToDevice), m->err, sizeof m->err))\n            return -1;\n",
                s->off[rep]);
    else if (!s->direct_out)
        fprintf(w->out, "        memcpy(out, m->arena + (ptrdiff_t)N * %" PRId64 ", sizeof(real) * (size_t)N * MODEL_CLASSES);\n",
                s->off[rep]);
    if (w->cuda)
        fprintf(w->out, "        if (M_CUDA(cudaGetLastError(), m->err, sizeof m->err) ||\n"
                        "            M_CUDA(cudaMemcpy(logits + (ptrdiff_t)i * MODEL_CLASSES, m->y, sizeof(real) * (size_t)N * "
                        "MODEL_CLASSES, cudaMemcpyDeviceToHost), m->err, sizeof m->err))\n"
                        "            return -1;\n");
    fprintf(w->out, "    }\n    return 0;\n}\n");
}

/* The kernel sources: cpu_kernels.h, then every kernel file in name order;
 * 0 (message printed) when the directory cannot be read. */
static int kernel_sources(char ***paths)
{
    ShipNames l = { 0 };
    char kdir[4200];
    cg_path_join(CG_PATH_RUNTIME, NULL, "/kernels/cpu", kdir, sizeof kdir);
    if (!ship_list_dir(kdir, ".c", NULL, &l)) return 0;
    *paths = xmalloc(sizeof **paths * (size_t)(l.n + 1));
    char hdr[4300];
    (*paths)[0] = xstrdup(cg_path_join(CG_PATH_RUNTIME, NULL, "/kernels/cpu/cpu_kernels.h", hdr, sizeof hdr));
    for (int i = 0; i < l.n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", kdir, l.name[i]);
        (*paths)[i + 1] = xstrdup(path);
    }
    int n = l.n + 1;
    ship_names_free(&l);
    return n;
}

/* The normalization constants of the network's data set, or NULL. */
typedef struct {
    const char *name;
    int c;
    double mean[3], std[3];
} Norm;
#define UNPAREN(...) __VA_ARGS__
#define NORM_ROW(name, c, mean, std) { name, c, UNPAREN mean, UNPAREN std },
static const Norm norms[] = { RT_NORMS(NORM_ROW) };

static const Norm *find_norm(const IrGraph *g, int channels)
{
    const char *ds = ir_meta_get(g, "run.dataset");
    char want[64];
    if (ds) {
        snprintf(want, sizeof want, "%s", ds);
        for (char *c = want; *c; c++)
            if (*c == '_') *c = '-';
    } else {
        snprintf(want, sizeof want, "%s", channels == 1 ? "fashion-mnist" : "cifar10");
    }
    for (size_t i = 0; i < sizeof norms / sizeof norms[0]; i++)
        if (strcmp(norms[i].name, want) == 0 && norms[i].c == channels) return &norms[i];
    return NULL;
}

static bool write_header(Writer *w, const CgProgram *p, const CgShipOptions *opt, FILE *h)
{
    const IrGraph *g = w->g;
    const IrShape *is = &g->nodes[0].shape;
    for (int v = 0; v < g->n; v++)
        if (g->nodes[v].op == OP_INPUT) {
            is = &g->nodes[v].shape;
            break;
        }
    const Norm *nm = find_norm(g, is->d[1]);
    fprintf(h,
            "/* model.h: the network '%s' of %s, for inference.\n"
            " * Emitted by `sharpc emit`: portable C99 with no dependencies (model.c).\n"
            " *\n"
            " * Usage:\n"
            " *     char err[512];\n"
            " *     model_t *m = model_create(\"weights.safetensors\", 64, err, sizeof err);\n"
            " *     if (!m) { fprintf(stderr, \"%%s\\n\", err); exit(1); }\n"
            " *     model_forward(m, n, images, logits);\n"
            " *     model_free(m);\n"
            " * images: n x MODEL_IN_C x MODEL_IN_H x MODEL_IN_W floats (NCHW), normalized\n"
            " * as in training: (pixel / 255 - MODEL_NORM_MEAN[c]) / MODEL_NORM_STD[c];\n"
            " * logits: n x MODEL_CLASSES floats. Any n works: the model runs at most\n"
            " * max_batch images at a time through its arena of max_batch *\n"
            " * MODEL_ARENA_FLOATS floats, allocated once by model_create; nothing is\n"
            " * allocated after that, and no state is global, so separate models can run\n"
            " * in separate threads (one model is not reentrant). Build with -fopenmp to\n"
            " * run each layer on several threads (OMP_NUM_THREADS). */\n"
            "#ifndef MODEL_H\n#define MODEL_H\n\n#include <stddef.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
            g->name, p->source);
    fprintf(h, "#define MODEL_NAME \"%s\"\n", g->name);
    fprintf(h, "#define MODEL_IN_C %d\n#define MODEL_IN_H %d\n#define MODEL_IN_W %d\n", is->d[1], is->d[2], is->d[3]);
    fprintf(h, "#define MODEL_CLASSES %d\n", g->nodes[w->s->out].shape.d[1]);
    fprintf(h, "/* floats of parameters after batch-norm folding */\n#define MODEL_PARAMS %" PRId64 "\n", w->s->nparams);
    fprintf(h, "/* floats of activations per image in the arena (%" PRId64 " without reuse) */\n"
               "#define MODEL_ARENA_FLOATS %" PRId64 "\n", w->s->naive, w->s->arena);
    if (nm) {
        fprintf(h, "/* the training data's normalization (%s) */\n#define MODEL_DATASET \"%s\"\n", nm->name, nm->name);
        fprintf(h, "#define MODEL_NORM_MEAN {");
        for (int c = 0; c < nm->c; c++) fprintf(h, "%s%.17g", c ? ", " : "", nm->mean[c]);
        fprintf(h, "}\n#define MODEL_NORM_STD {");
        for (int c = 0; c < nm->c; c++) fprintf(h, "%s%.17g", c ? ", " : "", nm->std[c]);
        fprintf(h, "}\n");
    }
    fprintf(h, "#define MODEL_EMBEDDED_WEIGHTS %d\n", opt->embed ? 1 : 0);
    fprintf(h, "/* where the network runs: \"cpu\" (model.c) or \"cuda\" (model.cu; images and\n"
               " * logits stay host arrays, each chunk is copied to and from the GPU) */\n"
               "#define MODEL_TARGET \"%s\"\n\n", opt->cuda ? "cuda" : "cpu");
    fprintf(h,
            "typedef struct model model_t;\n\n"
            "/* Creates the model from a safetensors weights file (PyTorch state_dict\n"
            " * names; extra tensors are ignored) for batches of up to max_batch images.\n"
            " * Returns NULL with a message naming the file and the problem in err. */\n"
            "model_t *model_create(const char *weights_path, int max_batch, char *err, size_t errsize);\n"
            "/* The same from a safetensors file already in memory. */\n"
            "model_t *model_create_from_memory(const void *data, size_t size, int max_batch, char *err,\n"
            "                                  size_t errsize);\n"
            "#if MODEL_EMBEDDED_WEIGHTS\n"
            "/* The same from the weights compiled into model_weights.c. */\n"
            "model_t *model_create_embedded(int max_batch, char *err, size_t errsize);\n"
            "#endif\n"
            "/* logits = the network on n images (see above). Returns 0, or -1 when the\n"
            " * device failed (model_last_error() says how; the CPU build cannot fail). */\n"
            "int model_forward(model_t *m, int n, const float *images, float *logits);\n"
            "const char *model_last_error(const model_t *m);\n"
            "/* The bytes of the model's activation arena. */\n"
            "size_t model_arena_bytes(const model_t *m);\n"
            "void model_free(model_t *m);\n\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
    return true;
}

/* model.c up to the loader: the includes and the kernels it calls. */
static bool c_prelude(Writer *w, const CgProgram *p, FILE *c)
{
    fprintf(c,
            "/* model.c: the network '%s' of %s, for inference (see model.h).\n"
            " * Emitted by `sharpc emit`. Batch norm is folded into the convolution\n"
            " * before it when the weights are loaded; ReLUs run in the epilogue of\n"
            " * the kernel that makes their input, or as the depthwise convolutions\n"
            " * that read them load their input; drop path, zero ops, identities and\n"
            " * the auxiliary head are gone. Every activation lives at a fixed offset\n"
            " * (times the batch) in one arena planned by liveness. */\n"
            "#include \"model.h\"\n\n"
            "#include <errno.h>\n#include <limits.h>\n#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n"
            "#include <stdlib.h>\n#include <string.h>\n\n",
            w->g->name, p->source);
    fprintf(c, "/* ---- kernels: sharpc's runtime/kernels/cpu, the ones this network calls;\n"
               " * every call below passes its shapes as literals, so the compiler\n"
               " * specializes each kernel to its layer ---- */\n\n#define K_FN static\n");
    char **paths;
    int np = kernel_sources(&paths);
    if (!np) return false;
    bool ok = ship_shake((const char *const *)paths, np, w->kernels, w->nkernels, c);
    for (int i = 0; i < np; i++) free(paths[i]);
    free(paths);
    return ok;
}

static bool write_source(Writer *w, const CgProgram *p, FILE *c)
{
    const ShipNet *s = w->s;
    const IrGraph *g = w->g;
    /* the forward first, into memory: it decides the kernels */
    char *fwd = NULL;
    size_t fwdlen = 0;
    w->out = open_memstream(&fwd, &fwdlen);
    if (!w->out) die("open_memstream failed");
    write_forward(w);
    fclose(w->out);
    w->out = c;

    bool ok = w->cuda ? ship_cuda_prelude(w, p, c) : c_prelude(w, p, c);
    if (!ok) {
        free(fwd);
        return false;
    }
    fputc('\n', c);
    char lib[4200];
    if (!ship_copy_file(c, cg_path_join(CG_PATH_SHIP_LIB, NULL, "/model_load.c", lib, sizeof lib))) {
        free(fwd);
        return false;
    }

    /* the tables */
    fprintf(c, "\n/* ---- the tensors this network reads from the weights file ---- */\n\n");
    fprintf(c, "#define M_NTENSORS %d\nstatic const MTensor m_tensors[M_NTENSORS] = {\n", s->ntensors);
    int *order = xmalloc(sizeof(int) * (size_t)(s->ntensors + 1));
    for (int v = 0; v < g->n; v++)
        if (s->tensor[v] >= 0) order[s->tensor[v]] = v;
    for (int t = 0; t < s->ntensors; t++) {
        const IrNode *n = &g->nodes[order[t]];
        fprintf(c, "    { \"%s\", %d, { ", ir_str_get(g, n->name), n->shape.rank);
        for (int d = 0; d < 4; d++) fprintf(c, "%s%d", d ? ", " : "", d < n->shape.rank ? n->shape.d[d] : 0);
        fprintf(c, " } },\n");
    }
    fprintf(c, "};\n\n/* ---- how they become the parameters ---- */\n\n");
    fprintf(c, "#define M_NFOLDS %d\nstatic const MFold m_folds[M_NFOLDS] = {\n", s->nfolds);
    static const char *kinds[] = { "M_FOLD_COPY", "M_FOLD_CONV_BN", "M_FOLD_BN" };
    for (int i = 0; i < s->nfolds; i++) {
        const ShipFold *f = &s->folds[i];
        fprintf(c, "    { %s, %d, %d, %d, %d, %d, %.9g, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
                   " },\n",
                kinds[f->kind], f->w, f->gamma, f->beta, f->mean, f->var, f->eps, f->c0, f->co, f->k, f->dst,
                f->bdst);
    }
    fprintf(c, "};\n");
    free(order);

    fputc('\n', c);
    ok = ship_copy_file(c, cg_path_join(CG_PATH_SHIP_LIB, NULL, w->cuda ? "/model_api_cuda.cu" : "/model_api.c", lib,
                                        sizeof lib));
    fputc('\n', c);
    ok = ok && ship_copy_file(c, cg_path_join(CG_PATH_SHIP_LIB, NULL, "/model_create.c", lib, sizeof lib));
    fprintf(c, "\n/* ---- the network, block by block ---- */\n\n");
    fputs(fwd, c);
    free(fwd);
    return ok;
}

/* model_weights.c: the weights file's bytes as a const array. */
static bool write_weights(const char *path, FILE *c)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "sharpc emit: cannot read %s: %s\n", path, strerror(errno));
        return false;
    }
    fprintf(c, "/* model_weights.c: the weights (%s, a safetensors file) compiled in;\n"
               " * model_create_embedded() reads them. Emitted by `sharpc emit --embed-weights`. */\n"
               "#include <stddef.h>\n\n"
               "extern const unsigned char model_weights_data[];\n"
               "extern const size_t model_weights_size;\n\n"
               "const unsigned char model_weights_data[] = {\n",
            path);
    unsigned char buf[65536];
    size_t k, total = 0;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < k; i++, total++) fprintf(c, "%u,%s", buf[i], total % 24 == 23 ? "\n" : "");
    bool ok = !ferror(f);
    fclose(f);
    fprintf(c, "%s};\nconst size_t model_weights_size = %lu;\n", total ? "\n" : "0\n", (unsigned long)total);
    if (!ok) fprintf(stderr, "sharpc emit: read error on %s\n", path);
    return ok;
}

bool ship_model(const CgProgram *p, const CgShipOptions *opt, const char *dir)
{
    ShipNet s;
    if (!ship_plan(p->g, !opt->cuda, &s)) {
        fprintf(stderr, "%s: error: %s\n", p->source, s.err);
        ship_plan_free(&s);
        return false;
    }
    bool ok = !opt->weights || ship_check_weights(&s, opt->weights);
    Writer w = { &s, p->g, NULL, opt->cuda, NULL, 0, 0 };
    const char *src = opt->cuda ? "model.cu" : "model.c";
    FILE *f;
    if (ok) ok = (f = ship_open(dir, src)) && write_source(&w, p, f) & ship_close(f, dir, src);
    if (ok) ok = (f = ship_open(dir, "model.h")) && write_header(&w, p, opt, f) & ship_close(f, dir, "model.h");
    if (ok && opt->embed)
        ok = (f = ship_open(dir, "model_weights.c")) && write_weights(opt->weights, f) &
             ship_close(f, dir, "model_weights.c");
    if (ok)
        printf("%s: arena %" PRId64 " floats per image (%.1f KiB; %" PRId64 " without reuse), %" PRId64
               " parameters after folding, %d %s\n",
               opt->dir, s.arena, s.arena * 4 / 1024.0, s.naive, s.nparams, w.nkernels,
               opt->cuda ? "CUDA kernel files" : "kernels");
    free(w.kernels);
    ship_plan_free(&s);
    return ok;
}
