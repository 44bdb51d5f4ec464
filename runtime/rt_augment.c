/* rt_augment.c: training batch assembly (sharpdarts.md §5.1, §8.1, §8.2).
 * Each sample is copied as uint8 planes, padded and cropped, flipped, put
 * through an AutoAugment sub-policy, normalized to float and cut out, with
 * every random choice drawn from an RtRng keyed by (seed, epoch, sample
 * index): results do not depend on thread count or batch composition.
 *
 * The AutoAugment ops follow the semantics of PIL that the reference uses;
 * where §8.2 is silent this file decides, and says so at the op. The policy
 * tables themselves are data in rt_autoaugment_policies.c; callers pass one
 * (RtAugment.policy). */
#include "rt_check.h"
#include "sharprt.h"

#include <ctype.h>
#include <math.h>

/* Fill of geometric AutoAugment ops (§8.2). */
#define AA_FILL 128

static const char *const aa_names[RT_AA_COUNT] = {
    "ShearX",    "ShearY",     "TranslateX", "TranslateY",   "Rotate",   "Color",  "Posterize", "Solarize",
    "Contrast",  "Sharpness",  "Brightness", "AutoContrast", "Equalize", "Invert", "Cutout",
};

const char *rt_aa_op_name(RtAaOp op) {
  return (unsigned)op < RT_AA_COUNT ? aa_names[op] : NULL;
}

RtAaOp rt_aa_op_find(const char *name) {
  for (int op = 0; name && op < RT_AA_COUNT; op++) {
    const char *a = aa_names[op], *b = name;
    while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b)) a++, b++;
    if (!*a && !*b) return (RtAaOp)op;
  }
  return RT_AA_COUNT;
}

/* linspace(lo, hi, 10)[m]. */
static double aa_level(double lo, double hi, int m) {
  return lo + (hi - lo) * m / 9.0;
}

