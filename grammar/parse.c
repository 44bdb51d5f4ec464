/* parse.c: runs the scanner and parser over one loaded file and stores the
 * declarations it builds on the file's FeSource. */
#include <string.h>

#include "parser_ctx.h"
#include "sharp.tab.h"

typedef void *yyscan_t;
int sharp_lex_init_extra(FeParser *extra, yyscan_t *scanner);
int sharp_lex_destroy(yyscan_t scanner);
struct yy_buffer_state *sharp__scan_bytes(const char *bytes, int len, yyscan_t scanner);
int sharp_parse(void *scanner, FeParser *p);

bool fe_parse(FeCtx *fe, int file)
{
    FeSource *src = fe_source(fe, file);
    int before = fe_error_count(fe);
    FeParser p;
    memset(&p, 0, sizeof p);
    p.fe = fe;
    p.arena = fe_arena(fe);
    p.file = file;
    p.size = (uint32_t)src->size;
    p.out = fe_arena_alloc(p.arena, sizeof(FeFile));
    yyscan_t scanner;
    if (sharp_lex_init_extra(&p, &scanner) != 0) {
        Loc none = { file, 0, 0 };
        fe_error(fe, none, "cannot start the scanner");
        return false;
    }
    sharp__scan_bytes(src->text, (int)src->size, scanner);
    sharp_parse(scanner, &p);
    sharp_lex_destroy(scanner);
    if (p.depth > 0 && !p.eof_reported && !p.fatal) {
        Loc end = { file, p.size, p.size };
        fe_error(fe, end, "end of file inside an unclosed '%c'", p.open_char[0]);
        fe_note(fe, p.open_loc[0], "the '%c' opened here is never closed", p.open_char[0]);
    }
    src->ast = p.out;
    return fe_error_count(fe) == before;
}
