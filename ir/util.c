/* util.c: checked allocation; out of memory is fatal for the compiler. */
#include <string.h>

#include "util.h"

static void *check(void *p, size_t n)
{
    if (!p && n) {
        fprintf(stderr, "sharpc: out of memory (%zu bytes)\n", n);
        exit(3);
    }
    return p;
}

void *xmalloc(size_t n) { return check(malloc(n ? n : 1), n); }
void *xcalloc(size_t n, size_t size) { return check(calloc(n ? n : 1, size ? size : 1), n * size); }
void *xrealloc(void *p, size_t n) { return check(realloc(p, n ? n : 1), n); }
char *xstrdup(const char *s) { return strcpy(xmalloc(strlen(s) + 1), s); }
