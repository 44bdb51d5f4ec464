/* rt_plan.h: the data of a CUDA launch plan, as sharpc builds it
 * (codegen/cuda/cuda_plan.c) and as a generated program carries it for the
 * device loop (rt_dev.c) to interpret. One launch is an instantiation of a
 * kernel template of runtime/kernels/cuda/ (cuda_kernels.h), the N of its
 * launch geometry and its arguments; an argument is a tensor (a space and
 * an offset in floats; in a batched space the offset is per sample and is
 * multiplied by N), a null pointer, a literal, or a runtime value. Header
 * only, C99 (the generated C includes it). */
#ifndef SHARP_RT_PLAN_H
#define SHARP_RT_PLAN_H

#include <stdint.h>

/* Where a tensor argument points. Batched spaces scale offsets by N. */
#define RT_SPACES(X)                                                          \
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
#define RT_SP_ENUM(id, name, batched) RT_SP_##id,
    RT_SPACES(RT_SP_ENUM)
#undef RT_SP_ENUM
    RT_SP__COUNT
} RtSpace;

typedef enum {
    RT_ARG_TENSOR,     /* pointer: space + off */
    RT_ARG_NULL,       /* null pointer */
    RT_ARG_INT,        /* int literal (off) */
    RT_ARG_FLOAT,      /* float literal (f) */
    RT_ARG_BATCH,      /* int: the batch size N */
    RT_ARG_KEEP,       /* float: drop path's keep probability (1: no drop) */
    RT_ARG_AUX_WEIGHT, /* float: the auxiliary loss's weight */
    RT_ARG_PTRS,       /* KPtrs<P> by value: the next off arguments (tensors or nulls) */
} RtArgKind;

typedef struct {
    uint8_t kind;  /* RtArgKind */
    uint8_t space; /* RtSpace of a tensor */
    int32_t node;  /* IR node the tensor belongs to (text form), -1 */
    int64_t off;   /* tensor: offset in floats; int literal; PTRS: count */
    int64_t len;   /* tensor: floats it spans (per sample in a batched space) */
    float f;       /* float literal */
} RtPlanArg;

/* Sections of the plan, in execution order. */
typedef enum {
    RT_SEC_FORWARD,  /* training forward (batch statistics, drop path) */
    RT_SEC_LOSS,     /* softmax cross-entropy: losses, the logits' gradients, top-1/top-5 hits */
    RT_SEC_BACKWARD, /* the backward: every weight, architecture and input gradient */
    RT_SEC_EVAL,     /* eval forward (running statistics, no drop path, no auxiliary head) */
    RT_SEC_EVAL_LOSS, /* the eval loss (no gradient) and top-1/top-5 hits */
    RT_SEC__COUNT
} RtSection;

typedef struct {
    int inst;     /* index into the plan's instantiations */
    int node;     /* IR node it belongs to, -1 */
    int grid_n;   /* the N of its launch geometry (kc_launch): -1 for the batch, else this count */
    int arg0;     /* first argument in the plan's argument array */
    int nargs;
} RtPlanLaunch;

/* Most template arguments of any kernel. */
#define RT_PLAN_MAX_TARGS 16

/* One instantiation as a program carries it. */
typedef struct {
    int kernel;                  /* KcKernel */
    int args[RT_PLAN_MAX_TARGS]; /* template arguments (kc_nargs(kernel) of them) */
    const char *expr;            /* NVRTC name expression "name<a0,a1,...>" */
} RtPlanInst;

/* A whole plan as a generated program carries it (RtNetDesc.cuda). */
typedef struct RtCudaPlan {
    int ninst;
    const RtPlanInst *inst;
    int nl;
    const RtPlanLaunch *l;
    int nargs;
    const RtPlanArg *args;
    int sec[RT_SEC__COUNT + 1];   /* first launch of each section; sec[RT_SEC__COUNT] = nl */
    int64_t size[RT_SP__COUNT];   /* floats per space (per sample for batched ones) */
} RtCudaPlan;

/* Name and batchedness of a space. */
static inline const char *rt_space_name(RtSpace s)
{
    static const char *const names[] = {
#define RT_SP_NAME(id, name, batched) name,
        RT_SPACES(RT_SP_NAME)
#undef RT_SP_NAME
    };
    return (unsigned)s < RT_SP__COUNT ? names[s] : "?";
}

static inline int rt_space_batched(RtSpace s)
{
    static const unsigned char b[] = {
#define RT_SP_BATCHED(id, name, batched) batched,
        RT_SPACES(RT_SP_BATCHED)
#undef RT_SP_BATCHED
    };
    return (unsigned)s < RT_SP__COUNT ? b[s] : 0;
}

#endif
