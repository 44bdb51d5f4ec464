/* test_schedule.c: Cosine Power Annealing against every test vector of
 * sharpdarts.md §7 (E = 10) and §13.1 (E = 120 and E = 2000), plain cosine
 * annealing and drop path. Prints the worst error of each table. */
#include "rt_test.h"

#include <math.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* The §7 table, E = 10, max 0.1, min 1e-4. Columns: e, x_e, z (p=10),
 * lr (p=10), lr (p=1), lr (p=2), lr (p=10, W=5). */
static const double table7[10][7] = {
    {1, 0.9755282581, 1.0000000000, 1.0000000000e-01, 1.0000000000e-01, 1.0000000000e-01, 1.6750000000e-02},
    {2, 0.9045084972, 0.8312932335, 8.3146194031e-02, 9.2727146486e-02, 9.0235538254e-02, 3.3400000000e-02},
    {3, 0.7938926261, 0.6177713407, 6.1815356933e-02, 8.1399411565e-02, 7.5952842568e-02, 5.0050000000e-02},
    {4, 0.6545084972, 0.4156894746, 4.1627378515e-02, 6.7125632854e-02, 5.9446918764e-02, 6.6700000000e-02},
    {5, 0.5000000000, 0.2558273016, 2.5657147431e-02, 5.1303027265e-02, 4.2920366211e-02, 8.3350000000e-02},
    {6, 0.3454915028, 0.1438223520, 1.4467852968e-02, 3.5480421677e-02, 2.8072276710e-02, 1.0000000000e-01},
    {7, 0.2061073739, 0.0718565416, 7.2784685101e-03, 2.1206642966e-02, 1.5975834701e-02, 3.9099279021e-02},
    {8, 0.0954915028, 0.0290961881, 3.0067091892e-03, 9.8789080442e-03, 7.1740549712e-03, 1.3593168287e-02},
    {9, 0.0244717419, 0.0068581870, 7.8513288544e-04, 2.6060545306e-03, 1.8684996452e-03, 2.8297548450e-03},
    {10, 0.0000000000, 0.0000000000, 1.0000000000e-04, 1.0000000000e-04, 1.0000000000e-04, 1.0000000000e-04},
};

/* §13.1, E = 120, max 0.025, min 1e-4, p = 2, W = 5: (e, lr). */
static const double table120[][2] = {
    {1, 4.250000e-03},   {2, 8.400000e-03},   {5, 2.085000e-02},   {6, 2.500000e-02},   {7, 2.497425e-02},
    {47, 1.580315e-02},  {116, 1.515235e-04}, {117, 1.289815e-04}, {119, 1.032201e-04}, {120, 1.000000e-04},
};

/* §13.1, E = 2000, max 0.025, min 1e-8, p = 2, W = 5: (e, lr). */
static const double table2000[][2] = {
    {1, 4.166675e-03},    {6, 2.5e-02},         {7, 2.499991e-02},    {100, 2.480683e-02},  {500, 2.023888e-02},
    {1000, 1.040362e-02}, {1500, 2.684372e-03}, {1900, 1.074468e-04}, {1990, 1.084285e-06}, {2000, 1.0e-08},
};

/* Tracks the worst |a-b| and its ratio to the allowed atol + rtol|b|. */
typedef struct Worst {
  double err, ratio;
  int e;
} Worst;

static void compare(TestCtx *ctx, Worst *w, const char *what, int e, double got, double want, double atol,
                    double rtol) {
  double d = fabs(got - want), tol = atol + rtol * fabs(want);
  CHECK(ctx, d <= tol, "%s e=%d: got %.12e want %.12e (|diff| %.3e > %.3e)", what, e, got, want, d, tol);
  if (d / tol >= w->ratio) w->ratio = d / tol, w->err = d, w->e = e;
}

static void report(const char *what, const Worst *w) {
  printf("%-34s worst |diff| %.3e at e=%d (%.3g of tolerance)\n", what, w->err, w->e, w->ratio);
}

