/* test_augment.c: batch assembly against its definition: evaluation equals
 * rt_dataset_normalize, every crop is a shift of the image with the padding
 * fill, flips happen half the time, cutout zeroes a clipped square after
 * normalization, a sample's augmentation depends only on (seed, epoch,
 * index); the AutoAugment ops at their fixed points and magnitude mapping;
 * the published policy tables (sizes, ops, a fingerprint of the source);
 * sub-policies drawn uniformly with their probabilities, deterministic
 * whatever the order and thread count; the §8.1 CIFAR-10 order; permutations,
 * the search split and the per-step architecture batches. */
#include "tr_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* A synthetic CIFAR-like data set with pixels 1..254 (never the fill). */
static RtDataset make_ds(int64_t n, int h, int w) {
  RtDataset ds = {n, 3, h, w, 10, malloc((size_t)n * 3 * h * w), malloc((size_t)n * sizeof(int32_t)), "cifar10"};
  RtRng r = rt_rng_init(99, RT_STREAM_USER);
  for (size_t i = 0; i < (size_t)n * 3 * h * w; i++) ds.pixels[i] = (uint8_t)(1 + rt_rng_below(&r, 254));
  for (int64_t i = 0; i < n; i++) ds.labels[i] = (int32_t)(i % 10);
  return ds;
}

/* Normalized value of byte v in channel c (as the runtime computes it). */
static float norm_px(const RtNorm *nm, int c, int v) {
  return ((float)v / 255.0f - (float)nm->mean[c]) / (float)nm->std[c];
}

/* Does out (c*h*w) equal image src shifted by (dy, dx), flipped or not, with
 * fill outside, inverted (255 - v) after the padding or not? With
 * skip_zero, pixels that are 0.0f in every channel (a cutout) are not
 * compared. */
static int is_shift_ex(const RtDataset *ds, const RtNorm *nm, const uint8_t *src, const float *out, int dy, int dx,
                       int flip, int fill, int invert, int skip_zero) {
  int h = ds->h, w = ds->w;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      if (skip_zero && out[y * w + x] == 0.0f && out[(h + y) * w + x] == 0.0f && out[(2 * h + y) * w + x] == 0.0f)
        continue;
      for (int c = 0; c < 3; c++) {
        int xs = flip ? w - 1 - x : x, sy = y + dy, sx = xs + dx;
        int v = (sy < 0 || sx < 0 || sy >= h || sx >= w) ? fill : src[(c * h + sy) * w + sx];
        if (out[(c * h + y) * w + x] != norm_px(nm, c, invert ? 255 - v : v)) return 0;
      }
    }
  return 1;
}

static int is_shift(const RtDataset *ds, const RtNorm *nm, const uint8_t *src, const float *out, int dy, int dx,
                    int flip, int fill) {
  return is_shift_ex(ds, nm, src, out, dy, dx, flip, fill, 0, 0);
}

