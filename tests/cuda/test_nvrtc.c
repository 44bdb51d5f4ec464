/* test_nvrtc.c: every CUDA kernel instantiation that the example spaces and
 * genotypes need compiles with NVRTC for sm_90 (H100/H200), and a spread
 * sample of each template's instantiations for sm_80 (A100), with no
 * warnings, and ptxas reports no register spills in the hot kernels
 * (convolutions, batch norm, mixed-op sums). Prints the register/spill
 * report, how many instantiations compiled and how long it took.
 *
 * usage: test_nvrtc KERNEL_DIR STDLIB_DIR FILE.nas...
 * Instantiations are deduplicated over all networks and compiled as one
 * NVRTC program per (kernel template, chunk of name expressions, arch), in
 * as many worker processes as SHARPC_TEST_JOBS says (default 2): NVRTC
 * serializes compiles within one process. SHARPC_TEST_ALL_ARCHS=1 compiles
 * every instantiation for sm_80 too (twice the time: the suite's 15-minute
 * budget keeps it out of ctest). */
#include <sys/wait.h>
#include <unistd.h>
#include <stdbool.h>
#include <time.h>

#include "cuda_instances.h"
#include "cuda_test.h"
#include "frontend.h"

#define CHUNK 48    /* name expressions per NVRTC program */
#define SAMPLE_80 8 /* instantiations per template compiled for sm_80 */

static const int archs[] = { 80, 90 };
#define NARCH 2

typedef struct {
    KcKernel kernel;       /* the template compiled */
    int file;              /* index into kc_files */
    int arch;
    const char **exprs;
    int nexprs;
    RtCudaImage *img;
    char err[8192];
    int rc;
    double secs;
} Job;

static RtCudaSource header;
static RtCudaSource sources[KC_NFILES];
static Job *jobs;
static int njobs;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Is this kernel one whose spills fail the test? */
static bool hot(const char *name)
{
    static const char *const pre[] = { "conv2d_", "dwconv_", "pw_", "bn_", "mixed_" };
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
        if (strncmp(name, pre[i], strlen(pre[i])) == 0)
            return true;
    return false;
}

/* Per kernel template and arch: the ptxas summary. */
typedef struct {
    int count, max_regs, spills, max_stack;
    char worst[160];
} Report;
/* What one worker process found. */
typedef struct {
    Report report[KC__COUNT][NARCH];
    double ksecs[KC__COUNT];
    int compiled, warned, hot_spills, failed;
} Result;

/* Finds the name expression of lowered name `low` in job b. */
static const char *expr_of(const Job *b, const char *low)
{
    for (int i = 0; i < b->img->nnames; i++)
        if (strcmp(b->img->lowered[i], low) == 0)
            return b->img->exprs[i];
    return NULL;
}

/* Reads ptxas -v lines of job b into the report; returns the number of
 * warnings or errors found in the log (any line that is not ptxas info). */
static int scan_log(const Job *b, int ai, Report (*report)[NARCH], int *hot_spills)
{
    int bad = 0;
    const char *cur = NULL;
    char line[1024];
    const char *p = b->img->log;
    while (*p) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
        p += n + (p[n] == '\n');
        char fn[512];
        int regs, st, ld, stack;
        if (sscanf(line, "ptxas info : Compiling entry function '%511[^']'", fn) == 1 ||
            sscanf(line, "ptxas info    : Compiling entry function '%511[^']'", fn) == 1) {
            cur = expr_of(b, fn);
        } else if (strstr(line, "bytes stack frame") &&
                   sscanf(line, "ptxas . %d bytes stack frame, %d bytes spill stores, %d bytes spill loads", &stack,
                          &st, &ld) == 3) {
            if (cur) {
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(cur, "<"), cur);
                KcKernel k = kc_find(name);
                if (k != KC__COUNT) {
                    Report *r = &report[k][ai];
                    r->spills += st + ld;
                    if (stack > r->max_stack)
                        r->max_stack = stack;
                    if ((st || ld) && hot(name)) {
                        printf("FAIL spill sm_%d %s: %d bytes stores, %d bytes loads\n", b->arch, cur, st, ld);
                        (*hot_spills)++;
                    }
                }
            }
        } else if (strstr(line, "Used ") && sscanf(strstr(line, "Used "), "Used %d registers", &regs) == 1) {
            if (cur) {
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(cur, "<"), cur);
                KcKernel k = kc_find(name);
                if (k != KC__COUNT) {
                    Report *r = &report[k][ai];
                    r->count++;
                    if (regs > r->max_regs) {
                        r->max_regs = regs;
                        snprintf(r->worst, sizeof r->worst, "%s", cur);
                    }
                }
            }
        } else if (strncmp(line, "ptxas", 5) != 0 && line[0]) {
            bad++;
        }
    }
    return bad;
}