static uint8_t clip_u8(double v) {
  return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

/* Catmull-Rom-like cubic weight with a = -0.5 (PIL's bicubic). */
static double cubic(double x) {
  const double a = -0.5;
  x = fabs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/* Samples plane src (h*w) at continuous pixel coordinates (sx, sy), pixel
 * centres at +0.5: outside the image gives AA_FILL; inside, nearest or
 * bicubic with edge pixels repeated. */
static uint8_t sample(const uint8_t *src, int h, int w, double sx, double sy, int bicubic) {
  if (sx < 0 || sy < 0 || sx >= w || sy >= h) return AA_FILL;
  if (!bicubic) return src[(int)sy * w + (int)sx];
  double fx = sx - 0.5, fy = sy - 0.5;
  int x0 = (int)floor(fx), y0 = (int)floor(fy);
  double acc = 0;
  for (int j = -1; j <= 2; j++) {
    int yy = y0 + j < 0 ? 0 : y0 + j >= h ? h - 1 : y0 + j;
    double wy = cubic(fy - (y0 + j)), row = 0;
    for (int i = -1; i <= 2; i++) {
      int xx = x0 + i < 0 ? 0 : x0 + i >= w ? w - 1 : x0 + i;
      row += cubic(fx - (x0 + i)) * src[yy * w + xx];
    }
    acc += wy * row;
  }
  return clip_u8(acc);
}

/* Output pixel centre (x, y) reads input (a*x + b*y + c, d*x + e*y + f), as
 * PIL's Image.transform(AFFINE). */
static void affine(uint8_t *img, uint8_t *tmp, int c, int h, int w, const double t[6], int bicubic) {
  size_t plane = (size_t)h * w;
  memcpy(tmp, img, (size_t)c * plane);
  for (int ch = 0; ch < c; ch++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        double px = x + 0.5, py = y + 0.5;
        img[ch * plane + (size_t)y * w + x] =
            sample(tmp + ch * plane, h, w, t[0] * px + t[1] * py + t[2], t[3] * px + t[4] * py + t[5], bicubic);
      }
}

/* Grey level of pixel p (ITU-R 601-2 luma, as PIL's "L" conversion). */
static uint8_t grey(const uint8_t *img, int c, size_t plane, size_t p) {
  if (c == 1) return img[p];
  return (uint8_t)((img[p] * 299 + img[plane + p] * 587 + img[2 * plane + p] * 114 + 500) / 1000);
}

/* img = degenerate + f*(img - degenerate), rounded and clipped (PIL's
 * ImageEnhance blend; the rounding mode is this file's choice). */
static void blend(uint8_t *img, const uint8_t *degenerate, size_t n, double f) {
  for (size_t i = 0; i < n; i++) img[i] = clip_u8(degenerate[i] + f * ((double)img[i] - degenerate[i]));
}

/* PIL's equalize on one plane: a lookup table from the cumulative histogram,
 * identity when the histogram has one level or too few pixels. */
static void equalize(uint8_t *p, size_t n) {
  size_t hist[256] = {0}, last = 0;
  for (size_t i = 0; i < n; i++) hist[p[i]]++;
  int levels = 0;
  for (int v = 0; v < 256; v++)
    if (hist[v]) levels++, last = hist[v];
  if (levels <= 1) return;
  size_t step = (n - last) / 255;
  if (!step) return;
  uint8_t lut[256];
  size_t acc = step / 2;
  for (int v = 0; v < 256; v++) {
    size_t l = acc / step;
    lut[v] = (uint8_t)(l > 255 ? 255 : l);
    acc += hist[v];
  }
  for (size_t i = 0; i < n; i++) p[i] = lut[p[i]];
}

int rt_aa_apply(RtAaOp op, int m, RtRng *r, uint8_t *img, int c, int h, int w) {
  if ((unsigned)op >= RT_AA_COUNT || m < 0 || m > 9 || (c != 1 && c != 3) || h < 1 || w < 1) return -1;
  size_t plane = (size_t)h * w, n = (size_t)c * plane;
  /* Ops with a signed magnitude draw the sign first, always, so that the
   * draw count depends on the op only. */
  double sign = 1;
  if (op <= RT_AA_TRANSLATE_Y || op == RT_AA_COLOR || op == RT_AA_CONTRAST || op == RT_AA_SHARPNESS ||
      op == RT_AA_BRIGHTNESS)
    sign = rt_rng_bernoulli(r, 0.5) ? -1 : 1;
  uint8_t *tmp = NULL;
  if (op <= RT_AA_ROTATE || op == RT_AA_COLOR || op == RT_AA_CONTRAST || op == RT_AA_SHARPNESS ||
      op == RT_AA_BRIGHTNESS) {
    tmp = malloc(n);
    if (!tmp) return -1;
  }
  double f = 1 + sign * aa_level(0, 0.9, m);
  switch (op) {
  case RT_AA_SHEAR_X:
  case RT_AA_SHEAR_Y: {
    double v = sign * aa_level(0, 0.3, m);
    double tx[6] = {1, v, 0, 0, 1, 0}, ty[6] = {1, 0, 0, v, 1, 0};
    affine(img, tmp, c, h, w, op == RT_AA_SHEAR_X ? tx : ty, 1);
    break;
  }
  case RT_AA_TRANSLATE_X:
  case RT_AA_TRANSLATE_Y: {
    double v = sign * aa_level(0, 150.0 / 331.0, m);
    double tx[6] = {1, 0, v * w, 0, 1, 0}, ty[6] = {1, 0, 0, 0, 1, v * h};
    affine(img, tmp, c, h, w, op == RT_AA_TRANSLATE_X ? tx : ty, 0);
    break;
  }
  case RT_AA_ROTATE: {
    /* Counter-clockwise on screen about the centre: input = R(-angle) output. */
    double a = aa_level(0, 30, m) * 3.14159265358979323846 / 180, cs = cos(a), sn = sin(a);
    double cx = w / 2.0, cy = h / 2.0;
    double t[6] = {cs, -sn, cx - cs * cx + sn * cy, sn, cs, cy - sn * cx - cs * cy};
    affine(img, tmp, c, h, w, t, 0);
    break;
  }
  case RT_AA_COLOR:
    for (size_t p = 0; p < plane; p++)
      for (int ch = 0; ch < c; ch++) tmp[ch * plane + p] = grey(img, c, plane, p);
    blend(img, tmp, n, f);
    break;
  case RT_AA_CONTRAST: {
    double sum = 0;
    for (size_t p = 0; p < plane; p++) sum += grey(img, c, plane, p);
    memset(tmp, (int)(sum / plane + 0.5), n);
    blend(img, tmp, n, f);
    break;
  }
  case RT_AA_SHARPNESS:
    /* PIL's SMOOTH kernel [[1,1,1],[1,5,1],[1,1,1]]/13; border pixels kept. */
    memcpy(tmp, img, n);
    for (int ch = 0; ch < c; ch++)
      for (int y = 1; y + 1 < h; y++)
        for (int x = 1; x + 1 < w; x++) {
          const uint8_t *s = img + ch * plane + (size_t)y * w + x;
          int acc = 4 * s[0];
          for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) acc += s[dy * w + dx];
          tmp[ch * plane + (size_t)y * w + x] = (uint8_t)((acc + 6) / 13);
        }
    blend(img, tmp, n, f);
    break;
  case RT_AA_BRIGHTNESS:
    memset(tmp, 0, n);
    blend(img, tmp, n, f);
    break;
  case RT_AA_POSTERIZE: {
    int bits = (int)lround(aa_level(8, 4, m));
    uint8_t mask = (uint8_t)(0xff << (8 - bits));
    for (size_t i = 0; i < n; i++) img[i] &= mask;
    break;
  }
  case RT_AA_SOLARIZE: {
    double thr = aa_level(256, 0, m);
    for (size_t i = 0; i < n; i++)
      if (img[i] >= thr) img[i] = (uint8_t)(255 - img[i]);
    break;
  }
  case RT_AA_AUTOCONTRAST:
    for (int ch = 0; ch < c; ch++) {
      uint8_t *p = img + ch * plane, lo = 255, hi = 0;
      for (size_t i = 0; i < plane; i++) lo = p[i] < lo ? p[i] : lo, hi = p[i] > hi ? p[i] : hi;
      if (hi > lo)
        for (size_t i = 0; i < plane; i++) p[i] = clip_u8((p[i] - lo) * 255.0 / (hi - lo));
    }
    break;
  case RT_AA_EQUALIZE:
    for (int ch = 0; ch < c; ch++) equalize(img + ch * plane, plane);
    break;
  case RT_AA_INVERT:
    for (size_t i = 0; i < n; i++) img[i] = (uint8_t)(255 - img[i]);
    break;
  case RT_AA_CUTOUT:
  case RT_AA_COUNT:
    break;
  }
  free(tmp);
  return 0;
}

RtAugment rt_augment_cifar10(int cutout, const RtAaSubPolicy *policy, int npolicy) {
  RtAugment a = {4, policy ? AA_FILL : 0, 1, policy, policy ? npolicy : 0, cutout};
  return a;
}

/* Augments one sample (pixels of ds image i) into dst (c*h*w floats);
 * work holds 2*c*h*w bytes. */
static int augment_one(const RtDataset *ds, const float *mean, const float *stdv, int64_t i, const RtAugment *aug,
                       uint64_t seed, int64_t epoch, uint8_t *work, float *dst) {
  int c = ds->c, h = ds->h, w = ds->w;
  size_t plane = (size_t)h * w, n = (size_t)c * plane;
  const uint8_t *src = ds->pixels + (size_t)i * n;
  uint8_t *img = work;
  RtRng r = {seed, rt_rng_stream(RT_STREAM_AUGMENT, epoch), (uint64_t)i << 24};
  if (!aug) {
    memcpy(img, src, n);
  } else {
    if (aug->pad > 0) {
      int dy = (int)rt_rng_below(&r, (uint64_t)(2 * aug->pad + 1)) - aug->pad;
      int dx = (int)rt_rng_below(&r, (uint64_t)(2 * aug->pad + 1)) - aug->pad;
      for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++) {
            int sy = y + dy, sx = x + dx;
            img[ch * plane + (size_t)y * w + x] = (sy < 0 || sx < 0 || sy >= h || sx >= w)
                                                       ? (uint8_t)aug->pad_fill
                                                       : src[ch * plane + (size_t)sy * w + sx];
          }
    } else {
      memcpy(img, src, n);
    }
    if (aug->flip && rt_rng_bernoulli(&r, 0.5))
      for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h; y++) {
          uint8_t *row = img + ch * plane + (size_t)y * w;
          for (int x = 0; x < w / 2; x++) {
            uint8_t t = row[x];
            row[x] = row[w - 1 - x], row[w - 1 - x] = t;
          }
        }
    if (aug->policy && aug->npolicy > 0) {
      const RtAaSubPolicy *sp = &aug->policy[rt_rng_below(&r, (uint64_t)aug->npolicy)];
      if (rt_rng_bernoulli(&r, sp->p1) && rt_aa_apply(sp->op1, sp->m1, &r, img, c, h, w)) return -1;
      if (rt_rng_bernoulli(&r, sp->p2) && rt_aa_apply(sp->op2, sp->m2, &r, img, c, h, w)) return -1;
    }
  }
  for (int ch = 0; ch < c; ch++)
    for (size_t p = 0; p < plane; p++)
      dst[ch * plane + p] = ((float)img[ch * plane + p] / 255.0f - mean[ch]) / stdv[ch];
  if (aug && aug->cutout > 0) {
    int cy = (int)rt_rng_below(&r, (uint64_t)h), cx = (int)rt_rng_below(&r, (uint64_t)w);
    int half = aug->cutout / 2;
    int y0 = cy - half < 0 ? 0 : cy - half, y1 = cy + half > h ? h : cy + half;
    int x0 = cx - half < 0 ? 0 : cx - half, x1 = cx + half > w ? w : cx + half;
    for (int ch = 0; ch < c; ch++)
      for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) dst[ch * plane + (size_t)y * w + x] = 0.0f;
  }
  return 0;
}

