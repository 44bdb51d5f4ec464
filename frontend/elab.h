/* elab.h: the state of elaborating one network into the IR, shared by
 * elab_layers.c (bodies and primitives) and elab_net.c (cells, networks). */
#ifndef SHARPC_ELAB_H
#define SHARPC_ELAB_H

#include "fe_internal.h"

/* Evaluated call arguments: positional, then keyword. */
typedef struct {
    Val *pos;
    int npos;
    const char **knames;
    Val *kvals;
    int nk;
} CallArgs;

/* What a primitive is asked to produce. */
typedef struct {
    int C_out;
    int stride;
    bool affine;   /* default for its BNs */
} PCtx;

/* A naming scope: the module path of the sequence being built. */
typedef struct {
    char prefix[300];
    int counter;   /* index of the next unlabeled layer */
    bool single;   /* the sequence holds one layer: a primitive call adds no level */
} Scope;

/* One cell's structure as elaborated, kept for Graphviz output. */
typedef struct {
    int index;
    bool reduction;
    int C, H;
    int nedges;
    const char **edge_op;  /* op name, or "mixed(LIST)" */
    int *edge_from;        /* input state */
    int *edge_to;          /* node state (2..) */
    int *concat;
    int nconcat;
    int steps;
} CellTrace;

typedef struct {
    FeCtx *fe;
    IrGraph *g;
    int C_mid;
    int depth;             /* primitive nesting */
    bool in_mixed;         /* building candidates of a mixed edge */
    char context[200];     /* a note for shape errors: which cell/edge */
    Loc context_loc;
    CellTrace *cells;
    int ncells;
} Elab;

void scope_init(Scope *sc, const char *prefix, const StmtList *body);
int elab_body(Elab *E, const StmtList *body, Env *env, const char *prefix, int x, const PCtx *ctx);
int elab_primitive(Elab *E, Decl *d, const CallArgs *ca, Loc where, int x, const PCtx *ctx, const char *prefix);
int elab_candidate(Elab *E, Decl *d, const CallArgs *ca, Loc where, int x, const PCtx *ctx, const char *prefix);
void elab_unknown_op(Elab *E, const char *name, Loc loc, Decl *found);
bool elab_is_base_op(const char *name);
const char *const *elab_base_op_names(int *n);

/* Elaborates network `net`; fills E->cells when non-NULL graph returned. */
IrGraph *elab_network(Elab *E, Decl *net, IrWeighting weighting);

#endif