static int test_ops(TestCtx *ctx) {
  enum { H = 16, W = 16, N = 3 * H * W };
  uint8_t img[N], ref[N];
  RtRng r = rt_rng_init(5, RT_STREAM_USER);
  for (int i = 0; i < N; i++) ref[i] = (uint8_t)(20 + rt_rng_below(&r, 200));
  int checked = 0;
  /* Magnitude 0 leaves every magnitude op unchanged (factor 1, shear 0, ...). */
  RtAaOp id_ops[] = {RT_AA_SHEAR_X,  RT_AA_SHEAR_Y,    RT_AA_TRANSLATE_X, RT_AA_TRANSLATE_Y, RT_AA_ROTATE,
                     RT_AA_COLOR,    RT_AA_POSTERIZE,  RT_AA_SOLARIZE,    RT_AA_CONTRAST,    RT_AA_SHARPNESS,
                     RT_AA_BRIGHTNESS, RT_AA_CUTOUT};
  for (size_t k = 0; k < sizeof id_ops / sizeof id_ops[0]; k++) {
    memcpy(img, ref, N);
    CHECK(ctx, rt_aa_apply(id_ops[k], 0, &r, img, 3, H, W) == 0, "%s failed", rt_aa_op_name(id_ops[k]));
    CHECK(ctx, memcmp(img, ref, N) == 0, "%s at magnitude 0 changed the image", rt_aa_op_name(id_ops[k]));
    checked++;
  }
  /* Invert twice; solarize at m 9 (threshold 0) inverts; posterize m 9 keeps 4 bits. */
  memcpy(img, ref, N);
  rt_aa_apply(RT_AA_INVERT, 0, &r, img, 3, H, W);
  CHECK(ctx, img[7] == 255 - ref[7], "invert");
  rt_aa_apply(RT_AA_SOLARIZE, 9, &r, img, 3, H, W);
  CHECK(ctx, memcmp(img, ref, N) == 0, "solarize(9) after invert is not the identity");
  rt_aa_apply(RT_AA_POSTERIZE, 9, &r, img, 3, H, W);
  int post_bad = 0;
  for (int i = 0; i < N; i++) post_bad += img[i] != (ref[i] & 0xf0);
  CHECK(ctx, post_bad == 0, "posterize(9): %d pixels keep low bits", post_bad);
  /* Autocontrast reaches 0 and 255 in every channel; equalize spreads levels. */
  memcpy(img, ref, N);
  rt_aa_apply(RT_AA_AUTOCONTRAST, 0, &r, img, 3, H, W);
  for (int c = 0; c < 3; c++) {
    int lo = 255, hi = 0;
    for (int i = 0; i < H * W; i++) lo = img[c * H * W + i] < lo ? img[c * H * W + i] : lo, hi = img[c * H * W + i] > hi ? img[c * H * W + i] : hi;
    CHECK(ctx, lo == 0 && hi == 255, "autocontrast channel %d: %d..%d", c, lo, hi);
  }
  /* Equalize needs >= 256 pixels besides the top level to act (PIL): use 64x64. */
  static uint8_t big[64 * 64];
  for (int i = 0; i < 64 * 64; i++) big[i] = (uint8_t)(20 + rt_rng_below(&r, 200));
  rt_aa_apply(RT_AA_EQUALIZE, 0, &r, big, 1, 64, 64);
  int eq_lo = 255, eq_hi = 0;
  for (int i = 0; i < 64 * 64; i++) eq_lo = big[i] < eq_lo ? big[i] : eq_lo, eq_hi = big[i] > eq_hi ? big[i] : eq_hi;
  CHECK(ctx, eq_lo < 3 && eq_hi > 250, "equalize range %d..%d", eq_lo, eq_hi);
  static uint8_t flat[64 * 64];
  memset(flat, 77, sizeof flat);
  rt_aa_apply(RT_AA_EQUALIZE, 0, &r, flat, 1, 64, 64);
  CHECK(ctx, flat[100] == 77, "equalize of a one-level image is not the identity");
  /* Translate by the largest magnitude: 150/331 * 16 = 7.25 px, so output x
   * reads input x +- 7 (nearest at the pixel centre); the rest is fill. */
  memcpy(img, ref, N);
  RtRng rs = r;
  int neg = rt_rng_bernoulli(&rs, 0.5);
  rt_aa_apply(RT_AA_TRANSLATE_X, 9, &r, img, 3, H, W);
  int tr_bad = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int sx = x + (neg ? -7 : 7);
      int want = (sx < 0 || sx >= W) ? 128 : ref[y * W + sx];
      if (neg && x - 7.25 + 0.5 < 0) want = 128;
      tr_bad += img[y * W + x] != want;
    }
  CHECK(ctx, tr_bad == 0, "translateX(9): %d pixels wrong (sign %s)", tr_bad, neg ? "-" : "+");
  /* Brightness at m 9: factor 0.1 or 1.9. */
  memcpy(img, ref, N);
  rs = r;
  double f = rt_rng_bernoulli(&rs, 0.5) ? 0.1 : 1.9;
  rt_aa_apply(RT_AA_BRIGHTNESS, 9, &r, img, 3, H, W);
  int br_bad = 0;
  for (int i = 0; i < N; i++) {
    double want = fmin(255, ref[i] * f);
    br_bad += fabs(img[i] - want) > 0.5 + 1e-9;
  }
  CHECK(ctx, br_bad == 0, "brightness(9) factor %g: %d pixels wrong", f, br_bad);
  /* Rotation keeps the image centre and fills corners. */
  memcpy(img, ref, N);
  rt_aa_apply(RT_AA_ROTATE, 9, &r, img, 3, H, W);
  CHECK(ctx, img[0] == 128 && img[(H / 2) * W + W / 2] == ref[(H / 2) * W + W / 2], "rotate(9): corner %d centre %d/%d",
        img[0], img[(H / 2) * W + W / 2], ref[(H / 2) * W + W / 2]);
  CHECK(ctx, rt_aa_apply(RT_AA_COUNT, 0, &r, img, 3, H, W) != 0 && rt_aa_apply(RT_AA_INVERT, 10, &r, img, 3, H, W) != 0,
        "bad op or magnitude accepted");
  printf("augment: %d AutoAugment ops at magnitude 0 are the identity; invert/solarize/posterize/autocontrast/"
         "equalize/translate/brightness/rotate checked\n", checked);
  return ctx->failures;
}

/* §8.2's magnitude index m -> parameter at a few points: posterize keeps
 * round(linspace(8, 4)) bits, solarize inverts from linspace(256, 0), shear
 * is linspace(0, 0.3) and translate linspace(0, 150/331) x size with a
 * random sign, rotate linspace(0, 30) degrees counter-clockwise, brightness
 * 1 +- linspace(0, 0.9). The sign is read from a copy of the generator. */
