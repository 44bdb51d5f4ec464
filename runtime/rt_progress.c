/* rt_progress.c: the training progress line. On a terminal a single line is
 * redrawn in place ("\r" + text + spaces over the rest of the old line) at
 * most ten times a second; elsewhere one line per epoch, so that logs stay
 * readable. An epoch's clock runs from the end of the previous one (or
 * init) to its end; throughput counts its images; the ETA uses the mean
 * step time since the start. */
#define _POSIX_C_SOURCE 200809L
#include "sharprt.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

/* Least time between two redraws, seconds. */
#define REDRAW_INTERVAL 0.1

double rt_clock_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void rt_format_duration(double seconds, char *buf, size_t len) {
  if (!(seconds >= 0) || seconds > 1e9) {
    snprintf(buf, len, "?");
    return;
  }
  long s = (long)(seconds + 0.5);
  if (s >= 3600) snprintf(buf, len, "%ldh%02ldm%02lds", s / 3600, s / 60 % 60, s % 60);
  else if (s >= 60) snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
  else snprintf(buf, len, "%lds", s);
}

void rt_progress_init(RtProgress *p, FILE *out, int epochs, int64_t steps_per_epoch, int tty) {
  memset(p, 0, sizeof *p);
  p->out = out;
  p->tty = tty >= 0 ? tty : isatty(fileno(out));
  p->epochs = epochs;
  p->steps = steps_per_epoch;
  p->clock = rt_clock_seconds;
  p->t_start = p->t_epoch = p->clock();
  p->t_drawn = -1e30;
}

/* Seconds left for the remaining steps of the run, from the mean step time. */
static double eta(const RtProgress *p, int epoch, int64_t step, double now) {
  int64_t total = (int64_t)p->epochs * p->steps, done = (int64_t)(epoch - 1) * p->steps + step;
  if (p->done_steps <= 0 || total <= done) return 0;
  return (now - p->t_start) / (double)p->done_steps * (double)(total - done);
}

void rt_progress_step(RtProgress *p, int epoch, int64_t step, double loss, double acc, int64_t images) {
  double now = p->clock();
  if (step == 1) p->epoch_images = 0;
  p->done_steps++;
  p->epoch_images += images;
  if (!p->tty || (now - p->t_drawn < REDRAW_INTERVAL && step != p->steps)) return;
  char line[256], left[32];
  double dt = now - p->t_epoch;
  rt_format_duration(eta(p, epoch, step, now), left, sizeof left);
  int len = snprintf(line, sizeof line, "epoch %d/%d step %lld/%lld loss %.4f acc %.2f%% %.0f img/s ETA %s", epoch,
                     p->epochs, (long long)step, (long long)p->steps, loss, 100 * acc,
                     dt > 0 ? (double)p->epoch_images / dt : 0.0, left);
  if (len < 0) return;
  if (len >= (int)sizeof line) len = (int)sizeof line - 1;
  fprintf(p->out, "\r%s%*s", line, p->line_len > len ? p->line_len - len : 0, "");
  fflush(p->out);
  p->line_len = len;
  p->t_drawn = now;
  p->redraws++;
}

void rt_progress_epoch_end(RtProgress *p, int epoch, double loss, double acc, const char *extra) {
  double now = p->clock(), dt = now - p->t_epoch;
  char took[32], left[32];
  rt_format_duration(dt, took, sizeof took);
  rt_format_duration(eta(p, epoch, p->steps, now), left, sizeof left);
  if (p->tty) {
    /* Keep the last drawn line, then the epoch summary below it. */
    fprintf(p->out, "\n");
    p->line_len = 0;
  }
  fprintf(p->out, "epoch %d/%d loss %.4f acc %.2f%% %.0f img/s time %s ETA %s%s%s\n", epoch, p->epochs, loss,
          100 * acc, dt > 0 ? (double)p->epoch_images / dt : 0.0, took, left, extra && *extra ? " " : "",
          extra ? extra : "");
  fflush(p->out);
  p->t_epoch = now;
}
