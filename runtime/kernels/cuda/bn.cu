/* bn.cu: batch normalization with PyTorch semantics (k_bn_* of
 * cpu_kernels.h), training and eval, affine or not, each optionally fused
 * with the ReLU that follows it.
 *
 * Template parameters: C, HW (H*W; 1 for a (N, C) input), AFFINE (gamma and
 * beta exist), RELU (the forward applies max(0, .) to its output; the
 * backward masks gy by y > 0 first, y being that fused output).
 * Training kernels run one block per channel and reduce in two passes
 * (mean, then squared deviations) in a fixed order: no atomics, so the
 * statistics and the gamma/beta gradients are reproducible. */
#include "sharp_cuda.cuh"

/* Calls f(index) for every element of channel c over the batch: the
 * (n, i) pairs of x: (N, C, HW), strided by thread. */
template <int C, int HW, class F>
__device__ __forceinline__ void bn_for_channel(int N, int c, F f)
{
    const i64 M = (i64)N * HW;
    for (i64 e = threadIdx.x; e < M; e += SHARP_NT) {
        const i64 n = e / HW;
        f((n * C + c) * HW + e % HW);
    }
}

/* The batch statistics of channel c: mean, and the sum of squared
 * deviations *ss (two passes, fixed order). sh: SHARP_NT/32 floats. */
template <int C, int HW>
__device__ __forceinline__ float bn_batch_stats(int N, int c, const float *__restrict__ x, float *sh, float *ss)
{
    const i64 M = (i64)N * HW;
    float s[1] = { 0.f };
    bn_for_channel<C, HW>(N, c, [&](i64 i) { s[0] += __ldg(x + i); });
    block_sum<SHARP_NT, 1>(s, sh);
    const float mean = s[0] / (float)M;
    float v[1] = { 0.f };
    bn_for_channel<C, HW>(N, c, [&](i64 i) {
        const float d = __ldg(x + i) - mean;
        v[0] += d * d;
    });
    block_sum<SHARP_NT, 1>(v, sh);
    *ss = v[0];
    return mean;
}

/* Thread 0 saves channel c's statistics (save_* may be NULL) and folds them
 * into the running estimates (run_* may be NULL) with the unbiased
 * variance ss/(M - 1). */
__device__ __forceinline__ void bn_save_stats(int c, i64 M, float mean, float invstd, float ss, float momentum,
                                              float *save_mean, float *save_invstd, float *run_mean, float *run_var)
{
    if (threadIdx.x != 0)
        return;
    if (save_mean)
        save_mean[c] = mean;
    if (save_invstd)
        save_invstd[c] = invstd;
    if (run_mean)
        run_mean[c] = (1.f - momentum) * run_mean[c] + momentum * mean;
    if (run_var) {
        const float unbiased = M > 1 ? ss / (float)(M - 1) : ss / (float)M;
        run_var[c] = (1.f - momentum) * run_var[c] + momentum * unbiased;
    }
}

/* The training backward of channel c for the output gradient grad(i):
 * gx = k*(g - mean(g) - xhat*mean(g*xhat)), ggamma = sum g*xhat, gbeta =
 * sum g (NULL to skip). sh: 2*SHARP_NT/32 floats. */
template <int C, int HW, int AFFINE, class F>
__device__ __forceinline__ void bn_bwd_channel(int N, int c, const float *__restrict__ x, F grad,
                                               const float *__restrict__ gamma, float mu, float invstd,
                                               float *__restrict__ gx, float *__restrict__ ggamma,
                                               float *__restrict__ gbeta, float *sh)
{
    const i64 M = (i64)N * HW;
    float s[2] = { 0.f, 0.f };
    bn_for_channel<C, HW>(N, c, [&](i64 i) {
        const float g = grad(i);
        s[0] += g;
        s[1] += g * (__ldg(x + i) - mu);
    });
    block_sum<SHARP_NT, 2>(s, sh);
    const float sgx = s[1] * invstd;
    if (threadIdx.x == 0) {
        if (ggamma)
            ggamma[c] = sgx;
        if (gbeta)
            gbeta[c] = s[0];
    }
    const float k = AFFINE ? gamma[c] * invstd : invstd;
    const float mg = s[0] / (float)M, mgx = sgx / (float)M * invstd;
    bn_for_channel<C, HW>(N, c, [&](i64 i) { gx[i] = k * (grad(i) - mg - (__ldg(x + i) - mu) * mgx); });
}

