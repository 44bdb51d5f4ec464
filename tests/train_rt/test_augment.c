/* test_augment.c: batch assembly against its definition: evaluation equals
 * rt_dataset_normalize, every crop is a shift of the image with the padding
 * fill, flips happen half the time, cutout zeroes a clipped square after
 * normalization, a sample's augmentation depends only on (seed, epoch,
 * index); the AutoAugment ops at their fixed points; permutations, the
 * search split and the per-step architecture batches. */
#include "tr_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
 * fill outside? */
static int is_shift(const RtDataset *ds, const RtNorm *nm, const uint8_t *src, const float *out, int dy, int dx,
                    int flip, int fill) {
  int h = ds->h, w = ds->w;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        int xs = flip ? w - 1 - x : x, sy = y + dy, sx = xs + dx;
        int v = (sy < 0 || sx < 0 || sy >= h || sx >= w) ? fill : src[(c * h + sy) * w + sx];
        if (out[(c * h + y) * w + x] != norm_px(nm, c, v)) return 0;
      }
  return 1;
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
  return test_ops(ctx);
}
