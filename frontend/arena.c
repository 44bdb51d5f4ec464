/* arena.c: bump allocation for the front end. Everything parsed or built
 * while checking lives here and is released at once by fe_arena_free. */
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "util.h"

struct FeArenaBlock {
    FeArenaBlock *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

void *fe_arena_alloc(FeArena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    FeArenaBlock *b = a->head;
    if (!b || b->used + size > b->size) {
        size_t cap = size > 65536 ? size : 65536;
        b = xmalloc(sizeof(FeArenaBlock) + cap);
        b->used = 0;
        b->size = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *fe_arena_strndup(FeArena *a, const char *s, size_t n)
{
    char *d = fe_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

void fe_arena_free(FeArena *a)
{
    FeArenaBlock *b = a->head;
    while (b) {
        FeArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
