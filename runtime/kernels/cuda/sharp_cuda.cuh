/* sharp_cuda.cuh: helpers shared by every CUDA kernel of runtime/kernels/cuda/.
 *
 * Conventions (the same contract as cpu_kernels.h, see there):
 * - NCHW float32, contiguous. Every shape, stride, padding, dilation and
 *   flag is a TEMPLATE PARAMETER, so NVRTC instantiates each kernel with the
 *   constants of one layer; the batch N is the one runtime shape argument
 *   (it is symbolic in the IR).
 * - Argument order: N, then runtime scalars, then inputs, then outputs, then
 *   scratch. Outputs are overwritten, never accumulated into (except
 *   mixed_acc, whose job is y += c_k*o_k, and acc).
 * - Tensors are 16-byte aligned (the arena and cuMemAlloc guarantee it);
 *   element-wise kernels use float4 when the per-sample size allows.
 * - No float atomics: every reduction runs in a fixed order (per-thread
 *   strided sums, then a fixed warp-shuffle tree, then a fixed tree over the
 *   warps), so results are bitwise reproducible run to run.
 * - Launch geometry of every kernel is in cuda_kernels.h (kc_launch). */
#pragma once

#define SHARP_NT 256 /* threads per block of every kernel */

typedef long long i64;

/* Output length of a window op: floor((n + 2p - d(k-1) - 1)/s) + 1. */
__host__ __device__ constexpr int k_out(int n, int k, int s, int p, int d)
{
    return (n + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* Global thread index and the grid-stride step. */
__device__ __forceinline__ i64 k_tid() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 k_step() { return (i64)gridDim.x * blockDim.x; }

/* Sum of v over one warp, in a fixed butterfly order; every lane gets it
 * (float or double). */
template <class T>
__device__ __forceinline__ T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sums K values per thread over the block (NT threads, NT % 32 == 0) in a
 * fixed order; on return every thread holds the K block totals in v.
 * sh: shared scratch of K * (NT/32) values of v's type (float or double). */
template <int NT, int K, class T>
__device__ __forceinline__ void block_sum(T (&v)[K], T *sh)
{
    constexpr int NW = NT / 32;
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
#pragma unroll
    for (int k = 0; k < K; k++) {
        T s = warp_sum(v[k]);
        if (lane == 0)
            sh[k * NW + wid] = s;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < K; k++) {
        T s = 0;
#pragma unroll
        for (int w = 0; w < NW; w++)
            s += sh[k * NW + w];
        v[k] = s;
    }
    __syncthreads();
}

/* P pointers passed by value (MixedOp candidate outputs); NULL entries are
 * skipped. Layout is P device pointers, so the host passes an array. */
template <int P> struct KPtrs {
    const float *p[P];
};
template <int P> struct KPtrsMut {
    float *p[P];
};

/* The mixed-op multipliers (mixed.cu, and the BN candidates fused into their
 * mixed op in bn.cu): w is the edge's row of the softmax output, (P);
 * MODE 0 scalar (c_k = w_k), 1 max_w (c_k = 1 - max w + w_k). */
/* Index of the first maximum of w: (P). */
template <int P>
__device__ __forceinline__ int mix_argmax(const float *w)
{
    int am = 0;
#pragma unroll
    for (int k = 1; k < P; k++)
        if (w[k] > w[am])
            am = k;
    return am;
}

/* The multiplier of candidate k. */
template <int P, int MODE>
__device__ __forceinline__ float mix_coef(const float *w, int k)
{
    return MODE == 1 ? 1.f - w[mix_argmax<P>(w)] + w[k] : w[k];
}