static int test_magnitudes(TestCtx *ctx) {
  enum { H = 16, W = 16, N = 3 * H * W };
  uint8_t img[N];
  RtRng r = rt_rng_init(11, RT_STREAM_USER), rs;
  static const int bits[10] = {8, 8, 7, 7, 6, 6, 5, 5, 4, 4};
  int bad = 0;
  for (int m = 0; m < 10; m++) {
    memset(img, 255, N);
    rt_aa_apply(RT_AA_POSTERIZE, m, &r, img, 3, H, W);
    bad += img[N - 1] != (uint8_t)(0xff << (8 - bits[m]));
  }
  CHECK(ctx, bad == 0, "posterize: %d magnitudes keep the wrong number of bits", bad);
  /* Solarize thresholds: m 0 -> 256 (none), 1 -> 227.6, 5 -> 113.8, 9 -> 0 (all). */
  static const struct { int m, v, want; } sol[] = {{0, 255, 255}, {1, 227, 227}, {1, 228, 27}, {5, 113, 113},
                                                   {5, 114, 141}, {9, 0, 255}};
  bad = 0;
  for (size_t k = 0; k < sizeof sol / sizeof sol[0]; k++) {
    uint8_t px = (uint8_t)sol[k].v;
    rt_aa_apply(RT_AA_SOLARIZE, sol[k].m, &r, &px, 1, 1, 1);
    bad += px != sol[k].want;
  }
  CHECK(ctx, bad == 0, "solarize: %d threshold points wrong", bad);
  /* Shear on a ramp 8*x + 4 (bicubic reproduces a ramp): output (8, 8) reads
   * input x = 8 + 8.5*v, v = +-0.3*m/9; ShearY likewise on 8*y + 4. */
  double worst = 0;
  for (int k = 0; k < 4; k++) {
    int m = k % 2 ? 9 : 3, sy = k >= 2;
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) img[(c * H + y) * W + x] = (uint8_t)(8 * (sy ? y : x) + 4);
    rs = r;
    double v = (rt_rng_bernoulli(&rs, 0.5) ? -0.3 : 0.3) * m / 9;
    rt_aa_apply(sy ? RT_AA_SHEAR_Y : RT_AA_SHEAR_X, m, &r, img, 3, H, W);
    double d = fabs(img[8 * W + 8] - (8 * (8 + 8.5 * v) + 4));
    worst = d > worst ? d : worst;
  }
  CHECK(ctx, worst <= 0.5 + 1e-9, "shear: centre off the ramp by %g", worst);
  /* Translate m 3 on 16 columns: 150/331*3/9*16 = 2.42 px, so output x 8
   * reads column 10 or 6 (nearest at the pixel centre). */
  for (int i = 0; i < N; i++) img[i] = (uint8_t)(8 * (i % W) + 4);
  rs = r;
  int tneg = rt_rng_bernoulli(&rs, 0.5);
  rt_aa_apply(RT_AA_TRANSLATE_X, 3, &r, img, 3, H, W);
  CHECK(ctx, img[8] == 8 * (tneg ? 6 : 10) + 4, "translateX(3): got %d (sign %s)", img[8], tneg ? "-" : "+");
  /* Rotate about the centre (8, 8): output (12, 8) reads input (11, 10) at
   * 30 degrees (m 9) and (12, 9) at 10 degrees (m 3); the pixel value
   * 16*y + x names its position. */
  static const struct { int m, x, y; } rot[] = {{9, 11, 10}, {3, 12, 9}};
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < H * W; i++) img[i] = (uint8_t)i;
    rt_aa_apply(RT_AA_ROTATE, rot[k].m, &r, img, 1, H, W);
    CHECK(ctx, img[8 * W + 12] == 16 * rot[k].y + rot[k].x, "rotate(%d): output (12, 8) reads (%d, %d), not (%d, %d)",
          rot[k].m, img[8 * W + 12] % 16, img[8 * W + 12] / 16, rot[k].x, rot[k].y);
  }
  /* Brightness m 4: factor 1.4 or 0.6. */
  memset(img, 100, N);
  rs = r;
  int bneg = rt_rng_bernoulli(&rs, 0.5);
  rt_aa_apply(RT_AA_BRIGHTNESS, 4, &r, img, 3, H, W);
  CHECK(ctx, img[0] == (bneg ? 60 : 140), "brightness(4): 100 -> %d", img[0]);
  printf("augment: magnitude mapping of posterize (10 indices), solarize, shear, translate, rotate, brightness\n");
  return ctx->failures;
}

/* Histogram of ops, sums of magnitudes and of 10*probabilities of a table. */
static void fingerprint(const RtAaSubPolicy *t, int n, int hist[RT_AA_COUNT], int *msum, long *p10) {
  double p = 0;
  memset(hist, 0, sizeof(int) * RT_AA_COUNT);
  *msum = 0;
  for (int i = 0; i < n; i++) {
    hist[t[i].op1]++, hist[t[i].op2]++;
    *msum += t[i].m1 + t[i].m2;
    p += t[i].p1 + t[i].p2;
  }
  *p10 = lround(p * 10);
}

static int same_row(const RtAaSubPolicy *a, RtAaOp o1, double p1, int m1, RtAaOp o2, double p2, int m2) {
  return a->op1 == o1 && fabs(a->p1 - p1) < 1e-6 && a->m1 == m1 && a->op2 == o2 && fabs(a->p2 - p2) < 1e-6 &&
         a->m2 == m2;
}

/* The published tables: sizes, every op one the runtime implements and
 * names, probabilities multiples of 0.1, magnitudes 0..9, spot rows, and a
 * fingerprint computed from the sources (tensorflow/models policies.py,
 * sharpDARTS ImageNetPolicy) when they were transcribed. */
