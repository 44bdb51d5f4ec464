/* torch_test.c: the float CPU kernels against PyTorch.
 *
 * Reads the file torch_ref.py wrote (inputs, attributes, PyTorch outputs and
 * gradients per case), runs the kernels on the same inputs and requires
 * |a - b| <= 1e-5 + 1e-4*|b| on every element of every expected tensor.
 * Prints each case's worst element and a total. */
#include "cpu_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATOL 1e-5
#define RTOL 1e-4
#define MAXT 24
#define MAXI 32

/* Exits with file and line when a call that must succeed fails. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* One tensor of a case. */
typedef struct {
    char name[32];  /* e.g. "x", "gx" */
    int ndim;       /* number of dimensions */
    int dims[8];    /* shape */
    ptrdiff_t n;    /* element count */
    real *data;     /* values */
} Tensor;

/* One reference case as torch_ref.py wrote it. */
typedef struct {
    char kind[32];   /* which kernel family */
    char label[128]; /* human-readable description */
    int ni;          /* number of int attributes */
    int ints[MAXI];  /* int attributes */
    int nr;          /* number of real attributes */
    double reals[8]; /* real attributes */
    int nt;          /* number of tensors */
    Tensor t[MAXT];  /* inputs and expected outputs */
} Case;

static FILE *in_file;
static int total_tensors, total_elems, failures;
static double worst_rel, worst_abs, worst_ratio;
static char worst_label[200];

static int32_t rd_i32(void)
{
    int32_t v;
    CHECK(fread(&v, 4, 1, in_file) == 1, "reference file truncated");
    return v;
}

static void rd_str(char *buf, int cap)
{
    int32_t n = rd_i32();
    CHECK(n >= 0 && n < cap, "bad string length %d", n);
    CHECK(fread(buf, 1, (size_t)n, in_file) == (size_t)n, "reference file truncated");
    buf[n] = 0;
}

static void read_case(Case *c)
{
    memset(c, 0, sizeof *c);
    rd_str(c->kind, sizeof c->kind);
    rd_str(c->label, sizeof c->label);
    c->ni = rd_i32();
    CHECK(c->ni >= 0 && c->ni <= MAXI, "too many ints");
    for (int i = 0; i < c->ni; i++)
        c->ints[i] = rd_i32();
    c->nr = rd_i32();
    CHECK(c->nr >= 0 && c->nr <= 8, "too many reals");
    CHECK(fread(c->reals, 8, (size_t)c->nr, in_file) == (size_t)c->nr, "truncated");
    c->nt = rd_i32();
    CHECK(c->nt >= 0 && c->nt <= MAXT, "too many tensors");
    for (int i = 0; i < c->nt; i++) {
        Tensor *t = &c->t[i];
        rd_str(t->name, sizeof t->name);
        t->ndim = rd_i32();
        CHECK(t->ndim >= 0 && t->ndim <= 8, "bad ndim");
        t->n = 1;
        for (int d = 0; d < t->ndim; d++) {
            t->dims[d] = rd_i32();
            t->n *= t->dims[d];
        }
        float *tmp = malloc(sizeof(float) * (size_t)(t->n + 1));
        t->data = malloc(sizeof(real) * (size_t)(t->n + 1));
        CHECK(tmp && t->data, "out of memory");
        CHECK(fread(tmp, 4, (size_t)t->n, in_file) == (size_t)t->n, "truncated");
        for (ptrdiff_t j = 0; j < t->n; j++)
            t->data[j] = (real)tmp[j];
        free(tmp);
    }
}

static void free_case(Case *c)
{
    for (int i = 0; i < c->nt; i++)
        free(c->t[i].data);
}

/* The tensor called name; NULL if absent (optional tensors). */
static Tensor *find(Case *c, const char *name)
{
    for (int i = 0; i < c->nt; i++)
        if (!strcmp(c->t[i].name, name))
            return &c->t[i];
    return NULL;
}

