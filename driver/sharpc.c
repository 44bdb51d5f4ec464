/* sharpc.c: the command line. `sharpc check`, `sharpc dump`, `sharpc build`,
 * `sharpc emit`,
 * and the help and version texts; the pass pipeline (compile()) is here, as
 * one straight list. Exit codes: 0 success, 1 errors in the input, 2 usage
 * errors. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen.h"
#include "cuda_plan.h"
#include "frontend.h"
#include "ir.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2

static const char *usage_main =
    "usage: sharpc [--version] [--help] COMMAND [ARGS]\n"
    "\n"
    "sharpc compiles neural architecture search spaces written in the .nas\n"
    "language (sharpDARTS / DARTS) into search and training programs.\n"
    "\n"
    "commands:\n"
    "  check FILE            parse and check FILE: names, types, channels, shapes\n"
    "  dump FILE --ir        print the graph IR of a network\n"
    "  dump FILE --dot       print Graphviz of each cell type and of the network\n"
    "  dump FILE --stats     print parameters and multiply-adds\n"
    "  dump FILE --grad      print the backward graph and the memory plan\n"
    "  dump FILE --cuda-plan print the CUDA launch plan of a training step\n"
    "  build FILE -o EXE     compile a network into a native executable\n"
    "  emit FILE -o DIR      write standalone C source of a trained network\n"
    "\n"
    "Run `sharpc COMMAND --help` for the options of a command.\n"
    "Exit status: 0 success, 1 errors in the input, 2 usage errors.\n";

static const char *usage_check =
    "usage: sharpc check [-I DIR]... FILE\n"
    "\n"
    "Parses FILE and everything it imports, checks every declaration (names,\n"
    "argument and setting types, channels and spatial shapes) and elaborates\n"
    "every complete network of FILE. Prints diagnostics only.\n"
    "\n"
    "options:\n"
    "  -I DIR          also look for imported files in DIR\n"
    "  --max-errors N  stop after N errors (default 50)\n"
    "  -h, --help      show this help\n";

static const char *usage_dump =
    "usage: sharpc dump [-I DIR]... FILE (--ir | --dot | --stats | --grad | --cuda-plan)\n"
    "                   [--network NAME] [--low-memory]\n"
    "\n"
    "Elaborates one network of FILE and prints it. The network is NAME, or the\n"
    "one a search or train block of FILE names, or the last network of FILE.\n"
    "\n"
    "options:\n"
    "  --ir            the graph IR in its stable text form\n"
    "  --dot           Graphviz: one digraph per cell type and one for the network\n"
    "  --stats         parameters and multiply-adds (one eval forward at batch 1),\n"
    "                  per network, per region (stem, cell types, head) and per op\n"
    "                  kind; the auxiliary head and the architecture parameters\n"
    "                  are counted apart\n"
    "  --grad          the backward graph (one step per node, which input\n"
    "                  gradients it sets or adds to) and the activation memory plan\n"
    "  --low-memory    with --grad: the plan `sharpc build --low-memory` uses\n"
    "  --cuda-plan     the CUDA launch plan: the training forward, loss and\n"
    "                  backward and the eval forward and loss, one launch per\n"
    "                  line with its arguments (arena offsets for the CUDA fusions)\n"
    "  --network NAME  the network to dump\n"
    "  -I DIR          also look for imported files in DIR\n"
    "  --max-errors N  stop after N errors (default 50)\n"
    "  -h, --help      show this help\n";

static const char *usage_build =
    "usage: sharpc build [-I DIR]... FILE -o EXE [--network NAME] [options]\n"
    "\n"
    "Compiles one network of FILE (NAME, or the one a search or train block\n"
    "names, or the last one) into a native executable: the network's forward\n"
    "and backward programs as C with every shape a literal, compiled by the\n"
    "system C compiler (-O3 -march=native, OpenMP) and linked with libsharprt.\n"
    "Run `EXE --help` for what the executable does.\n"
    "\n"
    "options:\n"
    "  -o EXE          the executable to write (required)\n"
    "  --network NAME  the network to build\n"
    "  --emit-c DIR    also keep the generated C (kernels.c, net.c) in DIR\n"
    "  --cc CC         the C compiler (default: $CC, else cc)\n"
    "  --debug         compile with -O0 -g\n"
    "  --low-memory    keep fewer activations for the backward: the first\n"
    "                  pointwise output of each separable conv is rebuilt there\n"
    "                  instead (the same results, bit for bit; on the sharpDARTS\n"
    "                  search network 62% less activation memory for 4-7% more\n"
    "                  time per step)\n"
    "  -v              print the compiler command\n"
    "  -I DIR          also look for imported files in DIR\n"
    "  --max-errors N  stop after N errors (default 50)\n"
    "  -h, --help      show this help\n";

static const char *usage_emit =
    "usage: sharpc emit [-I DIR]... FILE --target c|cuda -o DIR [--weights W.safetensors]\n"
    "                   [--embed-weights] [--train] [--network NAME]\n"
    "\n"
    "Writes portable C99 source of one fixed network of FILE (a genotype network,\n"
    "not a search space) that builds with any C compiler and needs nothing from\n"
    "sharpc: model.h and model.c (inference fused for evaluation: batch norm\n"
    "folded into the convolutions, ReLU fused, zero ops, identities, drop path\n"
    "and the auxiliary head removed, all activations in one arena planned by\n"
    "liveness), main.c (a command-line classifier), a Makefile and a README.md.\n"
    "The planned arena size is printed. DIR must not exist, be empty, or hold an\n"
    "earlier `sharpc emit` output (which is replaced); it is written whole or not\n"
    "at all.\n"
    "\n"
    "options:\n"
    "  -o DIR           the directory to write (required)\n"
    "  --target T       the target (required): c, portable C99 (model.c); or cuda,\n"
    "                   model.cu with the network's CUDA kernels specialized at\n"
    "                   compile time, built by nvcc (the same model.h API; the\n"
    "                   classifier copies each chunk of images to the GPU)\n"
    "  --weights FILE   trained weights (safetensors, PyTorch state_dict names):\n"
    "                   checked against the network now; with --embed-weights\n"
    "                   they are compiled into model.c\n"
    "  --embed-weights  model.c carries the weights as const data (needs --weights);\n"
    "                   otherwise the model loads a safetensors file at creation\n"
    "  --train          also write DIR/train: a standalone program that trains the\n"
    "                   network from scratch (run `make` there, then `./train --help`);\n"
    "                   with --target cuda it also trains on a GPU: the network's CUDA\n"
    "                   launch plan and kernel sources, compiled by NVRTC when it runs\n"
    "  --network NAME   the network to emit\n"
    "  -v               say what is written\n"
    "  -I DIR           also look for imported files in DIR\n"
    "  --max-errors N   stop after N errors (default 50)\n"
    "  -h, --help       show this help\n";

typedef struct {
    const char *file;
    const char *output, *emit_c, *cc;
    const char *target, *weights;
    bool embed, train;
    bool verbose, debug;
    bool low_memory;     /* build, dump: the remat plan (ir_plan) */
    const char *network;
    const char *dirs[64];
    int ndirs;
    int max_errors;
    int what;            /* dump: 1 ir, 2 dot, 3 stats, 4 grad */
} Args;

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "sharpc%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry `sharpc %s%s--help`.\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