/* Compiles job b and adds what ptxas said to r; prints failures. */
static void run_job(Job *b, Result *r)
{
    RtCudaCompile opt = { .arch = b->arch, .cache_dir = "", .ptxas_verbose = 1 };
    double t0 = now();
    b->rc = rt_nvrtc_compile(&sources[b->file], &header, 1, b->exprs, b->nexprs, &opt, &b->img, b->err,
                             sizeof b->err);
    r->ksecs[b->kernel] += now() - t0;
    if (b->rc != 0) {
        printf("FAIL %s sm_%d (%d expressions, first %s):\n%s\n", kc_files[b->file], b->arch, b->nexprs,
               b->exprs[0], b->err);
        r->failed++;
        return;
    }
    int bad = scan_log(b, b->arch == archs[0] ? 0 : 1, r->report, &r->hot_spills);
    if (bad) {
        printf("FAIL %s sm_%d: %d warning/error lines in the NVRTC log:\n%s\n", kc_files[b->file], b->arch, bad,
               b->img->log);
        r->warned++;
    }
    r->compiled += b->nexprs;
    rt_cuda_image_free(b->img);
    b->img = NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_nvrtc KERNEL_DIR STDLIB_DIR FILE.nas...\n");
        return 2;
    }
    ct_require_nvrtc();
    header.name = KC_HEADER;
    header.text = ct_read_file(argv[1], KC_HEADER);
    for (int f = 0; f < KC_NFILES; f++) {
        sources[f].name = kc_files[f];
        sources[f].text = ct_read_file(argv[1], kc_files[f]);
    }

    /* Collect the instantiations of every complete network of every file. */
    CgCudaInstList all;
    cg_cuda_inst_init(&all);
    const char *dirs[1] = { argv[2] };
    int nets = 0, failed = 0;
    for (int a = 3; a < argc; a++) {
        FeOptions opt;
        memset(&opt, 0, sizeof opt);
        opt.include_dirs = dirs;
        opt.ninclude_dirs = 1;
        FeCtx *fe = fe_new(&opt);
        if (!fe_load(fe, argv[a]) || !fe_check(fe)) {
            printf("FAIL %s does not check\n", argv[a]);
            failed++;
            fe_free(fe);
            continue;
        }
        const char **names;
        int n = fe_network_names(fe, &names);
        if (n == 0)
            printf("note: %s declares no complete network (a library of definitions)\n", argv[a]);
        for (int i = 0; i < n; i++) {
            IrGraph *g = fe_elaborate(fe, names[i]);
            char err[512];
            int before = all.n;
            if (!g) {
                printf("FAIL %s: network %s does not elaborate\n", argv[a], names[i]);
                failed++;
                continue;
            }
            if (cg_cuda_instances(g, CG_CUDA_TRAIN | CG_CUDA_EVAL, &all, err, sizeof err) != 0) {
                printf("FAIL %s: network %s: %s\n", argv[a], names[i], err);
                failed++;
            } else {
                printf("%-40s %-26s %4d new instantiations\n", argv[a] + (strrchr(argv[a], '/') ? strrchr(argv[a], '/') - argv[a] + 1 : 0),
                       names[i], all.n - before);
            }
            nets++;
            ir_graph_free(g);
        }
        fe_free(fe);
    }
    /* Templates no pass of any example uses still have to compile. */
    cg_cuda_inst_add(&all, KC_bn_eval_bwd, (const int[]){ 16, 64, 1 });
    cg_cuda_inst_add(&all, KC_bn_eval_bwd, (const int[]){ 16, 1024, 0 });
    cg_cuda_inst_add(&all, KC_scale, (const int[]){ 1024 });
    cg_cuda_inst_add(&all, KC_slice_bwd, (const int[]){ 16, 1024, 4, 8 });
    /* a mixed op without BN candidates, and the first of its fused epilogues */
    cg_cuda_inst_add(&all, KC_mixed_fwd, (const int[]){ 4096, 8, 1 });
    cg_cuda_inst_add(&all, KC_mixed_acc, (const int[]){ 4096, 8, 1, 1 });
    /* the inference epilogue of `sharpc emit --target cuda` */
    cg_cuda_inst_add(&all, KC_channel_affine, (const int[]){ 36, 1024, 0, 1, 1 });
    cg_cuda_inst_add(&all, KC_channel_affine, (const int[]){ 72, 256, 1, 1, 0 });
    for (int k = 0; k < KC__COUNT; k++) {
        bool used = false;
        for (int i = 0; i < all.n && !used; i++)
            used = all.v[i].kernel == (KcKernel)k;
        if (!used) {
            printf("FAIL kernel template %s has no instantiation to compile\n", kc_name((KcKernel)k));
            failed++;
        }
    }
    printf("%d networks, %d unique kernel instantiations\n", nets, all.n);

    /* One job per (kernel template, chunk, arch); SHARPC_TEST_SAMPLE=k keeps
     * only the first k instantiations of each template (for timing runs).
     * sm_80 gets SAMPLE_80 of each template's, evenly spread over its list,
     * unless SHARPC_TEST_ALL_ARCHS is set. */
    const char *sample_s = getenv("SHARPC_TEST_SAMPLE");
    int sample = sample_s && atoi(sample_s) > 0 ? atoi(sample_s) : 0;
    const char *all_s = getenv("SHARPC_TEST_ALL_ARCHS");
    bool all_archs = all_s && atoi(all_s) > 0;
    jobs = calloc((size_t)(all.n / CHUNK + KC__COUNT + 1) * NARCH, sizeof *jobs);
    const char **exprs = malloc(sizeof *exprs * (size_t)(2 * all.n + 1));
    int ne = 0, wanted = 0, wanted_all = 0;
    for (int k = 0; k < KC__COUNT; k++) {
        int start = ne;
        for (int i = 0; i < all.n; i++)
            if (all.v[i].kernel == (KcKernel)k && (!sample || ne - start < sample))
                exprs[ne++] = all.v[i].expr;
        int n = ne - start;
        /* sm_80's spread sample, after the full list */
        int n80 = all_archs || n <= SAMPLE_80 ? n : SAMPLE_80;
        int start80 = ne;
        for (int j = 0; j < n80; j++)
            exprs[ne++] = exprs[start + (int)((long)j * n / n80)];
        wanted_all += n * NARCH;
        for (int ai = 0; ai < NARCH; ai++) {
            int first = ai == 0 ? start80 : start, count = ai == 0 ? n80 : n;
            for (int c = first; c < first + count; c += CHUNK) {
                Job *b = &jobs[njobs++];
                b->kernel = (KcKernel)k;
                b->file = 0;
                while (strcmp(kc_files[b->file], kc_file((KcKernel)k)) != 0)
                    b->file++;
                b->arch = archs[ai];
                b->exprs = exprs + c;
                b->nexprs = first + count - c < CHUNK ? first + count - c : CHUNK;
                wanted += b->nexprs;
            }
        }
    }
    const char *js = getenv("SHARPC_TEST_JOBS");
    int nproc = js && atoi(js) > 0 ? atoi(js) : 2;
    if (nproc > 16)
        nproc = 16;
    printf("compiling %d instantiations (%d unique for sm_90, %s for sm_80%s) as %d NVRTC programs in %d "
           "processes\n", wanted, all.n, all_archs ? "all" : "a sample of each template's", sample ? ", sampled" : "",
           njobs, nproc);
    fflush(stdout);
    double t0 = now();
    Result total;
    memset(&total, 0, sizeof total);
    int fds[16];
    pid_t pids[16];
    for (int c = 0; c < nproc; c++) {
        int p[2];
        if (pipe(p) != 0 || (pids[c] = fork()) < 0) {
            perror("pipe/fork");
            return 1;
        }
        if (pids[c] == 0) {
            close(p[0]);
            setvbuf(stdout, NULL, _IOLBF, 0);
            Result *r = calloc(1, sizeof *r);
            for (int j = c; j < njobs; j += nproc)
                run_job(&jobs[j], r);
            size_t off = 0;
            while (off < sizeof *r) {
                ssize_t k = write(p[1], (char *)r + off, sizeof *r - off);
                if (k <= 0)
                    _exit(1);
                off += (size_t)k;
            }
            _exit(0);
        }
        close(p[1]);
        fds[c] = p[0];
    }
    for (int c = 0; c < nproc; c++) {
        Result r;
        size_t off = 0;
        while (off < sizeof r) {
            ssize_t k = read(fds[c], (char *)&r + off, sizeof r - off);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        close(fds[c]);
        int st = 0;
        waitpid(pids[c], &st, 0);
        if (off != sizeof r || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("FAIL worker process %d died\n", c);
            failed++;
            continue;
        }
        total.compiled += r.compiled;
        total.warned += r.warned;
        total.hot_spills += r.hot_spills;
        total.failed += r.failed;
        for (int k = 0; k < KC__COUNT; k++) {
            total.ksecs[k] += r.ksecs[k];
            for (int ai = 0; ai < NARCH; ai++) {
                Report *d = &total.report[k][ai], *e = &r.report[k][ai];
                d->count += e->count;
                d->spills += e->spills;
                if (e->max_stack > d->max_stack)
                    d->max_stack = e->max_stack;
                if (e->max_regs > d->max_regs) {
                    d->max_regs = e->max_regs;
                    memcpy(d->worst, e->worst, sizeof d->worst);
                }
            }
        }
    }
    double secs = now() - t0;
    failed += total.failed;
    int compiled = total.compiled, warned = total.warned, hot_spills = total.hot_spills;
    double *ksecs = total.ksecs;
    Report (*report)[NARCH] = total.report;

    printf("\nptxas report (per kernel template: instantiations, max registers, spill bytes, max stack)\n");
    printf("%-20s %5s %5s %6s %5s | %5s %5s %6s %5s %7s   %s\n", "kernel", "n80", "reg80", "spill", "stk", "n90",
           "reg90", "spill", "stk", "secs", "most registers (sm_90)");
    for (int k = 0; k < KC__COUNT; k++) {
        Report *a = &report[k][0], *b = &report[k][1];
        if (!a->count && !b->count)
            continue;
        printf("%-20s %5d %5d %6d %5d | %5d %5d %6d %5d %7.1f   %s%s\n", kc_name((KcKernel)k), a->count, a->max_regs,
               a->spills, a->max_stack, b->count, b->max_regs, b->spills, b->max_stack, ksecs[k], b->worst,
               hot(kc_name((KcKernel)k)) ? "" : "  (not hot)");
    }
    printf("\n%d of %d instantiation compiles succeeded (%d unique; %d for every one on both archs) "
           "in %.1f s; %d programs with warnings, %d hot-kernel spills\n",
           compiled, wanted, all.n, all.n * NARCH, secs, warned, hot_spills);
    int ok = !failed && !warned && !hot_spills && compiled == wanted && (sample || !all_archs || wanted == wanted_all);
    cg_cuda_inst_free(&all);
    free(exprs);
    free(jobs);
    free((char *)header.text);
    for (int f = 0; f < KC_NFILES; f++)
        free((char *)sources[f].text);
    return ok ? 0 : 1;
}
