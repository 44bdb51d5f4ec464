/* softmax_ce.cu: softmax cross-entropy, its logit gradient and the top-k
 * count (k_softmax_ce, k_topk_correct of cpu_kernels.h). Template parameter
 * K (classes). The loss is reduced in two steps (per sample, then one block
 * in a fixed order), so it is reproducible. */
#include "sharp_cuda.cuh"

/* Per-sample loss lse(z) - z[label] into loss: (N); when glogits is not
 * NULL, glogits = gscale*(softmax - onehot)/N. logits, glogits: (N, K),
 * labels: (N). One warp per sample; grid ceil(N*32 / 256). */
template <int K>
__global__ void __launch_bounds__(SHARP_NT)
softmax_ce(int N, float gscale, const float *__restrict__ logits, const int *__restrict__ labels,
           float *__restrict__ loss, float *__restrict__ glogits)
{
    const i64 n = k_tid() >> 5;
    const int lane = threadIdx.x & 31;
    if (n >= N)
        return;
    const float *z = logits + n * K;
    float m = -__int_as_float(0x7f800000);
    for (int k = lane; k < K; k += 32)
        m = fmaxf(m, __ldg(z + k));
    for (int o = 16; o > 0; o >>= 1)
        m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float se = 0.f;
    for (int k = lane; k < K; k += 32)
        se += expf(__ldg(z + k) - m);
    se = warp_sum(se);
    const float lse = m + logf(se);
    const int lab = labels[n];
    if (lane == 0)
        loss[n] = lse - __ldg(z + lab);
    if (glogits) {
        const float f = gscale / (float)N;
        for (int k = lane; k < K; k += 32)
            glogits[n * K + k] = f * (expf(__ldg(z + k) - lse) - (k == lab ? 1.f : 0.f));
    }
}

/* out[0] = mean of v: (N), summed by one block in a fixed order. Grid 1. */
__global__ void __launch_bounds__(SHARP_NT) batch_mean(int N, const float *__restrict__ v, float *__restrict__ out)
{
    __shared__ float sh[SHARP_NT / 32];
    float s[1] = { 0.f };
    for (int i = threadIdx.x; i < N; i += SHARP_NT)
        s[0] += v[i];
    block_sum<SHARP_NT, 1>(s, sh);
    if (threadIdx.x == 0)
        out[0] = s[0] / (float)N;
}

/* out[0] = number of samples whose label's logit has fewer than k strictly
 * larger logits (ties count as correct). logits: (N, K), labels: (N).
 * One block; grid 1. */
template <int K>
__global__ void __launch_bounds__(SHARP_NT)
topk_correct(int N, int k, const float *__restrict__ logits, const int *__restrict__ labels, int *__restrict__ out)
{
    __shared__ float sh[SHARP_NT / 32];
    float c[1] = { 0.f };
    for (int n = threadIdx.x; n < N; n += SHARP_NT) {
        const float *z = logits + (i64)n * K;
        const float t = z[labels[n]];
        int above = 0;
        for (int j = 0; j < K; j++)
            above += z[j] > t;
        c[0] += above < k ? 1.f : 0.f;
    }
    block_sum<SHARP_NT, 1>(c, sh);
    if (threadIdx.x == 0)
        out[0] = (int)(c[0] + 0.5f);
}
