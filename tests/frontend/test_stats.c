/* test_stats.c: `sharpc dump --stats` numbers against the spec
 * (sharpdarts.md §3, §6.2, §13.4-13.6): parameters, multiply-adds, the
 * auxiliary head and the architecture parameters of every published network. */
#include <stdio.h>
#include <string.h>

#include "frontend.h"

typedef struct {
    const char *net;
    long long params, macs, aux, arch; /* -1: not given by the spec */
} Expect;

static const Expect expect[] = {
    { "darts_search", 1930618, -1, -1, 224 },
    { "ssc_search", 2527354, -1, -1, 224 },
    { "sharp_search", 5867642, -1, -1, 252 },
    { "sharper_search", 9707002, -1, -1, 336 },
    { "v1", 3169414, 518940288, 476426, 0 },
    { "v2", 3349342, 547473024, 476426, 0 },
    { "v2ssc", 3529270, 576005760, 476426, 0 },
    { "ssc", 3555622, 578604672, 476426, 0 },
    { "sharp", 1974934, 356729472, 476426, 0 },
    { "ssc_maxw", 3546550, 574844544, 476426, 0 },
    { "ssc_maxw14", 2477062, 405841536, 476426, 0 },
    { "smaxw14", 5902558, 935217792, 476426, 0 },
    { "sharper_s", 7109470, 1099078272, 476426, 0 },
    { "sharper_m", 6087142, 950221440, 476426, 0 },
    { "nasnet", 3830950, 624234528, -1, 0 },
    { "amoeba", 3145078, 506294496, -1, 0 },
    { "in_ssc", 4973728, 572981376, -1, 0 },
    { "in_sharp96", 3714880, 481055808, -1, 0 },
    { "in_sharp32", 3173440, 370417728, -1, 0 },
    { "in_sharper", 8267296, 924680640, -1, 0 },
    { "in_v2", 4718752, -1, -1, 0 },
};

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_stats PUBLISHED.nas STDLIB_DIR\n");
        return 2;
    }
    const char *dirs[1] = { argv[2] };
    FeOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.include_dirs = dirs;
    opt.ninclude_dirs = 1;
    FeCtx *fe = fe_new(&opt);
    int checks = 0, failed = 0;
    if (!fe_load(fe, argv[1]) || !fe_check(fe)) {
        fprintf(stderr, "FAIL: %s does not check\n", argv[1]);
        fe_free(fe);
        return 1;
    }
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        const Expect *e = &expect[i];
        IrGraph *g = fe_elaborate(fe, e->net);
        if (!g) {
            printf("FAIL %-16s does not elaborate\n", e->net);
            failed++;
            continue;
        }
        IrStats st;
        ir_stats(g, &st);
        long long got[4] = { st.params, st.macs, st.aux_params, st.arch_params };
        long long want[4] = { e->params, e->macs, e->aux, e->arch };
        const char *what[4] = { "params", "macs", "aux params", "arch params" };
        for (int k = 0; k < 4; k++) {
            if (want[k] < 0) continue;
            checks++;
            bool ok = got[k] == want[k];
            failed += !ok;
            printf("%s %-16s %-11s %13lld (spec %lld)\n", ok ? "ok  " : "FAIL", e->net, what[k], got[k], want[k]);
        }
        ir_stats_free(&st);
        ir_graph_free(g);
    }
    fe_free(fe);
    printf("%d checks, %d failed\n", checks, failed);
    return failed ? 1 : 0;
}
