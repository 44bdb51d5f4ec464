/* rt_schedule.c: per-epoch schedules: Cosine Power Annealing (sharpdarts.md
 * §7), plain cosine annealing, and the drop-path probability (§6.3).
 * Schedules are computed in double precision and set once per epoch. */
#include "sharprt.h"
#include "rt_check.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Follows §7 step by step: x from the cosine, y = p^(x+1) (or x for p = 1),
 * min-max normalization over all E entries (warmup included), the warmup
 * ramp e/(W+1) over e = 1..W+1, then the resume slice. When every y is equal
 * (E = 1 without warmup) z is taken as 1, so a one-epoch run gets max_lr. */
int rt_cpa_schedule(int epochs, double max_lr, double min_lr, double p, int warmup, int start_epoch, int restart_lr,
                    double *lr, int *count, char *err, size_t errlen) {
  *count = 0;
  if (epochs < 1) return rt_errf(err, errlen, "cosine power annealing: epochs is %d, must be at least 1", epochs);
  if (!isfinite(max_lr) || !isfinite(min_lr) || min_lr > max_lr)
    return rt_errf(err, errlen, "cosine power annealing: need finite min_lr <= max_lr, got min %g, max %g", min_lr,
                   max_lr);
  if (!(p >= 1.0) || !isfinite(p))
    return rt_errf(err, errlen, "cosine power annealing: exponent order p = %g, must be >= 1", p);
  if (warmup < 0) return rt_errf(err, errlen, "cosine power annealing: warmup is %d, must be >= 0", warmup);
  if (warmup > 0 && warmup >= epochs)
    return rt_errf(err, errlen, "cosine power annealing: warmup %d needs more than %d epochs", warmup, epochs);
  if (start_epoch < 1)
    return rt_errf(err, errlen, "cosine power annealing: start_epoch is %d, epochs count from 1", start_epoch);

  int T = epochs - warmup;
  double ymin = INFINITY, ymax = -INFINITY;
  for (int e = 1; e <= epochs; e++) {
    double x = (1.0 + cos(M_PI * (double)(e - warmup) / (double)T)) / 2.0;
    double y = p == 1.0 ? x : pow(p, x + 1.0);
    lr[e - 1] = y;
    if (y < ymin) ymin = y;
    if (y > ymax) ymax = y;
  }
  for (int e = 1; e <= epochs; e++) {
    double z = ymax > ymin ? (lr[e - 1] - ymin) / (ymax - ymin) : 1.0;
    if (warmup > 0 && e <= warmup + 1) z = (double)e / (double)(warmup + 1);
    lr[e - 1] = min_lr + (max_lr - min_lr) * z;
  }
  int first = (start_epoch > 1 && !restart_lr) ? start_epoch - 1 : 0;
  if (first >= epochs) return 0; /* resumed after the last epoch: nothing left */
  if (first > 0) memmove(lr, lr + first, sizeof *lr * (size_t)(epochs - first));
  *count = epochs - first;
  return 0;
}

double rt_cosine_lr(int epochs, double max_lr, double min_lr, int e) {
  if (epochs < 1) return max_lr;
  return min_lr + (max_lr - min_lr) * (1.0 + cos(M_PI * (double)e / (double)epochs)) / 2.0;
}

int rt_cosine_schedule(int epochs, double max_lr, double min_lr, double *lr, char *err, size_t errlen) {
  if (epochs < 1) return rt_errf(err, errlen, "cosine annealing: epochs is %d, must be at least 1", epochs);
  if (!isfinite(max_lr) || !isfinite(min_lr))
    return rt_errf(err, errlen, "cosine annealing: learning rates must be finite, got max %g, min %g", max_lr, min_lr);
  for (int e = 0; e < epochs; e++) lr[e] = rt_cosine_lr(epochs, max_lr, min_lr, e);
  return 0;
}

double rt_drop_path_prob(double drop_path_prob, int e, int epochs) {
  if (epochs < 1) return 0.0;
  return drop_path_prob * (double)e / (double)epochs;
}
