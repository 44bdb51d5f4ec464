/* frontend.h: the front end of sharpc, one section per file.
 *
 * Source files and byte-range locations, diagnostics, the AST that the
 * flex/bison parser builds, values and expression evaluation, name
 * resolution across imports, and elaboration of a network (search space or
 * genotype) into the graph IR. Everything the front end allocates lives in one
 * arena owned by the FeCtx and is freed by fe_free(). */
#ifndef SHARPC_FRONTEND_H
#define SHARPC_FRONTEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ir.h"

/* ---- arena.c: bump allocation for everything the front end builds ---- */

typedef struct FeArenaBlock FeArenaBlock;
typedef struct {
    FeArenaBlock *head; /* newest block first */
} FeArena;

void *fe_arena_alloc(FeArena *a, size_t size);   /* zeroed, never NULL (dies on OOM) */
char *fe_arena_strndup(FeArena *a, const char *s, size_t n);
void fe_arena_free(FeArena *a);

/* ---- source.c: loaded files and locations ---- */

/* A location is a byte range [start, end) in one loaded file. */
typedef struct {
    int file;       /* index into FeCtx.files, -1 for "no location" */
    uint32_t start; /* first byte */
    uint32_t end;   /* one past the last byte */
} Loc;

typedef struct {
    char *path;        /* as given or as resolved from an import */
    char *text;        /* contents, NUL-terminated (may hold other NULs) */
    size_t size;       /* bytes of text */
    uint32_t *lines;   /* byte offset of each line start */
    int nlines;
    struct FeFile *ast; /* parsed declarations, NULL until parsed */
} FeSource;

/* ---- diag.c: diagnostics with caret lines ---- */

typedef enum {
    DIAG_ERROR, /* the input is wrong; the command will fail */
    DIAG_WARNING,
    DIAG_NOTE,  /* attached to the previous error */
} DiagKind;

/* ---- ast.h-like section: the syntax tree ---- */

typedef enum {
    EX_INT,     /* 42 */
    EX_FLOAT,   /* 3e-4 */
    EX_STRING,  /* "a" or 'a' */
    EX_IDENT,   /* name */
    EX_DIMS,    /* 3x32x32: items are EX_INT */
    EX_UNARY,   /* op a */
    EX_BINARY,  /* a op b */
    EX_CALL,    /* name(args), args may be EX_KWARG */
    EX_KWARG,   /* name = value, only as a call argument */
    EX_LIST,    /* [a, b] */
    EX_TUPLE,   /* (a, b) */
} ExprKind;

typedef enum {
    BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_FLOORDIV, BIN_MOD,
    BIN_EQ, BIN_NE, BIN_LT, BIN_LE, BIN_GT, BIN_GE, BIN_AND, BIN_OR,
    UN_NEG, UN_NOT,
} OpToken;

typedef struct Expr Expr;
struct Expr {
    ExprKind kind;
    Loc loc;
    int64_t i;       /* EX_INT */
    double f;        /* EX_FLOAT */
    const char *s;   /* EX_STRING text, EX_IDENT / EX_CALL / EX_KWARG name */
    Loc name_loc;    /* EX_CALL, EX_KWARG: where the name is */
    OpToken op;      /* EX_UNARY, EX_BINARY */
    Expr *a, *b;     /* operands; EX_KWARG value in a */
    Expr **items;    /* EX_CALL args, EX_LIST, EX_TUPLE, EX_DIMS */
    int nitems;
};

typedef enum {
    ST_LAYER, /* [label:] name [(args)] ;   a base op or a primitive */
    ST_JOIN,  /* [label:] concat|add { {...} {...} }   parallel branches */
    ST_BLOCK, /* label: { ... }   a named sequence */
    ST_LET,   /* let name = expr ; */
    ST_IF,    /* if cond { ... } else { ... } */
} StmtKind;

typedef struct Stmt Stmt;
typedef struct {
    Stmt **items;
    int n;
} StmtList;

struct Stmt {
    StmtKind kind;
    Loc loc;
    const char *label;   /* NULL when unlabeled */
    Loc label_loc;
    const char *name;    /* ST_LAYER / ST_JOIN op name, ST_LET variable */
    Loc name_loc;
    Expr **args;         /* ST_LAYER arguments */
    int nargs;
    bool has_parens;     /* ST_LAYER written with (...) */
    Expr *value;         /* ST_LET value, ST_IF condition */
    StmtList body;       /* ST_BLOCK, ST_IF then */
    StmtList orelse;     /* ST_IF else */
    StmtList *branches;  /* ST_JOIN */
    int nbranches;
};

