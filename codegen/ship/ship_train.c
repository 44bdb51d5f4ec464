/* ship_train.c: the standalone training program of `sharpc emit --train`
 * (being written: until then --train is refused with a clear message). */
#include "codegen.h"

bool cg_ship_train(const CgProgram *p, const char *dir)
{
    (void)p;
    fprintf(stderr, "sharpc emit: --train is not available yet (nothing written to %s)\n", dir);
    return false;
}