int rt_augment_batch(const RtDataset *ds, const RtNorm *norm, const int64_t *indices, int64_t count,
                     const RtAugment *aug, uint64_t seed, int64_t epoch, float *x, int32_t *y, char *err,
                     size_t errlen) {
  if (!norm) return rt_errf(err, errlen, "augment: no normalization constants given (data set '%s')", ds->name);
  if (norm->channels != ds->c)
    return rt_errf(err, errlen, "augment: '%s' constants have %d channel(s), the data set has %d", norm->name,
                   norm->channels, ds->c);
  if (count < 0) return rt_errf(err, errlen, "augment: negative count %lld", (long long)count);
  if (aug && (aug->pad < 0 || aug->pad > ds->h || aug->cutout < 0 || aug->npolicy < 0 || aug->pad_fill < 0 ||
              aug->pad_fill > 255))
    return rt_errf(err, errlen, "augment: bad settings (pad %d, fill %d, cutout %d, %d sub-policies)", aug->pad,
                   aug->pad_fill, aug->cutout, aug->npolicy);
  for (int k = 0; aug && aug->policy && k < aug->npolicy; k++) {
    const RtAaSubPolicy *sp = &aug->policy[k];
    if ((unsigned)sp->op1 >= RT_AA_COUNT || (unsigned)sp->op2 >= RT_AA_COUNT || sp->m1 < 0 || sp->m1 > 9 ||
        sp->m2 < 0 || sp->m2 > 9)
      return rt_errf(err, errlen, "augment: sub-policy %d has an unknown op or a magnitude outside 0..9", k);
  }
  for (int64_t b = 0; b < count; b++)
    if (indices[b] < 0 || indices[b] >= ds->n)
      return rt_errf(err, errlen, "augment: index %lld (batch position %lld) out of range 0..%lld",
                     (long long)indices[b], (long long)b, (long long)ds->n - 1);
  float mean[3], stdv[3];
  for (int c = 0; c < ds->c; c++) mean[c] = (float)norm->mean[c], stdv[c] = (float)norm->std[c];
  size_t n = (size_t)ds->c * ds->h * ds->w;
  int failed = 0;
#ifdef _OPENMP
#pragma omp parallel reduction(| : failed)
#endif
  {
    uint8_t *work = malloc(2 * n);
    if (!work) failed = 1;
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int64_t b = 0; b < count; b++) {
      if (work && augment_one(ds, mean, stdv, indices[b], aug, seed, epoch, work, x + (size_t)b * n)) failed = 1;
      if (y) y[b] = ds->labels[indices[b]];
    }
    free(work);
  }
  if (failed) return rt_errf(err, errlen, "augment: out of memory on a %dx%dx%d image", ds->c, ds->h, ds->w);
  return 0;
}

