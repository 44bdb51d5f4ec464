/* test_rng.c: Philox4x32-10 against Random123's published known answers,
 * the independence of RtRng draws from call order, and the moments and
 * bounds of every distribution and initializer. */
#include "tr_test.h"

#include <math.h>
#include <stdlib.h>

int test_rng(TestCtx *ctx) {
  /* Random123 kat_vectors: counter words (c0..c3) = (counter lo, counter hi,
   * stream lo, stream hi), key (k0, k1) = (seed lo, seed hi). */
  static const struct {
    uint32_t c[4], k[2], out[4];
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (int i = 0; i < 3; i++) {
    uint32_t out[4];
    rt_philox4x32((uint64_t)kat[i].k[1] << 32 | kat[i].k[0], (uint64_t)kat[i].c[3] << 32 | kat[i].c[2],
                  (uint64_t)kat[i].c[1] << 32 | kat[i].c[0], out);
    for (int w = 0; w < 4; w++)
      CHECK(ctx, out[w] == kat[i].out[w], "kat %d word %d: %08x want %08x", i, w, out[w], kat[i].out[w]);
  }
  /* Counter-based: draw k of a stream equals a fresh generator at counter k;
   * a saved state resumes the same sequence. */
  RtRng r = rt_rng_init(42, rt_rng_stream(RT_STREAM_AUGMENT, 3));
  uint32_t seq[100];
  for (int i = 0; i < 100; i++) seq[i] = rt_rng_u32(&r);
  int mismatches = 0;
  for (int i = 99; i >= 0; i--) {
    RtRng q = rt_rng_init(42, rt_rng_stream(RT_STREAM_AUGMENT, 3));
    q.counter = (uint64_t)i;
    mismatches += rt_rng_u32(&q) != seq[i];
  }
  CHECK(ctx, mismatches == 0, "%d draws depend on call order", mismatches);
  RtRng s1 = rt_rng_init(42, 1), s2 = rt_rng_init(42, 2), s3 = rt_rng_init(43, 1);
  uint32_t a1 = rt_rng_u32(&s1), a2 = rt_rng_u32(&s2), a3 = rt_rng_u32(&s3);
  CHECK(ctx, a1 != a2 && a1 != a3, "streams or seeds collide: %08x %08x %08x", a1, a2, a3);
  CHECK(ctx, rt_rng_stream(RT_STREAM_SHUFFLE, 1) != rt_rng_stream(RT_STREAM_AUGMENT, 1) &&
                 rt_rng_stream(RT_STREAM_SHUFFLE, 1) != rt_rng_stream(RT_STREAM_SHUFFLE, 2),
        "stream numbers collide");

  /* Moments over 200k draws: uniform mean 1/2 var 1/12, normal 0 / 1,
   * below(10) each bucket ~ 1/10, bernoulli(0.3). */
  const int N = 200000;
  RtRng g = rt_rng_init(7, RT_STREAM_USER);
  double su = 0, su2 = 0, sn = 0, sn2 = 0, umin = 1, umax = 0, bern = 0;
  int buckets[10] = {0}, below_bad = 0;
  for (int i = 0; i < N; i++) {
    double u = rt_rng_uniform(&g), z = rt_rng_normal(&g);
    su += u, su2 += u * u, sn += z, sn2 += z * z;
    umin = u < umin ? u : umin, umax = u > umax ? u : umax;
    uint64_t k = rt_rng_below(&g, 10);
    if (k >= 10) below_bad++;
    else buckets[k]++;
    bern += rt_rng_bernoulli(&g, 0.3);
  }
  double mu = su / N, vu = su2 / N - mu * mu, mn = sn / N, vn = sn2 / N - mn * mn, pb = bern / N;
  CHECK(ctx, umin >= 0 && umax < 1, "uniform out of [0,1): %g %g", umin, umax);
  CHECK(ctx, fabs(mu - 0.5) < 0.005 && fabs(vu - 1.0 / 12) < 0.002, "uniform mean %g var %g", mu, vu);
  CHECK(ctx, fabs(mn) < 0.01 && fabs(vn - 1) < 0.02, "normal mean %g var %g", mn, vn);
  CHECK(ctx, fabs(pb - 0.3) < 0.005, "bernoulli(0.3) rate %g", pb);
  double worst_bucket = 0;
  for (int k = 0; k < 10; k++) {
    double dev = fabs(buckets[k] / (double)N - 0.1);
    worst_bucket = dev > worst_bucket ? dev : worst_bucket;
  }
  CHECK(ctx, below_bad == 0 && worst_bucket < 0.005, "below(10): %d out of range, worst bucket deviation %g",
        below_bad, worst_bucket);
  CHECK(ctx, rt_rng_bernoulli(&g, 0) == 0 && rt_rng_bernoulli(&g, 1) == 1 && rt_rng_below(&g, 0) == 0,
        "edge cases of bernoulli/below");

  /* Initializers: kaiming_uniform(a=sqrt(5)) and bias within 1/sqrt(fan_in)
   * with the uniform's variance bound^2/3; alphas 1e-3 * N(0,1). */
  enum { NW = 16 * 3 * 3 * 3 * 64 };
  float *w = malloc(NW * sizeof *w);
  RtRng init = rt_rng_init(2, RT_STREAM_INIT);
  rt_init_kaiming_uniform(&init, w, NW, 16 * 9);
  double bound = 1.0 / sqrt(16.0 * 9), wmax = 0, wv = 0;
  for (int i = 0; i < NW; i++) wmax = fmax(wmax, fabs(w[i])), wv += (double)w[i] * w[i];
  wv /= NW;
  CHECK(ctx, wmax <= bound && fabs(wv / (bound * bound / 3) - 1) < 0.03, "kaiming: max %g (bound %g), var ratio %g",
        wmax, bound, wv / (bound * bound / 3));
  rt_init_normal(&init, w, NW, 1e-3f);
  double av = 0;
  for (int i = 0; i < NW; i++) av += (double)w[i] * w[i];
  av /= NW;
  CHECK(ctx, fabs(sqrt(av) / 1e-3 - 1) < 0.03, "alphas std %g, want 1e-3", sqrt(av));
  RtRng again = rt_rng_init(2, RT_STREAM_INIT);
  float first;
  rt_init_kaiming_uniform(&again, &first, 1, 16 * 9);
  RtRng once = rt_rng_init(2, RT_STREAM_INIT);
  float w0;
  rt_init_bias_uniform(&once, &w0, 1, 16 * 9);
  CHECK(ctx, first == w0, "kaiming and bias differ for the same fan_in");
  free(w);
  printf("rng: 3 Philox known answers, 100 draws order-independent, %d draws per distribution: uniform mean %.4f "
         "var %.5f, normal mean %.4f var %.4f, bernoulli(0.3) %.4f, below(10) worst bucket %.4f; kaiming bound %.4f "
         "max %.4f\n",
         N, mu, vu, mn, vn, pb, worst_bucket, bound, wmax);
  return ctx->failures;
}