/* Parses the options of `check` and `dump`; returns -1 on success, or an exit code. */
static int parse_args(const char *cmd, int argc, char **argv, Args *a)
{
    bool dump = strcmp(cmd, "dump") == 0, build = strcmp(cmd, "build") == 0, emit = strcmp(cmd, "emit") == 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(dump ? usage_dump : build ? usage_build : emit ? usage_emit : usage_check, stdout);
            return 0;
        } else if (emit && (strcmp(s, "-o") == 0 || strcmp(s, "--target") == 0 || strcmp(s, "--weights") == 0)) {
            if (i + 1 >= argc) return usage_error(cmd, "%s needs a value", s);
            const char *v = argv[++i];
            if (s[1] == 'o') a->output = v;
            else if (s[2] == 't') a->target = v;
            else a->weights = v;
        } else if (emit && strcmp(s, "--embed-weights") == 0) {
            a->embed = true;
        } else if (emit && strcmp(s, "--train") == 0) {
            a->train = true;
        } else if (emit && strcmp(s, "-v") == 0) {
            a->verbose = true;
        } else if (build && (strcmp(s, "-o") == 0 || strcmp(s, "--emit-c") == 0 || strcmp(s, "--cc") == 0)) {
            if (i + 1 >= argc) return usage_error(cmd, "%s needs a value", s);
            const char *v = argv[++i];
            if (s[1] == 'o') a->output = v;
            else if (s[2] == 'e') a->emit_c = v;
            else a->cc = v;
        } else if (build && strcmp(s, "-v") == 0) {
            a->verbose = true;
        } else if (build && strcmp(s, "--debug") == 0) {
            a->debug = true;
        } else if ((build || dump) && strcmp(s, "--low-memory") == 0) {
            a->low_memory = true;
        } else if (strcmp(s, "-I") == 0 || strcmp(s, "--max-errors") == 0 || strcmp(s, "--network") == 0) {
            if (i + 1 >= argc) return usage_error(cmd, "%s needs a value", s);
            const char *v = argv[++i];
            if (s[1] == 'I') {
                if (a->ndirs < 64) a->dirs[a->ndirs++] = v;
            } else if (s[2] == 'm') {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || n <= 0 || n > 100000) return usage_error(cmd, "--max-errors needs a positive number, not '%s'", v);
                a->max_errors = (int)n;
            } else {
                if (!dump && !build && !emit) return usage_error(cmd, "unknown option '%s'", s);
                a->network = v;
            }
        } else if (strncmp(s, "-I", 2) == 0) {
            if (a->ndirs < 64) a->dirs[a->ndirs++] = s + 2;
        } else if (dump && (strcmp(s, "--ir") == 0 || strcmp(s, "--dot") == 0 || strcmp(s, "--stats") == 0 ||
                            strcmp(s, "--grad") == 0 || strcmp(s, "--cuda-plan") == 0)) {
            int w = s[2] == 'i' ? 1 : s[2] == 'd' ? 2 : s[2] == 's' ? 3 : s[2] == 'g' ? 4 : 5;
            if (a->what && a->what != w)
                return usage_error(cmd, "choose one of --ir, --dot, --stats, --grad, --cuda-plan (got also %s)", s);
            a->what = w;
        } else if (s[0] == '-' && s[1]) {
            return usage_error(cmd, "unknown option '%s'", s);
        } else {
            if (a->file) return usage_error(cmd, "one input file only (got also '%s')", s);
            a->file = s;
        }
    }
    if (!a->file) return usage_error(cmd, "%s", "no input file");
    if (dump && !a->what)
        return usage_error(cmd, "%s", "say what to dump: --ir, --dot, --stats, --grad or --cuda-plan");
    if (build && !a->output) return usage_error(cmd, "%s", "say where to write the executable: -o EXE");
    if (emit && !a->output) return usage_error(cmd, "%s", "say where to write the source: -o DIR");
    if (emit && !a->target) return usage_error(cmd, "%s", "say which language to write: --target c");
    if (emit && strcmp(a->target, "c") != 0 && strcmp(a->target, "cuda") != 0)
        return usage_error(cmd, "unknown target '%s' (targets: c, cuda)", a->target);
    if (emit && a->embed && !a->weights)
        return usage_error(cmd, "%s", "--embed-weights needs the weights: --weights FILE");
    return -1;
}