static int test_tables(TestCtx *ctx) {
  struct {
    const char *name;
    const RtAaSubPolicy *t;
    int n, want_n, hist[RT_AA_COUNT], msum;
    long p10;
  } tabs[2] = {
      {"cifar10", NULL, -1, 95, {4, 7, 4, 23, 3, 13, 2, 24, 6, 7, 13, 35, 40, 6, 3}, 890, 902},
      {"imagenet", NULL, -1, 24, {1, 0, 0, 0, 6, 6, 5, 7, 2, 1, 0, 2, 15, 3, 0}, 276, 296},
  };
  enum { H = 32, W = 32, N = 3 * H * W };
  static uint8_t ref[N], a[N], b[N];
  RtRng g = rt_rng_init(3, RT_STREAM_USER);
  for (int i = 0; i < N; i++) ref[i] = (uint8_t)rt_rng_below(&g, 256);
  tabs[0].t = rt_aa_policy_for("cifar10", &tabs[0].n);
  tabs[1].t = rt_aa_policy_for("imagenet", &tabs[1].n);
  CHECK(ctx, tabs[0].n == RT_AA_CIFAR10_SUBPOLICIES && tabs[1].n == RT_AA_IMAGENET_SUBPOLICIES,
        "table sizes differ from the header's constants");
  for (int k = 0; k < 2; k++) {
    CHECK(ctx, tabs[k].t && tabs[k].n == tabs[k].want_n, "%s: %d sub-policies, not %d", tabs[k].name, tabs[k].n,
          tabs[k].want_n);
    if (!tabs[k].t) continue;
    int bad = 0, unnamed = 0, nondet = 0;
    for (int i = 0; i < tabs[k].n; i++) {
      const RtAaSubPolicy *sp = &tabs[k].t[i];
      RtAaOp ops[2] = {sp->op1, sp->op2};
      double ps[2] = {sp->p1, sp->p2};
      int ms[2] = {sp->m1, sp->m2};
      for (int j = 0; j < 2; j++) {
        const char *nm = rt_aa_op_name(ops[j]);
        char lower[32] = {0};
        for (int q = 0; nm && nm[q] && q < 31; q++) lower[q] = (char)(nm[q] | 0x20);
        unnamed += !nm || rt_aa_op_find(nm) != ops[j] || rt_aa_op_find(lower) != ops[j];
        bad += ps[j] < 0 || ps[j] > 1 || fabs(ps[j] * 10 - lround(ps[j] * 10)) > 1e-5 || ms[j] < 0 || ms[j] > 9;
      }
      /* Both ops run on an RGB image, the same for the same generator state. */
      RtRng r1 = {9, rt_rng_stream(RT_STREAM_AUGMENT, 1), (uint64_t)i << 24}, r2 = r1;
      memcpy(a, ref, N), memcpy(b, ref, N);
      for (int j = 0; j < 2; j++) {
        bad += rt_aa_apply(ops[j], ms[j], &r1, a, 3, H, W) != 0;
        bad += rt_aa_apply(ops[j], ms[j], &r2, b, 3, H, W) != 0;
      }
      nondet += memcmp(a, b, N) != 0 || r1.counter != r2.counter;
    }
    CHECK(ctx, unnamed == 0, "%s: %d ops without a name the runtime finds", tabs[k].name, unnamed);
    CHECK(ctx, bad == 0, "%s: %d bad probabilities, magnitudes or failed ops", tabs[k].name, bad);
    CHECK(ctx, nondet == 0, "%s: %d sub-policies differ for one generator state", tabs[k].name, nondet);
    int hist[RT_AA_COUNT], msum;
    long p10;
    fingerprint(tabs[k].t, tabs[k].n, hist, &msum, &p10);
    int hist_bad = 0;
    for (int o = 0; o < RT_AA_COUNT; o++)
      if (hist[o] != tabs[k].hist[o]) {
        hist_bad++;
        fprintf(stderr, "  %s: %s used %d times, the source %d\n", tabs[k].name, rt_aa_op_name((RtAaOp)o), hist[o],
                tabs[k].hist[o]);
      }
    CHECK(ctx, hist_bad == 0 && msum == tabs[k].msum && p10 == tabs[k].p10,
          "%s: fingerprint differs from the source (magnitudes %d/%d, 10*probabilities %ld/%ld)", tabs[k].name, msum,
          tabs[k].msum, p10, tabs[k].p10);
  }
  const RtAaSubPolicy *c = tabs[0].t, *im = tabs[1].t;
  if (!c || !im) return ctx->failures;
  CHECK(ctx, same_row(&c[0], RT_AA_INVERT, 0.1, 7, RT_AA_CONTRAST, 0.2, 6), "cifar10[0] (exp0_0)");
  CHECK(ctx, same_row(&c[19], RT_AA_EQUALIZE, 0.7, 6, RT_AA_COLOR, 0.4, 9), "cifar10[19] (end of exp0_3)");
  CHECK(ctx, same_row(&c[20], RT_AA_SHEAR_Y, 0.2, 7, RT_AA_POSTERIZE, 0.3, 7), "cifar10[20] (exp1_0)");
  CHECK(ctx, same_row(&c[61], RT_AA_CUTOUT, 0.2, 4, RT_AA_EQUALIZE, 0.1, 1), "cifar10[61] (exp2_1, second)");
  CHECK(ctx, same_row(&c[94], RT_AA_EQUALIZE, 0.6, 9, RT_AA_EQUALIZE, 0.4, 4), "cifar10[94] (end of exp2_7)");
  CHECK(ctx, same_row(&im[0], RT_AA_POSTERIZE, 0.4, 8, RT_AA_ROTATE, 0.6, 9), "imagenet[0]");
  CHECK(ctx, same_row(&im[18], RT_AA_SHEAR_X, 0.6, 5, RT_AA_EQUALIZE, 1.0, 9), "imagenet[18]");
  CHECK(ctx, same_row(&im[23], RT_AA_COLOR, 0.6, 4, RT_AA_CONTRAST, 1.0, 8), "imagenet[23]");
  int n = 7;
  CHECK(ctx, rt_aa_policy_for("fashion-mnist", &n) == NULL && n == 0 && rt_aa_policy_for("mnist", &n) == NULL,
        "a 1-channel data set has a policy");
  CHECK(ctx, rt_aa_op_find("Identity") == RT_AA_COUNT && rt_aa_op_find("ShearXY") == RT_AA_COUNT &&
                 rt_aa_op_find("Shear") == RT_AA_COUNT && rt_aa_op_find(NULL) == RT_AA_COUNT &&
                 rt_aa_op_find("translateY") == RT_AA_TRANSLATE_Y,
        "rt_aa_op_find");
  printf("augment: policy tables: cifar10 %d sub-policies, imagenet %d; ops named, fingerprints match the source\n",
         tabs[0].n, tabs[1].n);
  return ctx->failures;
}

