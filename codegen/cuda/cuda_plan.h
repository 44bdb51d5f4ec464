/* cuda_plan.h: the CUDA launch plan of a network's training step and eval.
 *
 * The plan is data: the ordered kernel launches of the training forward,
 * the loss, the backward, the eval forward and the eval loss, each an instantiation (an index into the
 * plan's own CgCudaInstList) and its runtime arguments, so one runtime
 * interprets any network without per-network code. An argument is a
 * tensor (a space and an offset in floats; in batched spaces the offset is
 * per sample and is multiplied by N), a null pointer, a literal, or a
 * runtime value (N, drop path's keep probability, the auxiliary loss
 * weight). Batched tensors live at ir_plan's offsets for the CUDA fusions
 * (IR_FUSE_CUDA: BN + ReLU in one kernel, a mixed op's BN candidates
 * accumulated into it); gradient pieces for values read twice go to the
 * arena's scratch tensor and are added by an explicit `acc` launch.
 * Parameters keep the C backend's layout: one flat array per kind, in node
 * order (RtNetDesc's offsets), so the runtime's buffers upload as they are. */
#ifndef SHARPC_CUDA_PLAN_H
#define SHARPC_CUDA_PLAN_H

#include "cuda_instances.h"

/* Where a tensor argument points. Batched spaces scale offsets by N. */
#define CG_SPACES(X)                                                          \
    X(ARENA, "A", 1)     /* activations, gradients, scratch (ir_plan)      */ \
    X(IMAGES, "images", 1)  /* the input batch                             */ \
    X(GIMAGES, "gimages", 1) /* its gradient                               */ \
    X(LABELS, "labels", 1)  /* int32 labels, one per sample                */ \
    X(DROP, "drop", 1)   /* drop-path masks: one float per sample per site */ \
    X(WEIGHTS, "w", 0)   /* trained weights (RtNetRun.w)                   */ \
    X(GWEIGHTS, "gw", 0) /* their gradients                                */ \
    X(ARCH, "arch", 0)   /* architecture parameters                        */ \
    X(GARCH, "garch", 0) /* their gradients                                */ \
    X(BUFFERS, "buf", 0) /* BN running statistics                          */ \
    X(SMALL, "small", 0) /* ir_plan's small area: BN saved statistics,     */ \
                         /* architecture weights and their gradients       */ \
    X(WORK, "work", 0)   /* partial sums (split-K, mixed-op dot products)  */ \
    X(LOSS, "loss", 0)   /* two floats: main and auxiliary batch losses    */ \
    X(COUNTS, "counts", 0) /* two int32: the batch's top-1 and top-5 hits  */

typedef enum {
#define CG_SP_ENUM(id, name, batched) CG_SP_##id,
    CG_SPACES(CG_SP_ENUM)
#undef CG_SP_ENUM
    CG_SP__COUNT
} CgSpace;

typedef enum {
    CG_ARG_TENSOR,     /* pointer: space + off */
    CG_ARG_NULL,       /* null pointer */
    CG_ARG_INT,        /* int literal (off) */
    CG_ARG_FLOAT,      /* float literal (f) */
    CG_ARG_BATCH,      /* int: the batch size N */
    CG_ARG_KEEP,       /* float: drop path's keep probability (1: no drop) */
    CG_ARG_AUX_WEIGHT, /* float: the auxiliary loss's weight */
    CG_ARG_PTRS,       /* KPtrs<P> by value: the next off arguments (tensors or nulls) */
} CgArgKind;

typedef struct {
    uint8_t kind;  /* CgArgKind */
    uint8_t space; /* CgSpace of a tensor */
    int32_t node;  /* IR node the tensor belongs to (text form), -1 */
    int64_t off;   /* tensor: offset in floats; int literal; PTRS: count */
    int64_t len;   /* tensor: floats it spans (per sample in a batched space) */
    float f;       /* float literal */
} CgArg;

/* Sections of the plan, in execution order. */
typedef enum {
    CG_SEC_FORWARD,  /* training forward (batch statistics, drop path) */
    CG_SEC_LOSS,     /* softmax cross-entropy: losses, the logits' gradients, top-1/top-5 hits */
    CG_SEC_BACKWARD, /* the backward: every weight, architecture and input gradient */
    CG_SEC_EVAL,     /* eval forward (running statistics, no drop path, no auxiliary head) */
    CG_SEC_EVAL_LOSS, /* the eval loss (no gradient) and top-1/top-5 hits */
    CG_SEC__COUNT
} CgSection;

typedef struct {
    int inst;     /* index into CgCudaPlan.inst */
    int node;     /* IR node it belongs to, -1 */
    int grid_n;   /* the N of its launch geometry (kc_launch): -1 for the batch, else this count */
    int arg0;     /* first argument in CgCudaPlan.args */
    int nargs;
} CgLaunch;

/* A parameter's place (the text form and loaders go by name). */
typedef struct {
    const char *name; /* state_dict name (the graph's string) */
    int node;
    int space;        /* CG_SP_WEIGHTS, CG_SP_ARCH, CG_SP_BUFFERS, or -1 for a counter (host side) */
    int64_t off, numel;
} CgPlanParam;

typedef struct {
    CgCudaInstList inst;  /* the instantiations the launches use, in first-use order */
    CgLaunch *l;
    int nl, capl;
    CgArg *args;
    int nargs, capargs;
    int sec[CG_SEC__COUNT + 1];   /* first launch of each section; sec[CG_SEC__COUNT] = nl */
    int64_t size[CG_SP__COUNT];   /* floats per space (per sample for batched ones) */
    CgPlanParam *params;
    int nparams;
    int64_t ncounters;            /* BN num_batches_tracked counters: +1 per step, on the host */
} CgCudaPlan;

/* Builds the launch plan of g's training step and eval forward. Returns 0, or -1 with a
 * message in err when a node has no CUDA kernel (e.g. asymmetric padding). */
int cg_cuda_plan(const IrGraph *g, CgCudaPlan *p, char *err, int errlen);
void cg_cuda_plan_free(CgCudaPlan *p);
/* The text form: sizes, parameters, then one line per launch. */
void cg_cuda_plan_print(const IrGraph *g, const CgCudaPlan *p, FILE *out);
/* Name and batchedness of a space. */
const char *cg_space_name(CgSpace s);
int cg_space_batched(CgSpace s);

#endif