static FeCtx *load(Args *a)
{
    FeOptions opt;
    memset(&opt, 0, sizeof opt);
    a->dirs[a->ndirs < 64 ? a->ndirs++ : 63] = SHARPC_STDLIB_DIR;
    opt.include_dirs = a->dirs;
    opt.ninclude_dirs = a->ndirs;
    opt.max_errors = a->max_errors;
    opt.diag_out = stderr;
    FeCtx *fe = fe_new(&opt);
    fe_load(fe, a->file);
    return fe;
}

/* The passes after elaboration, in order. */
typedef struct {
    IrBackward bw;
    IrPlan plan;
} Compiled;

static void compile(IrGraph *g, bool low_memory, Compiled *c)
{
    char err[512];
    ir_cse(g);
    if (!ir_verify(g, err, sizeof err)) {
        fprintf(stderr, "sharpc: internal error after cse: %s\n", err);
        abort();
    }
    ir_autodiff(g, &c->bw);
    ir_plan(g, &c->bw, IR_FUSE_CPU, low_memory, &c->plan);
}

static void compiled_free(Compiled *c)
{
    ir_backward_free(&c->bw);
    ir_plan_free(&c->plan);
}

/* The backend step of `build` and `emit` on a compiled network. */
static bool do_build(const CgProgram *p, const Args *a)
{
    CgBuildOptions o = { a->cc, a->output, a->emit_c, a->verbose, a->debug };
    return cg_build_c(p, &o);
}

static bool do_emit(const CgProgram *p, const Args *a)
{
    CgShipOptions o = { a->output, a->weights, a->embed, a->train, strcmp(a->target, "cuda") == 0, a->verbose };
    return cg_ship_c(p, &o);
}

