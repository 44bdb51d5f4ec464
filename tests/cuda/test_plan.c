/* test_plan.c: checks CUDA launch plans on the CPU. For each network file:
 * builds its CPU executable with sharpc, writes random weights and a random
 * batch, runs `EXE gradients` on them, runs the network's launch plan
 * through the CUDA kernels' CPU references (plan_interp.c) on the same
 * weights and batch, and compares logits, loss, the updated BN running
 * statistics and every gradient (weights, architecture parameters, images):
 * |plan - cpu| <= 1e-5 + 1e-4*|cpu|, printing the number of tensors and
 * values compared and the worst element.
 * usage: test_plan SHARPC STDLIB_DIR WORK_DIR FILE.nas... */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "plan_interp.h"
#include "sharprt.h"

#define BATCH 3
#define AUX_WEIGHT 0.4f

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
/* Uniform in [-1, 1). */
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

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

/* Checks one network file; returns the number of failures. */
static int check_file(const char *sharpc, const char *stdlib, const char *work, const char *file)
{
    char err[1024], base[128], exe[1024], wpath[1024], bpath[1024], opath[1024], cmd[4096];
    const char *slash = strrchr(file, '/');
    snprintf(base, sizeof base, "%s", slash ? slash + 1 : file);
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = 0;
    printf("%s:\n", file);
    const char *dirs[1] = { stdlib };
    FeOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.include_dirs = dirs;
    opt.ninclude_dirs = 1;
    opt.diag_out = stderr;
    FeCtx *fe = fe_new(&opt);
    IrGraph *g = fe_load(fe, file) && fe_check(fe) ? fe_elaborate(fe, NULL) : NULL;
    if (!g) {
        printf("  FAIL does not elaborate\n");
        fe_free(fe);
        return 1;
    }
    ir_cse(g);
    CgCudaPlan p;
    if (cg_cuda_plan(g, &p, err, sizeof err) != 0) {
        printf("  FAIL no launch plan: %s\n", err);
        ir_graph_free(g);
        fe_free(fe);
        return 1;
    }
    int fails = 0;
    Cmp c = { 0, 0, 0, "", 0 };
    PlanMem m;
    memset(&m, 0, sizeof m);
    RtTensorOut *t = calloc((size_t)p.nparams + 2, sizeof *t);
    float **pdata = calloc((size_t)p.nparams + 1, sizeof *pdata);
    int64_t zero64 = 0;
    RtTensorFile *out = NULL;
    int in = -1;
    for (int v = 0; v < g->n; v++)
        if (g->nodes[v].op == OP_INPUT)
            in = v;
    int lo = ir_find_output(g, "logits"), al = ir_find_output(g, "aux_logits");
    if (!t || !pdata || in < 0 || lo < 0 || plan_mem_init(&m, &p, BATCH) != 0) {
        printf("  FAIL out of memory, or a network without images or logits\n");
        fails = 1;
        goto done;
    }
    /* weights: into the plan's spaces and a safetensors file */
    for (int i = 0; i < p.nparams; i++) {
        const CgPlanParam *q = &p.params[i];
        const IrNode *n = &g->nodes[q->node];
        t[i].name = q->name;
        t[i].ndim = n->shape.rank;
        for (int d = 0; d < n->shape.rank; d++)
            t[i].shape[d] = n->shape.d[d];
        if (q->space < 0) {
            t[i].dtype = RT_DTYPE_I64;
            t[i].data = &zero64;
            continue;
        }
        t[i].dtype = RT_DTYPE_F32;
        pdata[i] = m.sp[q->space] + q->off;
        for (int64_t k = 0; k < q->numel; k++)
            pdata[i][k] = param_value(n);
        t[i].data = pdata[i];
    }
    snprintf(wpath, sizeof wpath, "%s/%s.weights.safetensors", work, base);
    if (rt_st_write(wpath, t, p.nparams, NULL, 0, err, sizeof err) != 0) {
        printf("  FAIL %s\n", err);
        fails = 1;
        goto done;
    }
    /* the batch: images and labels */
    const IrShape *is = &g->nodes[in].shape;
    int K = g->nodes[lo].shape.d[1];
    size_t nimg = (size_t)BATCH * (size_t)p.size[CG_SP_IMAGES];
    int64_t labels64[BATCH];
    for (size_t i = 0; i < nimg; i++)
        m.sp[CG_SP_IMAGES][i] = frand();
    for (int i = 0; i < BATCH; i++) {
        labels64[i] = (i * 5 + 1) % K;
        ((int32_t *)m.sp[CG_SP_LABELS])[i] = (int32_t)labels64[i];
    }
    RtTensorOut bt[2] = { { "images", RT_DTYPE_F32, 4, { BATCH, is->d[1], is->d[2], is->d[3] }, m.sp[CG_SP_IMAGES] },
                          { "labels", RT_DTYPE_I64, 1, { BATCH }, labels64 } };
    snprintf(bpath, sizeof bpath, "%s/%s.batch.safetensors", work, base);
    if (rt_st_write(bpath, bt, 2, NULL, 0, err, sizeof err) != 0) {
        printf("  FAIL %s\n", err);
        fails = 1;
        goto done;
    }
    /* the CPU program */
    snprintf(exe, sizeof exe, "%s/%s.exe", work, base);
    snprintf(opath, sizeof opath, "%s/%s.grads.safetensors", work, base);
    snprintf(cmd, sizeof cmd, "'%s' build -I '%s' '%s' -o '%s'", sharpc, stdlib, file, exe);
    if (!run(cmd)) {
        fails = 1;
        goto done;
    }
    snprintf(cmd, sizeof cmd, "'%s' gradients --weights '%s' --batch '%s' -o '%s' --aux-weight %g --threads 1 >/dev/null",
             exe, wpath, bpath, opath, (double)AUX_WEIGHT);
    if (!run(cmd)) {
        fails = 1;
        goto done;
    }
    /* the plan */
    m.aux_weight = AUX_WEIGHT;
    if (plan_run(&p, &m, CG_SEC_FORWARD, CG_SEC__COUNT, err, sizeof err) != 0) {
        printf("  FAIL %s\n", err);
        fails = 1;
        goto done;
    }
    if (!(out = rt_st_open(opath, err, sizeof err))) {
        printf("  FAIL %s\n", err);
        fails = 1;
        goto done;
    }
    /* logits, loss, the input's gradient */
    Out outs[4];
    int nouts = 0;
    float loss = m.sp[CG_SP_LOSS][0] + (al >= 0 ? AUX_WEIGHT * m.sp[CG_SP_LOSS][1] : 0.f);
    outs[nouts++] = (Out){ "loss", &loss, 1 };
    const CgArg *lv = NULL;
    for (int i = p.sec[CG_SEC_LOSS]; i < p.sec[CG_SEC_BACKWARD]; i++)
        if (p.l[i].node == lo && p.inst.v[p.l[i].inst].kernel == KC_softmax_ce)
            lv = &p.args[p.l[i].arg0 + 2];
    if (!lv || lv->space != CG_SP_ARENA) {
        printf("  FAIL the plan computes no loss of the logits\n");
        fails = 1;
        goto done;
    }
    outs[nouts++] = (Out){ "logits", m.sp[CG_SP_ARENA] + (size_t)lv->off * BATCH, (size_t)BATCH * K };
    outs[nouts++] = (Out){ "grad/images", m.sp[CG_SP_GIMAGES], nimg };
    for (int i = 0; i < nouts; i++) {
        float *cpu = read_f32(out, outs[i].name, outs[i].n, err, sizeof err);
        if (!cpu) {
            printf("  FAIL %s\n", err);
            fails = 1;
            goto done;
        }
        compare(&c, outs[i].name, outs[i].plan, cpu, outs[i].n);
        free(cpu);
    }
    /* every parameter's gradient and every updated BN statistic */
    for (int i = 0; i < p.nparams; i++) {
        const CgPlanParam *q = &p.params[i];
        if (q->space < 0)
            continue;
        char name[600];
        int gs = q->space == CG_SP_WEIGHTS ? CG_SP_GWEIGHTS : q->space == CG_SP_ARCH ? CG_SP_GARCH : CG_SP_BUFFERS;
        snprintf(name, sizeof name, "%s%s", gs == CG_SP_BUFFERS ? "" : "grad/", q->name);
        float *cpu = read_f32(out, name, (size_t)q->numel, err, sizeof err);
        if (!cpu) {
            printf("  FAIL %s\n", err);
            fails = 1;
            goto done;
        }
        compare(&c, name, m.sp[gs] + q->off, cpu, (size_t)q->numel);
        free(cpu);
    }
    printf("  %s: %d launches, %d tensors (%ld values) compared; worst |a-b|/(1e-5 + 1e-4|b|) = %.3g (<= 1 passes)\n"
           "      at %s\n",
           c.failed ? "FAIL" : "ok", p.nl, c.tensors, c.values, c.worst, c.worst_at);
    fails += c.failed;
done:
    rt_st_close(out);
    plan_mem_free(&m);
    free(t);
    free(pdata);
    cg_cuda_plan_free(&p);
    ir_graph_free(g);
    fe_free(fe);
    return fails;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: test_plan SHARPC STDLIB_DIR WORK_DIR FILE.nas...\n");
        return 2;
    }
    int fails = 0;
    for (int i = 4; i < argc; i++)
        fails += check_file(argv[1], argv[2], argv[3], argv[i]) != 0;
    printf("%d networks, %d failed\n", argc - 4, fails);
    return fails ? 1 : 0;
}