/* Training forward. Saves mean and invstd (save_* may be NULL) and updates
 * the running estimates (run_* may be NULL) with the unbiased variance.
 * x, y: (N, C, HW); gamma, beta, save_mean, save_invstd, run_mean, run_var: (C).
 * Grid C blocks. */
template <int C, int HW, int AFFINE, int RELU>
__global__ void __launch_bounds__(SHARP_NT)
bn_train_fwd(int N, float eps, float momentum, const float *__restrict__ x,
             const float *__restrict__ gamma, const float *__restrict__ beta, float *__restrict__ y,
             float *__restrict__ save_mean, float *__restrict__ save_invstd, float *__restrict__ run_mean,
             float *__restrict__ run_var)
{
    __shared__ float sh[SHARP_NT / 32];
    const int c = blockIdx.x;
    float ss;
    const float mean = bn_batch_stats<C, HW>(N, c, x, sh, &ss);
    const float invstd = rsqrtf(ss / (float)((i64)N * HW) + eps);
    const float a = AFFINE ? gamma[c] * invstd : invstd;
    const float b = AFFINE ? beta[c] : 0.f;
    bn_for_channel<C, HW>(N, c, [&](i64 i) {
        const float r = (__ldg(x + i) - mean) * a + b;
        y[i] = RELU ? fmaxf(r, 0.f) : r;
    });
    bn_save_stats(c, (i64)N * HW, mean, invstd, ss, momentum, save_mean, save_invstd, run_mean, run_var);
}

/* Training backward from the saved statistics:
 * gx = gamma*invstd*(g - mean(g) - xhat*mean(g*xhat)), g = gy (masked by
 * y > 0 when RELU). ggamma = sum g*xhat and gbeta = sum g (NULL to skip).
 * x, y, gy, gx: (N, C, HW); gamma, save_*, ggamma, gbeta: (C). y is read only
 * when RELU. Grid C blocks. */
template <int C, int HW, int AFFINE, int RELU>
__global__ void __launch_bounds__(SHARP_NT)
bn_train_bwd(int N, const float *__restrict__ x, const float *__restrict__ y, const float *__restrict__ gy,
             const float *__restrict__ gamma, const float *__restrict__ save_mean,
             const float *__restrict__ save_invstd, float *__restrict__ gx, float *__restrict__ ggamma,
             float *__restrict__ gbeta)
{
    __shared__ float sh[2 * (SHARP_NT / 32)];
    const int c = blockIdx.x;
    auto grad = [&](i64 i) {
        const float g = __ldg(gy + i);
        return RELU ? (__ldg(y + i) > 0.f ? g : 0.f) : g;
    };
    bn_bwd_channel<C, HW, AFFINE>(N, c, x, grad, gamma, save_mean[c], save_invstd[c], gx, ggamma, gbeta, sh);
}

/* Eval forward with the running estimates (one thread per element).
 * x, y: (N, C, HW); gamma, beta, run_mean, run_var: (C). */
template <int C, int HW, int AFFINE, int RELU>
__global__ void __launch_bounds__(SHARP_NT)
bn_eval_fwd(int N, float eps, const float *__restrict__ x, const float *__restrict__ gamma,
            const float *__restrict__ beta, const float *__restrict__ run_mean,
            const float *__restrict__ run_var, float *__restrict__ y)
{
    const i64 total = (i64)N * C * HW;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int c = (int)(i / HW % C);
        const float invstd = rsqrtf(__ldg(run_var + c) + eps);
        const float a = AFFINE ? __ldg(gamma + c) * invstd : invstd;
        const float b = AFFINE ? __ldg(beta + c) : 0.f;
        const float r = (__ldg(x + i) - __ldg(run_mean + c)) * a + b;
        y[i] = RELU ? fmaxf(r, 0.f) : r;
    }
}