/* `build` and `emit`: front end, the passes, then the backend step. */
static int cmd_backend(const char *cmd, int argc, char **argv, bool (*step)(const CgProgram *, const Args *))
{
    Args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(cmd, argc, argv, &a);
    if (rc >= 0) return rc;
    FeCtx *fe = load(&a);
    if (fe_error_count(fe) == 0) fe_check(fe);
    rc = 0;
    if (fe_error_count(fe) == 0) {
        IrGraph *g = fe_elaborate(fe, a.network);
        if (g) {
            Compiled c;
            compile(g, a.low_memory, &c);
            CgProgram p = { g, &c.bw, &c.plan, a.file, false, NULL, NULL };
            /* a built program carries its CUDA launch plan for the device loop */
            CgCudaPlan cuda;
            char why[512];
            bool has_cuda = false;
            if (step == do_build || (step == do_emit && a.train && !strcmp(a.target, "cuda"))) {
                has_cuda = cg_cuda_plan(g, &cuda, why, sizeof why) == 0;
                if (has_cuda) p.cuda = &cuda;
                else p.cuda_why = why;
            }
            if (!step(&p, &a)) rc = EXIT_INPUT;
            if (has_cuda) cg_cuda_plan_free(&cuda);
            compiled_free(&c);
            ir_graph_free(g);
        }
    }
    int errors = fe_error_count(fe);
    if (errors) fprintf(stderr, "%d error%s\n", errors, errors == 1 ? "" : "s");
    fe_free(fe);
    return errors ? EXIT_INPUT : rc;
}

static int cmd_check(int argc, char **argv)
{
    Args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args("check", argc, argv, &a);
    if (rc >= 0) return rc;
    FeCtx *fe = load(&a);
    if (fe_error_count(fe) == 0) fe_check(fe);
    int errors = fe_error_count(fe);
    if (errors) fprintf(stderr, "%d error%s\n", errors, errors == 1 ? "" : "s");
    fe_free(fe);
    return errors ? EXIT_INPUT : 0;
}

static int cmd_dump(int argc, char **argv)
{
    Args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args("dump", argc, argv, &a);
    if (rc >= 0) return rc;
    FeCtx *fe = load(&a);
    if (fe_error_count(fe) == 0) fe_check(fe);
    if (fe_error_count(fe) == 0) {
        if (a.what == 2) {
            fe_dump_dot(fe, a.network, stdout);
        } else {
            IrGraph *g = fe_elaborate(fe, a.network);
            if (g && a.what == 1) ir_print(g, stdout);
            if (g && a.what == 4) {
                Compiled c;
                compile(g, a.low_memory, &c);
                ir_backward_print(g, &c.bw, stdout);
                ir_fuse_print(g, &c.plan.fuse, stdout);
                printf("plan: %lld floats per sample (%lld without reuse), %lld small\n",
                       (long long)c.plan.per_sample, (long long)c.plan.naive, (long long)c.plan.small_size);
                compiled_free(&c);
            }
            if (g && a.what == 5) {
                char err[512];
                CgCudaPlan p;
                ir_cse(g);
                if (cg_cuda_plan(g, &p, err, sizeof err) != 0) {
                    fprintf(stderr, "sharpc: %s\n", err);
                    fe_free(fe);
                    ir_graph_free(g);
                    return EXIT_INPUT;
                }
                cg_cuda_plan_print(g, &p, stdout);
                cg_cuda_plan_free(&p);
            }
            if (g && a.what == 3) {
                IrStats st;
                ir_stats(g, &st);
                ir_stats_print(g, &st, stdout);
                ir_stats_free(&st);
            }
            ir_graph_free(g);
        }
    }
    int errors = fe_error_count(fe);
    if (errors) fprintf(stderr, "%d error%s\n", errors, errors == 1 ? "" : "s");
    fe_free(fe);
    return errors ? EXIT_INPUT : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("sharpc %s\n", SHARPC_VERSION);
        return 0;
    }
    if (strcmp(cmd, "check") == 0) return cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "dump") == 0) return cmd_dump(argc - 2, argv + 2);
    if (strcmp(cmd, "build") == 0) return cmd_backend("build", argc - 2, argv + 2, do_build);
    if (strcmp(cmd, "emit") == 0) return cmd_backend("emit", argc - 2, argv + 2, do_emit);
    const char *cmds[] = { "check", "dump", "build", "emit" };
    const char *s = fe_suggest(cmd, cmds, 4);
    fprintf(stderr, "sharpc: unknown command '%s'%s%s%s\n", cmd, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    fputs(usage_main, stderr);
    return EXIT_USAGE;
}
