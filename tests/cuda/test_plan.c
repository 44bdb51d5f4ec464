/* test_plan.c: checks CUDA launch plans on the CPU. For each network file:
 * builds its CPU executable with sharpc, writes random weights and a random
 * batch, runs `EXE gradients` and `EXE gradients --eval` on them, runs the
 * network's launch plan through the CUDA kernels' CPU references
 * (plan_interp.c) on the same weights and batch (training sections, then
 * the eval sections from the same state), and compares logits, loss, the
 * top-1/top-5 hits, the updated BN running statistics and every gradient
 * (weights, architecture parameters, images): |plan - cpu| <= 1e-5 +
 * 1e-4*|cpu|, printing the number of tensors and values compared and the
 * worst element. Drop path runs with keep 1 (`gradients` draws no masks).
 * usage: test_plan SHARPC STDLIB_DIR WORK_DIR FILE.nas... */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"
#include "frontend.h"
#include "plan_interp.h"
#include "sharprt.h"

#define BATCH 3
#define AUX_WEIGHT 0.4f

static RtRng rng;
/* Uniform in [-1, 1) (the runtime's generator; one stream per test run). */
static float frand(void) { return rt_rng_uniform_range(&rng, -1.f, 1.f); }

/* A value for element of parameter n: weights scaled by fan-in, BN scales
 * near 1, running variances positive, architecture parameters spread so
 * that the Max-W argmax is clear. */
static float param_value(const IrNode *n)
{
    float u = frand();
    if (n->pkind == IR_PARAM_ARCH)
        return 0.5f * u;
    if (n->init == IR_INIT_ONES)
        return n->pkind == IR_PARAM_BUFFER ? 1.f + 0.5f * fabsf(u) : 1.f + 0.2f * u;
    if (n->init == IR_INIT_ZEROS)
        return 0.1f * u;
    return u / sqrtf((float)(n->fan_in > 0 ? n->fan_in : 1));
}

/* Comparison totals of one network. */
typedef struct {
    int tensors;
    long values;
    double worst;       /* largest |a-b| / (1e-5 + 1e-4|b|) */
    char worst_at[160];
    int failed;
} Cmp;

/* Compares n plan values with the CPU program's. */
static void compare(Cmp *c, const char *what, const float *plan, const float *cpu, size_t n)
{
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
        double a = plan[i], b = cpu[i], r = fabs(a - b) / (1e-5 + 1e-4 * fabs(b));
        if (!(r <= worst)) { /* NaN counts as worst */
            worst = isnan(r) ? INFINITY : r;
            wi = i;
        }
    }
    c->tensors++;
    c->values += (long)n;
    if (worst > 1) {
        c->failed++;
        printf("  FAIL %-60s [%zu] plan %.8g cpu %.8g\n", what, wi, (double)plan[wi], (double)cpu[wi]);
    }
    if (worst >= c->worst) {
        c->worst = worst;
        double d = fabs((double)plan[wi] - cpu[wi]);
        snprintf(c->worst_at, sizeof c->worst_at, "%s[%zu]: plan %.8g cpu %.8g, |a-b| %.2g, relative %.2g", what, wi,
                 (double)plan[wi], (double)cpu[wi], d, cpu[wi] != 0 ? d / fabs((double)cpu[wi]) : d);
    }
}

/* Reads F32 tensor `name` of n values from f into a new buffer (NULL with
 * a message when missing or of another size). */