/* The data of the tensor called name, which must be present. */
static real *T(Case *c, const char *name)
{
    Tensor *t = find(c, name);
    CHECK(t, "case '%s' has no tensor '%s'", c->label, name);
    return t->data;
}

static real *buf(ptrdiff_t n)
{
    real *p = calloc((size_t)(n > 0 ? n : 1), sizeof(real));
    CHECK(p, "out of memory");
    return p;
}

/* Per-case worst error, reset by each case. */
static double case_rel;
static int case_bad, case_tensors;

/* Compares got with the expected tensor called name, elementwise. */
static void cmp(Case *c, const char *name, const real *got)
{
    Tensor *t = find(c, name);
    CHECK(t, "case '%s' has no expected tensor '%s'", c->label, name);
    int bad = 0;
    for (ptrdiff_t i = 0; i < t->n; i++) {
        double a = got[i], b = t->data[i], err = fabs(a - b);
        double rel = err / (fabs(b) > 1e-6 ? fabs(b) : 1e-6);
        if (!(err <= ATOL + RTOL * fabs(b))) {
            if (bad < 3)
                fprintf(stderr, "FAIL %s: %s[%td] = %.9g, torch %.9g\n", c->label, name, i, a, b);
            bad++;
        }
        if (err > worst_abs)
            worst_abs = err;
        if (err / (ATOL + RTOL * fabs(b)) > worst_ratio)
            worst_ratio = err / (ATOL + RTOL * fabs(b));
        if (fabs(b) > 1e-3 && rel > worst_rel) {
            worst_rel = rel;
            snprintf(worst_label, sizeof worst_label, "%s: %s", c->label, name);
        }
        if (fabs(b) > 1e-3 && rel > case_rel)
            case_rel = rel;
    }
    total_tensors++;
    case_tensors++;
    total_elems += (int)t->n;
    case_bad += bad;
    failures += bad;
}

static void run_conv(Case *c)
{
    int *p = c->ints;
    int N = p[0], Ci = p[1], H = p[2], W = p[3], Co = p[4];
    real *y = buf(find(c, "y")->n), *gx = buf((ptrdiff_t)N * Ci * H * W),
         *gw = buf(find(c, "w")->n);
#define CV p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13]
    k_conv2d_fwd(CV, T(c, "x"), T(c, "w"), y);
    k_conv2d_bwd_data(CV, T(c, "gy"), T(c, "w"), gx);
    k_conv2d_bwd_weight(CV, T(c, "x"), T(c, "gy"), gw);
#undef CV
    (void)Co;
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    cmp(c, "gw", gw);
    free(y);
    free(gx);
    free(gw);
}

static void run_bn(Case *c)
{
    int *p = c->ints;
    int N = p[0], C = p[1], HW = p[2] * p[3], affine = p[4], train = p[5];
    real eps = (real)c->reals[0], mom = (real)c->reals[1];
    ptrdiff_t n = (ptrdiff_t)N * C * HW;
    real *gamma = affine ? T(c, "gamma") : NULL, *beta = affine ? T(c, "beta") : NULL;
    real *y = buf(n), *gx = buf(n), *gg = affine ? buf(C) : NULL, *gb = affine ? buf(C) : NULL;
    real *mean = buf(C), *invstd = buf(C), *rm = buf(C), *rv = buf(C);
    memcpy(rm, T(c, "run_mean"), sizeof(real) * (size_t)C);
    memcpy(rv, T(c, "run_var"), sizeof(real) * (size_t)C);
    if (train) {
        k_bn_train_fwd(N, C, HW, eps, mom, T(c, "x"), gamma, beta, y, mean, invstd, rm, rv);
        k_bn_train_bwd(N, C, HW, T(c, "x"), T(c, "gy"), gamma, mean, invstd, gx, gg, gb);
        cmp(c, "mean", mean);
        cmp(c, "invstd", invstd);
    } else {
        k_bn_eval_fwd(N, C, HW, eps, T(c, "x"), gamma, beta, rm, rv, y);
        k_bn_eval_bwd(N, C, HW, eps, T(c, "x"), T(c, "gy"), gamma, rm, rv, gx, gg, gb);
    }
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    cmp(c, "run_mean_out", rm);
    cmp(c, "run_var_out", rv);
    if (affine) {
        cmp(c, "ggamma", gg);
        cmp(c, "gbeta", gb);
    }
    free(y);
    free(gx);
    free(gg);
    free(gb);
    free(mean);
    free(invstd);
    free(rm);
    free(rv);
}

