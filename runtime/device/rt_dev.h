/* rt_dev.h: the device side of the search and training loops (internal to
 * the runtime). A generated program carries its CUDA launch plan
 * (RtNetDesc.cuda, rt_plan.h); an RtDev holds every space of that plan, the
 * optimizer states and the kernels, and runs a training step, an eval
 * forward and the optimizers by interpreting the plan. The loops keep their
 * host arrays (RtNet's parameters, the optimizer states) as mirrors that
 * they fill with rt_dev_get before a checkpoint, a saved file or a genotype,
 * and copy in with rt_dev_put after initializing or resuming.
 *
 * Two backends run the same plan:
 * - RT_DEV_CUDA: GPU 0; the plan's instantiations and the optimizers' are
 *   compiled by NVRTC at start (rt_cuda_sources, the disk cache), launches
 *   are asynchronous and only rt_dev_result waits for the GPU;
 * - RT_DEV_REF: host memory and the kernels' CPU references
 *   (kernel_ref.h), one launch after another: slow, but the whole device
 *   loop (plan, offsets, optimizers, transfers) runs on a machine without a
 *   GPU (`--device ref`, tests/cuda/test_devloop.c). */
#ifndef SHARP_RT_DEV_H
#define SHARP_RT_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "rt_net.h"
#include "rt_plan.h"
#include "sharprt.h"

/* The CUDA kernel sources, built into the runtime (runtime/kernels/cuda/). */
extern const RtCudaSource rt_cuda_sources[];
extern const int rt_cuda_nsources;

typedef enum { RT_DEV_CUDA, RT_DEV_REF } RtDevKind;

/* The arrays the loops mirror on the host. */
typedef enum {
    RT_DEV_W,     /* weights (RtNet.w) */
    RT_DEV_GW,    /* their gradients (RtNet.gw) */
    RT_DEV_ARCH,  /* architecture parameters (RtNet.arch) */
    RT_DEV_GARCH, /* their gradients (RtNet.garch) */
    RT_DEV_BUF,   /* BN running statistics (RtNet.buf) */
    RT_DEV_MOM,   /* SGD momentum of the weights */
    RT_DEV_ADAM_M, /* Adam's moments of the architecture parameters */
    RT_DEV_ADAM_V,
    RT_DEV__COUNT
} RtDevArray;

typedef struct RtDev RtDev;

/* Opens the device loop of net's network for batches of up to maxN samples:
 * allocates every space, compiles and loads the kernels (CUDA: progress and
 * cache hits on stderr). NULL with err when the program has no plan, the
 * plan does not fit the network, or a CUDA call fails. */
RtDev *rt_dev_open(RtNet *net, RtDevKind kind, int maxN, char *err, size_t errlen);
void rt_dev_close(RtDev *dev);
/* Compiles the kernels of d's plan for architecture arch (80 for sm_80; 0:
 * GPU 0's) into the disk cache, without a GPU when arch is given: a later
 * start on such a GPU loads them from the cache. */
int rt_dev_precompile(const RtNetDesc *d, int arch, char *err, size_t errlen);
/* Device memory held (every allocation is made by rt_dev_open). */
size_t rt_dev_bytes(const RtDev *dev);
/* Floats in array a. */
int64_t rt_dev_numel(const RtDev *dev, RtDevArray a);
/* Copies array a from the device into host (rt_dev_numel floats), or from
 * host onto the device. */
int rt_dev_get(RtDev *dev, RtDevArray a, float *host, char *err, size_t errlen);
int rt_dev_put(RtDev *dev, RtDevArray a, const float *host, char *err, size_t errlen);
/* The batch: N images (N, C, H, W), labels, and drop-path masks
 * (drop_sites, N) or NULL. */
int rt_dev_batch(RtDev *dev, int N, const float *x, const int32_t *y, const float *mask, char *err,
                 size_t errlen);
/* A training step on the batch: forward (batch statistics, running
 * statistics updated, BN counters +1 on the host), losses, backward (every
 * gradient). keep: drop path's keep probability. */
int rt_dev_train(RtDev *dev, float keep, float aux_weight, char *err, size_t errlen);
/* The eval forward and its loss on the batch. */
int rt_dev_eval(RtDev *dev, char *err, size_t errlen);
/* Waits for the last step or eval; its main and auxiliary losses (batch
 * means) and top-1 / top-5 hits. */
int rt_dev_result(RtDev *dev, double *loss_main, double *loss_aux, int64_t *top1, int64_t *top5, char *err,
                  size_t errlen);
/* Clips the weight gradients to global norm clip (clip <= 0: no clipping),
 * then SGD with momentum and coupled weight decay (rt_sgd_step). */
int rt_dev_sgd(RtDev *dev, double lr, double momentum, double wd, double clip, int first, char *err,
               size_t errlen);
/* The second-order architecture gradient (sharpdarts.md §5.5, the loop's
 * second_order()) into the device's architecture gradients, all on the
 * device: the training batch (xt, yt, Nt), the validation batch (xv, yv,
 * Nv), the weight step's lr, momentum and decay, first: no momentum yet.
 * The weights, BN statistics and counters are as before; the weight
 * gradients are not. */
int rt_dev_unrolled(RtDev *dev, const float *xt, const int32_t *yt, int Nt, const float *xv, const int32_t *yv,
                    int Nv, double lr, double momentum, double wd, int first, float aux, char *err, size_t errlen);
/* Adam on the architecture parameters (rt_adam_step), step t from 1. */
int rt_dev_adam(RtDev *dev, int64_t t, double lr, double b1, double b2, double eps, double wd, char *err,
                size_t errlen);

#endif