static float *read_f32(RtTensorFile *f, const char *name, size_t n, char *err, size_t errlen)
{
    const RtTensorInfo *t = rt_st_find(f, name);
    if (!t || t->dtype != RT_DTYPE_F32 || t->end - t->begin != n * sizeof(float)) {
        snprintf(err, errlen, "the CPU program's output has no F32 tensor '%s' of %zu values", name, n);
        return NULL;
    }
    float *v = malloc(sizeof(float) * (n ? n : 1));
    if (!v || rt_st_read_raw(f, t, v, err, errlen) != 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* A whole-network output: its name in the CPU program's file, the plan's values. */
typedef struct {
    const char *name;
    const float *plan;
    size_t n;
} Out;

/* Runs cmd through the shell; false with a message when it fails. */
static bool run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        printf("  FAIL command exited with %d: %s\n", rc, cmd);
    return rc == 0;
}

/* One network under test: its graph, plan, host memory for the training
 * step and for the eval forward, and its files. */
typedef struct {
    const char *file;
    IrGraph *g;
    CgCudaPlan p;
    PlanMem m, me;       /* training step; eval forward (same weights and batch) */
    char base[128], exe[1024], wpath[1024], bpath[1024];
    char err[1024];
} Net;

/* Draws the weights into the plan's spaces and writes them, and a random
 * batch, as safetensors files for the CPU program. */
static bool write_inputs(Net *t, const char *work)
{
    CgCudaPlan *p = &t->p;
    IrGraph *g = t->g;
    RtTensorOut *w = calloc((size_t)p->nparams + 1, sizeof *w);
    int64_t zero64 = 0;
    bool ok = w != NULL;
    for (int i = 0; i < p->nparams && ok; i++) {
        const CgPlanParam *q = &p->params[i];
        const IrNode *n = &g->nodes[q->node];
        w[i].name = q->name;
        w[i].ndim = n->shape.rank;
        for (int d = 0; d < n->shape.rank; d++)
            w[i].shape[d] = n->shape.d[d];
        if (q->space < 0) {
            w[i].dtype = RT_DTYPE_I64;
            w[i].data = &zero64;
            continue;
        }
        float *dst = t->m.sp[q->space] + q->off;
        for (int64_t k = 0; k < q->numel; k++)
            dst[k] = param_value(n);
        w[i].dtype = RT_DTYPE_F32;
        w[i].data = dst;
    }
    snprintf(t->wpath, sizeof t->wpath, "%s/%s.weights.safetensors", work, t->base);
    ok = ok && rt_st_write(t->wpath, w, p->nparams, NULL, 0, t->err, sizeof t->err) == 0;
    free(w);
    const IrShape *is = NULL;
    for (int v = 0; v < g->n; v++)
        if (g->nodes[v].op == OP_INPUT)
            is = &g->nodes[v].shape;
    if (!is) {
        snprintf(t->err, sizeof t->err, "no input");
        return false;
    }
    int K = g->nodes[ir_find_output(g, "logits")].shape.d[1];
    int64_t labels64[BATCH];
    for (size_t i = 0; i < (size_t)BATCH * (size_t)p->size[RT_SP_IMAGES]; i++)
        t->m.sp[RT_SP_IMAGES][i] = frand();
    for (int i = 0; i < BATCH; i++) {
        labels64[i] = (i * 5 + 1) % K;
        ((int32_t *)t->m.sp[RT_SP_LABELS])[i] = (int32_t)labels64[i];
    }
    RtTensorOut bt[2] = { { "images", RT_DTYPE_F32, 4, { BATCH, is->d[1], is->d[2], is->d[3] }, t->m.sp[RT_SP_IMAGES] },
                          { "labels", RT_DTYPE_I64, 1, { BATCH }, labels64 } };
    snprintf(t->bpath, sizeof t->bpath, "%s/%s.batch.safetensors", work, t->base);
    ok = ok && rt_st_write(t->bpath, bt, 2, NULL, 0, t->err, sizeof t->err) == 0;
    /* the eval forward starts from the same state */
    static const int shared[] = { RT_SP_WEIGHTS, RT_SP_ARCH, RT_SP_BUFFERS, RT_SP_IMAGES, RT_SP_LABELS };
    for (size_t i = 0; ok && i < sizeof shared / sizeof shared[0]; i++) {
        int s = shared[i];
        size_t n = (size_t)p->size[s] * (rt_space_batched((RtSpace)s) ? BATCH : 1u);
        memcpy(t->me.sp[s], t->m.sp[s], sizeof(float) * n);
    }
    return ok;
}

/* The plan's logits after the loss section `sec` (the softmax_ce input). */
static const float *plan_logits(const Net *t, const PlanMem *m, RtSection sec)
{
    const CgCudaPlan *p = &t->p;
    int lo = ir_find_output(t->g, "logits");
    for (int i = p->sec[sec]; i < p->sec[sec + 1]; i++)
        if (p->l[i].node == lo && p->inst.v[p->l[i].inst].kernel == KC_softmax_ce) {
            const RtPlanArg *a = &p->args[p->l[i].arg0 + 2];
            if (a->kind == RT_ARG_TENSOR && a->space == RT_SP_ARENA)
                return m->sp[RT_SP_ARENA] + (size_t)a->off * BATCH;
        }
    return NULL;
}

/* Runs the CPU program (`gradients`, with --eval for the eval forward) and
 * compares its output file with the plan's memory m. */
static bool compare_with_cpu(Net *t, Cmp *c, const char *work, bool eval)
{
    char opath[1024], cmd[4096];
    snprintf(opath, sizeof opath, "%s/%s.%s.safetensors", work, t->base, eval ? "eval" : "grads");
    snprintf(cmd, sizeof cmd,
             "'%s' gradients --weights '%s' --batch '%s' -o '%s' --aux-weight %g --threads 1%s >/dev/null", t->exe,
             t->wpath, t->bpath, opath, (double)AUX_WEIGHT, eval ? " --eval" : "");
    if (!run(cmd))
        return false;
    const PlanMem *m = eval ? &t->me : &t->m;
    const float *logits = plan_logits(t, m, eval ? RT_SEC_EVAL_LOSS : RT_SEC_LOSS);
    if (!logits) {
        snprintf(t->err, sizeof t->err, "the plan computes no loss of the logits");
        return false;
    }
    RtTensorFile *f = rt_st_open(opath, t->err, sizeof t->err);
    if (!f)
        return false;
    int K = t->g->nodes[ir_find_output(t->g, "logits")].shape.d[1];
    bool aux = !eval && ir_find_output(t->g, "aux_logits") >= 0;
    float loss = m->sp[RT_SP_LOSS][0] + (aux ? AUX_WEIGHT * m->sp[RT_SP_LOSS][1] : 0.f);
    Out outs[3 + 2 * t->p.nparams];
    int n = 0;
    outs[n++] = (Out){ "loss", &loss, 1 };
    outs[n++] = (Out){ "logits", logits, (size_t)BATCH * K };
    if (!eval)
        outs[n++] = (Out){ "grad/images", m->sp[RT_SP_GIMAGES], (size_t)BATCH * (size_t)t->p.size[RT_SP_IMAGES] };
    /* the training step: every parameter's gradient and updated BN statistic */
    char names[t->p.nparams][600];
    for (int i = 0; i < t->p.nparams && !eval; i++) {
        const CgPlanParam *q = &t->p.params[i];
        if (q->space < 0)
            continue;
        int gs = q->space == RT_SP_WEIGHTS ? RT_SP_GWEIGHTS : q->space == RT_SP_ARCH ? RT_SP_GARCH : RT_SP_BUFFERS;
        snprintf(names[i], sizeof names[i], "%s%s", gs == RT_SP_BUFFERS ? "" : "grad/", q->name);
        outs[n++] = (Out){ names[i], m->sp[gs] + q->off, (size_t)q->numel };
    }
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        float *cpu = read_f32(f, outs[i].name, outs[i].n, t->err, sizeof t->err);
        ok = cpu != NULL;
        if (ok)
            compare(c, outs[i].name, outs[i].plan, cpu, outs[i].n);
        if (ok && strcmp(outs[i].name, "logits") == 0) {
            /* top-1 and top-5 hits of the CPU logits */
            float want[2], got[2];
            for (int k = 0; k < 2; k++) {
                want[k] = (float)k_topk_correct(BATCH, K, k ? 5 : 1, cpu, (const int32_t *)m->sp[RT_SP_LABELS]);
                got[k] = (float)((const int32_t *)m->sp[RT_SP_COUNTS])[k];
            }
            compare(c, "top-1 and top-5 hits", got, want, 2);
        }
        free(cpu);
    }
    rt_st_close(f);
    return ok;
}