static void run_relu(Case *c)
{
    ptrdiff_t n = c->ints[0];
    real *y = buf(n), *gx = buf(n);
    k_relu_fwd(n, T(c, "x"), y);
    k_relu_bwd(n, y, T(c, "gy"), gx);
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    free(y);
    free(gx);
}

static void run_pool(Case *c)
{
    int *p = c->ints;
    ptrdiff_t nx = (ptrdiff_t)p[0] * p[1] * p[2] * p[3];
    real *y = buf(find(c, "y")->n), *gx = buf(nx);
#define PL p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]
    if (p[10]) {
        k_maxpool_fwd(PL, T(c, "x"), y);
        k_maxpool_bwd(PL, T(c, "x"), T(c, "gy"), gx);
    } else {
        k_avgpool_fwd(PL, p[11], T(c, "x"), y);
        k_avgpool_bwd(PL, p[11], T(c, "gy"), gx);
    }
#undef PL
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    free(y);
    free(gx);
}

static void run_pad(Case *c)
{
    int *p = c->ints;
    real *y = buf(find(c, "y")->n), *gx = buf(find(c, "x")->n);
    k_pad_fwd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], T(c, "x"), y);
    k_pad_bwd(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], T(c, "gy"), gx);
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    free(y);
    free(gx);
}

static void run_slice(Case *c)
{
    int *p = c->ints;
    real *y = buf(find(c, "y")->n), *gx = buf(find(c, "x")->n);
    k_slice_channels_fwd(p[0], p[1], p[2], p[3], p[4], T(c, "x"), y);
    k_slice_channels_bwd(p[0], p[1], p[2], p[3], p[4], T(c, "gy"), gx);
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    free(y);
    free(gx);
}

static void run_concat(Case *c)
{
    int *p = c->ints, n_in = p[2];
    const real *xs[8];
    real *gxs[8];
    char name[16];
    CHECK(n_in <= 8, "too many concat inputs");
    for (int i = 0; i < n_in; i++) {
        snprintf(name, sizeof name, "x%d", i);
        xs[i] = T(c, name);
        gxs[i] = buf(find(c, name)->n);
    }
    real *y = buf(find(c, "y")->n);
    k_concat_fwd(p[0], p[1], n_in, p + 3, xs, y);
    k_concat_bwd(p[0], p[1], n_in, p + 3, T(c, "gy"), gxs);
    cmp(c, "y", y);
    for (int i = 0; i < n_in; i++) {
        snprintf(name, sizeof name, "gx%d", i);
        cmp(c, name, gxs[i]);
        free(gxs[i]);
    }
    free(y);
}

static void run_add(Case *c)
{
    ptrdiff_t n = c->ints[0];
    real *y = buf(n), *ga = buf(n), *gb = buf(n);
    k_add_fwd(n, T(c, "a"), T(c, "b"), y);
    k_add_bwd(n, T(c, "gy"), ga, gb);
    cmp(c, "y", y);
    cmp(c, "ga", ga);
    cmp(c, "gb", gb);
    free(y);
    free(ga);
    free(gb);
}

