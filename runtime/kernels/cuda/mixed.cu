/* mixed.cu: the MixedOp weighted sum (scalar and max_w), its fused
 * accumulation form, its backward, and the architecture softmax
 * (k_mixed_*, k_arch_softmax_* of cpu_kernels.h).
 *
 * Template parameters: D (per-sample size of the edge's tensors), P (number
 * of candidate ops), MODE (0 scalar: c_k = w_k; 1 max_w: c_k = 1 - max w +
 * w_k, max not detached). w is the edge's row of the softmax output: (P).
 * Candidate outputs come as KPtrs<P> (NULL for a `none` op). */
#include "sharp_cuda.cuh"

/* y = sum_k c_k o[k] over the non-NULL o[k] (0 if none). o[k], y: (N, D). */
template <int D, int P, int MODE>
__global__ void __launch_bounds__(SHARP_NT) mixed_fwd(int N, const float *__restrict__ w, KPtrs<P> o, float *__restrict__ y)
{
    float c[P];
#pragma unroll
    for (int k = 0; k < P; k++)
        c[k] = mix_coef<P, MODE>(w, k);
    const i64 total = (i64)N * D;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        float s = 0.f;
#pragma unroll
        for (int k = 0; k < P; k++)
            if (o.p[k])
                s += c[k] * __ldg(o.p[k] + i);
        y[i] = s;
    }
}

/* The fused epilogue of candidate k: y = c_k*o (FIRST) or y += c_k*o.
 * o, y: (N, D). */
template <int D, int P, int MODE, int FIRST>
__global__ void __launch_bounds__(SHARP_NT)
mixed_acc(int N, const float *__restrict__ w, int k, const float *__restrict__ o, float *__restrict__ y)
{
    const float c = mix_coef<P, MODE>(w, k);
    const i64 total = (i64)N * D;
    for (i64 i = k_tid(); i < total; i += k_step())
        y[i] = FIRST ? c * __ldg(o + i) : y[i] + c * __ldg(o + i);
}

/* go[k] = c_k * gy for every non-NULL go[k]. gy, go[k]: (N, D). */
template <int D, int P, int MODE>
__global__ void __launch_bounds__(SHARP_NT)
mixed_bwd_data(int N, const float *__restrict__ w, const float *__restrict__ gy, KPtrsMut<P> go)
{
    float c[P];
#pragma unroll
    for (int k = 0; k < P; k++)
        c[k] = mix_coef<P, MODE>(w, k);
    const i64 total = (i64)N * D;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const float g = __ldg(gy + i);
#pragma unroll
        for (int k = 0; k < P; k++)
            if (go.p[k])
                go.p[k][i] = c[k] * g;
    }
}

/* First pass of the weight gradient: block b writes part[k*NB + b], its
 * share of d_k = <gy, o[k]> (0 for NULL o[k]). gy, o[k]: (N, D),
 * part: (P, NB) scratch. Grid NB blocks. */
template <int D, int P, int NB>
__global__ void __launch_bounds__(SHARP_NT)
mixed_bwd_w(int N, const float *__restrict__ gy, KPtrs<P> o, float *__restrict__ part)
{
    __shared__ float sh[P * (SHARP_NT / 32)];
    float d[P];
#pragma unroll
    for (int k = 0; k < P; k++)
        d[k] = 0.f;
    const i64 total = (i64)N * D;
    for (i64 i = (i64)blockIdx.x * SHARP_NT + threadIdx.x; i < total; i += (i64)NB * SHARP_NT) {
        const float g = __ldg(gy + i);
#pragma unroll
        for (int k = 0; k < P; k++)
            if (o.p[k])
                d[k] += g * __ldg(o.p[k] + i);
    }
    block_sum<SHARP_NT, P>(d, sh);
    if (threadIdx.x == 0) {
#pragma unroll
        for (int k = 0; k < P; k++)
            part[k * NB + blockIdx.x] = d[k];
    }
}

/* Second pass: d_k = sum_b part[k*NB + b] in order; scalar: gw_k = d_k;
 * max_w: also gw[argmax w] -= sum_k d_k. w, gw: (P). One thread. */
template <int P, int NB, int MODE>
__global__ void mixed_bwd_w_final(const float *__restrict__ w, const float *__restrict__ part, float *__restrict__ gw)
{
    if (threadIdx.x != 0 || blockIdx.x != 0)
        return;
    float total = 0.f;
    for (int k = 0; k < P; k++) {
        float d = 0.f;
        for (int b = 0; b < NB; b++)
            d += part[k * NB + b];
        gw[k] = d;
        total += d;
    }
    if (MODE == 1) {
        const int am = mix_argmax<P>(w);
        gw[am] -= total;
    }
}

/* w = softmax of each row of alpha. alpha, w: (E, P). One thread per row. */
template <int E, int P>
__global__ void __launch_bounds__(SHARP_NT) arch_softmax_fwd(const float *__restrict__ alpha, float *__restrict__ w)
{
    const int e = (int)k_tid();
    if (e >= E)
        return;
    const float *a = alpha + e * P;
    float m = a[0], s = 0.f;
#pragma unroll
    for (int k = 1; k < P; k++)
        m = fmaxf(m, a[k]);
#pragma unroll
    for (int k = 0; k < P; k++)
        s += expf(a[k] - m);
#pragma unroll
    for (int k = 0; k < P; k++)
        w[e * P + k] = expf(a[k] - m) / s;
}

/* galpha = w*(gw - <gw, w>) per row. w, gw, galpha: (E, P). One thread per row. */
template <int E, int P>
__global__ void __launch_bounds__(SHARP_NT)
arch_softmax_bwd(const float *__restrict__ w, const float *__restrict__ gw, float *__restrict__ galpha)
{
    const int e = (int)k_tid();
    if (e >= E)
        return;
    float d = 0.f;
#pragma unroll
    for (int k = 0; k < P; k++)
        d += w[e * P + k] * gw[e * P + k];
#pragma unroll
    for (int k = 0; k < P; k++)
        galpha[e * P + k] = w[e * P + k] * (gw[e * P + k] - d);
}