/* Elaborates t->file and builds its plan, memory and CPU program. */
static bool net_open(Net *t, const char *sharpc, const char *stdlib, const char *work, FeCtx **fe)
{
    const char *slash = strrchr(t->file, '/');
    snprintf(t->base, sizeof t->base, "%s", slash ? slash + 1 : t->file);
    char *dot = strrchr(t->base, '.');
    if (dot)
        *dot = 0;
    const char *dirs[1] = { stdlib };
    FeOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.include_dirs = dirs;
    opt.ninclude_dirs = 1;
    opt.diag_out = stderr;
    *fe = fe_new(&opt);
    t->g = fe_load(*fe, t->file) && fe_check(*fe) ? fe_elaborate(*fe, NULL) : NULL;
    if (!t->g) {
        snprintf(t->err, sizeof t->err, "does not elaborate");
        return false;
    }
    ir_cse(t->g);
    if (ir_find_output(t->g, "logits") < 0) {
        snprintf(t->err, sizeof t->err, "no logits output");
        return false;
    }
    if (cg_cuda_plan(t->g, &t->p, t->err, sizeof t->err) != 0)
        return false;
    if (plan_mem_init(&t->m, &t->p, BATCH) != 0 || plan_mem_init(&t->me, &t->p, BATCH) != 0) {
        snprintf(t->err, sizeof t->err, "out of memory");
        return false;
    }
    t->m.aux_weight = t->me.aux_weight = AUX_WEIGHT;
    if (!write_inputs(t, work))
        return false;
    char cmd[4096];
    snprintf(t->exe, sizeof t->exe, "%s/%s.exe", work, t->base);
    snprintf(cmd, sizeof cmd, "'%s' build -I '%s' '%s' -o '%s'", sharpc, stdlib, t->file, t->exe);
    if (!run(cmd)) {
        snprintf(t->err, sizeof t->err, "sharpc build failed");
        return false;
    }
    return true;
}

