/* sharpc.c: the command line. `sharpc check`, `sharpc dump`, and the help and
#define _POSIX_C_SOURCE 200809L
 * version texts. Exit codes: 0 success, 1 errors in the input, 2 usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    "usage: sharpc dump [-I DIR]... FILE (--ir | --dot | --stats) [--network NAME]\n"
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
    "  --network NAME  the network to dump\n"
    "  -I DIR          also look for imported files in DIR\n"
    "  --max-errors N  stop after N errors (default 50)\n"
    "  -h, --help      show this help\n";

typedef struct {
    const char *file;
    const char *network;
    const char *dirs[64];
    int ndirs;
    int max_errors;
    int what;            /* dump: 1 ir, 2 dot, 3 stats */
} Args;

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "sharpc%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry `sharpc %s--help`.\n", cmd ? (strcmp(cmd, "check") == 0 ? "check " : "dump ") : "");
    return EXIT_USAGE;
}

/* Parses the options of `check` and `dump`; returns -1 on success, or an exit code. */
static int parse_args(const char *cmd, int argc, char **argv, Args *a)
{
    bool dump = strcmp(cmd, "dump") == 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fputs(dump ? usage_dump : usage_check, stdout);
            return 0;
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
                if (!dump) return usage_error(cmd, "unknown option '%s'", s);
                a->network = v;
            }
        } else if (strncmp(s, "-I", 2) == 0) {
            if (a->ndirs < 64) a->dirs[a->ndirs++] = s + 2;
        } else if (dump && (strcmp(s, "--ir") == 0 || strcmp(s, "--dot") == 0 || strcmp(s, "--stats") == 0)) {
            int w = s[2] == 'i' ? 1 : s[2] == 'd' ? 2 : 3;
            if (a->what && a->what != w) return usage_error(cmd, "choose one of --ir, --dot, --stats (got also %s)", s);
            a->what = w;
        } else if (s[0] == '-' && s[1]) {
            return usage_error(cmd, "unknown option '%s'", s);
        } else {
            if (a->file) return usage_error(cmd, "one input file only (got also '%s')", s);
            a->file = s;
        }
    }
    if (!a->file) return usage_error(cmd, "%s", "no input file");
    if (dump && !a->what) return usage_error(cmd, "%s", "say what to dump: --ir, --dot or --stats");
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
    const char *cmds[] = { "check", "dump" };
    const char *s = fe_suggest(cmd, cmds, 2);
    fprintf(stderr, "sharpc: unknown command '%s'%s%s%s\n", cmd, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    fputs(usage_main, stderr);
    return EXIT_USAGE;
}
