/* cuda_instances.h: the CUDA kernel instantiations an IR graph needs.
 *
 * Lists every kernel template of runtime/kernels/cuda/ (see cuda_kernels.h)
 * with the template arguments that the graph's launch plan (cuda_plan.h:
 * training forward and backward, eval forward) and the optimizers use,
 * each instantiation once. The list is what NVRTC compiles at program
 * start. */
#ifndef SHARPC_CUDA_INSTANCES_H
#define SHARPC_CUDA_INSTANCES_H

#include "cuda_kernels.h"
#include "ir.h"

/* Most template arguments of any kernel. */
#define CG_CUDA_MAX_ARGS 16

/* One instantiation. */
typedef struct {
    KcKernel kernel;             /* which template */
    int nargs;                   /* kc_nargs(kernel) */
    int args[CG_CUDA_MAX_ARGS];  /* template arguments */
    char expr[160];              /* NVRTC name expression "name<a0,a1,...>" */
    uint64_t hash;               /* of expr, for deduplication */
} CgCudaInst;

/* A deduplicated list of instantiations, in first-use order. */
typedef struct {
    CgCudaInst *v;
    int n, cap;
    int *slots;                  /* open-addressing table of indices + 1 */
    int nslots;
} CgCudaInstList;

/* Which passes to list. */
enum {
    CG_CUDA_TRAIN = 1 << 0, /* training forward (batch statistics) and the backward */
    CG_CUDA_EVAL = 1 << 1,  /* eval forward (running statistics) */
};

void cg_cuda_inst_init(CgCudaInstList *l);
void cg_cuda_inst_free(CgCudaInstList *l);
/* Adds kernel k with args (kc_nargs(k) of them) unless present; returns
 * its index, or -1 when out of memory. */
int cg_cuda_inst_add(CgCudaInstList *l, KcKernel k, const int *args);
/* Appends the instantiations graph g needs for the passes in `what`
 * (CG_CUDA_TRAIN: the plan's training sections and the optimizers;
 * CG_CUDA_EVAL: its eval sections). Returns 0, or -1 with a message in err
 * when a node cannot run on the CUDA kernels (e.g. asymmetric conv padding). */
int cg_cuda_instances(const IrGraph *g, unsigned what, CgCudaInstList *l, char *err, int errlen);

#endif