typedef struct {
    const char *name;
    Loc loc;
    Expr *def;           /* default value or NULL */
} Param;

typedef struct {
    const char *name;    /* the name used in genotypes and printed genotypes */
    const char *prim;    /* the primitive it stands for (== name unless renamed) */
    Loc loc;
    Loc prim_loc;
} OpsEntry;

/* A setting inside a block: `name values;` or `name { stmts }`. */
typedef struct {
    const char *name;
    Loc loc;             /* the whole setting */
    Loc name_loc;
    Expr **values;
    int nvalues;
    bool has_body;
    StmtList body;
} Setting;

typedef enum {
    DECL_IMPORT,    /* import "file.nas"; */
    DECL_PRIMITIVE, /* primitive name(params) { body } [mixed { body }] */
    DECL_OPS,       /* ops NAME = [a, b = prim, ...]; */
    DECL_BLOCK,     /* kind name [: parent] { settings } */
    DECL_ASSIGN,    /* NAME = expr   (a DARTS Genotype(...) literal) */
} DeclKind;

typedef struct Decl Decl;
struct Decl {
    DeclKind kind;
    Loc loc;
    const char *name;
    Loc name_loc;
    const char *path;        /* DECL_IMPORT */
    Param *params;           /* DECL_PRIMITIVE */
    int nparams;
    StmtList body;           /* DECL_PRIMITIVE */
    bool has_mixed;
    StmtList mixed;          /* DECL_PRIMITIVE: layers appended inside a mixed edge */
    OpsEntry *entries;       /* DECL_OPS */
    int nentries;
    const char *block_kind;  /* DECL_BLOCK: cell, network, search, train, hypercuboid */
    Loc kind_loc;
    const char *parent;      /* DECL_BLOCK parent or NULL */
    Loc parent_loc;
    Setting *settings;       /* DECL_BLOCK */
    int nsettings;
    Expr *value;             /* DECL_ASSIGN */
    int file;                /* index of the file that declares it */
};

typedef struct FeFile {
    Decl **decls;
    int ndecls;
} FeFile;

/* ---- ctx.c: the front end context ---- */

typedef struct FeCtx FeCtx;

/* Options that shape what the front end does. */
typedef struct {
    const char **include_dirs; /* searched for imports after the importing file's folder */
    int ninclude_dirs;
    int max_errors;            /* stop reporting after this many (default 50) */
    FILE *diag_out;            /* where diagnostics go (default stderr) */
    bool color;
} FeOptions;

FeCtx *fe_new(const FeOptions *opt);
void fe_free(FeCtx *fe);
int fe_error_count(const FeCtx *fe);
FeArena *fe_arena(FeCtx *fe);

/* Loads and parses `path` and, recursively, everything it imports.
 * Returns false when any error was reported. */
bool fe_load(FeCtx *fe, const char *path);
/* Loads source text given in memory under a display name (tests, fuzzing). */
bool fe_load_text(FeCtx *fe, const char *name, const char *text, size_t size);

/* Reports a diagnostic at `loc`. Errors count towards fe_error_count. */
void fe_diag(FeCtx *fe, DiagKind kind, Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define fe_error(fe, loc, ...) fe_diag((fe), DIAG_ERROR, (loc), __VA_ARGS__)
#define fe_note(fe, loc, ...) fe_diag((fe), DIAG_NOTE, (loc), __VA_ARGS__)
/* The nearest of `cands` to `name` by edit distance, or NULL if none is close. */
const char *fe_suggest(const char *name, const char *const *cands, int n);

/* Internal: used by the parser and loader. */
int fe_add_source(FeCtx *fe, const char *path, char *text, size_t size);
FeSource *fe_source(FeCtx *fe, int file);
bool fe_parse(FeCtx *fe, int file); /* parser.y */
Loc loc_join(Loc a, Loc b);

/* ---- check.c: checking and elaboration entry points ---- */

/* Checks every declaration reachable from the loaded files: names, argument
 * types, settings, and elaborates each network to check its shapes.
 * Returns false when any error was reported. */
bool fe_check(FeCtx *fe);

/* Names of the networks declared in the main file (the first loaded). */
int fe_network_names(FeCtx *fe, const char ***names);

/* Elaborates network `name` (NULL: the one the file's search/train block
 * names, else the last network of the main file) into a new IR graph.
 * Returns NULL when errors were reported. */
IrGraph *fe_elaborate(FeCtx *fe, const char *name);

/* Writes Graphviz for each cell type and for the network. */
bool fe_dump_dot(FeCtx *fe, const char *name, FILE *out);

#endif