/* Per-channel scale and shift with an optional ReLU, the inference epilogue
 * of `sharpc emit --target cuda` (a conv's bias after batch-norm folding, a
 * batch norm with no conv before it): y = x*scale[c] + shift[c], scale 1
 * when !SCALE and shift 0 when !SHIFT, then max(0, .) when RELU; in place
 * (y == x) allowed. x, y: (N, C, HW); scale, shift: (C). */
template <int C, int HW, int SCALE, int SHIFT, int RELU>
__global__ void __launch_bounds__(SHARP_NT)
channel_affine(int N, const float *__restrict__ scale, const float *__restrict__ shift, const float *x,
               float *y)
{
    const i64 total = (i64)N * C * HW;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int c = (int)(i / HW % C);
        const float r = x[i] * (SCALE ? __ldg(scale + c) : 1.f) + (SHIFT ? __ldg(shift + c) : 0.f);
        y[i] = RELU ? fmaxf(r, 0.f) : r;
    }
}

/* Eval backward: gx = gy*gamma*invstd; ggamma, gbeta (NULL to skip) with
 * the running statistics. x, gy, gx: (N, C, HW); the rest (C). Grid C blocks. */
template <int C, int HW, int AFFINE>
__global__ void __launch_bounds__(SHARP_NT)
bn_eval_bwd(int N, float eps, const float *__restrict__ x, const float *__restrict__ gy,
            const float *__restrict__ gamma, const float *__restrict__ run_mean,
            const float *__restrict__ run_var, float *__restrict__ gx, float *__restrict__ ggamma,
            float *__restrict__ gbeta)
{
    __shared__ float sh[2 * (SHARP_NT / 32)];
    const int c = blockIdx.x;
    const float invstd = rsqrtf(run_var[c] + eps);
    const float a = AFFINE ? gamma[c] * invstd : invstd;
    const float mu = run_mean[c];
    float s[2] = { 0.f, 0.f };
    bn_for_channel<C, HW>(N, c, [&](i64 i) {
        const float g = __ldg(gy + i);
        gx[i] = g * a;
        s[0] += g;
        s[1] += g * (__ldg(x + i) - mu);
    });
    block_sum<SHARP_NT, 2>(s, sh);
    if (threadIdx.x == 0) {
        if (ggamma)
            ggamma[c] = s[1] * invstd;
        if (gbeta)
            gbeta[c] = s[0];
    }
}

/* ---- a mixed op's BN candidate fused into the mixed op (ir_fuse's
 * mixed_bn; k_bn_out_acc, k_bn_train_bwd_scaled and k_bn_out_dot of
 * cpu_kernels.h). The BN output is never stored: the forward adds
 * c_k * BN(x) straight into the mixed output y, the backward reads c_k * gy
 * (gy the mixed output's gradient), and the architecture gradient's
 * <gy, BN(x)> is recomputed from x and the saved statistics. P, MODE: the
 * mixed op's candidate count and weighting (mix_coef); w: the edge's row of
 * the softmax output (P); k: the candidate's index. ---- */

/* Forward: y = c_k*BN(x) (FIRST) or y += c_k*BN(x). TRAIN: BN with the batch
 * statistics, saved and folded into the running estimates as bn_train_fwd
 * does (save_* and run_* may be NULL); !TRAIN: with the running estimates.
 * x, y: (N, C, HW); gamma, beta, save_*, run_*: (C). Grid C blocks. */
