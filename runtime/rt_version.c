/* rt_version.c: the runtime's version string, so a program can say what it links. */
#include "sharprt.h"

const char *rt_version(void) { return SHARPRT_VERSION; }