int test_schedule(TestCtx *ctx) {
  char err[256];
  double lr[2000];
  int count;

  /* §7: x_e and z (p = 10) from the closed forms, lr for the four settings. */
  static const struct {
    double p;
    int warmup, col;
    const char *name;
  } runs[] = {{10, 0, 3, "E=10 p=10 lr"}, {1, 0, 4, "E=10 p=1 lr"}, {2, 0, 5, "E=10 p=2 lr"},
              {10, 5, 6, "E=10 p=10 W=5 lr"}};
  Worst wx = {0, -1, 0}, wz = {0, -1, 0};
  for (int i = 0; i < 10; i++) {
    int e = i + 1;
    double x = (1 + cos(M_PI * e / 10.0)) / 2, x1 = (1 + cos(M_PI / 10.0)) / 2;
    compare(ctx, &wx, "x_e", e, x, table7[i][1], 1e-9, 0);
    compare(ctx, &wz, "z (p=10)", e, (pow(10, x) - 1) / (pow(10, x1) - 1), table7[i][2], 1e-9, 0);
  }
  report("E=10 x_e (closed form)", &wx);
  report("E=10 z p=10 (closed form)", &wz);
  for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
    Worst w = {0, -1, 0};
    int rc = rt_cpa_schedule(10, 0.1, 1e-4, runs[r].p, runs[r].warmup, 1, 0, lr, &count, err, sizeof err);
    CHECK(ctx, rc == 0 && count == 10, "%s: rc %d count %d: %s", runs[r].name, rc, count, err);
    for (int i = 0; i < 10; i++) compare(ctx, &w, runs[r].name, i + 1, lr[i], table7[i][runs[r].col], 1e-9, 0);
    report(runs[r].name, &w);
    /* The normalized proportion z = (lr - min)/(max - min) for p = 10. */
    if (runs[r].p == 10 && runs[r].warmup == 0) {
      Worst wz2 = {0, -1, 0};
      for (int i = 0; i < 10; i++) compare(ctx, &wz2, "z", i + 1, (lr[i] - 1e-4) / (0.1 - 1e-4), table7[i][2], 1e-9, 0);
      report("E=10 p=10 z (from schedule)", &wz2);
    }
  }

  /* §13.1: the 7-digit tables. */
  struct {
    int epochs;
    double min_lr;
    const double (*t)[2];
    int n;
    const char *name;
  } big[] = {{120, 1e-4, table120, 10, "E=120 p=2 W=5 (search)"}, {2000, 1e-8, table2000, 10, "E=2000 p=2 W=5 (final)"}};
  for (int b = 0; b < 2; b++) {
    Worst w = {0, -1, 0};
    int rc = rt_cpa_schedule(big[b].epochs, 0.025, big[b].min_lr, 2, 5, 1, 0, lr, &count, err, sizeof err);
    CHECK(ctx, rc == 0 && count == big[b].epochs, "%s: rc %d: %s", big[b].name, rc, err);
    for (int i = 0; i < big[b].n; i++) {
      int e = (int)big[b].t[i][0];
      compare(ctx, &w, big[b].name, e, lr[e - 1], big[b].t[i][1], 1e-9, 5e-7);
    }
    report(big[b].name, &w);
    /* Properties: the ramp ends at exactly max_lr, the last epoch is min_lr. */
    CHECK(ctx, lr[5] == 0.025, "%s: lr_6 = %.17g, expected exactly max", big[b].name, lr[5]);
    CHECK(ctx, fabs(lr[big[b].epochs - 1] - big[b].min_lr) <= 1e-18, "%s: lr_E = %.17g", big[b].name,
          lr[big[b].epochs - 1]);
    for (int e = 7; e < big[b].epochs; e++)
      if (!(lr[e] <= lr[e - 1])) {
        CHECK(ctx, 0, "%s: not decreasing after warmup at e=%d", big[b].name, e + 1);
        break;
      }
  }

  /* No warmup: lr_1 = max and lr_E = min exactly (up to rounding). */
  double full[10];
  rt_cpa_schedule(10, 0.1, 1e-4, 2, 0, 1, 0, full, &count, err, sizeof err);
  CHECK(ctx, fabs(full[0] - 0.1) < 1e-17 && fabs(full[9] - 1e-4) < 1e-18, "endpoints %.17g %.17g", full[0], full[9]);

  /* Resume: start_epoch 4 continues the curve, restart_lr restarts it. */
  CHECK(ctx, rt_cpa_schedule(10, 0.1, 1e-4, 2, 0, 4, 0, lr, &count, err, sizeof err) == 0 && count == 7,
        "resume count %d", count);
  CHECK(ctx, memcmp(lr, full + 3, 7 * sizeof(double)) == 0, "resumed slice differs");
  CHECK(ctx, rt_cpa_schedule(10, 0.1, 1e-4, 2, 0, 4, 1, lr, &count, err, sizeof err) == 0 && count == 10,
        "restart count %d", count);
  CHECK(ctx, memcmp(lr, full, 10 * sizeof(double)) == 0, "restarted curve differs");
  CHECK(ctx, rt_cpa_schedule(10, 0.1, 1e-4, 2, 0, 11, 0, lr, &count, err, sizeof err) == 0 && count == 0,
        "resume past the end: count %d", count);

  /* E = 1: a single epoch at max_lr. */
  CHECK(ctx, rt_cpa_schedule(1, 0.1, 1e-4, 2, 0, 1, 0, lr, &count, err, sizeof err) == 0 && count == 1 &&
                 lr[0] == 0.1, "E=1: %g", lr[0]);

  /* Errors: p < 1, warmup too long, bad epochs, bad rates, bad start. */
  struct {
    int epochs;
    double max, min, p;
    int warmup, start;
    const char *needle;
  } bad[] = {{10, 0.1, 1e-4, 0.5, 0, 1, "p = 0.5"}, {10, 0.1, 1e-4, NAN, 0, 1, "exponent"},
             {10, 0.1, 1e-4, 2, 10, 1, "warmup 10"}, {0, 0.1, 1e-4, 2, 0, 1, "epochs is 0"},
             {10, 1e-4, 0.1, 2, 0, 1, "min_lr <= max_lr"}, {10, 0.1, 1e-4, 2, -1, 1, "warmup is -1"},
             {10, 0.1, 1e-4, 2, 0, 0, "start_epoch is 0"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    int rc = rt_cpa_schedule(bad[i].epochs, bad[i].max, bad[i].min, bad[i].p, bad[i].warmup, bad[i].start, 0, lr,
                             &count, err, sizeof err);
    CHECK(ctx, rc != 0 && strstr(err, bad[i].needle), "bad case %zu: rc %d, message '%s'", i, rc, err);
    if (rc != 0) printf("rejected as expected: %s\n", err);
  }

  /* Plain cosine: PyTorch CosineAnnealingLR values, e = 0..E-1. */
  CHECK(ctx, rt_cosine_schedule(60, 0.025, 0.001, lr, err, sizeof err) == 0, "%s", err);
  CHECK(ctx, lr[0] == 0.025, "cosine lr_0 = %.17g", lr[0]);
  CHECK(ctx, fabs(lr[30] - 0.013) < 1e-15, "cosine lr_30 = %.17g", lr[30]);
  CHECK(ctx, fabs(lr[59] - (0.001 + 0.024 * (1 + cos(M_PI * 59 / 60)) / 2)) < 1e-18, "cosine lr_59");
  CHECK(ctx, fabs(rt_cosine_lr(60, 0.025, 0.001, 60) - 0.001) < 1e-18, "cosine at e = E is min");
  CHECK(ctx, rt_cosine_schedule(0, 0.025, 0.001, lr, err, sizeof err) != 0, "cosine with 0 epochs");

  /* Drop path: 0.2 * e / E, reaching 0.2 at the last epoch. */
  CHECK(ctx, rt_drop_path_prob(0.2, 2000, 2000) == 0.2, "drop path at E");
  CHECK(ctx, fabs(rt_drop_path_prob(0.2, 1, 2000) - 1e-4) < 1e-18, "drop path at 1");
  CHECK(ctx, fabs(rt_drop_path_prob(0.2, 2100, 2000) - 0.21) < 1e-15, "drop path past E");
  CHECK(ctx, rt_drop_path_prob(0.2, 5, 0) == 0.0, "drop path with 0 epochs");
  return ctx->failures;
}
