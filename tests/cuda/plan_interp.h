/* plan_interp.h: runs a CUDA launch plan (codegen/cuda/cuda_plan.h) on the
 * CPU: every launch goes to the CUDA kernel's CPU reference (kc_ref.h) with
 * its arguments resolved to host buffers, one per space of the plan. The
 * batched spaces hold N samples. Used by test_plan.c to check a plan against
 * the compiled CPU program before any GPU runs it. */
#ifndef SHARP_PLAN_INTERP_H
#define SHARP_PLAN_INTERP_H

#include <stddef.h>

#include "cuda_plan.h"

/* Host memory of a plan at batch N, and its runtime values. */
typedef struct {
    float *sp[RT_SP__COUNT]; /* one buffer per space (RT_SP_LABELS and RT_SP_COUNTS hold int32) */
    int N;
    float keep;              /* drop path's keep probability */
    float aux_weight;        /* the auxiliary loss's weight */
} PlanMem;

/* Allocates every space of p at batch N, filled with NaN (labels with 0,
 * counts with -1), so a launch that reads what no launch wrote shows in the
 * results. Drop masks
 * are all ones, keep 1. Returns 0, or -1 when out of memory. */
int plan_mem_init(PlanMem *m, const CgCudaPlan *p, int N);
void plan_mem_free(PlanMem *m);
/* Runs the launches of sections [from, to) of p. Returns 0, or -1 with a
 * message in err: a tensor argument outside its space, two tensor
 * arguments of one launch that overlap, a launch geometry for another N
 * than the kernel gets, a kernel without a reference. */
int plan_run(const CgCudaPlan *p, PlanMem *m, RtSection from, RtSection to, char *err, size_t errlen);

#endif
