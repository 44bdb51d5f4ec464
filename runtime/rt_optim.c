/* rt_optim.c: the optimizers of the search and training loops (sharpdarts.md
 * §5.2, §6.5): SGD with momentum and coupled weight decay, Adam with weight
 * decay added to the gradient, and clipping by the global gradient norm.
 * Each follows PyTorch 1.13's CPU arithmetic step by step so that a run
 * matches torch to float precision: torch's vectorized kernels compute
 * `a.add(b, alpha=s)` as the fused fma(b, s, a), addcmul_(t, t, value=s) as
 * fma(s*t, t, a) and addcdiv_(t1, t2, value=s) as a + (s*t1)/t2 (checked
 * element by element against Debian's torch 1.13 on x86-64). */
#include "sharprt.h"

#include <math.h>

/* Each line is one torch op: add(p, alpha=wd), mul_(momentum), add_(d),
 * add_(buf, alpha=-lr); an add with alpha is fused. */
void rt_sgd_step(float *p, const float *g, float *buf, size_t n, double lr, double momentum, double weight_decay,
                 int first) {
  float wd = (float)weight_decay, mom = (float)momentum, neg_lr = (float)-lr;
  for (size_t i = 0; i < n; i++) {
    float d = g[i];
    if (weight_decay != 0) d = fmaf(p[i], wd, d);
    if (momentum != 0) {
      if (first) buf[i] = d;
      else {
        float b = buf[i] * mom;
        buf[i] = b + d;
      }
      d = buf[i];
    }
    p[i] = fmaf(d, neg_lr, p[i]);
  }
}

/* torch's _single_tensor_adam: the scalars are Python floats (double),
 * the tensor ops float32. */
void rt_adam_step(float *p, const float *g, float *m, float *v, size_t n, int64_t step, double lr, double beta1,
                  double beta2, double eps, double weight_decay) {
  double bc1 = 1.0 - pow(beta1, (double)step), bc2 = 1.0 - pow(beta2, (double)step);
  float neg_step = (float)(-lr / bc1), bc2_sqrt = (float)sqrt(bc2);
  float wd = (float)weight_decay, b1 = (float)beta1, b2 = (float)beta2;
  float one_b1 = (float)(1.0 - beta1), one_b2 = (float)(1.0 - beta2), feps = (float)eps;
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    if (weight_decay != 0) gi = fmaf(p[i], wd, gi);
    float mi = fmaf(gi, one_b1, m[i] * b1);
    float vi = fmaf(one_b2 * gi, gi, v[i] * b2);
    m[i] = mi, v[i] = vi;
    float denom = sqrtf(vi) / bc2_sqrt + feps;
    p[i] = p[i] + (neg_step * mi) / denom;
  }
}

double rt_grad_norm(const RtSpan *grads, int count) {
  double sum = 0;
  for (int k = 0; k < count; k++)
    for (size_t i = 0; i < grads[k].n; i++) sum += (double)grads[k].p[i] * grads[k].p[i];
  return sqrt(sum);
}

double rt_clip_grad_norm(const RtSpan *grads, int count, double max_norm) {
  double total = rt_grad_norm(grads, count);
  if (!isfinite(total)) return total;
  float coef = (float)max_norm / ((float)total + 1e-6f);
  if (coef < 1.0f)
    for (int k = 0; k < count; k++)
      for (size_t i = 0; i < grads[k].n; i++) grads[k].p[i] *= coef;
  return total;
}
