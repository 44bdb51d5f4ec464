/* parser_ctx.h: the state shared by the flex scanner and the bison parser of
 * one file: where to report, the file being read, the byte offset, and the
 * stack of open brackets (so an unclosed one can be named where it opened). */
#ifndef SHARPC_PARSER_CTX_H
#define SHARPC_PARSER_CTX_H

#include "frontend.h"

#define FE_MAX_NESTING 200

typedef struct {
    FeCtx *fe;
    FeArena *arena;
    int file;
    uint32_t offset;          /* bytes consumed by the scanner so far */
    char open_char[FE_MAX_NESTING];
    Loc open_loc[FE_MAX_NESTING];
    int depth;                /* brackets currently open */
    bool fatal;               /* the scanner gave up (nesting too deep) */
    bool eof_reported;        /* a syntax error at the end of the file was reported */
    uint32_t size;            /* bytes in the file */
    FeFile *out;              /* what the parser builds */
    int cap_decls;
} FeParser;

#endif
