/* sharp.y: the grammar of the .nas language. A pure bison parser with
 * locations that builds the AST only; all meaning is given by the front end.
 *
 *   file      := decl*
 *   decl      := 'import' STRING ';'
 *              | 'primitive' IDENT ['(' params ')'] '{' stmt* '}' ['mixed' '{' stmt* '}']
 *              | 'ops' IDENT '=' '[' entry, ... ']' ';'
 *              | IDENT [IDENT [':' IDENT]] '{' setting* '}'        (cell, network, search, ...)
 *              | IDENT '=' expr [';']                              (Genotype(...) literal)
 *   stmt      := [IDENT ':'] layer ';' | IDENT ':' '{' stmt* '}' | 'let' IDENT '=' expr ';'
 *              | 'if' expr '{' stmt* '}' ['else' ('{' stmt* '}' | if)]
 *   layer     := IDENT ['(' args ')'] | IDENT '{' ('{' stmt* '}')+ '}'
 *   setting   := IDENT [expr, ...] ';' | IDENT '{' stmt* '}'
 */
%define api.pure full
%define api.prefix {sharp_}
%define api.location.type {Loc}
%define parse.error detailed
%locations
%expect 0
%param {void *scanner}
%parse-param {FeParser *p}

%code requires {
#include "parser_ctx.h"
}

%code {
#include <string.h>
int sharp_lex(SHARP_STYPE *lval, Loc *lloc, void *scanner);
static void sharp_error(Loc *loc, void *scanner, FeParser *p, const char *msg);
static Expr *ex_new(FeParser *p, ExprKind k, Loc loc);
static Expr *ex_bin(FeParser *p, OpToken op, Expr *a, Expr *b, Loc loc);
static Expr *ex_dims(FeParser *p, const char *text, Loc loc);
static Stmt *st_new(FeParser *p, StmtKind k, Loc loc);
static void decl_add(FeParser *p, Decl *d);

/* Growable arrays in the arena: push `x` onto (items, n). */
#define PUSH(p, items, n, x)                                                     \
    do {                                                                         \
        if (((n) & ((n) - 1)) == 0) {                                            \
            void *grown_ = fe_arena_alloc((p)->arena, sizeof(*(items)) * ((n) ? 2 * (n) : 1)); \
            if (n) memcpy(grown_, (items), sizeof(*(items)) * (n));              \
            (items) = grown_;                                                    \
        }                                                                        \
        (items)[(n)++] = (x);                                                    \
    } while (0)

#define YYLLOC_DEFAULT(cur, rhs, n)                                              \
    do {                                                                         \
        if (n) { (cur).file = YYRHSLOC(rhs, 1).file;                             \
                 (cur).start = YYRHSLOC(rhs, 1).start;                           \
                 (cur).end = YYRHSLOC(rhs, n).end; }                             \
        else { (cur).file = YYRHSLOC(rhs, 0).file;                               \
               (cur).start = (cur).end = YYRHSLOC(rhs, 0).end; }                 \
    } while (0)
}

%union {
    int64_t i;
    double f;
    char *str;
    Expr *expr;
    Stmt *stmt;
    Decl *decl;
    struct { Expr **items; int n; } exprs;
    StmtList stmts;
    struct { StmtList *items; int n; } branches;
    struct { Param *items; int n; } params;
    struct { OpsEntry *items; int n; } entries;
    struct { Setting *items; int n; } settings;
    Setting setting;
}

%token IMPORT "import" PRIMITIVE "primitive" OPS "ops" LET "let" IF "if" ELSE "else"
%token MIXED "mixed" AND "and" OR "or" NOT "not"
%token EQ "==" NE "!=" LE "<=" GE ">=" FLOORDIV "//"
%token <i> INT "integer"
%token <f> FLOAT "number"
%token <str> IDENT "identifier" STRING "string" DIMS "dimensions"

%type <decl> decl
%type <expr> expr arg
%type <exprs> args args_opt exprs items items_opt
%type <stmts> stmts else_opt
%type <stmt> stmt if_stmt layer
%type <branches> branches
%type <params> params params_opt
%type <entries> entries
%type <settings> settings
%type <setting> setting
%type <str> parent_opt

%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' '>' LE GE
%left '+' '-'
%left '*' '/' '%' FLOORDIV
%precedence UMINUS

%%

file:
    %empty
  | file decl                     { if ($2) decl_add(p, $2); }
  ;