/* What a sub-policy of {Invert, Posterize(9)} did to image src, from the
 * normalized output: bit 1 inverted, bit 2 posterized; -1 if neither
 * explains it. */
static int classify(const RtNorm *nm, const uint8_t *src, const float *out, int plane) {
  int inv = 1, keep = 1, post = 1;
  for (int c = 0; c < 3; c++)
    for (int p = 0; p < plane; p++) {
      int v = (int)lround(((double)out[c * plane + p] * nm->std[c] + nm->mean[c]) * 255.0);
      int s = src[c * plane + p];
      post &= (v & 0x0f) == 0;
      inv &= (v & 0xf0) == ((255 - s) & 0xf0);
      keep &= (v & 0xf0) == (s & 0xf0);
    }
  if (inv == keep) return -1;
  return inv | (post << 1);
}

/* Sub-policies through rt_augment_batch: probabilities and the uniform
 * draw hold statistically for a fixed seed; the CIFAR-10 table through the
 * §8.1 pipeline gives the same samples twice, in reverse order, one at a
 * time and on 1 or 4 threads; the §8.1 order (grey padding, then the
 * policy, then normalization and cutout). */
static int test_policy_pipeline(TestCtx *ctx) {
  const RtNorm *nm = rt_norm_find("cifar10");
  char err[256];
  enum { NS = 64, HH = 32, WW = 32, PIX = 3 * HH * WW, EPOCHS = 40 };
  RtDataset ds = make_ds(NS, HH, WW);
  int64_t idx[NS], rev[NS];
  for (int i = 0; i < NS; i++) idx[i] = i, rev[i] = NS - 1 - i;
  float *x = malloc(sizeof(float) * NS * PIX), *x2 = malloc(sizeof(float) * NS * PIX);

  /* Invert with p 0.3, then Posterize(9) with p 0.6: independent draws. */
  RtAaSubPolicy two = {RT_AA_INVERT, 0.3f, 0, RT_AA_POSTERIZE, 0.6f, 9};
  RtAugment pol = {0, 128, 0, &two, 1, 0};
  int n1 = 0, n2 = 0, n12 = 0, total = 0, unexplained = 0;
  for (int e = 0; e < EPOCHS; e++) {
    CHECK(ctx, rt_augment_batch(&ds, nm, idx, NS, &pol, 5, e, x, NULL, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < NS; i++, total++) {
      int k = classify(nm, ds.pixels + (size_t)i * PIX, x + (size_t)i * PIX, HH * WW);
      unexplained += k < 0;
      n1 += k > 0 && (k & 1), n2 += k > 0 && (k & 2), n12 += k == 3;
    }
  }
  double f1 = (double)n1 / total, f2 = (double)n2 / total, f12 = (double)n12 / total;
  CHECK(ctx, unexplained == 0, "%d samples are not a combination of the two ops", unexplained);
  CHECK(ctx, fabs(f1 - 0.3) < 0.036 && fabs(f2 - 0.6) < 0.039 && fabs(f12 - 0.18) < 0.031,
        "op fractions %.3f, %.3f, both %.3f (want 0.3, 0.6, 0.18) over %d draws", f1, f2, f12, total);

  /* Three sub-policies drawn uniformly: nothing (Cutout), Invert, Posterize. */
  RtAaSubPolicy three[3] = {{RT_AA_CUTOUT, 1.0f, 0, RT_AA_CUTOUT, 1.0f, 0},
                            {RT_AA_INVERT, 1.0f, 0, RT_AA_INVERT, 0.0f, 0},
                            {RT_AA_POSTERIZE, 1.0f, 9, RT_AA_INVERT, 0.0f, 0}};
  RtAugment uni = {0, 128, 0, three, 3, 0};
  int seen[4] = {0};
  unexplained = 0;
  for (int e = 0; e < EPOCHS; e++) {
    rt_augment_batch(&ds, nm, idx, NS, &uni, 5, e, x, NULL, err, sizeof err);
    for (int i = 0; i < NS; i++) {
      int k = classify(nm, ds.pixels + (size_t)i * PIX, x + (size_t)i * PIX, HH * WW);
      if (k < 0 || k == 3) unexplained++;
      else seen[k]++;
    }
  }
  int uni_bad = unexplained;
  for (int k = 0; k < 3; k++) uni_bad += fabs((double)seen[k] / total - 1.0 / 3) >= 0.037;
  CHECK(ctx, uni_bad == 0, "uniform draw: none %d, invert %d, posterize %d of %d (%d unexplained)", seen[0],
        seen[1], seen[2], total, unexplained);

  /* The CIFAR-10 table through the §8.1 pipeline: deterministic, and a
   * function of (seed, epoch, index) only. */
  int np = 0;
  const RtAaSubPolicy *table = rt_aa_policy_for("cifar10", &np);
  RtAugment c10 = rt_augment_cifar10(16, table, np);
  CHECK(ctx, rt_augment_batch(&ds, nm, idx, NS, &c10, 7, 2, x, NULL, err, sizeof err) == 0, "%s", err);
  rt_augment_batch(&ds, nm, idx, NS, &c10, 7, 2, x2, NULL, err, sizeof err);
  int again = memcmp(x, x2, sizeof(float) * NS * PIX) != 0;
  rt_augment_batch(&ds, nm, rev, NS, &c10, 7, 2, x2, NULL, err, sizeof err);
  int order_bad = 0;
  for (int i = 0; i < NS; i++)
    order_bad += memcmp(x + (size_t)i * PIX, x2 + (size_t)(NS - 1 - i) * PIX, sizeof(float) * PIX) != 0;
  int single_bad = 0;
  for (int i = 0; i < NS; i += 9) {
    rt_augment_batch(&ds, nm, &idx[i], 1, &c10, 7, 2, x2, NULL, err, sizeof err);
    single_bad += memcmp(x + (size_t)i * PIX, x2, sizeof(float) * PIX) != 0;
  }
  int threads_bad = 0;
  const char *thread_note = "";
#ifdef _OPENMP
  thread_note = ", 1 and 4 threads";
  int saved = omp_get_max_threads();
  for (int t = 1; t <= 4; t += 3) {
    omp_set_num_threads(t);
    rt_augment_batch(&ds, nm, idx, NS, &c10, 7, 2, x2, NULL, err, sizeof err);
    threads_bad += memcmp(x, x2, sizeof(float) * NS * PIX) != 0;
  }
  omp_set_num_threads(saved);
#endif
  rt_augment_batch(&ds, nm, idx, NS, &c10, 8, 2, x2, NULL, err, sizeof err);
  int same_seed8 = 0;
  for (int i = 0; i < NS; i++)
    same_seed8 += memcmp(x + (size_t)i * PIX, x2 + (size_t)i * PIX, sizeof(float) * PIX) == 0;
  CHECK(ctx, !again && order_bad == 0 && single_bad == 0 && threads_bad == 0,
        "cifar10 policy: repeat %d, %d samples depend on order, %d on batch composition, %d thread counts differ",
        again, order_bad, single_bad, threads_bad);
  CHECK(ctx, same_seed8 < NS / 4, "seeds 7 and 8 give %d identical samples of %d", same_seed8, NS);

  /* §8.1 order: padding with 128 before the policy (always Invert: the fill
   * reads 127), then normalization, then cutout (exact zeros). Without a
   * policy the padding is zero. */
  RtAaSubPolicy inv = {RT_AA_INVERT, 1.0f, 0, RT_AA_CUTOUT, 1.0f, 0};
  RtAugment ord = rt_augment_cifar10(16, &inv, 1);
  RtAugment plain = rt_augment_cifar10(16, NULL, 0);
  CHECK(ctx, ord.pad == 4 && ord.pad_fill == 128 && ord.flip && plain.pad_fill == 0 && !plain.policy,
        "cifar10 settings: fill %d with a policy, %d without", ord.pad_fill, plain.pad_fill);
  rt_augment_batch(&ds, nm, idx, NS, &ord, 7, 5, x, NULL, err, sizeof err);
  int ord_bad = 0, padded = 0, holes = 0;
  for (int i = 0; i < NS; i++) {
    const float *o = x + (size_t)i * PIX;
    int found = 0;
    for (int dy = -4; dy <= 4 && !found; dy++)
      for (int dx = -4; dx <= 4 && !found; dx++)
        for (int fl = 0; fl < 2 && !found; fl++)
          if (is_shift_ex(&ds, nm, ds.pixels + (size_t)i * PIX, o, dy, dx, fl, 128, 1, 1))
            found = 1, padded += dy != 0 || dx != 0;
    int zeros = 0;
    for (int p = 0; p < HH * WW; p++) zeros += o[p] == 0.0f && o[HH * WW + p] == 0.0f && o[2 * HH * WW + p] == 0.0f;
    holes += zeros >= 64;
    ord_bad += !found;
  }
  CHECK(ctx, ord_bad == 0, "%d of %d samples are not crop -> flip -> invert -> normalize -> cutout", ord_bad, NS);
  CHECK(ctx, padded > NS / 2 && holes == NS, "%d samples shifted (grey fill), %d with a cutout hole", padded, holes);
  printf("augment: sub-policy op fractions %.3f/%.3f (p 0.3/0.6, both %.3f) over %d draws; uniform draw %d/%d/%d; "
         "cifar10 table deterministic (order, single samples%s); §8.1 order with grey fill in %d samples\n",
         f1, f2, f12, total, seen[0], seen[1], seen[2], thread_note, padded);
  free(x), free(x2);
  rt_dataset_free(&ds);
  return ctx->failures;
}

int test_augment(TestCtx *ctx) {
  const RtNorm *nm = rt_norm_find("cifar10");
  char err[256];
  enum { NS = 64, HH = 32, WW = 32, PIX = 3 * HH * WW };
  RtDataset ds = make_ds(NS, HH, WW);
  int64_t idx[NS], rev[NS];
  for (int i = 0; i < NS; i++) idx[i] = i, rev[i] = NS - 1 - i;
  float *x = malloc(sizeof(float) * NS * PIX), *x2 = malloc(sizeof(float) * NS * PIX), *ref = malloc(sizeof(float) * NS * PIX);
  int32_t y[NS];

  /* Evaluation == rt_dataset_normalize; labels copied. */
  CHECK(ctx, rt_augment_batch(&ds, nm, idx, NS, NULL, 1, 0, x, y, err, sizeof err) == 0, "%s", err);
  rt_dataset_normalize(&ds, nm, idx, 0, NS, ref, err, sizeof err);
  CHECK(ctx, memcmp(x, ref, sizeof(float) * NS * PIX) == 0 && y[13] == 3, "evaluation batch differs from normalize");

  /* Crop + flip (zero fill): each sample is a shift within +-4, maybe flipped. */
  RtAugment crop = {4, 0, 1, NULL, 0, 0};
  int shifts_seen[9][9] = {{0}}, flips = 0, bad = 0, total = 0;
  for (int epoch = 0; epoch < 8; epoch++) {
    rt_augment_batch(&ds, nm, idx, NS, &crop, 7, epoch, x, NULL, err, sizeof err);
    for (int i = 0; i < NS; i++, total++) {
      int found = 0;
      for (int dy = -4; dy <= 4 && !found; dy++)
        for (int dx = -4; dx <= 4 && !found; dx++)
          for (int fl = 0; fl < 2 && !found; fl++)
            if (is_shift(&ds, nm, ds.pixels + (size_t)i * PIX, x + (size_t)i * PIX, dy, dx, fl, 0))
              found = 1, shifts_seen[dy + 4][dx + 4]++, flips += fl;
      bad += !found;
    }
  }
  int distinct = 0;
  for (int a = 0; a < 9; a++)
    for (int b = 0; b < 9; b++) distinct += shifts_seen[a][b] > 0;
  CHECK(ctx, bad == 0, "%d of %d crops are not shifts of their image", bad, total);
  CHECK(ctx, distinct > 60 && flips > total * 0.4 && flips < total * 0.6, "%d distinct shifts, %d flips of %d",
        distinct, flips, total);

  /* Order independence: the reversed batch holds the same samples. */
  rt_augment_batch(&ds, nm, idx, NS, &crop, 7, 3, x, NULL, err, sizeof err);
  rt_augment_batch(&ds, nm, rev, NS, &crop, 7, 3, x2, NULL, err, sizeof err);
  int order_bad = 0;
  for (int i = 0; i < NS; i++) order_bad += memcmp(x + (size_t)i * PIX, x2 + (size_t)(NS - 1 - i) * PIX, sizeof(float) * PIX) != 0;
  CHECK(ctx, order_bad == 0, "%d samples depend on their batch position", order_bad);
  rt_augment_batch(&ds, nm, idx, NS, &crop, 7, 4, x2, NULL, err, sizeof err);
  int same_epoch = 0;
  for (int i = 0; i < NS; i++) same_epoch += memcmp(x + (size_t)i * PIX, x2 + (size_t)i * PIX, sizeof(float) * PIX) == 0;
  CHECK(ctx, same_epoch < NS / 4, "%d of %d samples identical in two epochs", same_epoch, NS);

  /* Cutout 16 alone: zeros form one clipped square, side 8..16, centred. */
  RtAugment cut = {0, 0, 0, NULL, 0, 16};
  rt_augment_batch(&ds, nm, idx, NS, &cut, 7, 1, x, NULL, err, sizeof err);
  int cut_bad = 0, clipped = 0;
  for (int i = 0; i < NS; i++) {
    const float *o = x + (size_t)i * PIX, *e = ref + (size_t)i * PIX;
    int y0 = HH, y1 = -1, x0 = WW, x1 = -1, zeros = 0;
    for (int p = 0; p < HH * WW; p++)
      if (o[p] == 0.0f) {
        int py = p / WW, px = p % WW;
        zeros++;
        y0 = py < y0 ? py : y0, y1 = py > y1 ? py : y1, x0 = px < x0 ? px : x0, x1 = px > x1 ? px : x1;
      }
    int hgt = y1 - y0 + 1, wid = x1 - x0 + 1;
    int ok = zeros == hgt * wid && hgt >= 8 && hgt <= 16 && wid >= 8 && wid <= 16;
    for (int c = 0; c < 3 && ok; c++)
      for (int p = 0; p < HH * WW; p++) {
        int py = p / WW, px = p % WW, in = py >= y0 && py <= y1 && px >= x0 && px <= x1;
        if (o[c * HH * WW + p] != (in ? 0.0f : e[c * HH * WW + p])) ok = 0;
      }
    clipped += hgt < 16 || wid < 16;
    cut_bad += !ok;
  }
  CHECK(ctx, cut_bad == 0, "%d cutouts are not a clipped square of side <= 16 zeroed in all channels", cut_bad);

  /* A policy through the batch: Invert always, then the policy's no-op cutout. */
  RtAaSubPolicy inv = {RT_AA_INVERT, 1.0f, 0, RT_AA_CUTOUT, 1.0f, 5};
  RtAugment pol = {0, 128, 0, &inv, 1, 0};
  rt_augment_batch(&ds, nm, idx, 4, &pol, 7, 0, x, NULL, err, sizeof err);
  int inv_bad = 0;
  for (int c = 0; c < 3; c++)
    for (int p = 0; p < HH * WW; p++) inv_bad += x[c * HH * WW + p] != norm_px(nm, c, 255 - ds.pixels[c * HH * WW + p]);
  CHECK(ctx, inv_bad == 0, "policy Invert through the batch: %d pixels wrong", inv_bad);
  RtAugment c10 = rt_augment_cifar10(16, &inv, 1);
  CHECK(ctx, c10.pad == 4 && c10.pad_fill == 128 && c10.flip && c10.cutout == 16, "cifar10 settings");
  RtAaSubPolicy badp = {RT_AA_INVERT, 1.0f, 12, RT_AA_CUTOUT, 1.0f, 5};
  pol.policy = &badp;
  CHECK(ctx, rt_augment_batch(&ds, nm, idx, 4, &pol, 7, 0, x, NULL, err, sizeof err) != 0 && strstr(err, "magnitude"),
        "bad magnitude accepted: %s", err);
  int64_t oob = NS;
  CHECK(ctx, rt_augment_batch(&ds, nm, &oob, 1, NULL, 7, 0, x, NULL, err, sizeof err) != 0 && strstr(err, "out of range"),
        "index out of range accepted");

  /* Permutations and the search split. */
  RtSearchSplit s;
  CHECK(ctx, rt_search_split(50000, 0.5, &s, err, sizeof err) == 0 && s.train_first == 0 && s.train_n == 25000 &&
                 s.valid_first == 25000 && s.valid_n == 25000,
        "split of 50000");
  CHECK(ctx, rt_search_split(1, 0.5, &s, err, sizeof err) != 0 && rt_search_split(10, 1.0, &s, err, sizeof err) != 0,
        "bad splits accepted");
  rt_search_split(1001, 0.5, &s, err, sizeof err);
  int64_t *tr = malloc(sizeof(int64_t) * 1001), *va = malloc(sizeof(int64_t) * 1001), *tr2 = malloc(sizeof(int64_t) * 1001);
  char *seen = calloc(1001, 1);
  rt_search_epoch_order(2, 1, &s, tr, va);
  int perm_bad = 0;
  for (int64_t i = 0; i < s.train_n; i++) perm_bad += tr[i] < 0 || tr[i] >= 500 || seen[tr[i]]++;
  for (int64_t i = 0; i < s.valid_n; i++) perm_bad += va[i] < 500 || va[i] >= 1001 || seen[va[i]]++;
  CHECK(ctx, s.train_n == 500 && s.valid_n == 501 && perm_bad == 0, "epoch order is not a permutation of each half");
  rt_search_epoch_order(2, 1, &s, tr2, NULL);
  CHECK(ctx, memcmp(tr, tr2, sizeof(int64_t) * 500) == 0, "epoch order not deterministic");
  rt_search_epoch_order(2, 2, &s, tr2, NULL);
  int fixed = 0;
  for (int i = 0; i < 500; i++) fixed += tr[i] == tr2[i];
  CHECK(ctx, fixed < 20, "epochs 1 and 2 share %d positions", fixed);
  int64_t b1[64], b2[64];
  rt_sample_batch(2, 1, 0, 500, 501, 64, b1);
  rt_sample_batch(2, 1, 1, 500, 501, 64, b2);
  int dup = 0, range = 0, same = 0;
  for (int i = 0; i < 64; i++) {
    range += b1[i] < 500 || b1[i] > 1000;
    same += b1[i] == b2[i];
    for (int j = 0; j < i; j++) dup += b1[i] == b1[j];
  }
  CHECK(ctx, dup == 0 && range == 0 && same < 8, "sample batch: %d duplicates, %d out of range, %d equal", dup, range, same);
  rt_sample_batch(2, 1, 0, 0, 10, 64, b2);
  memset(seen, 0, 10);
  int full = 0;
  for (int i = 0; i < 10; i++) full += !seen[b2[i]]++;
  CHECK(ctx, full == 10, "batch larger than the half is not a permutation");
  printf("augment: eval == normalize for %d samples; %d crops are shifts (%d of 81 offsets seen, %d flips); %d "
         "samples order-independent; %d cutouts (%d clipped at a border); split 50000 -> 25000/25000; permutations "
         "of 500/501; architecture batches of 64 distinct\n",
         NS, total, distinct, flips, NS, NS, clipped);
  free(tr), free(va), free(tr2), free(seen), free(x), free(x2), free(ref);
  rt_dataset_free(&ds);
  test_ops(ctx);
  test_magnitudes(ctx);
  test_tables(ctx);
  return test_policy_pipeline(ctx);
}