static void run_scale(Case *c)
{
    ptrdiff_t n = c->ints[0];
    real a = (real)c->reals[0], *y = buf(n), *gx = buf(n);
    k_scale_fwd(n, a, T(c, "x"), y);
    k_scale_bwd(n, a, T(c, "gy"), gx);
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    free(y);
    free(gx);
}

static void run_zero(Case *c)
{
    int *p = c->ints;
    ptrdiff_t ny = find(c, "y")->n, nx = find(c, "x")->n;
    real *y = buf(ny), *gx = buf(nx);
    for (ptrdiff_t i = 0; i < ny; i++)
        y[i] = 1; /* must be overwritten */
    for (ptrdiff_t i = 0; i < nx; i++)
        gx[i] = 1;
    k_zero_fwd(p[0], p[1], p[2], p[3], p[4], y);
    k_zero_bwd(p[0], p[1], p[2], p[3], p[4], gx);
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    free(y);
    free(gx);
}

static void run_gap(Case *c)
{
    int *p = c->ints;
    real *y = buf((ptrdiff_t)p[0] * p[1]), *gx = buf(find(c, "x")->n);
    k_gap_fwd(p[0], p[1], p[2], T(c, "x"), y);
    k_gap_bwd(p[0], p[1], p[2], T(c, "gy"), gx);
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    free(y);
    free(gx);
}

static void run_linear(Case *c)
{
    int *p = c->ints, N = p[0], I = p[1], O = p[2];
    real *y = buf((ptrdiff_t)N * O), *gx = buf((ptrdiff_t)N * I), *gW = buf((ptrdiff_t)O * I),
         *gb = buf(O);
    k_linear_fwd(N, I, O, T(c, "x"), T(c, "W"), T(c, "b"), y);
    k_linear_bwd(N, I, O, T(c, "x"), T(c, "W"), T(c, "gy"), gx, gW, gb);
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    cmp(c, "gW", gW);
    cmp(c, "gb", gb);
    free(y);
    free(gx);
    free(gW);
    free(gb);
}

static void run_softmax_ce(Case *c)
{
    int N = c->ints[0], K = c->ints[1];
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)N);
    CHECK(lab, "out of memory");
    for (int n = 0; n < N; n++)
        lab[n] = (int32_t)T(c, "labels")[n];
    real *g = buf((ptrdiff_t)N * K), loss[1], top1[1], top5[1];
    loss[0] = k_softmax_ce(N, K, T(c, "logits"), lab, (real)c->reals[0], g);
    top1[0] = (real)k_topk_correct(N, K, 1, T(c, "logits"), lab);
    top5[0] = (real)k_topk_correct(N, K, 5, T(c, "logits"), lab);
    cmp(c, "loss", loss);
    cmp(c, "glogits", g);
    cmp(c, "top1", top1);
    cmp(c, "top5", top5);
    free(g);
    free(lab);
}

static void run_drop_path(Case *c)
{
    int N = c->ints[0], D = c->ints[1];
    real keep = (real)c->reals[0], *y = buf((ptrdiff_t)N * D), *gx = buf((ptrdiff_t)N * D);
    k_drop_path_fwd(N, D, keep, T(c, "mask"), T(c, "x"), y);
    k_drop_path_bwd(N, D, keep, T(c, "mask"), T(c, "gy"), gx);
    cmp(c, "y", y);
    cmp(c, "gx", gx);
    free(y);
    free(gx);
}

static void run_arch_softmax(Case *c)
{
    int E = c->ints[0], P = c->ints[1];
    real *w = buf((ptrdiff_t)E * P), *ga = buf((ptrdiff_t)E * P);
    k_arch_softmax_fwd(E, P, T(c, "alpha"), w);
    k_arch_softmax_bwd(E, P, w, T(c, "gw"), ga);
    cmp(c, "w", w);
    cmp(c, "galpha", ga);
    free(w);
    free(ga);
}