/* Checks one network file: the training step, then the eval forward.
 * Returns the number of failures. */
static int check_file(const char *sharpc, const char *stdlib, const char *work, const char *file)
{
    Net t;
    memset(&t, 0, sizeof t);
    t.file = file;
    FeCtx *fe = NULL;
    Cmp c = { 0, 0, 0, "", 0 }, ce = { 0, 0, 0, "", 0 };
    printf("%s:\n", file);
    bool ok = net_open(&t, sharpc, stdlib, work, &fe) &&
              plan_run(&t.p, &t.m, RT_SEC_FORWARD, RT_SEC_EVAL, t.err, sizeof t.err) == 0 &&
              compare_with_cpu(&t, &c, work, false) &&
              plan_run(&t.p, &t.me, RT_SEC_EVAL, RT_SEC__COUNT, t.err, sizeof t.err) == 0 &&
              compare_with_cpu(&t, &ce, work, true);
    if (!ok) {
        printf("  FAIL %s\n", t.err);
    } else {
        int nt = t.p.sec[RT_SEC_EVAL], ne = t.p.sec[RT_SEC__COUNT] - nt;
        printf("  %s training step: %d launches, %d tensors (%ld values) compared; worst |a-b|/(1e-5 + 1e-4|b|) "
               "= %.3g (<= 1 passes)\n      at %s\n",
               c.failed ? "FAIL" : "ok", nt, c.tensors, c.values, c.worst, c.worst_at);
        printf("  %s eval forward: %d launches, %d tensors (%ld values) compared; worst %.3g\n      at %s\n",
               ce.failed ? "FAIL" : "ok", ne, ce.tensors, ce.values, ce.worst, ce.worst_at);
    }
    plan_mem_free(&t.m);
    plan_mem_free(&t.me);
    cg_cuda_plan_free(&t.p);
    ir_graph_free(t.g);
    fe_free(fe);
    return !ok + c.failed + ce.failed;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: test_plan SHARPC STDLIB_DIR WORK_DIR FILE.nas...\n");
        return 2;
    }
    int fails = 0;
    rng = rt_rng_init(20261128, 6);
    for (int i = 4; i < argc; i++)
        fails += check_file(argv[1], argv[2], argv[3], argv[i]) != 0;
    printf("%d networks, %d failed\n", argc - 4, fails);
    return fails ? 1 : 0;
}