decl:
    IMPORT STRING ';'             { $$ = fe_arena_alloc(p->arena, sizeof(Decl));
                                    $$->kind = DECL_IMPORT; $$->loc = @$; $$->path = $2; $$->name_loc = @2; }
  | PRIMITIVE IDENT params_opt '{' stmts '}'
                                  { $$ = fe_arena_alloc(p->arena, sizeof(Decl));
                                    $$->kind = DECL_PRIMITIVE; $$->loc = @$; $$->name = $2; $$->name_loc = @2;
                                    $$->params = $3.items; $$->nparams = $3.n; $$->body = $5; }
  | PRIMITIVE IDENT params_opt '{' stmts '}' MIXED '{' stmts '}'
                                  { $$ = fe_arena_alloc(p->arena, sizeof(Decl));
                                    $$->kind = DECL_PRIMITIVE; $$->loc = @$; $$->name = $2; $$->name_loc = @2;
                                    $$->params = $3.items; $$->nparams = $3.n; $$->body = $5;
                                    $$->has_mixed = true; $$->mixed = $9; }
  | OPS IDENT '=' '[' entries comma_opt ']' ';'
                                  { $$ = fe_arena_alloc(p->arena, sizeof(Decl));
                                    $$->kind = DECL_OPS; $$->loc = @$; $$->name = $2; $$->name_loc = @2;
                                    $$->entries = $5.items; $$->nentries = $5.n; }
  | IDENT IDENT parent_opt '{' settings '}'
                                  { $$ = fe_arena_alloc(p->arena, sizeof(Decl));
                                    $$->kind = DECL_BLOCK; $$->loc = @$; $$->block_kind = $1; $$->kind_loc = @1;
                                    $$->name = $2; $$->name_loc = @2; $$->parent = $3;
                                    if ($3) $$->parent_loc = @3;
                                    $$->settings = $5.items; $$->nsettings = $5.n; }
  | IDENT '{' settings '}'        { $$ = fe_arena_alloc(p->arena, sizeof(Decl));
                                    $$->kind = DECL_BLOCK; $$->loc = @$; $$->block_kind = $1; $$->kind_loc = @1;
                                    $$->name_loc = @1; $$->settings = $3.items; $$->nsettings = $3.n; }
  | IDENT '=' expr                { $$ = fe_arena_alloc(p->arena, sizeof(Decl));
                                    $$->kind = DECL_ASSIGN; $$->loc = @$; $$->name = $1; $$->name_loc = @1;
                                    $$->value = $3; }
  | IDENT '=' expr ';'            { $$ = fe_arena_alloc(p->arena, sizeof(Decl));
                                    $$->kind = DECL_ASSIGN; $$->loc = @$; $$->name = $1; $$->name_loc = @1;
                                    $$->value = $3; }
  | error ';'                     { $$ = NULL; }
  | error '}'                     { $$ = NULL; }
  ;

comma_opt:
    %empty
  | ','
  ;

parent_opt:
    %empty                        { $$ = NULL; }
  | ':' IDENT                     { $$ = $2; @$ = @2; }
  ;

params_opt:
    %empty                        { $$.items = NULL; $$.n = 0; }
  | '(' ')'                       { $$.items = NULL; $$.n = 0; }
  | '(' params ')'                { $$ = $2; }
  ;

params:
    IDENT                         { Param q = { $1, @1, NULL }; $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, q); }
  | IDENT '=' expr                { Param q = { $1, @1, $3 }; $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, q); }
  | params ',' IDENT              { Param q = { $3, @3, NULL }; $$ = $1; PUSH(p, $$.items, $$.n, q); }
  | params ',' IDENT '=' expr     { Param q = { $3, @3, $5 }; $$ = $1; PUSH(p, $$.items, $$.n, q); }
  ;

entries:
    IDENT                         { OpsEntry e = { $1, $1, @1, @1 }; $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, e); }
  | IDENT '=' IDENT               { OpsEntry e = { $1, $3, @1, @3 }; $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, e); }
  | entries ',' IDENT             { OpsEntry e = { $3, $3, @3, @3 }; $$ = $1; PUSH(p, $$.items, $$.n, e); }
  | entries ',' IDENT '=' IDENT   { OpsEntry e = { $3, $5, @3, @5 }; $$ = $1; PUSH(p, $$.items, $$.n, e); }
  ;

settings:
    %empty                        { $$.items = NULL; $$.n = 0; }
  | settings setting              { $$ = $1; PUSH(p, $$.items, $$.n, $2); }
  | settings error ';'            { $$ = $1; }
  ;

