/* ship.h: the pieces of `sharpc emit --target c` (codegen/ship/), shared by
 * its files; the entry points are in codegen.h. */
#ifndef SHARPC_SHIP_H
#define SHARPC_SHIP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "codegen.h"

/* ship.c: files in the output directory; errors are printed. */
FILE *ship_open(const char *dir, const char *name);
bool ship_close(FILE *f, const char *dir, const char *name);
/* Appends the file at path to out (false, message printed, when unreadable). */
bool ship_copy_file(FILE *out, const char *path);

/* A sorted list of file names. */
typedef struct {
    char **name;
    int n, cap;
} ShipNames;

/* Lists the files of dir whose names end in suffix, except those named in
 * the NULL-terminated list except (may be NULL), sorted. */
bool ship_list_dir(const char *dir, const char *suffix, const char *const *except, ShipNames *l);
void ship_names_free(ShipNames *l);

/* ship_plan.c: the inference program of a fixed network (see there). */

enum { SHIP_FOLD_COPY, SHIP_FOLD_CONV_BN, SHIP_FOLD_BN };

/* One step that turns state_dict tensors into parameters (the emitted
 * loader's MFold): tensor indices into the tensor table, -1 for none. */
typedef struct {
    int kind;
    int w, gamma, beta, mean, var;
    double eps;
    int64_t c0, co, k;       /* channels [c0, c0+co) of the BN; weights per channel */
    int64_t dst, bdst;       /* parameter offsets: weights (or scale), bias (or shift) */
} ShipFold;

typedef struct {
    const IrGraph *g;
    int n;
    int out;                 /* the "logits" output node */
    bool *live;              /* [n] needed by the logits (before folds) */
    int *rep;                /* [n] the node whose buffer holds this node's value */
    bool *computed;          /* [n] runs a kernel and owns a buffer */
    bool *zero;              /* [n] the value is all zeros (sums skip it) */
    int *fold;               /* [n] CONV2D: the batch norm folded into it, -1 */
    bool *relu_after;        /* [n] computed node: ReLU in its epilogue */
    bool *prologue;          /* [n] RELU applied by its depthwise convs as they load */
    int64_t *off;            /* [n] arena offset per sample of a computed node, -1 */
    int64_t *pw, *pb;        /* [n] parameter offsets: weights or scale; bias or shift; -1 */
    int *tensor;             /* [n] PARAM: index in the tensor table, -1 */
    int ntensors;
    ShipFold *folds;
    int nfolds, capfolds;
    int64_t nparams;         /* floats of folded parameters */
    int64_t arena;           /* arena floats per sample */
    int64_t naive;           /* the same without reuse, for the report */
    bool direct_out;         /* the logits' kernel writes the caller's buffer */
    char err[512];
} ShipNet;

/* Plans g's inference; prologue_ok: the target's depthwise convs can apply
 * a ReLU as they load. False with s->err when g cannot be emitted. */
bool ship_plan(const IrGraph *g, bool prologue_ok, ShipNet *s);
void ship_plan_free(ShipNet *s);
/* The buffer node that node v reads through input slot `slot` (after
 * identities and folds; for a prologue ReLU, the ReLU's input), or -1 for a
 * parameter, the images or a skipped zero. */
int ship_reads(const ShipNet *s, int v, int slot);
int ship_value(const ShipNet *s, int u);
/* The input slots of ADD node v that are not skipped zeros (at least two). */
int ship_sum_terms(const ShipNet *s, int v, int *terms, int max);

/* ship_check.c: checks a weights file against the plan with the emitted
 * loader; false with a message on stderr. */
bool ship_check_weights(const ShipNet *s, const char *path);

/* ship_model.c: model.h, model.c (or model.cu) and, for embedded weights,
 * model_weights.c. The writer of the forward: */
typedef struct {
    const ShipNet *s;
    const IrGraph *g;
    FILE *out;
    bool cuda;
    const char **kernels;    /* kernel functions called */
    int nkernels, capkernels;
} Writer;

bool ship_model(const CgProgram *p, const CgShipOptions *opt, const char *dir);
void ship_use_kernel(Writer *w, const char *k);
/* The C expression of the value node v reads in slot `slot` / of v's own buffer. */
const char *ship_src(Writer *w, int v, int slot, char *buf, size_t size);
const char *ship_dst(Writer *w, int v, char *buf, size_t size);
/* The comment naming the layer node v computes. */
void ship_comment(Writer *w, int v);
/* "P + off" or "NULL". */
void ship_param(int64_t off, char *buf, size_t size);

/* ship_cuda.c: the CUDA launches of node v; model.cu up to the loader (the
 * includes, the kernel templates, the launch geometry). */
void ship_call_cuda(Writer *w, int v);
bool ship_cuda_prelude(Writer *w, const CgProgram *p, FILE *c);

/* ship_files.c: main.c, Makefile and README.md. */
bool ship_files(const CgProgram *p, const CgShipOptions *opt, const char *dir);

#endif