static void run_mixed(Case *c)
{
    int n = c->ints[0], P = c->ints[1], mode = c->ints[2], none = c->ints[3];
    const real *o[16];
    real *go[16];
    CHECK(P <= 16, "too many ops");
    real *gall = buf((ptrdiff_t)P * n), *oall = T(c, "o"), *y = buf(n), *gw = buf(P);
    for (int k = 0; k < P; k++) {
        o[k] = k == none ? NULL : oall + (ptrdiff_t)k * n;
        go[k] = k == none ? NULL : gall + (ptrdiff_t)k * n;
    }
    k_mixed_fwd(n, P, mode, T(c, "w"), o, y);
    k_mixed_bwd(n, P, mode, T(c, "w"), o, T(c, "gy"), go, gw);
    if (none >= 0) /* the none op has no output buffer; torch's gradient there is c*gy */
        memcpy(gall + (ptrdiff_t)none * n, find(c, "go")->data + (ptrdiff_t)none * n,
               sizeof(real) * (size_t)n);
    cmp(c, "y", y);
    cmp(c, "go", gall);
    cmp(c, "gw", gw);
    free(gall);
    free(y);
    free(gw);
}

/* Kernel family name -> runner. */
static const struct {
    const char *kind;
    void (*run)(Case *c);
} runners[] = {
    {"conv2d", run_conv},         {"bn", run_bn},
    {"relu", run_relu},           {"pool", run_pool},
    {"pad", run_pad},             {"slice", run_slice},
    {"concat", run_concat},       {"add", run_add},
    {"scale", run_scale},         {"zero", run_zero},
    {"gap", run_gap},             {"linear", run_linear},
    {"softmax_ce", run_softmax_ce}, {"drop_path", run_drop_path},
    {"arch_softmax", run_arch_softmax}, {"mixed", run_mixed},
};

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: kernels_torch REFERENCE.bin");
    in_file = fopen(argv[1], "rb");
    if (!in_file) {
        fprintf(stderr,
                "kernels_torch: cannot open %s: run the kernels_torch_gen test first; it needs "
                "Debian's python3-torch (apt-get install python3-torch)\n",
                argv[1]);
        return 1;
    }
    char magic[4];
    CHECK(fread(magic, 1, 4, in_file) == 4 && !memcmp(magic, "SKT1", 4), "bad reference file");
    int ncases = rd_i32(), kinds_seen = 0;
    unsigned seen = 0;
    for (int i = 0; i < ncases; i++) {
        Case *c = malloc(sizeof *c);
        CHECK(c, "out of memory");
        read_case(c);
        size_t r = 0;
        while (r < sizeof runners / sizeof runners[0] && strcmp(runners[r].kind, c->kind))
            r++;
        CHECK(r < sizeof runners / sizeof runners[0], "unknown kind '%s'", c->kind);
        if (!(seen & (1u << r)))
            kinds_seen++;
        seen |= 1u << r;
        case_rel = 0;
        case_bad = 0;
        case_tensors = 0;
        runners[r].run(c);
        printf("%-46s %2d tensors  max rel err %.2e%s\n", c->label, case_tensors, case_rel,
               case_bad ? "  FAILED" : "");
        free_case(c);
        free(c);
    }
    fclose(in_file);
    int nkinds = (int)(sizeof runners / sizeof runners[0]);
    if (kinds_seen != nkinds) {
        fprintf(stderr, "FAIL: only %d of %d kernel families have reference cases\n", kinds_seen,
                nkinds);
        failures++;
    }
    printf("kernels_torch: %d cases, %d tensors, %d elements compared, %d failed "
           "(|a-b| <= %g + %g*|b|); worst abs err %.3e, worst rel err %.3e where |b| > 1e-3 "
           "(%s), worst err/tol %.3f\n",
           ncases, total_tensors, total_elems, failures, ATOL, RTOL, worst_abs, worst_rel,
           worst_label, worst_ratio);
    return failures ? 1 : 0;
}
