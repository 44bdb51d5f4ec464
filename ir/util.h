/* util.h: small helpers shared by the compiler folders: checked allocation,
 * growable arrays, and the die()/unreachable() macros for broken invariants
 * (never for user mistakes, which get diagnostics). */
#ifndef SHARPC_UTIL_H
#define SHARPC_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define die(...)                                                              \
    do {                                                                      \
        fprintf(stderr, "sharpc: internal error at %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                  \
        abort();                                                              \
    } while (0)
#define unreachable() die("unreachable")

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Grows (ptr, cap) so that index `need - 1` fits. */
#define GROW(ptr, cap, need)                                                  \
    do {                                                                      \
        if ((need) > (cap)) {                                                 \
            size_t nc_ = (cap) ? (size_t)(cap) * 2 : 16;                      \
            while (nc_ < (size_t)(need)) nc_ *= 2;                            \
            (ptr) = xrealloc((ptr), nc_ * sizeof(*(ptr)));                    \
            (cap) = (int)nc_;                                                 \
        }                                                                     \
    } while (0)

#endif
