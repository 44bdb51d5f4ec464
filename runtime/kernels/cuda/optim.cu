/* optim.cu: the optimizers on the device, so that weights, architecture
 * parameters and optimizer states stay on the GPU (rt_sgd_step,
 * rt_adam_step and rt_clip_grad_norm of rt_optim.c, whose arithmetic they
 * repeat: PyTorch 1.13's, fused multiply-adds where torch fuses them), and
 * the vector steps of the second-order architecture gradient (§5.5; the
 * loop's second_order()).
 *
 * The tensor is flat: the batch argument N of these kernels is its element
 * count n (the loops keep all weights, and all their gradients, each in one
 * contiguous buffer). The host computes the step's scalars in double, as
 * rt_optim.c does, and passes them as float. */
#include "sharp_cuda.cuh"

/* SGD with momentum and coupled weight decay (rt_sgd_step):
 * d = g + wd*p; buf = d (FIRST) or mom*buf + d; p -= lr*buf.
 * neg_lr = -lr. p, g, buf: (n). */
template <int FIRST>
__global__ void __launch_bounds__(SHARP_NT)
sgd_step(int n, float neg_lr, float mom, float wd, float *__restrict__ p, const float *__restrict__ g,
         float *__restrict__ buf)
{
    for (i64 i = k_tid(); i < n; i += k_step()) {
        const float d = wd != 0.f ? fmaf(p[i], wd, g[i]) : g[i];
        const float b = FIRST ? d : __fmul_rn(buf[i], mom) + d; /* torch: mul_, then add_ (no fma) */
        buf[i] = b;
        p[i] = fmaf(b, neg_lr, p[i]);
    }
}

/* Adam with the weight decay added to the gradient (rt_adam_step): with
 * gi = g + wd*p, m = b1*m + (1-b1)*gi, v = b2*v + (1-b2)*gi^2,
 * p += neg_step*m / (sqrt(v)/bc2_sqrt + eps), where neg_step = -lr/(1 -
 * b1^t) and bc2_sqrt = sqrt(1 - b2^t). p, g, m, v: (n). */
__global__ void __launch_bounds__(SHARP_NT)
adam_step(int n, float neg_step, float bc2_sqrt, float wd, float b1, float b2, float one_b1, float one_b2,
          float eps, float *__restrict__ p, const float *__restrict__ g, float *__restrict__ m,
          float *__restrict__ v)
{
    for (i64 i = k_tid(); i < n; i += k_step()) {
        const float gi = wd != 0.f ? fmaf(p[i], wd, g[i]) : g[i];
        const float mi = fmaf(gi, one_b1, m[i] * b1);
        const float vi = fmaf(one_b2 * gi, gi, v[i] * b2);
        m[i] = mi;
        v[i] = vi;
        const float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = p[i] + (neg_step * mi) / denom;
    }
}

/* First pass of the global gradient norm: block b writes part[b], its share
 * of sum g^2 in double (rt_grad_norm sums in double). g: (n); part: (NB).
 * Grid NB blocks. */
template <int NB>
__global__ void __launch_bounds__(SHARP_NT) grad_sq_part(int n, const float *__restrict__ g, double *__restrict__ part)
{
    __shared__ double sh[SHARP_NT / 32];
    double s[1] = { 0.0 };
    for (i64 i = (i64)blockIdx.x * SHARP_NT + threadIdx.x; i < n; i += (i64)NB * SHARP_NT) {
        const double v = g[i];
        s[0] += v * v;
    }
    block_sum<SHARP_NT, 1>(s, sh);
    if (threadIdx.x == 0)
        part[blockIdx.x] = s[0];
}

/* Second pass (rt_clip_grad_norm): norm = sqrt(sum of part, in order);
 * coef = max_norm/(norm + 1e-6) in float, or 1 when that is not below 1 or
 * the norm is not finite (the loop stops the run on a non-finite norm).
 * part: (NB); norm, coef: (1). One thread. */
template <int NB>
__global__ void clip_coef(float max_norm, const double *__restrict__ part, double *__restrict__ norm,
                          float *__restrict__ coef)
{
    if (threadIdx.x != 0 || blockIdx.x != 0)
        return;
    double s = 0.0;
    for (int b = 0; b < NB; b++)
        s += part[b];
    const double total = sqrt(s);
    *norm = total;
    const float c = max_norm / ((float)total + 1e-6f);
    *coef = isfinite(total) && c < 1.f ? c : 1.f;
}

/* g *= *coef, skipped when *coef is 1. g: (n). */
__global__ void __launch_bounds__(SHARP_NT) clip_scale(int n, const float *__restrict__ coef, float *__restrict__ g)
{
    const float c = *coef;
    if (c == 1.f)
        return;
    for (i64 i = k_tid(); i < n; i += k_step())
        g[i] *= c;
}

/* y = x. x, y: (n). */
__global__ void __launch_bounds__(SHARP_NT) vec_copy(int n, const float *__restrict__ x, float *__restrict__ y)
{
    for (i64 i = k_tid(); i < n; i += k_step())
        y[i] = x[i];
}

/* out = x + a*y (the weights moved along v: theta +- r*v). x, y, out: (n). */
__global__ void __launch_bounds__(SHARP_NT)
vec_axpy(int n, float a, const float *__restrict__ x, const float *__restrict__ y, float *__restrict__ out)
{
    for (i64 i = k_tid(); i < n; i += k_step())
        out[i] = x[i] + a * y[i];
}

/* The virtual SGD step of the unrolled model (§5.5 steps 1-2):
 * w = theta - lr*(m + g + wd*theta), m = momentum*buf (0 when FIRST: no
 * momentum yet). theta, g, buf, w: (n). */
__global__ void __launch_bounds__(SHARP_NT)
unrolled_w(int n, float lr, float mom, float wd, int first, const float *__restrict__ theta,
           const float *__restrict__ g, const float *__restrict__ buf, float *__restrict__ w)
{
    for (i64 i = k_tid(); i < n; i += k_step()) {
        const float m = first ? 0.f : mom * buf[i];
        w[i] = theta[i] - lr * (m + g[i] + wd * theta[i]);
    }
}

/* The architecture gradient of §5.5 step 7: g = dalpha - c*(hp - g), with
 * c = lr/(2r) in double, g holding the gradient at theta - r*v and hp the
 * one at theta + r*v. dalpha, hp, g: (n). */
__global__ void __launch_bounds__(SHARP_NT)
hvp_combine(int n, double c, const float *__restrict__ dalpha, const float *__restrict__ hp, float *__restrict__ g)
{
    for (i64 i = k_tid(); i < n; i += k_step())
        g[i] = dalpha[i] - (float)(c * (double)(hp[i] - g[i]));
}
