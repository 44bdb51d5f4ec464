/* kernel_ref.h: the CPU reference of every CUDA kernel of runtime/kernels/cuda/,
 * called exactly as the kernel is launched: the template arguments (the
 * instantiation's constants) and cuLaunchKernel's argument array, whose
 * entries point at each argument's value (an int, a float, a pointer, or
 * for KPtrs<P> an array of P pointers), on host memory. Each reference is a
 * composition of the plain CPU kernels of cpu_kernels.h with the CUDA
 * kernel's semantics (fused ReLUs, mixed-op multipliers, partial sums), so
 * gpu_vs_cpu compares the GPU with these, the launch-plan interpreter
 * (tests/cuda/plan_interp.c) runs whole training steps through them, and
 * `--device ref` runs the device loop (rt_dev.c) on them without a GPU. */
#ifndef SHARP_KC_REF_H
#define SHARP_KC_REF_H

#include <stddef.h>

#include "cuda_kernels.h"

/* Runs kernel k<a...> on the CPU. Partial-sum kernels (pw_bwd_weight with
 * SPLIT > 1, mixed_bwd_w, bn_mix_dot) put each whole sum in its first
 * partial slot and zeros in the others, so the kernel that reduces the
 * partials gives the same result. Returns 0, or -1 with a message in err
 * (a kernel without a reference). */
int kc_ref_launch(KcKernel k, const int *a, void **args, char *err, size_t errlen);

#endif