setting:
    IDENT ';'                     { memset(&$$, 0, sizeof $$); $$.name = $1; $$.loc = @$; $$.name_loc = @1; }
  | IDENT exprs ';'               { memset(&$$, 0, sizeof $$); $$.name = $1; $$.loc = @$; $$.name_loc = @1;
                                    $$.values = $2.items; $$.nvalues = $2.n; }
  | IDENT '{' stmts '}'           { memset(&$$, 0, sizeof $$); $$.name = $1; $$.loc = @$; $$.name_loc = @1;
                                    $$.has_body = true; $$.body = $3; }
  ;

stmts:
    %empty                        { $$.items = NULL; $$.n = 0; }
  | stmts stmt                    { $$ = $1; PUSH(p, $$.items, $$.n, $2); }
  | stmts error ';'               { $$ = $1; }
  ;

stmt:
    layer ';'                     { $$ = $1; $$->loc = @$; }
  | IDENT ':' layer ';'           { $$ = $3; $$->label = $1; $$->label_loc = @1; $$->loc = @$; }
  | IDENT '{' branches '}'        { $$ = st_new(p, ST_JOIN, @$); $$->name = $1; $$->name_loc = @1;
                                    $$->branches = $3.items; $$->nbranches = $3.n; }
  | IDENT ':' IDENT '{' branches '}'
                                  { $$ = st_new(p, ST_JOIN, @$); $$->label = $1; $$->label_loc = @1;
                                    $$->name = $3; $$->name_loc = @3;
                                    $$->branches = $5.items; $$->nbranches = $5.n; }
  | IDENT ':' '{' stmts '}'       { $$ = st_new(p, ST_BLOCK, @$); $$->label = $1; $$->label_loc = @1; $$->body = $4; }
  | LET IDENT '=' expr ';'        { $$ = st_new(p, ST_LET, @$); $$->name = $2; $$->name_loc = @2; $$->value = $4; }
  | if_stmt                       { $$ = $1; }
  ;

if_stmt:
    IF expr '{' stmts '}' else_opt
                                  { $$ = st_new(p, ST_IF, @$); $$->value = $2; $$->body = $4; $$->orelse = $6; }
  ;

else_opt:
    %empty                        { $$.items = NULL; $$.n = 0; }
  | ELSE '{' stmts '}'            { $$ = $3; }
  | ELSE if_stmt                  { $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, $2); }
  ;

layer:
    IDENT                         { $$ = st_new(p, ST_LAYER, @$); $$->name = $1; $$->name_loc = @1; }
  | IDENT '(' args_opt ')'        { $$ = st_new(p, ST_LAYER, @$); $$->name = $1; $$->name_loc = @1;
                                    $$->args = $3.items; $$->nargs = $3.n; $$->has_parens = true; }
  ;

branches:
    '{' stmts '}'                 { $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, $2); }
  | branches '{' stmts '}'        { $$ = $1; PUSH(p, $$.items, $$.n, $3); }
  ;

exprs:
    expr                          { $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, $1); }
  | exprs ',' expr                { $$ = $1; PUSH(p, $$.items, $$.n, $3); }
  ;

args_opt:
    %empty                        { $$.items = NULL; $$.n = 0; }
  | args                          { $$ = $1; }
  | args ','                      { $$ = $1; }
  ;

args:
    arg                           { $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, $1); }
  | args ',' arg                  { $$ = $1; PUSH(p, $$.items, $$.n, $3); }
  ;

arg:
    expr                          { $$ = $1; }
  | IDENT '=' expr                { $$ = ex_new(p, EX_KWARG, @$); $$->s = $1; $$->name_loc = @1; $$->a = $3; }
  ;

items_opt:
    %empty                        { $$.items = NULL; $$.n = 0; }
  | items                         { $$ = $1; }
  | items ','                     { $$ = $1; }
  ;

items:
    expr                          { $$.items = NULL; $$.n = 0; PUSH(p, $$.items, $$.n, $1); }
  | items ',' expr                { $$ = $1; PUSH(p, $$.items, $$.n, $3); }
  ;