void rt_shuffle(uint64_t seed, int64_t epoch, uint64_t purpose, int64_t first, int64_t n, int64_t *out) {
  RtRng r = rt_rng_init(seed, rt_rng_stream(purpose, epoch));
  for (int64_t i = 0; i < n; i++) out[i] = first + i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)rt_rng_below(&r, (uint64_t)i + 1), t = out[i];
    out[i] = out[j], out[j] = t;
  }
}

int rt_search_split(int64_t n, double portion, RtSearchSplit *s, char *err, size_t errlen) {
  if (n < 2 || !(portion > 0 && portion < 1))
    return rt_errf(err, errlen, "search split: need at least 2 images and a portion in (0, 1) (got %lld, %g)",
                   (long long)n, portion);
  int64_t t = (int64_t)floor(portion * (double)n);
  if (t < 1 || t >= n)
    return rt_errf(err, errlen, "search split: portion %g of %lld images leaves a half empty", portion, (long long)n);
  s->train_first = 0, s->train_n = t, s->valid_first = t, s->valid_n = n - t;
  return 0;
}

void rt_search_epoch_order(uint64_t seed, int64_t epoch, const RtSearchSplit *s, int64_t *train_order,
                           int64_t *valid_order) {
  rt_shuffle(seed, epoch, RT_STREAM_SHUFFLE, s->train_first, s->train_n, train_order);
  if (valid_order) rt_shuffle(seed, epoch, RT_STREAM_SHUFFLE + 16, s->valid_first, s->valid_n, valid_order);
}

/* Floyd's sampling of `batch` distinct values, then a Fisher-Yates shuffle
 * of them: O(batch^2) time, no memory beyond out. */
void rt_sample_batch(uint64_t seed, int64_t epoch, int64_t step, int64_t first, int64_t n, int64_t batch,
                     int64_t *out) {
  if (batch > n) batch = n;
  RtRng r = {seed, rt_rng_stream(RT_STREAM_SAMPLE, epoch), (uint64_t)step << 32};
  int64_t k = 0;
  for (int64_t j = n - batch; j < n; j++) {
    int64_t t = (int64_t)rt_rng_below(&r, (uint64_t)j + 1), seen = 0;
    for (int64_t q = 0; q < k && !seen; q++) seen = out[q] == first + t;
    out[k++] = first + (seen ? j : t);
  }
  for (int64_t i = batch - 1; i > 0; i--) {
    int64_t j = (int64_t)rt_rng_below(&r, (uint64_t)i + 1), t = out[i];
    out[i] = out[j], out[j] = t;
  }
}