template <int C, int HW, int AFFINE, int P, int MODE, int FIRST, int TRAIN>
__global__ void __launch_bounds__(SHARP_NT)
bn_mix_fwd(int N, float eps, float momentum, const float *__restrict__ x, const float *__restrict__ gamma,
           const float *__restrict__ beta, const float *__restrict__ w, int k, float *__restrict__ y,
           float *__restrict__ save_mean, float *__restrict__ save_invstd, float *__restrict__ run_mean,
           float *__restrict__ run_var)
{
    __shared__ float sh[SHARP_NT / 32];
    const int c = blockIdx.x;
    float mean, invstd, ss = 0.f;
    if (TRAIN) {
        mean = bn_batch_stats<C, HW>(N, c, x, sh, &ss);
        invstd = rsqrtf(ss / (float)((i64)N * HW) + eps);
    } else {
        mean = run_mean[c];
        invstd = rsqrtf(run_var[c] + eps);
    }
    const float a = AFFINE ? gamma[c] * invstd : invstd;
    const float b = AFFINE ? beta[c] : 0.f;
    const float ck = mix_coef<P, MODE>(w, k);
    bn_for_channel<C, HW>(N, c, [&](i64 i) {
        const float r = ck * ((__ldg(x + i) - mean) * a + b);
        y[i] = FIRST ? r : y[i] + r;
    });
    if (TRAIN)
        bn_save_stats(c, (i64)N * HW, mean, invstd, ss, momentum, save_mean, save_invstd, run_mean, run_var);
}

/* Training backward of bn_train_bwd (no ReLU) for the output gradient
 * c_k*gy. x, gy, gx: (N, C, HW); gamma, save_*, ggamma, gbeta: (C) (ggamma,
 * gbeta NULL to skip). Grid C blocks. */
template <int C, int HW, int AFFINE, int P, int MODE>
__global__ void __launch_bounds__(SHARP_NT)
bn_mix_bwd(int N, const float *__restrict__ x, const float *__restrict__ gy, const float *__restrict__ gamma,
           const float *__restrict__ save_mean, const float *__restrict__ save_invstd,
           const float *__restrict__ w, int k, float *__restrict__ gx, float *__restrict__ ggamma,
           float *__restrict__ gbeta)
{
    __shared__ float sh[2 * (SHARP_NT / 32)];
    const int c = blockIdx.x;
    const float ck = mix_coef<P, MODE>(w, k);
    auto grad = [&](i64 i) { return ck * __ldg(gy + i); };
    bn_bwd_channel<C, HW, AFFINE>(N, c, x, grad, gamma, save_mean[c], save_invstd[c], gx, ggamma, gbeta, sh);
}

/* The candidate's share of the architecture gradient: block b writes
 * part[k*NB + b] = sum over channels c = b, b + NB, ... of <gy, BN(x)>_c,
 * BN(x) recomputed from the saved statistics; mixed_bwd_w_final then sums
 * the row in order (mixed_bwd_w, run before, leaves the row of a candidate
 * it has no output for at 0). x, gy: (N, C, HW); gamma, beta, save_*: (C);
 * part: (P, NB). Grid NB blocks. */
template <int C, int HW, int AFFINE, int NB>
__global__ void __launch_bounds__(SHARP_NT)
bn_mix_dot(int N, const float *__restrict__ x, const float *__restrict__ gy, const float *__restrict__ gamma,
           const float *__restrict__ beta, const float *__restrict__ save_mean,
           const float *__restrict__ save_invstd, int k, float *__restrict__ part)
{
    __shared__ float sh[SHARP_NT / 32];
    float d[1] = { 0.f };
    for (int c = blockIdx.x; c < C; c += NB) {
        const float mu = save_mean[c], invstd = save_invstd[c];
        const float a = AFFINE ? gamma[c] * invstd : invstd;
        const float b = AFFINE ? beta[c] : 0.f;
        bn_for_channel<C, HW>(N, c, [&](i64 i) { d[0] += __ldg(gy + i) * ((__ldg(x + i) - mu) * a + b); });
    }
    block_sum<SHARP_NT, 1>(d, sh);
    if (threadIdx.x == 0)
        part[k * NB + blockIdx.x] = d[0];
}
