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
#include "rt_plan.h"

/* A parameter's place (the text form and loaders go by name). */
typedef struct {
    const char *name; /* state_dict name (the graph's string) */
    int node;
    int space;        /* RT_SP_WEIGHTS, RT_SP_ARCH, RT_SP_BUFFERS, or -1 for a counter (host side) */
    int64_t off, numel;
} CgPlanParam;

typedef struct CgCudaPlan {
    CgCudaInstList inst;  /* the instantiations the launches use, in first-use order */
    RtPlanLaunch *l;
    int nl, capl;
    RtPlanArg *args;
    int nargs, capargs;
    int sec[RT_SEC__COUNT + 1];   /* first launch of each section; sec[RT_SEC__COUNT] = nl */
    int64_t size[RT_SP__COUNT];   /* floats per space (per sample for batched ones) */
    CgPlanParam *params;
    int nparams;
    int64_t ncounters;            /* BN num_batches_tracked counters: +1 per step, on the host */
} CgCudaPlan;

/* Builds the launch plan of g's training step and eval forward. Returns 0, or -1 with a
 * message in err when a node has no CUDA kernel (e.g. asymmetric padding). */
int cg_cuda_plan(const IrGraph *g, CgCudaPlan *p, char *err, int errlen);
void cg_cuda_plan_free(CgCudaPlan *p);
/* Writes p as C data for a generated program: its arrays and
 * `static const RtCudaPlan name` (runtime/device/rt_plan.h). */
void cg_cuda_plan_emit_c(const CgCudaPlan *p, const char *name, FILE *out);
/* The text form: sizes, parameters, then one line per launch. */
void cg_cuda_plan_print(const IrGraph *g, const CgCudaPlan *p, FILE *out);
#endif
