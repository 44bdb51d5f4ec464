/* test_optim.c: the optimizers on hand-computed cases, and optim-tool, which
 * optim_torch_check.py drives to compare them with torch.optim. */
#include "tr_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int test_optim(TestCtx *ctx) {
  int checks = 0;
  /* SGD: p 1, g 0.5, wd 0.1, momentum 0.9, lr 0.1. Step 1: d = 0.6, buf = 0.6,
   * p = 0.94. Step 2: d = 0.5 + 0.094 = 0.594, buf = 0.54 + 0.594 = 1.134,
   * p = 0.94 - 0.1134 = 0.8266. */
  float p = 1, g = 0.5f, buf = 0;
  rt_sgd_step(&p, &g, &buf, 1, 0.1, 0.9, 0.1, 1);
  CHECK(ctx, fabsf(p - 0.94f) < 1e-6f && fabsf(buf - 0.6f) < 1e-6f, "sgd step 1: p %g buf %g", p, buf);
  rt_sgd_step(&p, &g, &buf, 1, 0.1, 0.9, 0.1, 0);
  CHECK(ctx, fabsf(p - 0.8266f) < 1e-6f && fabsf(buf - 1.134f) < 1e-6f, "sgd step 2: p %g buf %g", p, buf);
  checks += 2;
  /* Momentum 0: no buffer needed. */
  p = 1;
  rt_sgd_step(&p, &g, NULL, 1, 0.1, 0, 0, 1);
  CHECK(ctx, fabsf(p - 0.95f) < 1e-7f, "plain sgd: p %g", p);
  checks++;
  /* Adam's first step moves every element by lr (times sign) when wd is 0:
   * m/(1-b1) = g and sqrt(v/(1-b2)) = |g|. */
  float pa[3] = {1, -2, 3}, ga[3] = {0.3f, -4, 1e-3f}, m[3] = {0}, v[3] = {0};
  rt_adam_step(pa, ga, m, v, 3, 1, 0.01, 0.5, 0.999, 1e-8, 0);
  float want[3] = {0.99f, -1.99f, 2.99f};
  for (int i = 0; i < 3; i++) CHECK(ctx, fabsf(pa[i] - want[i]) < 1e-5f, "adam step 1 [%d]: %g want %g", i, pa[i], want[i]);
  checks += 3;
  /* Clipping: norm 5 over two arrays (3, 4) clipped to 1 -> (0.6, 0.8);
   * max_norm above the norm leaves them as they are. */
  float g1[1] = {3}, g2[1] = {4};
  RtSpan spans[2] = {{g1, 1}, {g2, 1}};
  double total = rt_clip_grad_norm(spans, 2, 10.0);
  CHECK(ctx, total == 5.0 && g1[0] == 3 && g2[0] == 4, "clip below max: total %g, g %g %g", total, g1[0], g2[0]);
  total = rt_clip_grad_norm(spans, 2, 1.0);
  CHECK(ctx, total == 5.0 && fabsf(g1[0] - 0.6f) < 1e-6f && fabsf(g2[0] - 0.8f) < 1e-6f, "clip: total %g, g %g %g",
        total, g1[0], g2[0]);
  g1[0] = NAN;
  total = rt_clip_grad_norm(spans, 2, 1.0);
  CHECK(ctx, isnan(total), "non-finite norm is returned: %g", total);
  checks += 3;
  printf("optim: %d hand-computed checks (sgd, sgd without momentum, adam, clipping)\n", checks);
  return ctx->failures;
}

/* Reads count floats from fp. */
static int read_floats(FILE *fp, float *dst, size_t count) {
  return fread(dst, sizeof *dst, count, fp) == count ? 0 : -1;
}

/* optim-tool sgd IN OUT lr momentum wd steps n
 * optim-tool adam IN OUT lr beta1 beta2 eps wd steps n
 *   IN: n floats p0, then steps*n gradients. OUT: p after each step
 *   (steps*n floats), then the state (sgd: buf; adam: m, v).
 * optim-tool clip IN OUT max_norm k n1..nk
 *   IN: the k gradients concatenated. OUT: total norm (float64), then the
 *   clipped gradients. */
int test_optim_tool(int argc, char **argv) {
  if (argc < 3) return fprintf(stderr, "optim-tool: MODE IN OUT ...\n"), 2;
  const char *mode = argv[0];
  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (!in || !out) return fprintf(stderr, "optim-tool: cannot open %s or %s\n", argv[1], argv[2]), 1;
  int rc = 0;
  if (strcmp(mode, "clip") == 0 && argc >= 5) {
    double max_norm = atof(argv[3]);
    int k = atoi(argv[4]);
    if (k < 1 || argc != 5 + k) return fprintf(stderr, "optim-tool clip: bad sizes\n"), 2;
    RtSpan *spans = calloc((size_t)k, sizeof *spans);
    for (int i = 0; i < k; i++) {
      spans[i].n = (size_t)atol(argv[5 + i]);
      spans[i].p = malloc(spans[i].n * sizeof(float) + 1);
      rc |= read_floats(in, spans[i].p, spans[i].n);
    }
    double total = rt_clip_grad_norm(spans, k, max_norm);
    fwrite(&total, sizeof total, 1, out);
    for (int i = 0; i < k; i++) fwrite(spans[i].p, sizeof(float), spans[i].n, out), free(spans[i].p);
    free(spans);
  } else if ((strcmp(mode, "sgd") == 0 && argc == 8) || (strcmp(mode, "adam") == 0 && argc == 10)) {
    int adam = mode[0] == 'a';
    int steps = atoi(argv[argc - 2]);
    size_t n = (size_t)atol(argv[argc - 1]);
    float *p = malloc(n * sizeof *p + 1), *g = malloc(n * sizeof *g + 1);
    float *s1 = calloc(n + 1, sizeof *s1), *s2 = calloc(n + 1, sizeof *s2);
    rc |= read_floats(in, p, n);
    for (int t = 1; t <= steps && !rc; t++) {
      rc |= read_floats(in, g, n);
      if (adam)
        rt_adam_step(p, g, s1, s2, n, t, atof(argv[3]), atof(argv[4]), atof(argv[5]), atof(argv[6]), atof(argv[7]));
      else
        rt_sgd_step(p, g, s1, n, atof(argv[3]), atof(argv[4]), atof(argv[5]), t == 1);
      fwrite(p, sizeof *p, n, out);
    }
    fwrite(s1, sizeof *s1, n, out);
    if (adam) fwrite(s2, sizeof *s2, n, out);
    free(p), free(g), free(s1), free(s2);
  } else {
    fprintf(stderr, "optim-tool: unknown mode or wrong argument count\n");
    rc = 2;
  }
  fclose(in);
  if (fclose(out) != 0) rc = 1;
  if (rc) fprintf(stderr, "optim-tool: short input\n");
  return rc;
}