expr:
    INT                           { $$ = ex_new(p, EX_INT, @$); $$->i = $1; }
  | FLOAT                         { $$ = ex_new(p, EX_FLOAT, @$); $$->f = $1; }
  | STRING                        { $$ = ex_new(p, EX_STRING, @$); $$->s = $1; }
  | DIMS                          { $$ = ex_dims(p, $1, @$); }
  | IDENT                         { $$ = ex_new(p, EX_IDENT, @$); $$->s = $1; $$->name_loc = @1; }
  | IDENT '(' args_opt ')'        { $$ = ex_new(p, EX_CALL, @$); $$->s = $1; $$->name_loc = @1;
                                    $$->items = $3.items; $$->nitems = $3.n; }
  | MIXED '(' args_opt ')'        { $$ = ex_new(p, EX_CALL, @$); $$->s = "mixed"; $$->name_loc = @1;
                                    $$->items = $3.items; $$->nitems = $3.n; }
  | '[' items_opt ']'             { $$ = ex_new(p, EX_LIST, @$); $$->items = $2.items; $$->nitems = $2.n; }
  | '(' expr ')'                  { $$ = $2; }
  | '(' expr ',' items_opt ')'    { $$ = ex_new(p, EX_TUPLE, @$); $$->items = NULL; $$->nitems = 0;
                                    PUSH(p, $$->items, $$->nitems, $2);
                                    for (int k = 0; k < $4.n; k++) PUSH(p, $$->items, $$->nitems, $4.items[k]); }
  | '-' expr %prec UMINUS         { $$ = ex_new(p, EX_UNARY, @$); $$->op = UN_NEG; $$->a = $2; }
  | NOT expr                      { $$ = ex_new(p, EX_UNARY, @$); $$->op = UN_NOT; $$->a = $2; }
  | expr '+' expr                 { $$ = ex_bin(p, BIN_ADD, $1, $3, @$); }
  | expr '-' expr                 { $$ = ex_bin(p, BIN_SUB, $1, $3, @$); }
  | expr '*' expr                 { $$ = ex_bin(p, BIN_MUL, $1, $3, @$); }
  | expr '/' expr                 { $$ = ex_bin(p, BIN_DIV, $1, $3, @$); }
  | expr FLOORDIV expr            { $$ = ex_bin(p, BIN_FLOORDIV, $1, $3, @$); }
  | expr '%' expr                 { $$ = ex_bin(p, BIN_MOD, $1, $3, @$); }
  | expr EQ expr                  { $$ = ex_bin(p, BIN_EQ, $1, $3, @$); }
  | expr NE expr                  { $$ = ex_bin(p, BIN_NE, $1, $3, @$); }
  | expr '<' expr                 { $$ = ex_bin(p, BIN_LT, $1, $3, @$); }
  | expr LE expr                  { $$ = ex_bin(p, BIN_LE, $1, $3, @$); }
  | expr '>' expr                 { $$ = ex_bin(p, BIN_GT, $1, $3, @$); }
  | expr GE expr                  { $$ = ex_bin(p, BIN_GE, $1, $3, @$); }
  | expr AND expr                 { $$ = ex_bin(p, BIN_AND, $1, $3, @$); }
  | expr OR expr                  { $$ = ex_bin(p, BIN_OR, $1, $3, @$); }
  ;

%%

static Expr *ex_new(FeParser *p, ExprKind k, Loc loc)
{
    Expr *e = fe_arena_alloc(p->arena, sizeof(Expr));
    e->kind = k;
    e->loc = loc;
    return e;
}

static Expr *ex_bin(FeParser *p, OpToken op, Expr *a, Expr *b, Loc loc)
{
    Expr *e = ex_new(p, EX_BINARY, loc);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

/* 3x32x32 -> a list of integer items. */
static Expr *ex_dims(FeParser *p, const char *text, Loc loc)
{
    Expr *e = ex_new(p, EX_DIMS, loc);
    const char *s = text;
    while (*s) {
        Expr *d = ex_new(p, EX_INT, loc);
        long long v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v < 1000000000LL) v = v * 10 + (*s - '0');
            s++;
        }
        d->i = v;
        PUSH(p, e->items, e->nitems, d);
        if (*s == 'x') s++;
    }
    return e;
}

static Stmt *st_new(FeParser *p, StmtKind k, Loc loc)
{
    Stmt *s = fe_arena_alloc(p->arena, sizeof(Stmt));
    s->kind = k;
    s->loc = loc;
    return s;
}

static void decl_add(FeParser *p, Decl *d)
{
    d->file = p->file;
    PUSH(p, p->out->decls, p->out->ndecls, d);
}

/* Reports a syntax error; names the innermost open bracket when there is one. */
static void sharp_error(Loc *loc, void *scanner, FeParser *p, const char *msg)
{
    (void)scanner;
    if (p->fatal)
        return;
    fe_error(p->fe, *loc, "%s", msg);
    if (loc->start >= p->size) p->eof_reported = true;
    if (p->depth > 0) {
        char c = p->open_char[p->depth - 1];
        if (loc->start >= p->size)
            fe_note(p->fe, p->open_loc[p->depth - 1], "unclosed '%c' opened here", c);
        else
            fe_note(p->fe, p->open_loc[p->depth - 1], "inside the '%c' opened here", c);
    }
}
