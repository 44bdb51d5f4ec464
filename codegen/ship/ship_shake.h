/* ship_shake.h: the kernel-source tree shaker of `sharpc emit`. */
#ifndef SHARPC_SHIP_SHAKE_H
#define SHARPC_SHIP_SHAKE_H

#include <stdbool.h>
#include <stdio.h>

/* Writes to out, in source order, the items of the C sources `paths` that
 * the functions `roots` need (functions and static tables reached through
 * the identifiers they mention, and their prototypes), every preprocessor
 * line and type, and no local #include. False (message printed) when a
 * source cannot be read. */
bool ship_shake(const char *const *paths, int npaths, const char *const *roots, int nroots, FILE *out);

#endif
