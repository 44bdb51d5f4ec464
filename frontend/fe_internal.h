/* fe_internal.h: the front end's private state, shared by its files but not
 * by the rest of the compiler: the context, the symbol table, values, and the
 * elaboration state. */
#ifndef SHARPC_FE_INTERNAL_H
#define SHARPC_FE_INTERNAL_H

#include "frontend.h"
#include "util.h"

/* ---- symbols: every named declaration of every loaded file ---- */

typedef struct {
    const char *name;
    Decl *decl;
} Symbol;

struct FeCtx {
    FeOptions opt;
    FeArena arena;
    FeSource *files;
    int nfiles, capfiles;
    int errors;
    bool stop_reporting;       /* max_errors reached */
    bool last_shown;           /* whether the last error was printed (for its notes) */
    char **loading;            /* real paths of files being loaded: import cycles */
    int nloading, caploading;
    char **real;               /* real path of each file, for de-duplication */
    Symbol *syms;              /* all named declarations */
    int nsyms, capsyms;
    bool symbols_built;
    uint64_t seen[1024];        /* hashes of reported errors, to report each once */
    int nseen;
    int eval_depth;             /* nesting of fe_eval, bounded */
};

/* ---- values.c: what expressions evaluate to ---- */

typedef enum {
    V_NONE,    /* no value (after an error) */
    V_INT,
    V_FLOAT,
    V_BOOL,
    V_STRING,
    V_LIST,    /* [..], (..), 3x32x32, range(..) */
    V_NAME,    /* an identifier naming a declaration or a keyword value */
    V_CALL,    /* f(args) kept unevaluated: mixed(LIST), sgd(...), Genotype(...) */
} ValKind;

typedef struct Val Val;
struct Val {
    ValKind kind;
    Loc loc;
    int64_t i;
    double f;
    const char *s;        /* V_STRING, V_NAME, V_CALL name */
    Val *items;           /* V_LIST items, V_CALL positional args */
    int n;
    const char **knames;  /* V_CALL keyword names */
    Val *kvals;           /* V_CALL keyword values */
    int nk;
};

/* A variable binding in an evaluation scope. */
typedef struct Binding {
    const char *name;
    Val val;
    struct Binding *next;
} Binding;

/* Lookup hook for names not bound in the scope (e.g. other settings). */
typedef bool (*FeLookup)(FeCtx *fe, void *data, const char *name, Loc loc, Val *out);

typedef struct {
    Binding *vars;
    FeLookup lookup;
    void *lookup_data;
} Env;

Val fe_eval(FeCtx *fe, Env *env, const Expr *e);
void env_bind(FeCtx *fe, Env *env, const char *name, Val v);
const char *val_kind_name(ValKind k);
/* Conversions that report a type error at the value's location. */
bool val_int(FeCtx *fe, Val v, const char *what, int64_t *out);
bool val_num(FeCtx *fe, Val v, const char *what, double *out);
bool val_bool(FeCtx *fe, Val v, const char *what, bool *out);
int val_print(char *buf, int size, Val v);

/* ---- symbols.c ---- */

void fe_build_symbols(FeCtx *fe);
Decl *fe_lookup(FeCtx *fe, const char *name);
/* Suggests a declared name (of kind `kind`, or any when -1). */
const char *fe_suggest_symbol(FeCtx *fe, const char *name, int kind);

/* ---- settings.c: reading a block's settings ---- */

typedef struct {
    Decl *decl;              /* the block */
    Setting **s;             /* effective settings after inheritance */
    int n;
    /* evaluation cache, one per setting */
    Val *cache;
    uint8_t *state;          /* 0 new, 1 evaluating, 2 done */
} Block;

bool block_open(FeCtx *fe, Decl *d, Block *b);
Setting *block_get(Block *b, const char *name);
/* Evaluates the single value of setting `name`; false if absent or broken. */
bool block_val(FeCtx *fe, Block *b, const char *name, Val *out);
Env block_env(FeCtx *fe, Block *b);
/* Reports settings that are not in `known` (with a suggestion). */
void block_check_known(FeCtx *fe, Block *b, const char *const *known, int n);

/* ---- elab.c ---- */

IrGraph *fe_elaborate_decl(FeCtx *fe, Decl *net);

#endif
