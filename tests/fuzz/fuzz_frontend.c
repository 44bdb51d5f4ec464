/* fuzz_frontend.c: libFuzzer target for the parser and checker. Each input
 * is loaded as a .nas file beside the examples (so imports of the prelude
 * resolve), checked, and its networks elaborated. Diagnostics are discarded. */
#include <stdio.h>
#include <string.h>

#include "frontend.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static FILE *null;
    if (!null) null = fopen("/dev/null", "w");
    const char *dirs[1] = { SHARPC_STDLIB_DIR };
    FeOptions opt;
    memset(&opt, 0, sizeof opt);
    opt.include_dirs = dirs;
    opt.ninclude_dirs = 1;
    opt.diag_out = null;
    FeCtx *fe = fe_new(&opt);
    if (fe_load_text(fe, SHARPC_STDLIB_DIR "/fuzz-input.nas", (const char *)data, size)) fe_check(fe);
    fe_free(fe);
    return 0;
}
